#!/usr/bin/env python3
"""The generation peer users actually run: Hugging Face transformers' GPT2LMHeadModel.generate with
its KV cache, at a given shape, random weights (speed does not depend on them), prompts of random
ids. Prints one JSON line with the keys of `nabla bench --mode generate --json`.

    python3 bench/peers/hf_generate.py --layers 6 --heads 6 --width 384 --context 256 --vocab 64 \\
        --batch 8 --prompt-tokens 16 --tokens 128 [--top-p 0.95] [--threads N] [--steps N] [--warmup N]
"""
import argparse
import json
import resource
import statistics
import time
import warnings

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    p = argparse.ArgumentParser()
    for name in ("layers", "heads", "width", "context", "vocab"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt-tokens", type=int, default=16)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--top-p", type=float, default=0.0, help="0: greedy; else sampling at temperature 1")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = GPT2Config(n_layer=args.layers, n_head=args.heads, n_embd=args.width, n_positions=args.context,
                        vocab_size=args.vocab, bos_token_id=None, eos_token_id=None, pad_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    prompt = torch.randint(0, args.vocab, (args.batch, args.prompt_tokens))
    sampling = dict(do_sample=True, top_p=args.top_p, top_k=0, temperature=1.0) if args.top_p > 0 else \
        dict(do_sample=False)

    def run():
        with torch.inference_mode():
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=args.tokens,
                                 min_new_tokens=args.tokens, use_cache=True, **sampling)
        assert out.shape[1] == args.prompt_tokens + args.tokens

    for _ in range(args.warmup):
        run()
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    mid = statistics.median(seconds)
    print(json.dumps({"name": "hf_generate", "mode": "generate", "batch": args.batch, "threads": args.threads,
                      "parameters": sum(p.numel() for p in model.parameters()), "median_s": mid,
                      "min_s": min(seconds), "max_s": max(seconds),
                      "tokens_per_s": args.batch * args.tokens / mid,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "framework": "transformers " + __import__("transformers").__version__}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generation against the peer users run: `nabla bench --mode generate` (KV cache) beside Hugging
Face transformers' generate (KV cache, bench/peers/hf_generate.py) at the same shape, each in its own
process: gpt_medium's shape and GPT-2 small's (124M), batch 1 and 8, greedy and top-p 0.95, 16 prompt
tokens and 128 new ones per row. Appends a table of tokens/s and ratios to RESULTS.md.

    python3 bench/generation.py --nabla build/bin/nabla [--append bench/RESULTS.md] [--threads N]
"""
import argparse
import json
import os
import subprocess
import sys

from compare import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPES = [("gpt_medium", "configs/gpt_medium.json"), ("gpt2_124m", "configs/gpt2_124m.json")]
PROMPT, TOKENS = 16, 128


def last_json(command):
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1][:200]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nabla", required=True)
    p.add_argument("--append")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    rows = []
    for name, config in SHAPES:
        with open(os.path.join(ROOT, config)) as f:
            model = json.load(f)["model"]
        for batch in (1, 8):
            for top_p in (0.0, 0.95):
                common = ["--batch", str(batch), "--tokens", str(TOKENS), "--steps", str(args.steps), "--warmup", "1",
                          "--threads", str(args.threads)] + (["--top-p", str(top_p)] if top_p else [])
                ours = last_json([args.nabla, "bench", config, "--mode", "generate", "--prompt-tokens", str(PROMPT),
                                  "--json"] + common)
                if "error" in ours:
                    rows.append((name, batch, top_p, ours, {}))
                    continue
                peer = last_json([sys.executable, os.path.join(HERE, "peers", "hf_generate.py"),
                                  "--layers", str(model["n_layer"]), "--heads", str(model["n_head"]),
                                  "--width", str(model["n_embd"]), "--context", str(model["context"]),
                                  "--vocab", str(ours["vocab_size"]), "--prompt-tokens", str(PROMPT)] + common)
                rows.append((name, batch, top_p, ours, peer))
                print(name, batch, top_p, ours.get("tokens_per_s"), peer.get("tokens_per_s"), file=sys.stderr)
    lines = ["", "## Generation against transformers' generate (KV cache both)", "",
             f"{cpu_model()}, {args.threads} threads; {PROMPT} prompt tokens, {TOKENS} new tokens per row; "
             "random-weight models of the same shape and parameter count; tokens/s over all rows.", "",
             "| shape | batch | sampling | nabla tokens/s | transformers tokens/s | nabla / transformers | "
             "peak RSS MB nabla / transformers |", "|---|---:|---|---:|---:|---:|---:|"]
    for name, batch, top_p, ours, peer in rows:
        sampling = "top-p %.2f" % top_p if top_p else "greedy"
        if "error" in ours or "error" in peer or not peer:
            lines.append(f"| {name} | {batch} | {sampling} | {ours.get('error', '')} | {peer.get('error', '')} | | |")
            continue
        lines.append(f"| {name} ({ours['parameters']:,} parameters) | {batch} | {sampling} | "
                     f"{ours['tokens_per_s']:.0f} | {peer['tokens_per_s']:.0f} | "
                     f"{ours['tokens_per_s'] / peer['tokens_per_s']:.2f}x | "
                     f"{ours['peak_rss_mb']:.0f} / {peer['peak_rss_mb']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

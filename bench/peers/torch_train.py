#!/usr/bin/env python3
"""PyTorch twin of `nabla bench`: times a run config's model (built by train_twin.py, so the same
model, optimizer, loss and data as `nabla train`) on one real batch, reused every step.

    python3 bench/peers/torch_train.py configs/gpt.json [--set key=value ...] [--mode train|infer|generate]
                                       [--batch N] [--steps N] [--warmup N] [--tokens N] [--threads N] [--compile]

Prints one JSON line with the same keys as `nabla bench --json` (median_s, samples_per_s, tokens_per_s,
peak_rss_mb, ...). --precision bf16 runs forward and loss under CPU autocast. train: zero_grad, forward, loss, .item(), backward, clip_grad_norm_ when the config
clips, step. infer: eval mode under torch.inference_mode(). generate: greedy, batch 1, re-running the
model on the whole (context-cropped) sequence for every new token, as PyTorch modules without a KV
cache do. --compile wraps the model in torch.compile (reported as an error line when it fails here).
--profile prints, to stderr, torch.profiler's table of the timed steps' ops by self CPU time, to set
beside `NABLA_PROFILE=1 nabla bench` (bench/peers/README.md).
"""

import argparse
import json
import os
import resource
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_twin as twin  # noqa: E402


def time_runs(warmup, steps, work):
    for _ in range(warmup):
        work()
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return sorted(seconds)


def median(sorted_values):
    n = len(sorted_values)
    return sorted_values[n // 2] if n % 2 else 0.5 * (sorted_values[n // 2 - 1] + sorted_values[n // 2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--mode", default="train", choices=["train", "infer", "generate"])
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print torch.profiler's op table to stderr")
    parser.add_argument("--precision", default=None, choices=["fp32", "bf16"],
                        help="as nabla bench --precision (default: the config's training.precision)")
    args = parser.parse_args()

    with open(args.config) as f:
        config = json.load(f)
    for assignment in args.set:
        twin.apply_override(config, assignment)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    root = twin.Section(config, "")
    name = root.get("name", "run", str)
    seed = root.get("seed", 42, int, low=0)
    torch.manual_seed(seed)
    train, _, _, shape = twin.load_data(root.section("data"), seed)
    model, kind, task = twin.build_model(root.section("model"), shape)
    t = root.section("training")
    batch = args.batch or t.get("batch_size", 32, int, low=1)
    clip = t.get("clip_grad_norm", 0.0, float, low=0)
    precision = args.precision or t.get("precision", "fp32", str)
    default_loss = {"binary": "binary_crossentropy", "regression": "mse"}.get(task, "sparse_categorical_crossentropy")
    loss_fn = twin.make_loss(t.get("loss", default_loss, str))
    optimizer = twin.build_optimizer(t.section("optimizer"), model, kind)
    if len(train) < batch:
        twin.fail("the training set has ", len(train), " examples, fewer than the batch of ", batch)
    x, y = train.batch(torch.arange(batch))
    tokens_per_sample = x.shape[1] if x.dim() == 2 and not x.is_floating_point() else 0
    run = torch.compile(model) if args.compile else model

    samples, tokens = batch, batch * tokens_per_sample
    if args.mode == "train":
        model.train()

        def step():
            optimizer.zero_grad(set_to_none=True)
            with twin.autocast(precision):
                loss = loss_fn(run(x).float(), y)
            loss.item()
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        work = step
    elif args.mode == "infer":
        model.eval()

        def forward():
            with torch.inference_mode(), twin.autocast(precision):
                run(x)
        work = forward
    else:
        if kind not in ("gpt", "gru_lm", "char_rnn"):
            twin.fail("--mode generate: model.type \"", kind, "\" is not a language model")
        model.eval()
        context = config["model"].get("context", 128) if kind == "gpt" else None

        def sample():
            sequence = x[:1, :1]
            with torch.inference_mode():
                for _ in range(args.tokens):
                    window = sequence if context is None else sequence[:, -context:]
                    logits = run(window)[:, -1]
                    sequence = torch.cat([sequence, logits.argmax(-1, keepdim=True)], 1)
        work = sample
        samples, tokens = 1, args.tokens

    if args.profile:
        time_runs(args.warmup, 0, work)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
            time_runs(0, args.steps, work)
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
        return
    try:
        seconds = time_runs(args.warmup, args.steps, work)
    except Exception as error:  # torch.compile needs a working toolchain; report, do not crash the table
        if not args.compile:
            raise
        print(json.dumps({"name": name, "mode": args.mode, "error": f"{type(error).__name__}: {error}"[:300]}))
        return
    mid = median(seconds)
    result = {"name": name, "model": kind, "mode": args.mode, "batch": 1 if args.mode == "generate" else batch,
              "threads": torch.get_num_threads(), "precision": precision, "parameters": sum(p.numel() for p in model.parameters()),
              "steps": args.steps, "median_s": mid, "min_s": seconds[0], "max_s": seconds[-1],
              "samples_per_s": samples / mid, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "framework": f"torch {torch.__version__}" + (" compile" if args.compile else "")}
    if tokens:
        result["tokens_per_s"] = tokens / mid
    print(json.dumps(result))


if __name__ == "__main__":
    main()

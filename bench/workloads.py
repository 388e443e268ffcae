#!/usr/bin/env python3
"""Side-by-side training benchmark: each workload of issue 5 through `nabla bench` and its PyTorch twin
(bench/peers/torch_train.py: eager, and torch.compile unless --no-compile), each in its own process so
peak resident memory is the workload's own. Also the machine's fp32 FMA peak (for GPT's model FLOPs
utilisation) and nabla's thread scaling.

    python3 bench/workloads.py --nabla build/bin/nabla [--filter REGEX] [--rounds N] [--no-compile]
                               [--append bench/RESULTS.md]
    python3 bench/workloads.py --nabla build/bin/nabla --filter REGEX --profile

--profile prints, for each chosen workload, nabla's op table (NABLA_PROFILE=1) and PyTorch's
(torch.profiler) instead of timing: where each framework spends a step of the same work.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys

from compare import cpu_model

HERE = os.path.dirname(os.path.abspath(__file__))
TWIN = os.path.join(HERE, "peers", "torch_train.py")

# (name, config, extra arguments): the workloads of issue 5, in its order.
WORKLOADS = [
    ("mlp_train_b128", "configs/mlp.json", ["--batch", "128"]),
    ("fashion_cnn_train_b32", "configs/fashion_cnn.json", ["--batch", "32"]),
    ("fashion_cnn_train_b128", "configs/fashion_cnn.json", ["--batch", "128"]),
    ("fashion_cnn_infer_b256", "configs/fashion_cnn.json", ["--batch", "256", "--mode", "infer"]),
    ("lenet_train_b64", "configs/lenet.json", ["--batch", "64"]),
    ("lstm_text_train_b32", "configs/lstm_text.json", ["--batch", "32"]),
    ("gru_lm_train_b64", "configs/gru_lm.json", ["--batch", "64", "--steps", "5"]),
    ("char_gru_train_b32", "configs/char_rnn.json",
     ["--batch", "32", "--set", "model.cell=gru", "--set", "data.seq_len=128", "--steps", "5"]),
    ("gpt_small_train_b16", "configs/gpt.json", ["--batch", "16", "--steps", "5"]),
    ("gpt_medium_train_b8", "configs/gpt_medium.json", ["--batch", "8", "--steps", "5"]),
    ("gpt_medium_train_b8_bf16", "configs/gpt_medium.json", ["--batch", "8", "--steps", "5", "--precision", "bf16"]),
    ("gpt_medium_generate_256", "configs/gpt_medium.json", ["--mode", "generate", "--tokens", "256", "--steps", "3",
                                                            "--warmup", "1"]),
    # GPT-2 small's shape (124M parameters, 50257 rows) at B=4, T=1024: fp32, bf16, and recomputing
    # activations.
    ("gpt2_124m_train_b4", "configs/gpt2_124m.json", ["--batch", "4", "--steps", "3", "--warmup", "1"]),
    ("gpt2_124m_train_b4_bf16", "configs/gpt2_124m.json",
     ["--batch", "4", "--steps", "3", "--warmup", "1", "--precision", "bf16"]),
    ("gpt2_124m_train_b4_ckpt", "configs/gpt2_124m.json",
     ["--batch", "4", "--steps", "3", "--warmup", "1", "--set", "model.activation_checkpointing=true"]),
    # A 4-parameter model: its step is all per-op and per-step overhead.
    ("neuron_step_overhead", "configs/neuron.json", ["--batch", "4", "--steps", "300", "--warmup", "50"]),
]
SCALING = ["fashion_cnn_train_b128", "gpt_medium_train_b8"]
MFU = ["gpt_small_train_b16", "gpt_medium_train_b8", "gpt2_124m_train_b4"]
BF16 = ("gpt_medium_train_b8_bf16", "gpt_medium_train_b8")  # nabla bf16 over nabla fp32
OVERHEAD = "neuron_step_overhead"
# Issue 5's throughput targets over eager PyTorch (the FLOP table sets each beside its ceiling).
TARGETS = {"gpt_medium_train_b8": 1.3, "gpt_medium_train_b8_bf16": None, "gpt_medium_generate_256": 10.0,
           "gpt2_124m_train_b4": 1.5, "gpt2_124m_train_b4_bf16": 1.5,
           "neuron_step_overhead": None}
# Data-parallel scaling (issue 6): 1 rank x 1 thread against 2 MPI ranks x 1 thread, same batch per rank.
DATA_PARALLEL = [("gpt_small_train_b16", "configs/gpt.json", ["--batch", "16", "--steps", "5"]),
                 ("fashion_cnn_train_b128", "configs/fashion_cnn.json", ["--batch", "128"])]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "NABLA_NUM_THREADS=1"]


def run_json(command):
    """The last JSON line a command prints, or {"error": ...}."""
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    message = (proc.stderr.strip().splitlines() or ["exit code %d" % proc.returncode])[-1]
    return {"error": message[:300]}


def nabla_run(binary, config, extra, threads):
    return run_json([binary, "bench", config, "--json", "--threads", str(threads)] + extra)


def torch_run(config, extra, threads, compiled):
    return run_json([sys.executable, TWIN, config, "--threads", str(threads)] + extra +
                    (["--compile"] if compiled else []))


def merge(samples):
    """Median throughput over rounds (with its range) and the largest peak memory."""
    good = [s for s in samples if "error" not in s]
    if not good:
        return samples[0] if samples else {"error": "not run"}
    rates = sorted(s["samples_per_s"] for s in good)
    merged = dict(good[0])
    merged["samples_per_s"] = statistics.median(rates)
    merged["range"] = (rates[0], rates[-1])
    merged["peak_rss_mb"] = max(s["peak_rss_mb"] for s in good)
    if "tokens_per_s" in merged:
        merged["tokens_per_s"] = statistics.median(s["tokens_per_s"] for s in good)
    return merged


def fmt_rate(r):
    if not r or "error" in r:
        return "-"
    unit, value = ("tok/s", r["tokens_per_s"]) if "tokens_per_s" in r else ("samples/s", r["samples_per_s"])
    scale = value / r["samples_per_s"]
    low, high = (x * scale for x in r.get("range", (r["samples_per_s"],) * 2))
    number = lambda v: f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
    return f"{number(value)} {unit} ({number(low)}-{number(high)})"


def ratio(a, b, key="samples_per_s"):
    if not a or not b or "error" in a or "error" in b or not b.get(key):
        return "-"
    return f"{a[key] / b[key]:.2f}x"


def memory_ratio(a, b):
    if not a or not b or "error" in a or "error" in b:
        return "-"
    return f"{a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f} MB = {a['peak_rss_mb'] / b['peak_rss_mb']:.2f}x"


def flop_table(results, peak_gflops):
    """Each workload's work per step as nabla's kernels count it, the share of the machine's fp32 peak
    each framework runs at, and so the highest nabla/eager ratio any implementation could reach."""
    if not peak_gflops:
        return []
    rows = []
    for name, (ours, eager, _, _) in results.items():
        if "error" in ours or "error" in eager or not ours.get("step_flops"):
            continue
        flops = ours["step_flops"]
        used = lambda r: flops * r["samples_per_s"] / r["batch"] / (peak_gflops * 1e9)
        target = TARGETS.get(name, 2.0)
        ceiling = 1 / used(eager)
        verdict = "-" if target is None else f"{target:.1f}x" + (" (above the ceiling)" if target > ceiling else "")
        rows.append(f"| {name} | {flops / 1e9:.3g} | {100 * used(ours):.1f}% | {100 * used(eager):.1f}% | "
                    f"{ceiling:.2f}x | {verdict} |")
    if not rows:
        return []
    return ["", "Work per step and the ceiling it sets: GFLOP per step as nabla's kernels count it (GEMMs, "
            "convolutions, recurrent primitives; causal attention counts only the blocks it computes; "
            "element-wise work counts nothing), each framework's rate over the fp32 peak above for that same "
            "work, and the nabla/eager ratio a step running at 100% of peak would reach. A target above the "
            "ceiling cannot be met on this machine by any implementation.", "",
            "| workload | GFLOP per step | nabla % of peak | PyTorch eager % of peak | ratio at 100% of peak | target |",
            "|---|---:|---:|---:|---:|---|", *rows]


def profile(args, chosen):
    for name, config, extra in chosen:
        threads = ["--threads", str(args.threads)]
        for title, command, env in [
                ("nabla (NABLA_PROFILE=1)", [args.nabla, "bench", config] + threads + extra, {"NABLA_PROFILE": "1"}),
                ("PyTorch (torch.profiler)", [sys.executable, TWIN, config, "--profile"] + threads + extra, {})]:
            print(f"## {name}: {title}\n$ {shlex.join(command)}", flush=True)
            proc = subprocess.run(command, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            # torch's profiler logs a few lines of its own (USDT, the missing GPU); the table is the rest.
            print("\n".join(line for line in proc.stdout.splitlines()
                            if not line.startswith(("USDT:", "ERROR:", "WARNING:"))), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nabla", required=True, help="path to the nabla binary (build/bin/nabla)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--filter", default=None, help="regex over workload names")
    # Three, so the median sets one slow round aside: with two, one round in a slow phase of the host
    # (mlp nabla 50,339 vs 111,795 samples/s) halved the row's median.
    parser.add_argument("--rounds", type=int, default=3, help="interleaved nabla/PyTorch rounds per workload")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    parser.add_argument("--append", default=None, help="append the Markdown section to this file")
    parser.add_argument("--no-mpi", action="store_true", help="skip the data-parallel scaling rows")
    parser.add_argument("--profile", action="store_true", help="print both frameworks' op tables instead")
    args = parser.parse_args()
    command = "python3 bench/workloads.py " + shlex.join(sys.argv[1:])
    chosen = [w for w in WORKLOADS if not args.filter or re.search(args.filter, w[0])]
    if args.profile:
        return profile(args, chosen)

    # The FMA peak is measured before every workload and the highest reading kept: this host's speed
    # swings by 20-40% within minutes, and one reading taken in a slow moment once made a model's
    # FLOPs utilisation read 82% where the machine's real peak put it near 60%.
    # A one-thread reading follows each one: the FMA loop's own scaling is the yardstick for the
    # thread-scaling rows (this host's second vCPU has given the loop 1.5-2.3x of the first).
    peaks, peak_scaling = [], []

    def measure_peak():
        reading = run_json([args.nabla, "bench", "--peak", "--json", "--threads", str(args.threads)])
        if "peak_fp32_gflops" in reading:
            peaks.append(reading["peak_fp32_gflops"])
            print(f"workloads.py: fp32 FMA peak {peaks[-1]:.1f} GFLOP/s", file=sys.stderr)
            if args.threads > 1:
                single = run_json([args.nabla, "bench", "--peak", "--json", "--threads", "1"])
                if "peak_fp32_gflops" in single:
                    peak_scaling.append(peaks[-1] / single["peak_fp32_gflops"])

    results = {}
    for name, config, extra in chosen:
        measure_peak()
        ours, eager, one_thread = [], [], []
        # Thread-scaling rows also run nabla on one thread in every round, right after its run on all
        # threads: one single-thread run at the end once read 1.29x where back-to-back pairs read 1.8-2.0x.
        scales = name in SCALING and args.threads > 1
        for round_index in range(args.rounds):
            order = (0, 1) if round_index % 2 == 0 else (1, 0)
            for side in order:
                print(f"workloads.py: {name} round {round_index + 1}: {'nabla' if side == 0 else 'torch'}",
                      file=sys.stderr)
                if side == 0:
                    ours.append(nabla_run(args.nabla, config, extra, args.threads))
                    if scales:
                        one_thread.append(nabla_run(args.nabla, config, extra, 1))
                else:
                    eager.append(torch_run(config, extra, args.threads, False))
        compiled = None if args.no_compile else torch_run(config, extra, args.threads, True)
        results[name] = (merge(ours), merge(eager), compiled, merge(one_thread) if scales else None)

    scaling = []
    if not args.no_mpi:
        for name, config, extra in DATA_PARALLEL:
            if args.filter and not re.search(args.filter, name):
                continue
            print(f"workloads.py: {name}: 1 rank x 1 thread vs 2 ranks x 1 thread", file=sys.stderr)
            single = merge([nabla_run(args.nabla, config, extra, 1) for _ in range(args.rounds)])
            pair = merge([run_json(MPIRUN + [args.nabla, "bench", config, "--json"] + extra)
                          for _ in range(args.rounds)])
            scaling.append((name, single, pair))

    gflops = max(peaks) if peaks else None
    rows = []
    for name, (ours, eager, compiled, _) in results.items():
        rows.append([name, fmt_rate(ours), fmt_rate(eager), ratio(ours, eager), fmt_rate(compiled),
                     ratio(ours, compiled), memory_ratio(ours, eager)])
    header = ["workload", "nabla", "PyTorch eager", "nabla/eager", "torch.compile", "nabla/compile",
              "peak memory nabla / eager"]
    lines = ["## Training workloads (nabla bench vs bench/peers/torch_train.py)", "",
             f"- machine: {cpu_model()}; date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
             f"- threads: {args.threads}; fp32 FMA peak measured in this run: {gflops or float('nan'):.1f} GFLOP/s "
             f"(the highest of {len(peaks)} readings, one before each workload; lowest {min(peaks or [0]):.1f})",
             f"- command: `{command}`",
             "",
             "One real batch of each config's data, reused every step; train rows are full optimizer steps "
             "(forward, loss, backward, clipping when the config clips, step). Median over rounds of each "
             "process's median step (range in brackets). Ratios are throughput nabla/PyTorch (> 1: nabla is "
             "faster) and peak resident memory of the whole process (getrusage), nabla over PyTorch. "
             "Generation: nabla with its KV cache, PyTorch re-running the model on the whole sequence per token.",
             "",
             "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    extra_lines = []
    for name in MFU:
        if name in results and gflops and "train_flops_per_token" in results[name][0]:
            ours = results[name][0]
            mfu = ours["train_flops_per_token"] * ours["tokens_per_s"] / (gflops * 1e9)
            extra_lines.append(f"- {name}: model FLOPs utilisation {100 * mfu:.1f}% "
                               f"({ours['train_flops_per_token'] / 1e6:.1f} MFLOP/token x "
                               f"{ours['tokens_per_s']:.4g} tok/s over {gflops:.1f} GFLOP/s)")
    extra_lines += flop_table(results, gflops)
    for name in SCALING:
        if name in results and results[name][3] and "error" not in results[name][3] and "error" not in results[name][0]:
            ours, single = results[name][0], results[name][3]
            extra_lines.append(f"- {name}: {args.threads} threads / 1 thread = "
                               f"{ours['samples_per_s'] / single['samples_per_s']:.2f}x")
    if peak_scaling:
        extra_lines.append(f"- the FMA peak loop itself: {args.threads} threads / 1 thread = "
                           f"{statistics.median(peak_scaling):.2f}x (median of {len(peak_scaling)} back-to-back "
                           f"pairs, {min(peak_scaling):.2f}-{max(peak_scaling):.2f}x): what the host's second vCPU "
                           "gave a loop with no memory traffic and no synchronisation")
    bf16, fp32 = (results.get(n, (None,))[0] for n in BF16)
    if bf16 and fp32 and "error" not in bf16 and "error" not in fp32:
        extra_lines.append(f"- bf16 mixed precision: gpt_medium_train_b8 {ratio(bf16, fp32)} nabla's own fp32 throughput"
                           f" ({'native bf16' if bf16.get('bf16_native') else 'emulated: this CPU has no bf16 GEMM'})")
    if OVERHEAD in results and "error" not in results[OVERHEAD][0] and "error" not in results[OVERHEAD][1]:
        ours, eager = results[OVERHEAD][0], results[OVERHEAD][1]
        extra_lines.append(f"- step overhead, 4-parameter model: nabla {1e6 / ours['samples_per_s'] * ours['batch']:.1f} us"
                           f" per step, PyTorch eager {1e6 / eager['samples_per_s'] * eager['batch']:.1f} us: nabla's is "
                           f"{100 * eager['samples_per_s'] / ours['samples_per_s']:.1f}% of PyTorch's")
    if scaling:
        extra_lines += ["", "Data-parallel scaling (`mpirun -np 2 nabla bench`, 1 thread per rank, the same batch per "
                        "rank; all-reduce wait: the time backward's end waited for gradient reductions, per step):", "",
                        "| workload | 1 rank x 1 thread | 2 ranks x 1 thread | speed-up | all-reduce wait per step |",
                        "|---|---:|---:|---:|---:|"]
        for name, single, pair in scaling:
            wait = f"{pair['comm_wait_s_per_step'] * 1e3:.2f} ms" if "comm_wait_s_per_step" in pair else "-"
            extra_lines.append(f"| {name} | {fmt_rate(single)} | {fmt_rate(pair)} | {ratio(pair, single)} | {wait} |")
    errors = [f"- {name} ({side}): {r['error']}" for name, rs in results.items()
              for side, r in zip(("nabla", "eager", "compile"), rs[:3]) if r and "error" in r]
    if extra_lines:
        lines += ["", *extra_lines]
    if errors:
        lines += ["", "Errors:", *errors]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + text)
        print(f"appended to {args.append}", file=sys.stderr)


if __name__ == "__main__":
    main()

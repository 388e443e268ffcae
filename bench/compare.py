#!/usr/bin/env python3
"""Side-by-side benchmark table: nabla's Google Benchmark binary against its PyTorch twin.

Runs build/bench/nabla_bench (JSON output, 5 repetitions, median aggregate) and
bench/peers/torch_ops.py with the same thread count and filter, prints a table of the two rates
and their speed ratio (> 1 means nabla is faster), and writes the same table as Markdown.

Run:  python3 bench/compare.py --nabla build/bench/nabla_bench [--threads N] [--filter REGEX]
                               [--out bench/RESULTS.md]

nabla benchmarks report a "GFLOP/s" or "GB/s" user counter (already a rate); without one the
median real_time is used (and reported in microseconds for overhead/* benchmarks).
"""

import argparse
import datetime
import importlib.util
import json
import os
import re
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SCRIPT = os.path.join(HERE, "peers", "torch_ops.py")
RATE_COUNTERS = ("GFLOP/s", "GB/s", "x")  # "x": a speed ratio measured inside nabla_bench
TIME_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Suffixes Google Benchmark appends to a run's name (UseRealTime, Threads, MinTime, ...).
NAME_SUFFIX = re.compile(r"(/(real_time|manual_time|process_time|threads:\d+|iterations:\d+|"
                         r"repeats:\d+|min_time:[\d.e+-]+s?|min_warmup_time:[\d.e+-]+s?))+$")


# ---------------------------------------------------------------- nabla (Google Benchmark JSON)

def base_name(entry):
    """The registered benchmark name, without aggregate and option suffixes."""
    name = entry.get("run_name") or entry["name"]
    aggregate = entry.get("aggregate_name")
    if aggregate and name.endswith("_" + aggregate):
        name = name[: -len(aggregate) - 1]
    return NAME_SUFFIX.sub("", name)


def seconds_per_iteration(entry):
    return float(entry["real_time"]) * TIME_UNIT_SECONDS[entry.get("time_unit", "ns")]


def rate_of(entry, name):
    """(rate, unit) for one benchmark entry: its counter if present, else its real time."""
    for unit in RATE_COUNTERS:
        if unit in entry:
            return float(entry[unit]), unit
    if "bytes_per_second" in entry:  # state.SetBytesProcessed
        return float(entry["bytes_per_second"]) / 1e9, "GB/s"
    if "us" in entry:
        return float(entry["us"]), "us"
    seconds = seconds_per_iteration(entry)
    if name.startswith("overhead/"):
        return seconds * 1e6, "us"
    return seconds, "s"


def parse_google_benchmark(data):
    """name -> {"rate", "unit", "seconds"} from Google Benchmark JSON (median aggregates).

    With --benchmark_report_aggregates_only the entries are aggregates; we keep the medians. Plain
    iteration entries are used only when a benchmark has no median (e.g. run without repetitions).
    """
    medians, plain = {}, {}
    for entry in data.get("benchmarks", []):
        if entry.get("error_occurred"):
            continue
        name = base_name(entry)
        if entry.get("run_type") == "aggregate":
            if entry.get("aggregate_name") == "median":
                medians[name] = entry
        else:
            plain.setdefault(name, entry)
    results = {}
    for name, entry in {**plain, **medians}.items():
        rate, unit = rate_of(entry, name)
        results[name] = {"rate": rate, "unit": unit, "seconds": seconds_per_iteration(entry)}
    return results


def run_nabla(binary, threads, pattern):
    command = [binary, "--benchmark_format=json", "--benchmark_repetitions=3",
               "--benchmark_report_aggregates_only=true"]
    if pattern:
        command.append("--benchmark_filter=" + pattern)
    if not os.access(binary, os.X_OK):
        sys.exit(f"compare.py: no benchmark binary at {binary}; build it first (make bench)")
    env = dict(os.environ, NABLA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare.py: {binary} failed with exit code {proc.returncode}")
    data = json.loads(proc.stdout)
    return parse_google_benchmark(data), data.get("context", {})


# ---------------------------------------------------------------- PyTorch

def torch_available():
    return importlib.util.find_spec("torch") is not None


def run_torch(threads, pattern):
    """(results, torch_version) from torch_ops.py, or ({}, None) when PyTorch is unavailable."""
    if not torch_available():
        print("compare.py: PyTorch is not importable, so only nabla's numbers are shown; "
              "run `bash scripts/setup-peers.sh` to install it.", file=sys.stderr)
        return {}, None
    command = [sys.executable, TORCH_SCRIPT, "--threads", str(threads)]
    if pattern:
        command += ["--filter", pattern]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        print(f"compare.py: torch_ops.py failed with exit code {proc.returncode}; "
              "showing nabla's numbers only", file=sys.stderr)
        return {}, None
    return parse_torch(json.loads(proc.stdout))


def parse_torch(data):
    results = {b["name"]: {"rate": b["rate"], "unit": b["unit"], "seconds": b["median_s"]}
               for b in data.get("benchmarks", [])}
    return results, data.get("torch_version")


# ---------------------------------------------------------------- table

def speed_ratio(ours, theirs):
    """> 1 means nabla is faster. Rates compare directly; times ("us", "s") invert."""
    if not ours or not theirs or ours["unit"] != theirs["unit"]:
        return None
    if ours["unit"] in RATE_COUNTERS:
        return ours["rate"] / theirs["rate"] if theirs["rate"] else None
    return theirs["rate"] / ours["rate"] if ours["rate"] else None


def format_number(value):
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


def format_rate(result):
    """'120 GFLOP/s (115-125)': the median over rounds and, with several rounds, their range."""
    if not result:
        return "-"
    text = f"{format_number(result['rate'])} {result['unit']}"
    low, high = result.get("spread", (result["rate"], result["rate"]))
    if high > low:
        text += f" ({format_number(low)}-{format_number(high)})"
    return text


def table_rows(nabla, torch_results):
    """One row per benchmark on either side, in PyTorch's (the fixed list's) order first."""
    names = list(torch_results) + [n for n in nabla if n not in torch_results]
    rows = []
    for name in names:
        ours, theirs = nabla.get(name), torch_results.get(name)
        ratio = speed_ratio(ours, theirs)
        rows.append([name, format_rate(ours), format_rate(theirs),
                     "-" if ratio is None else f"{ratio:.2f}x"])
    return rows


HEADER = ["benchmark", "nabla", "PyTorch", "nabla/PyTorch"]


def plain_table(rows):
    widths = [max(len(r[i]) for r in [HEADER] + rows) for i in range(len(HEADER))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(HEADER), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


# ---------------------------------------------------------------- report

def cpu_model():
    """'AMD EPYC (family 25, model 1; AVX2, no AVX-512)': the name alone does not tell hosts apart,
    and the vector width decides which oneDNN kernels run."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return "unknown CPU"
    flags = fields.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    if "avx512_bf16" in flags:
        isa += " with BF16"
    return (f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}; {isa})")


def markdown_report(rows, torch_version, threads, command):
    header = [
        "# nabla vs PyTorch benchmarks",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- torch: {torch_version or 'not installed'}",
        f"- threads: {threads}",
        f"- command: `{command}`",
        "",
        "Each rate is the median over interleaved rounds (range in brackets). Ratio is nabla's speed over PyTorch's: > 1 means nabla is faster (for `us` rows it is "
        "PyTorch's time over nabla's). nabla: median of 5 Google Benchmark repetitions; PyTorch: "
        "median of 5 timed repetitions after warm-up, eager mode. Attention FLOPs count the full "
        "T^2 (no causal halving) and backward as 2.5x forward. PyTorch's bf16 matmul writes bf16 "
        "(nabla's writes fp32) and is timed with B stored [N, K], its faster bf16 layout on CPUs "
        "without AVX-512 BF16. Recurrent rows are one training step of a single-layer, batch-first "
        "LSTM/GRU (all outputs, gradients for weights and input) and count GEMM FLOPs only: "
        "3 x 2*T*B*(I+H)*G*H. PyTorch's CPU LSTM runs on oneDNN's RNN primitive, its GRU on its own "
        "cell loop. `*_dnnl_raw` rows (nabla column) call oneDNN's LSTM / linear-before-reset GRU "
        "primitives directly with weights reordered once, after checking their output and gradients "
        "against nabla's. `matmul_f32_over_dnnl_raw` rows are nabla's matmul speed over oneDNN's "
        "matmul primitive called directly, the two alternating call by call in one loop. `adamw_step` pairs nabla with the faster of PyTorch's foreach and fused "
        "AdamW; both are also listed as their own rows.",
        "",
    ]
    return "\n".join(header) + "\n" + markdown_table(rows) + "\n"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nabla", required=True, help="path to the nabla_bench binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--filter", default=None, help="regex passed to both sides")
    parser.add_argument("--out", default=None, help="write the table as Markdown to this file")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved nabla/PyTorch rounds; each rate is the median over rounds")
    return parser.parse_args()


def median_over_rounds(rounds):
    """Merges per-round results: the median rate per benchmark, with the min-max spread."""
    merged = {}
    names = list(dict.fromkeys(n for r in rounds for n in r))  # first-seen order
    for name in names:
        samples = [r[name] for r in rounds if name in r]
        rates = sorted(s["rate"] for s in samples)
        seconds = sorted(s["seconds"] for s in samples)
        merged[name] = {"rate": statistics.median(rates), "unit": samples[0]["unit"],
                        "seconds": statistics.median(seconds), "spread": (rates[0], rates[-1])}
    return merged


def run_rounds(args):
    """Alternates the two sides (and which goes first) so drift in the host's speed hits both."""
    nabla_rounds, torch_rounds, torch_version = [], [], None
    for round_index in range(args.rounds):
        order = ("nabla", "torch") if round_index % 2 == 0 else ("torch", "nabla")
        for side in order:
            print(f"compare.py: round {round_index + 1}/{args.rounds}: {side}", file=sys.stderr)
            if side == "nabla":
                nabla_rounds.append(run_nabla(args.nabla, args.threads, args.filter)[0])
            else:
                results, version = run_torch(args.threads, args.filter)
                if results:
                    torch_rounds.append(results)
                torch_version = version or torch_version
    return median_over_rounds(nabla_rounds), median_over_rounds(torch_rounds), torch_version


def main():
    args = parse_args()
    command = "python3 bench/compare.py " + shlex.join(sys.argv[1:])
    nabla, torch_results, torch_version = run_rounds(args)
    rows = table_rows(nabla, torch_results)
    print(f"threads: {args.threads}   torch: {torch_version or 'not installed'}")
    print(plain_table(rows))
    if args.out:
        with open(args.out, "w") as f:
            f.write(markdown_report(rows, torch_version, args.threads, command))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch twin of nabla's benchmark binary (build/bench/nabla_bench).

Runs the same workloads, with the same names and rate conventions, in eager PyTorch on the CPU,
so bench/compare.py can print the two side by side. Prints one JSON object on stdout:

  {"torch_version": ..., "threads": N,
   "benchmarks": [{"name", "median_s", "min_s", "max_s", "rate", "unit"}, ...]}

where *_s are seconds per iteration (median / min / max over repetitions) and rate is GFLOP/s or
GB/s computed from the median time, or microseconds per op ("us") for overhead benchmarks.

Run:  python3 bench/peers/torch_ops.py [--threads N] [--filter REGEX] [--seconds S]

Conventions (keep in step with bench/ in C++):
  matmul_*/MxKxN        C[M,N] = A[M,K] @ B[K,N]; FLOPs = 2*M*N*K. bf16: PyTorch's CPU matmul
                        has no fp32-output bf16 variant, so its output is bf16 (nabla's is fp32),
                        and B is stored [N,K] (see make_matmul).
  conv2d_fwd_bwd/...    forward + backward (weight and bias grads; input grad only when the input
                        requires grad: the k64 case). F = 2*N*O*Ho*Wo*C*kh*kw forward FLOPs;
                        FLOPs = 3*F with input grad, 2*F without.
  softmax, layer_norm, gelu: bytes = 2*4*numel (read + write); add: bytes = 3*4*numel.
  mean_all, mean_dim0/60000x784   the mean of all of Fashion-MNIST-sized data, and per column;
                        bytes = 4*numel (read).
  attention_fwd_bwd/... causal SDPA forward + backward for q, k, v; FLOPs = 4*B*H*T*T*D * 3.5
                        (full T^2 counted although causal masking halves the useful work;
                        backward counted as 2.5x forward).
  lstm_fwd_bwd/T*_B*_I*_H*, gru_fwd_bwd/...   one training step of a single-layer batch_first
                        torch.nn.LSTM / GRU: all outputs, backward from a random upstream gradient
                        into weights and input. FLOPs = 3 * 2*T*B*(I+H)*G*H (GEMMs only; G = 4 for
                        LSTM, 3 for GRU; backward counted as 2x forward).
  adamw_step/10M        one torch.optim.AdamW step over 10M f32 parameters, GB/s counting 7 * 4 * N
                        bytes (param, grad, exp_avg, exp_avg_sq read; param and both moments
                        written). adamw_step/ is the faster of the foreach and fused variants
                        (picked by a short pre-timing); adamw_step_foreach/ and _fused/ show both.
  overhead/add_1elem    a + b on 1-element tensors, microseconds per op.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
from functools import partial

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.stderr.write("torch_ops.py: PyTorch is not installed; run `bash scripts/setup-peers.sh`\n")
    sys.exit(3)

MATMUL_SHAPES = [(128, 784, 256), (32, 1024, 3072), (4096, 384, 1536), (4096, 1536, 384),
                 (1024, 1024, 1024)]
ROWS, COLS = 4096, 1536
REPETITIONS = 5
# (steps, batch, input, hidden): the GRU/LSTM 256 -> 1024, the lstm_text model's 128 -> 128,
# and the char GRU's second layer, 512 -> 512.
RECURRENT_SHAPES = [(28, 64, 256, 1024), (100, 32, 128, 128), (128, 32, 512, 512)]
ADAMW_PARAMS = 10_000_000


def make_matmul(m, k, n, dtype):
    a = torch.randn(m, k).to(dtype)
    if dtype == torch.float32:
        b = torch.randn(k, n)
        return lambda: torch.mm(a, b), 2.0 * m * n * k
    # bf16: B held as [N, K] (nn.Linear's weight layout) and passed transposed. On a CPU without
    # AVX-512 BF16, PyTorch runs a [K, N] bf16 B on a reference loop (~1 GFLOP/s) but this layout
    # on a faster one (~9 GFLOP/s); we time PyTorch's best bf16 path, not its worst.
    weight = torch.randn(n, k).to(dtype)
    return lambda: torch.mm(a, weight.t()), 2.0 * m * n * k


def make_conv(n, c, hw, out_channels, input_grad):
    x = torch.randn(n, c, hw, hw, requires_grad=input_grad)
    w = torch.randn(out_channels, c, 3, 3, requires_grad=True)
    b = torch.randn(out_channels, requires_grad=True)
    out_hw = hw - 2
    grad_out = torch.ones(n, out_channels, out_hw, out_hw)
    forward_flops = 2.0 * n * out_channels * out_hw * out_hw * c * 3 * 3

    def step():
        for t in (x, w, b):
            t.grad = None
        F.conv2d(x, w, b).backward(grad_out)

    return step, forward_flops * (3 if input_grad else 2)


def make_attention(batch, heads, seq, dim):
    q, k, v = (torch.randn(batch, heads, seq, dim, requires_grad=True) for _ in range(3))
    grad_out = torch.ones(batch, heads, seq, dim)

    def step():
        for t in (q, k, v):
            t.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(grad_out)

    return step, 4.0 * batch * heads * seq * seq * dim * 3.5


def make_rowwise(kind):
    x = torch.randn(ROWS, COLS)
    numel = x.numel()
    if kind == "softmax":
        return lambda: torch.softmax(x, dim=-1), 2.0 * 4 * numel
    if kind == "layer_norm":
        weight, bias = torch.randn(COLS), torch.randn(COLS)
        return lambda: F.layer_norm(x, (COLS,), weight, bias), 2.0 * 4 * numel
    if kind == "gelu":
        return lambda: F.gelu(x), 2.0 * 4 * numel
    y = torch.randn(ROWS, COLS)
    return lambda: x + y, 3.0 * 4 * numel


def make_mean(per_column):
    x = torch.rand(60000, 784)
    return (lambda: x.mean(0)) if per_column else (lambda: x.mean()), 4.0 * x.numel()


def make_recurrent(kind, steps, batch, input_size, hidden):
    layer_type, gates = (torch.nn.LSTM, 4) if kind == "lstm" else (torch.nn.GRU, 3)
    layer = layer_type(input_size, hidden, batch_first=True)
    x = torch.randn(batch, steps, input_size, requires_grad=True)
    grad_out = torch.randn(batch, steps, hidden)

    def step():
        x.grad = None
        layer.zero_grad(set_to_none=True)
        output, _ = layer(x)
        output.backward(grad_out)

    return step, 3 * 2.0 * steps * batch * (input_size + hidden) * gates * hidden


def adamw_step(variant):
    """A step function over ADAMW_PARAMS parameters with AdamW's defaults, or None if the variant
    does not run here (fused AdamW on CPU needs a recent PyTorch)."""
    param = torch.nn.Parameter(torch.randn(ADAMW_PARAMS))
    param.grad = torch.randn(ADAMW_PARAMS)
    try:
        optimizer = torch.optim.AdamW([param], **{variant: True})
        optimizer.step()  # allocates the moment buffers
    except (RuntimeError, TypeError, ValueError) as error:
        sys.stderr.write(f"torch_ops: AdamW {variant}=True does not run here: {error}\n")
        return None
    return optimizer.step


def make_adamw(variant):
    work = 7.0 * 4 * ADAMW_PARAMS
    if variant != "fastest":
        step = adamw_step(variant)
        if step is None:
            raise Unavailable(f"AdamW {variant}=True")
        return step, work
    candidates = {v: s for v in ("foreach", "fused") if (s := adamw_step(v)) is not None}
    timings = {v: min(time_calls(s, 3) for _ in range(3)) for v, s in candidates.items()}
    best = min(timings, key=timings.get)
    sys.stderr.write("torch_ops: adamw_step/: " +
                     ", ".join(f"{v} {t * 1e3:.1f} ms" for v, t in timings.items()) + f"; timing {best}\n")
    return candidates[best], work


class Unavailable(Exception):
    """A benchmark this PyTorch cannot run; it is left out of the results."""


def make_overhead():
    a, b = torch.ones(1), torch.ones(1)
    return lambda: a + b, None


def benchmark_table():
    """Name -> (factory, unit). Factories build inputs lazily, so --filter skips the allocation."""
    table = {}
    for dtype_name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        for m, k, n in MATMUL_SHAPES:
            table[f"matmul_{dtype_name}/{m}x{k}x{n}"] = (partial(make_matmul, m, k, n, dtype),
                                                         "GFLOP/s")
    table["conv2d_fwd_bwd/32x1x28x28_k32"] = (partial(make_conv, 32, 1, 28, 32, False), "GFLOP/s")
    table["conv2d_fwd_bwd/32x32x13x13_k64"] = (partial(make_conv, 32, 32, 13, 64, True), "GFLOP/s")
    for kind in ("softmax", "layer_norm", "gelu", "add"):
        table[f"{kind}/{ROWS}x{COLS}"] = (partial(make_rowwise, kind), "GB/s")
    table["mean_all/60000x784"] = (partial(make_mean, False), "GB/s")
    table["mean_dim0/60000x784"] = (partial(make_mean, True), "GB/s")
    table["attention_fwd_bwd/B8_H6_T256_D64"] = (partial(make_attention, 8, 6, 256, 64), "GFLOP/s")
    for kind in ("lstm", "gru"):
        for t, b, i, h in RECURRENT_SHAPES:
            table[f"{kind}_fwd_bwd/T{t}_B{b}_I{i}_H{h}"] = (partial(make_recurrent, kind, t, b, i, h),
                                                           "GFLOP/s")
    table["adamw_step/10M"] = (partial(make_adamw, "fastest"), "GB/s")
    table["adamw_step_foreach/10M"] = (partial(make_adamw, "foreach"), "GB/s")
    table["adamw_step_fused/10M"] = (partial(make_adamw, "fused"), "GB/s")
    table["overhead/add_1elem"] = (make_overhead, "us")
    return table


def time_calls(fn, iterations):
    """Mean seconds per call over `iterations` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations


def choose_iterations(fn, seconds_per_rep):
    """Warm up (excluded from timing), then pick a count that fills one repetition."""
    fn()
    iterations, elapsed = 1, time_calls(fn, 1)
    while elapsed * iterations < 0.02 and iterations < 1_000_000:
        iterations *= 10
        elapsed = time_calls(fn, iterations)
    return max(1, int(seconds_per_rep / max(elapsed, 1e-9))), elapsed


def measure(fn, seconds):
    """Seconds per call for each repetition; slow calls (> the whole budget) get 3 repetitions."""
    iterations, elapsed = choose_iterations(fn, seconds / REPETITIONS)
    repetitions = 3 if elapsed > seconds else REPETITIONS
    return [time_calls(fn, iterations) for _ in range(repetitions)]


def run_one(name, factory, unit, seconds):
    fn, work = factory()
    times = measure(fn, seconds)
    median = statistics.median(times)
    if unit == "us":
        rate = median * 1e6
    else:
        rate = work / median / 1e9
    return {"name": name, "median_s": median, "min_s": min(times), "max_s": max(times),
            "rate": rate, "unit": unit}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--filter", default=None, help="regex; run benchmarks whose name matches")
    parser.add_argument("--seconds", type=float, default=0.6,
                        help="approximate timed seconds per benchmark (split over repetitions)")
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pattern = re.compile(args.filter) if args.filter else None
    results = []
    for name, (factory, unit) in benchmark_table().items():
        if pattern and not pattern.search(name):
            continue
        try:
            results.append(run_one(name, factory, unit, args.seconds))
        except Unavailable as missing:
            sys.stderr.write(f"torch_ops: {name}: skipped, {missing} is not available\n")
            continue
        sys.stderr.write(f"torch_ops: {name}: {results[-1]['rate']:.3g} {unit}\n")
    json.dump({"torch_version": torch.__version__, "threads": args.threads, "benchmarks": results},
              sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

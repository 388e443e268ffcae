"""Writes the PyTorch golden files of the op test registry (tests/ops/op_registry.cpp), which
tests/ops/op_checks_test.cpp checks nabla's ops against. The registry is read through the
op_registry_dump program, so it is the one list of ops and cases:

    make golden        # builds, installs torch, numpy and safetensors (setup-peers), runs this
    python3 tests/golden/make_golden.py --dump build/tests/op_registry_dump

Each case becomes tests/golden/data/<case>.safetensors holding
  input.<i>          the stored (base) inputs: F32, I64 for indices/classes, BOOL for masks
  output / output.<j>            PyTorch's result(s)
  grad_output / grad_output.<j>  a random upstream gradient for each differentiable output
  grad_input.<i>     d sum_j(sum(output_j * grad_output_j)) / d input_i, shaped like the VIEW
and metadata {"op", "args" (JSON), "views" (JSON list: null | "transpose" | "stride2")}.

Inputs are drawn as float32 by the case's input expressions, in order, under a per-case seed (so
adding a case never changes the others), and stored as float32; the reference results are computed
from them in float64 and rounded to float32 once, so the goldens carry no float32 accumulation noise
of their own and the C++ tolerances measure only nabla's error.
"""

import argparse
import json
import pathlib
import subprocess

import torch
import torch.nn.functional as F
from golden_io import case_seed, write_cases

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"


def apply_view(t, view):
    if view is None:
        return t
    if view == "transpose":
        return t.transpose(-1, -2)
    if view == "stride2":
        return t[..., ::2]
    raise ValueError(view)


# ----------------------------------------------------------------------------- input makers
# What the registry's input expressions call. Every maker draws float32 from the generator seeded
# for the current case.

def randn(*shape):
    return torch.randn(shape)


def positive(*shape, low=0.5, high=2.0):
    return torch.empty(shape).uniform_(low, high)


def away_from_zero(*shape):
    """Magnitudes in [0.2, 1.5] with random signs: keeps kinks (relu, abs) out of reach."""
    sign = torch.randint(0, 2, shape).float() * 2 - 1
    return sign * torch.empty(shape).uniform_(0.2, 1.5)


def distinct(*shape, offset=0.0):
    """A shuffled grid of distinct values (spacing 0.25): max/min/pooling never see ties.
    Values with offset=0.125 never equal values with offset=0."""
    n = 1
    for s in shape:
        n *= s
    return ((torch.randperm(n).float() - n / 2) * 0.25 + offset).reshape(shape)


def uniform(*shape, low, high):
    return torch.empty(shape).uniform_(low, high)


def probs(*shape):
    return uniform(*shape, low=0.05, high=0.95)


def indices(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int64)


def targets_with(value, n, classes):
    """Class targets with `value` (an ignore_index) at two places."""
    t = indices(classes, n)
    t[1] = value
    t[n - 1] = value
    return t


def emb_indices():
    idx = indices(10, 3, 4)
    idx[0, 0] = idx[2, 3] = 7  # a repeat, so gradients must accumulate
    idx[1, 1] = 2              # the padding row, when padding_idx = 2
    return idx


def keep_one_per_row(mask):
    """Makes sure no query row of a boolean attention mask is fully masked."""
    mask = mask.clone()
    mask[..., 0] = True
    return mask


# ----------------------------------------------------------------------------- twin helpers
# What the registry's PyTorch twins call beyond torch and F.

def dims(x, dims):
    """[] means all dims, as in nabla's reductions."""
    return list(range(x.dim())) if not dims else dims


def pair(v):
    return tuple(v) if v is not None else None


def batch_norm_twin(x, a):
    """F.batch_norm updates the running statistics in place: it works on copies, so input.1/2 keep
    the values before the call, and returns them after it as outputs 1 and 2."""
    xs, running_mean, running_var, weight, bias = x
    running_mean, running_var = running_mean.clone(), running_var.clone()
    y = F.batch_norm(xs, running_mean, running_var, weight, bias, training=a["training"], momentum=a["momentum"],
                     eps=a["eps"])
    return [y, running_mean, running_var]


def self_attention_heads_twin(qkv, num_heads, is_causal, time_major):
    """nabla's self_attention_heads as PyTorch users write it: split q | k | v, attend per head, merge."""
    if time_major:
        qkv = qkv.transpose(0, 1)
    batch, steps, width3 = qkv.shape
    width = width3 // 3
    q, k, v = qkv.split(width, -1)

    def heads(t):
        return t.reshape(batch, steps, num_heads, width // num_heads).transpose(1, 2)

    out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=is_causal)
    out = out.transpose(1, 2).reshape(batch, steps, width)
    return out.transpose(0, 1) if time_major else out


# ----------------------------------------------------------------------------- writing

def read_registry(dump):
    """The registry's cases, each with its op entry."""
    entries = json.loads(subprocess.run([dump], check=True, capture_output=True, text=True).stdout)
    cases = []
    for entry in entries:
        for c in entry["cases"]:
            cases.append(dict(name=c["name"], entry=entry, inputs=c["inputs"], args=json.loads(c["args"]),
                              views=[v or None for v in c["views"]] or None))
    return cases


def build(spec):
    """Runs one case and returns (tensors, metadata) ready for save_file."""
    entry, args, name = spec["entry"], spec["args"], spec["name"]
    torch.manual_seed(case_seed(name))
    base = [eval(expression, dict(SCOPE)) for expression in spec["inputs"]]
    views = spec["views"] or [None] * len(base)
    assert len(views) == len(base), name

    grad_indices = entry["grad_inputs"] or [i for i, t in enumerate(base) if t.is_floating_point()]
    # float64 copies of the float32 inputs, viewed as the op will see them.
    leaves = []
    for i, (t, view) in enumerate(zip(base, views)):
        v = apply_view(t.double() if t.is_floating_point() else t, view).detach()
        if i in grad_indices:
            v.requires_grad_()
        leaves.append(v)

    single = not entry["multi_output"]
    result = eval(entry["torch"], dict(SCOPE, x=list(leaves), a=args))
    outputs = [result] if single else list(result)
    differentiable = (entry["grad_outputs"] or list(range(len(outputs)))) if entry["differentiable"] else []

    tensors = {}
    for i, t in enumerate(base):
        tensors[f"input.{i}"] = t.contiguous().clone()

    grad_outputs = {j: torch.randn(outputs[j].shape) for j in differentiable}  # float32, as stored
    for j, out in enumerate(outputs):
        key = "output" if single else f"output.{j}"
        tensors[key] = (out.detach().float() if out.is_floating_point() else out.detach()).contiguous().clone()
        if j in grad_outputs:
            tensors["grad_output" if single else f"grad_output.{j}"] = grad_outputs[j].contiguous()

    if grad_outputs:
        loss = sum((outputs[j] * grad_outputs[j].double()).sum() for j in differentiable)
        wrt = [leaves[i] for i in grad_indices]
        grads = torch.autograd.grad(loss, wrt, allow_unused=True)
        for i, g in zip(grad_indices, grads):
            g = torch.zeros_like(leaves[i]) if g is None else g
            tensors[f"grad_input.{i}"] = g.float().contiguous().clone()

    metadata = {"op": entry["op"], "args": json.dumps(args), "views": json.dumps(views)}
    return tensors, metadata


# What input expressions and twins see: torch, F, the makers and the twin helpers above.
SCOPE = {name: value for name, value in globals().items() if not name.startswith("_")}


def main():
    parser = argparse.ArgumentParser(description="Writes the op registry's PyTorch golden files.")
    parser.add_argument("--dump", default="build/tests/op_registry_dump", help="the op_registry_dump program")
    torch.use_deterministic_algorithms(True)
    cases = read_registry(parser.parse_args().dump)
    total = write_cases(cases, build, DATA_DIR)
    counts = {}
    for spec in cases:
        counts[spec["entry"]["op"]] = counts.get(spec["entry"]["op"], 0) + 1
    for op, n in counts.items():
        print(f"{op:34s} {n}")
    print(f"{len(cases)} cases, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()

"""Writes the PyTorch golden cases that tests/ops/golden_test.cpp checks nabla's ops against.

Rerun from the repository root with

    bash scripts/setup-peers.sh        # once: installs torch, numpy, safetensors
    python3 tests/golden/make_golden.py

Each case becomes tests/golden/data/<case>.safetensors holding
  input.<i>          the stored (base) inputs: F32, I64 for indices/classes, BOOL for masks
  output / output.<j>            PyTorch's result(s)
  grad_output / grad_output.<j>  a random upstream gradient for each differentiable output
  grad_input.<i>     d sum_j(sum(output_j * grad_output_j)) / d input_i, shaped like the VIEW
and metadata {"op", "args" (JSON), "views" (JSON list: null | "transpose" | "stride2")}.

Inputs are drawn as float32 with a per-case seed (so adding a case never changes the others) and
stored as float32; the reference results are computed from them in float64 and rounded to float32
once, so the goldens carry no float32 accumulation noise of their own and the C++ tolerances
measure only nabla's error.
"""

import json
import pathlib

import torch
import torch.nn.functional as F
from golden_io import case_seed, write_cases

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"

# Ops that return several tensors, and which of their outputs carry a gradient.
MULTI_OUTPUT = {"max_dim", "min_dim", "split", "chunk", "batch_norm"}
DIFFERENTIABLE_OUTPUTS = {"max_dim": [0], "min_dim": [0], "batch_norm": [0], "argmax": []}


def _dims(x, dims):
    """[] means all dims, as in nabla's reductions."""
    return list(range(x.dim())) if not dims else dims


def _pair(v):
    return tuple(v) if v is not None else None


def _batch_norm(i, a):
    x, running_mean, running_var, weight, bias = i
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=a["training"],
                     momentum=a["momentum"], eps=a["eps"])
    return [y, running_mean, running_var]


def _sdpa(i, a):
    mask = i[3] if len(i) > 3 else None
    return F.scaled_dot_product_attention(i[0], i[1], i[2], attn_mask=mask, is_causal=a["is_causal"],
                                          scale=a["scale"])


def _cross_entropy(i, a):
    return F.cross_entropy(i[0], i[1], reduction=a["reduction"], ignore_index=a["ignore_index"],
                           label_smoothing=a["label_smoothing"])


# The PyTorch meaning of each op name; golden_test.cpp has the nabla side of the same table.
TORCH_OPS = {
    "neg": lambda i, a: torch.neg(i[0]),
    "exp": lambda i, a: torch.exp(i[0]),
    "log": lambda i, a: torch.log(i[0]),
    "sqrt": lambda i, a: torch.sqrt(i[0]),
    "rsqrt": lambda i, a: torch.rsqrt(i[0]),
    "abs": lambda i, a: torch.abs(i[0]),
    "relu": lambda i, a: torch.relu(i[0]),
    "sigmoid": lambda i, a: torch.sigmoid(i[0]),
    "tanh": lambda i, a: torch.tanh(i[0]),
    "silu": lambda i, a: F.silu(i[0]),
    "gelu": lambda i, a: F.gelu(i[0], approximate=a["approximate"]),
    "leaky_relu": lambda i, a: F.leaky_relu(i[0], a["negative_slope"]),
    "pow_scalar": lambda i, a: torch.pow(i[0], a["exponent"]),
    "clamp": lambda i, a: torch.clamp(i[0], a["min"], a["max"]),
    "add": lambda i, a: torch.add(i[0], i[1]),
    "sub": lambda i, a: torch.sub(i[0], i[1]),
    "mul": lambda i, a: torch.mul(i[0], i[1]),
    "div": lambda i, a: torch.div(i[0], i[1]),
    "maximum": lambda i, a: torch.maximum(i[0], i[1]),
    "minimum": lambda i, a: torch.minimum(i[0], i[1]),
    "pow": lambda i, a: torch.pow(i[0], i[1]),
    "where": lambda i, a: torch.where(i[0], i[1], i[2]),
    "softmax": lambda i, a: torch.softmax(i[0], a["dim"]),
    "log_softmax": lambda i, a: torch.log_softmax(i[0], a["dim"]),
    "sum": lambda i, a: torch.sum(i[0], _dims(i[0], a["dims"]), keepdim=a["keepdim"]),
    "mean": lambda i, a: torch.mean(i[0], _dims(i[0], a["dims"]), keepdim=a["keepdim"]),
    "var": lambda i, a: torch.var(i[0], _dims(i[0], a["dims"]), correction=a["correction"], keepdim=a["keepdim"]),
    "norm": lambda i, a: torch.linalg.vector_norm(i[0], a["p"], _dims(i[0], a["dims"]), keepdim=a["keepdim"]),
    "max_dim": lambda i, a: list(torch.max(i[0], a["dim"], keepdim=a["keepdim"])),
    "min_dim": lambda i, a: list(torch.min(i[0], a["dim"], keepdim=a["keepdim"])),
    "argmax": lambda i, a: torch.argmax(i[0], a["dim"], keepdim=a["keepdim"]),
    "matmul": lambda i, a: torch.matmul(i[0], i[1]),
    "linear": lambda i, a: F.linear(*i),
    "conv2d": lambda i, a: F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a["stride"],
                                    padding=a["padding"], dilation=a["dilation"], groups=a["groups"]),
    "max_pool2d": lambda i, a: F.max_pool2d(i[0], a["kernel_size"], _pair(a["stride"]), a["padding"],
                                            ceil_mode=a["ceil_mode"]),
    "relu_max_pool2d": lambda i, a: F.max_pool2d(F.relu(i[0]), a["kernel_size"], _pair(a["stride"]), a["padding"],
                                                 ceil_mode=a["ceil_mode"]),
    "avg_pool2d": lambda i, a: F.avg_pool2d(i[0], a["kernel_size"], _pair(a["stride"]), a["padding"],
                                            ceil_mode=a["ceil_mode"], count_include_pad=a["count_include_pad"]),
    "adaptive_avg_pool2d": lambda i, a: F.adaptive_avg_pool2d(i[0], a["output_size"]),
    "embedding": lambda i, a: F.embedding(i[0], i[1], padding_idx=a["padding_idx"]),
    "layer_norm": lambda i, a: F.layer_norm(i[0], a["normalized_shape"], *i[1:], eps=a["eps"]),
    "batch_norm": _batch_norm,
    "cat": lambda i, a: torch.cat(i, a["dim"]),
    "stack": lambda i, a: torch.stack(i, a["dim"]),
    "split": lambda i, a: list(torch.split(i[0], a["split_size"], a["dim"])),
    "chunk": lambda i, a: list(torch.chunk(i[0], a["chunks"], a["dim"])),
    "index_select": lambda i, a: torch.index_select(i[0], a["dim"], i[1]),
    "gather": lambda i, a: torch.gather(i[0], a["dim"], i[1]),
    "mse_loss": lambda i, a: F.mse_loss(i[0], i[1], reduction=a["reduction"]),
    "binary_cross_entropy": lambda i, a: F.binary_cross_entropy(i[0], i[1], i[2] if len(i) > 2 else None,
                                                                reduction=a["reduction"]),
    "binary_cross_entropy_with_logits": lambda i, a: F.binary_cross_entropy_with_logits(
        i[0], i[1], reduction=a["reduction"], pos_weight=i[2] if len(i) > 2 else None),
    "cross_entropy": _cross_entropy,
    "nll_loss": lambda i, a: F.nll_loss(i[0], i[1], ignore_index=a["ignore_index"], reduction=a["reduction"]),
    "scaled_dot_product_attention": _sdpa,
}

# Ops whose later inputs are targets, weights of the target, or running statistics: no gradient.
GRAD_INPUTS = {
    "binary_cross_entropy": [0],
    "binary_cross_entropy_with_logits": [0],
    "cross_entropy": [0],
    "nll_loss": [0],
    "batch_norm": [0, 3, 4],
    "scaled_dot_product_attention": [0, 1, 2],  # not the mask
}


def apply_view(t, view):
    if view is None:
        return t
    if view == "transpose":
        return t.transpose(-1, -2)
    if view == "stride2":
        return t[..., ::2]
    raise ValueError(view)


# ----------------------------------------------------------------------------- input makers
# Every maker draws float32 from the generator seeded for the current case.

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


def indices(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int64)


def keep_one_per_row(mask):
    """Makes sure no query row of a boolean attention mask is fully masked."""
    mask = mask.clone()
    mask[..., 0] = True
    return mask


# ----------------------------------------------------------------------------- cases
CASES = []


def case(name, op, inputs, args=None, views=None):
    """inputs: a list of tensors or a callable building them (run under the case's seed)."""
    CASES.append(dict(name=name, op=op, inputs=inputs, args=args or {}, views=views))


def unary_cases():
    case("neg_basic", "neg", lambda: [randn(3, 5)])
    case("neg_scalar", "neg", lambda: [randn()])
    case("exp_basic", "exp", lambda: [randn(4, 7)])
    case("exp_transpose", "exp", lambda: [randn(3, 5)], views=["transpose"])
    case("log_basic", "log", lambda: [positive(3, 7, low=0.1, high=5.0)])
    case("sqrt_basic", "sqrt", lambda: [positive(5, 3, low=0.1, high=4.0)])
    case("sqrt_stride2", "sqrt", lambda: [positive(3, 10, low=0.1, high=4.0)], views=["stride2"])
    case("rsqrt_basic", "rsqrt", lambda: [positive(2, 3, 5, low=0.2, high=4.0)])
    case("abs_basic", "abs", lambda: [away_from_zero(5, 7)])
    case("relu_basic", "relu", lambda: [away_from_zero(4, 9)])
    case("relu_stride2", "relu", lambda: [away_from_zero(3, 14)], views=["stride2"])
    case("sigmoid_basic", "sigmoid", lambda: [randn(3, 7) * 3])
    case("tanh_basic", "tanh", lambda: [randn(7, 3) * 2])
    case("tanh_transpose", "tanh", lambda: [randn(2, 3, 5)], views=["transpose"])
    case("silu_basic", "silu", lambda: [randn(5, 5) * 3])
    case("silu_1d", "silu", lambda: [randn(13)])
    case("gelu_exact", "gelu", lambda: [randn(4, 7) * 2], {"approximate": "none"})
    case("gelu_tanh", "gelu", lambda: [randn(4, 7) * 2], {"approximate": "tanh"})
    case("gelu_exact_transpose", "gelu", lambda: [randn(3, 6)], {"approximate": "none"}, ["transpose"])
    case("leaky_relu_basic", "leaky_relu", lambda: [away_from_zero(5, 6)], {"negative_slope": 0.2})
    case("leaky_relu_default_slope", "leaky_relu", lambda: [away_from_zero(3, 3, 3)], {"negative_slope": 0.01})
    case("pow_scalar_2_5", "pow_scalar", lambda: [positive(3, 5, low=0.2, high=2.0)], {"exponent": 2.5})
    case("pow_scalar_neg_half", "pow_scalar", lambda: [positive(7, low=0.2, high=2.0)], {"exponent": -0.5})
    case("pow_scalar_square", "pow_scalar", lambda: [randn(4, 3)], {"exponent": 2.0})
    case("clamp_both", "clamp", lambda: [randn(5, 7)], {"min": -0.5, "max": 0.7})
    case("clamp_min_only", "clamp", lambda: [randn(5, 7)], {"min": -0.5, "max": None})
    case("clamp_max_only", "clamp", lambda: [randn(5, 7)], {"min": None, "max": 0.7})


def binary_cases():
    # (name suffix, shape a, shape b, views); values kept in ranges each op is smooth on.
    layouts = [
        ("same_shape", (4, 5), (4, 5), None),
        ("broadcast_row", (4, 5), (5,), None),
        ("broadcast_col", (4, 5), (4, 1), None),
        ("broadcast_both", (3, 1, 5), (1, 4, 1), None),
        ("scalar_rhs", (3, 5), (), None),
        ("one_lhs", (1,), (2, 3, 4), None),
        ("transpose", (5, 4), (4, 5), ["transpose", None]),
        ("stride2", (3, 10), (3, 5), ["stride2", None]),
    ]
    # add, mul and div get every layout; the others a representative subset.
    subset = {"same_shape", "broadcast_row", "broadcast_both", "scalar_rhs", "transpose"}
    for op in ["add", "sub", "mul", "div", "maximum", "minimum", "pow"]:
        for suffix, sa, sb, views in layouts:
            if op not in ("add", "mul", "div") and suffix not in subset:
                continue
            def make(sa=sa, sb=sb, op=op):
                if op == "div":
                    return [randn(*sa), away_from_zero(*sb)]
                if op in ("maximum", "minimum"):
                    return [distinct(*sa), distinct(*sb, offset=0.125)]
                if op == "pow":
                    return [positive(*sa, low=0.3, high=2.0), randn(*sb)]
                return [randn(*sa), randn(*sb)]
            case(f"{op}_{suffix}", op, make, views=views)
    # The right-hand operand viewed, and both operands non-contiguous at once.
    case("sub_rhs_transpose", "sub", lambda: [randn(3, 4), randn(4, 3)], views=[None, "transpose"])
    case("mul_both_views", "mul", lambda: [randn(6, 3), randn(3, 12)], views=["transpose", "stride2"])

    case("where_same_shape", "where", lambda: [torch.rand(3, 5) > 0.5, randn(3, 5), randn(3, 5)])
    case("where_broadcast", "where", lambda: [torch.rand(4, 1) > 0.5, randn(4, 5), randn(5)])
    case("where_scalar_a", "where", lambda: [torch.rand(3, 4) > 0.5, randn(), randn(3, 4)])
    case("where_cond_broadcast", "where", lambda: [torch.rand(5) > 0.5, randn(2, 3, 5), randn(3, 1)])


def softmax_cases():
    for op in ["softmax", "log_softmax"]:
        case(f"{op}_last", op, lambda: [randn(4, 7) * 2], {"dim": -1})
        case(f"{op}_dim0", op, lambda: [randn(5, 3) * 2], {"dim": 0})
        case(f"{op}_middle_3d", op, lambda: [randn(2, 5, 3) * 2], {"dim": 1})
        case(f"{op}_transpose", op, lambda: [randn(6, 4) * 2], {"dim": -1}, ["transpose"])
        case(f"{op}_size1", op, lambda: [randn(3, 1)], {"dim": -1})
    case("softmax_large_logits", "softmax", lambda: [randn(3, 5) * 30 + 80], {"dim": -1})
    case("log_softmax_stride2", "log_softmax", lambda: [randn(3, 14)], {"dim": -1}, ["stride2"])


def reduction_cases():
    for op in ["sum", "mean"]:
        case(f"{op}_all", op, lambda: [randn(3, 5)], {"dims": [], "keepdim": False})
        case(f"{op}_all_keepdim", op, lambda: [randn(3, 5)], {"dims": [], "keepdim": True})
        case(f"{op}_dim1", op, lambda: [randn(4, 7)], {"dims": [1], "keepdim": False})
        case(f"{op}_dims02_keepdim", op, lambda: [randn(3, 4, 5)], {"dims": [0, 2], "keepdim": True})
        case(f"{op}_neg_dim", op, lambda: [randn(2, 3, 5)], {"dims": [-1], "keepdim": False})
        case(f"{op}_transpose", op, lambda: [randn(5, 3)], {"dims": [1], "keepdim": False}, ["transpose"])
        case(f"{op}_stride2", op, lambda: [randn(3, 10)], {"dims": [], "keepdim": False}, ["stride2"])
    case("sum_size1_dim", "sum", lambda: [randn(3, 1, 5)], {"dims": [1], "keepdim": False})

    case("var_unbiased_all", "var", lambda: [randn(4, 5)], {"dims": [], "correction": 1, "keepdim": False})
    case("var_biased_dim1", "var", lambda: [randn(4, 7)], {"dims": [1], "correction": 0, "keepdim": False})
    case("var_unbiased_dim0_keepdim", "var", lambda: [randn(5, 3)], {"dims": [0], "correction": 1, "keepdim": True})
    case("var_dims12", "var", lambda: [randn(2, 3, 5)], {"dims": [1, 2], "correction": 1, "keepdim": False})
    case("var_transpose", "var", lambda: [randn(6, 3)], {"dims": [-1], "correction": 0, "keepdim": False},
         ["transpose"])

    case("norm_l2_all", "norm", lambda: [randn(3, 5)], {"p": 2.0, "dims": [], "keepdim": False})
    case("norm_l2_dim1_keepdim", "norm", lambda: [randn(4, 5)], {"p": 2.0, "dims": [1], "keepdim": True})
    case("norm_l1_dim0", "norm", lambda: [away_from_zero(5, 3)], {"p": 1.0, "dims": [0], "keepdim": False})
    case("norm_l1_all", "norm", lambda: [away_from_zero(2, 3, 4)], {"p": 1.0, "dims": [], "keepdim": False})
    case("norm_l2_stride2", "norm", lambda: [randn(3, 8)], {"p": 2.0, "dims": [-1], "keepdim": False},
         ["stride2"])

    for op in ["max_dim", "min_dim"]:
        case(f"{op}_dim1", op, lambda: [distinct(4, 7)], {"dim": 1, "keepdim": False})
        case(f"{op}_dim0_keepdim", op, lambda: [distinct(5, 3)], {"dim": 0, "keepdim": True})
        case(f"{op}_3d_last", op, lambda: [distinct(2, 3, 5)], {"dim": -1, "keepdim": False})
        case(f"{op}_transpose", op, lambda: [distinct(3, 6)], {"dim": 1, "keepdim": False}, ["transpose"])
    case("argmax_dim1", "argmax", lambda: [distinct(4, 7)], {"dim": 1, "keepdim": False})
    case("argmax_dim0_keepdim", "argmax", lambda: [distinct(5, 3)], {"dim": 0, "keepdim": True})
    case("argmax_3d_middle", "argmax", lambda: [distinct(2, 5, 3)], {"dim": 1, "keepdim": False})
    case("argmax_transpose", "argmax", lambda: [distinct(4, 3)], {"dim": -1, "keepdim": False}, ["transpose"])


def matmul_cases():
    case("matmul_2d", "matmul", lambda: [randn(3, 5), randn(5, 4)])
    case("matmul_2d_bigger", "matmul", lambda: [randn(17, 13), randn(13, 11)])
    case("matmul_batched", "matmul", lambda: [randn(2, 3, 5), randn(2, 5, 4)])
    case("matmul_broadcast_batch", "matmul", lambda: [randn(2, 1, 3, 4), randn(5, 4, 6)])
    case("matmul_3d_by_2d", "matmul", lambda: [randn(2, 3, 5), randn(5, 4)])
    case("matmul_2d_by_3d", "matmul", lambda: [randn(3, 5), randn(2, 5, 4)])
    case("matmul_1d_2d", "matmul", lambda: [randn(5), randn(5, 3)])
    case("matmul_2d_1d", "matmul", lambda: [randn(3, 5), randn(5)])
    case("matmul_1d_1d", "matmul", lambda: [randn(7), randn(7)])
    case("matmul_1d_3d", "matmul", lambda: [randn(4), randn(2, 4, 3)])
    case("matmul_3d_1d", "matmul", lambda: [randn(2, 3, 4), randn(4)])
    case("matmul_inner1", "matmul", lambda: [randn(4, 1), randn(1, 3)])
    case("matmul_transpose_a", "matmul", lambda: [randn(5, 3), randn(5, 4)], views=["transpose", None])
    case("matmul_transpose_b", "matmul", lambda: [randn(3, 5), randn(4, 5)], views=[None, "transpose"])
    case("matmul_batched_transpose_b", "matmul", lambda: [randn(2, 3, 5), randn(2, 4, 5)], views=[None, "transpose"])
    case("matmul_batched_transpose_both", "matmul", lambda: [randn(2, 5, 3), randn(2, 4, 5)],
         views=["transpose", "transpose"])
    case("matmul_stride2_a", "matmul", lambda: [randn(3, 10), randn(5, 4)], views=["stride2", None])

    case("linear_2d_bias", "linear", lambda: [randn(4, 5), randn(3, 5), randn(3)])
    case("linear_3d_bias", "linear", lambda: [randn(2, 3, 5), randn(7, 5), randn(7)])
    case("linear_2d_no_bias", "linear", lambda: [randn(4, 5), randn(3, 5)])
    case("linear_3d_no_bias", "linear", lambda: [randn(2, 3, 4), randn(6, 4)])
    case("linear_weight_transposed", "linear", lambda: [randn(3, 5), randn(5, 4), randn(4)],
         views=[None, "transpose", None])


def conv_cases():
    def conv(name, x, w, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        def make():
            inputs = [randn(*x), randn(*w) * 0.5]
            if bias:
                inputs.append(randn(w[0]))
            return inputs
        case(name, "conv2d", make, {"stride": list(stride), "padding": list(padding),
                                    "dilation": list(dilation), "groups": groups})

    conv("conv2d_basic", (2, 3, 7, 7), (4, 3, 3, 3), True)
    conv("conv2d_one_channel", (2, 1, 6, 5), (3, 1, 3, 3), True)
    conv("conv2d_stride2", (1, 3, 9, 9), (2, 3, 3, 3), True, stride=(2, 2))
    conv("conv2d_padding1", (2, 2, 5, 5), (3, 2, 3, 3), True, padding=(1, 1))
    conv("conv2d_dilation2", (1, 2, 9, 8), (2, 2, 3, 3), True, padding=(2, 2), dilation=(2, 2))
    conv("conv2d_groups2", (2, 4, 6, 6), (6, 2, 3, 3), True, groups=2)
    conv("conv2d_depthwise", (1, 3, 5, 5), (3, 1, 3, 3), True, padding=(1, 1), groups=3)
    conv("conv2d_nonsquare_kernel", (1, 3, 7, 6), (4, 3, 2, 3), True, stride=(2, 1), padding=(1, 0))
    conv("conv2d_no_bias", (2, 3, 5, 5), (2, 3, 3, 3), False)
    conv("conv2d_1x1", (2, 5, 3, 3), (4, 5, 1, 1), False)
    conv("conv2d_mixed_odd", (2, 2, 11, 9), (3, 2, 3, 2), True, stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    conv("conv2d_kernel_equals_input", (2, 3, 4, 4), (5, 3, 4, 4), True)
    # More than four input channels: oneDNN (up to four at stride 1 run nabla's direct kernels).
    conv("conv2d_many_channels", (2, 9, 6, 5), (10, 9, 3, 3), True, padding=(1, 1))
    conv("conv2d_seven_channels_strided", (3, 7, 8, 7), (5, 7, 3, 2), True, stride=(2, 2), padding=(1, 1),
         dilation=(1, 2))


def pool_cases():
    def pool(name, op, x, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=None):
        args = {"kernel_size": list(kernel), "stride": list(stride) if stride is not None else None,
                "padding": list(padding), "ceil_mode": ceil_mode}
        if op == "avg_pool2d":
            args["count_include_pad"] = count_include_pad if count_include_pad is not None else True
        # Distinct values so the max (and its gradient) is unambiguous; none is 0, relu's kink.
        case(name, op, lambda: [distinct(*x, offset=0.125 if op == "relu_max_pool2d" else 0.0)], args)

    pool("max_pool2d_k2s2", "max_pool2d", (2, 3, 6, 6), (2, 2), (2, 2))
    pool("max_pool2d_k3s2p1", "max_pool2d", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1))
    pool("max_pool2d_ceil_mode", "max_pool2d", (1, 2, 7, 5), (2, 2), (2, 2), ceil_mode=True)
    pool("max_pool2d_ceil_pad", "max_pool2d", (1, 1, 8, 8), (3, 3), (2, 2), (1, 1), ceil_mode=True)
    pool("max_pool2d_nonsquare", "max_pool2d", (2, 2, 5, 9), (2, 3), (1, 2))
    pool("max_pool2d_default_stride", "max_pool2d", (1, 3, 6, 9), (3, 3), None)
    pool("max_pool2d_overlap_s1", "max_pool2d", (1, 2, 5, 5), (3, 3), (1, 1))

    pool("relu_max_pool2d_k2s2", "relu_max_pool2d", (2, 3, 6, 6), (2, 2), (2, 2))
    pool("relu_max_pool2d_k3s2p1_ceil", "relu_max_pool2d", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1), ceil_mode=True)

    pool("avg_pool2d_k2s2", "avg_pool2d", (2, 3, 6, 6), (2, 2), (2, 2))
    pool("avg_pool2d_pad_include", "avg_pool2d", (1, 2, 5, 5), (3, 3), (2, 2), (1, 1), count_include_pad=True)
    pool("avg_pool2d_pad_exclude", "avg_pool2d", (1, 2, 5, 5), (3, 3), (2, 2), (1, 1), count_include_pad=False)
    pool("avg_pool2d_ceil_mode", "avg_pool2d", (1, 2, 7, 5), (2, 2), (2, 2), ceil_mode=True)
    pool("avg_pool2d_ceil_pad_include", "avg_pool2d", (1, 1, 8, 8), (3, 3), (2, 2), (1, 1), ceil_mode=True,
         count_include_pad=True)
    pool("avg_pool2d_nonsquare", "avg_pool2d", (2, 2, 5, 9), (2, 3), (1, 2))
    pool("avg_pool2d_default_stride", "avg_pool2d", (1, 3, 6, 9), (3, 3), None)

    for name, x, out in [("adaptive_avg_pool2d_7_to_3", (2, 3, 7, 7), (3, 3)),
                         ("adaptive_avg_pool2d_divisible", (1, 2, 6, 6), (2, 3)),
                         ("adaptive_avg_pool2d_nonsquare", (2, 2, 5, 7), (3, 4)),
                         ("adaptive_avg_pool2d_global", (2, 3, 5, 4), (1, 1)),
                         ("adaptive_avg_pool2d_identity", (1, 2, 3, 5), (3, 5)),
                         ("adaptive_avg_pool2d_upsample", (1, 1, 3, 2), (5, 4))]:
        case(name, "adaptive_avg_pool2d", lambda x=x: [randn(*x)], {"output_size": list(out)})


def nn_functional_cases():
    def emb_indices():
        idx = indices(10, 3, 4)
        idx[0, 0] = idx[2, 3] = 7  # a repeat, so gradients must accumulate
        idx[1, 1] = 2              # the padding row, when padding_idx = 2
        return idx
    case("embedding_basic", "embedding", lambda: [emb_indices(), randn(10, 6)], {"padding_idx": None})
    case("embedding_padding_idx", "embedding", lambda: [emb_indices(), randn(10, 6)], {"padding_idx": 2})
    case("embedding_1d", "embedding", lambda: [torch.tensor([4, 0, 4, 9, 1]), randn(10, 3)], {"padding_idx": None})

    case("layer_norm_2d", "layer_norm", lambda: [randn(4, 6), randn(6), randn(6)],
         {"normalized_shape": [6], "eps": 1e-5})
    case("layer_norm_3d", "layer_norm", lambda: [randn(2, 3, 5) * 2 + 1, randn(5), randn(5)],
         {"normalized_shape": [5], "eps": 1e-5})
    case("layer_norm_two_dims_no_affine", "layer_norm", lambda: [randn(2, 3, 4)],
         {"normalized_shape": [3, 4], "eps": 1e-5})
    case("layer_norm_two_dims_affine", "layer_norm", lambda: [randn(2, 3, 5), randn(3, 5), randn(3, 5)],
         {"normalized_shape": [3, 5], "eps": 1e-5})
    case("layer_norm_transpose", "layer_norm", lambda: [randn(7, 3), randn(7), randn(7)],
         {"normalized_shape": [7], "eps": 1e-5}, [ "transpose", None, None])

    def bn(name, x_shape, training):
        c = x_shape[1]
        case(name, "batch_norm",
             lambda: [randn(*x_shape) * 2 + 0.5, randn(c) * 0.1, positive(c, low=0.5, high=1.5), randn(c), randn(c)],
             {"training": training, "momentum": 0.1, "eps": 1e-5})
    bn("batch_norm_2d_train", (6, 3), True)
    bn("batch_norm_2d_eval", (6, 3), False)
    bn("batch_norm_4d_train", (3, 2, 4, 5), True)
    bn("batch_norm_4d_eval", (3, 2, 4, 5), False)
    bn("batch_norm_3d_train", (4, 3, 5), True)


def shape_cases():
    case("cat_dim0", "cat", lambda: [randn(2, 3), randn(1, 3), randn(4, 3)], {"dim": 0})
    case("cat_dim1", "cat", lambda: [randn(3, 2), randn(3, 5)], {"dim": 1})
    case("cat_neg_dim_3d", "cat", lambda: [randn(2, 3, 1), randn(2, 3, 4), randn(2, 3, 2)], {"dim": -1})
    case("cat_transpose_input", "cat", lambda: [randn(3, 4), randn(2, 4)], {"dim": 1}, ["transpose", "transpose"])
    case("cat_single", "cat", lambda: [randn(3, 4)], {"dim": 1})
    case("stack_dim0", "stack", lambda: [randn(3, 4), randn(3, 4), randn(3, 4)], {"dim": 0})
    case("stack_dim1", "stack", lambda: [randn(2, 5), randn(2, 5)], {"dim": 1})
    case("stack_neg_dim", "stack", lambda: [randn(3, 2), randn(3, 2), randn(3, 2)], {"dim": -1})

    case("split_uneven_dim0", "split", lambda: [randn(5, 3)], {"split_size": 2, "dim": 0})
    case("split_last_dim", "split", lambda: [randn(2, 3, 7)], {"split_size": 3, "dim": -1})
    case("split_size_exceeds", "split", lambda: [randn(3, 4)], {"split_size": 5, "dim": 1})
    case("chunk_even", "chunk", lambda: [randn(6, 2)], {"chunks": 2, "dim": 0})
    case("chunk_uneven", "chunk", lambda: [randn(3, 7)], {"chunks": 3, "dim": 1})
    # torch.chunk(5 elements, 4) gives 3 pieces of 2, 2, 1: fewer than asked for.
    case("chunk_fewer_pieces", "chunk", lambda: [randn(5, 2)], {"chunks": 4, "dim": 0})

    case("index_select_dim0", "index_select", lambda: [randn(5, 3), torch.tensor([4, 0, 4, 2])], {"dim": 0})
    case("index_select_dim1", "index_select", lambda: [randn(3, 6), torch.tensor([1, 1, 5])], {"dim": 1})
    case("index_select_3d_middle", "index_select", lambda: [randn(2, 4, 3), torch.tensor([3, 0])], {"dim": 1})
    case("gather_dim0", "gather", lambda: [randn(4, 3), indices(4, 5, 3)], {"dim": 0})
    case("gather_dim1", "gather", lambda: [randn(3, 5), indices(5, 3, 4)], {"dim": 1})
    case("gather_3d_last", "gather", lambda: [randn(2, 3, 5), indices(5, 2, 3, 2)], {"dim": -1})
    # PyTorch allows index to be smaller than x in the non-gathered dims too.
    case("gather_index_smaller", "gather", lambda: [randn(4, 5), indices(4, 2, 3)], {"dim": 0})


def loss_cases():
    for reduction in ["mean", "sum", "none"]:
        case(f"mse_loss_{reduction}", "mse_loss", lambda: [randn(4, 5), randn(4, 5)], {"reduction": reduction})
    case("mse_loss_1d", "mse_loss", lambda: [randn(7), randn(7)], {"reduction": "mean"})

    def probs(*shape):
        return uniform(*shape, low=0.05, high=0.95)
    for reduction in ["mean", "sum", "none"]:
        case(f"binary_cross_entropy_{reduction}", "binary_cross_entropy",
             lambda: [probs(4, 3), torch.randint(0, 2, (4, 3)).float()], {"reduction": reduction})
    case("binary_cross_entropy_soft_target", "binary_cross_entropy",
         lambda: [probs(5, 2), torch.rand(5, 2)], {"reduction": "mean"})
    case("binary_cross_entropy_weight", "binary_cross_entropy",
         lambda: [probs(4, 3), torch.randint(0, 2, (4, 3)).float(), positive(4, 3)], {"reduction": "mean"})
    case("binary_cross_entropy_weight_broadcast", "binary_cross_entropy",
         lambda: [probs(4, 3), torch.rand(4, 3), positive(3)], {"reduction": "sum"})

    for reduction in ["mean", "sum", "none"]:
        case(f"binary_cross_entropy_with_logits_{reduction}", "binary_cross_entropy_with_logits",
             lambda: [randn(4, 3) * 3, torch.randint(0, 2, (4, 3)).float()], {"reduction": reduction})
    case("binary_cross_entropy_with_logits_pos_weight", "binary_cross_entropy_with_logits",
         lambda: [randn(5, 3) * 3, torch.rand(5, 3), positive(3)], {"reduction": "mean"})
    case("binary_cross_entropy_with_logits_pos_weight_none", "binary_cross_entropy_with_logits",
         lambda: [randn(2, 4) * 3, torch.randint(0, 2, (2, 4)).float(), positive(4)], {"reduction": "none"})
    case("binary_cross_entropy_with_logits_large", "binary_cross_entropy_with_logits",
         lambda: [randn(3, 4) * 40, torch.randint(0, 2, (3, 4)).float()], {"reduction": "mean"})

    def ce(name, make, reduction="mean", ignore_index=-100, label_smoothing=0.0):
        case(name, "cross_entropy", make,
             {"reduction": reduction, "ignore_index": ignore_index, "label_smoothing": label_smoothing})

    def targets_with(value, n, classes):
        t = indices(classes, n)
        t[1] = value
        t[n - 1] = value
        return t
    ce("cross_entropy_mean", lambda: [randn(5, 7) * 2, indices(7, 5)])
    ce("cross_entropy_sum", lambda: [randn(5, 7) * 2, indices(7, 5)], reduction="sum")
    ce("cross_entropy_none", lambda: [randn(5, 7) * 2, indices(7, 5)], reduction="none")
    ce("cross_entropy_ignore_index", lambda: [randn(6, 4) * 2, targets_with(2, 6, 4)], ignore_index=2)
    ce("cross_entropy_ignore_index_default_used", lambda: [randn(4, 3), targets_with(-100, 4, 3)])
    ce("cross_entropy_ignore_index_none", lambda: [randn(6, 4), targets_with(1, 6, 4)], reduction="none",
       ignore_index=1)
    ce("cross_entropy_label_smoothing", lambda: [randn(5, 7) * 2, indices(7, 5)], label_smoothing=0.1)
    ce("cross_entropy_label_smoothing_sum", lambda: [randn(5, 7) * 2, indices(7, 5)], reduction="sum",
       label_smoothing=0.1)
    ce("cross_entropy_smoothing_ignore", lambda: [randn(6, 5) * 2, targets_with(3, 6, 5)], ignore_index=3,
       label_smoothing=0.1)
    ce("cross_entropy_spatial", lambda: [randn(2, 5, 3) * 2, indices(5, 2, 3)])
    ce("cross_entropy_spatial_none", lambda: [randn(2, 4, 3), indices(4, 2, 3)], reduction="none")
    ce("cross_entropy_probabilities", lambda: [randn(4, 5) * 2, torch.softmax(randn(4, 5), -1)])
    ce("cross_entropy_probabilities_smoothing", lambda: [randn(4, 5) * 2, torch.softmax(randn(4, 5), -1)],
       label_smoothing=0.1)
    ce("cross_entropy_probabilities_none", lambda: [randn(3, 6), torch.softmax(randn(3, 6), -1)], reduction="none")
    ce("cross_entropy_large_logits", lambda: [randn(4, 6) * 50, indices(6, 4)])

    def nll(name, make, reduction="mean", ignore_index=-100):
        case(name, "nll_loss", make, {"reduction": reduction, "ignore_index": ignore_index})
    nll("nll_loss_mean", lambda: [torch.log_softmax(randn(5, 4), -1), indices(4, 5)])
    nll("nll_loss_sum", lambda: [torch.log_softmax(randn(5, 4), -1), indices(4, 5)], reduction="sum")
    nll("nll_loss_none", lambda: [torch.log_softmax(randn(5, 4), -1), indices(4, 5)], reduction="none")
    nll("nll_loss_ignore_index", lambda: [torch.log_softmax(randn(6, 3), -1), targets_with(0, 6, 3)], ignore_index=0)
    nll("nll_loss_spatial", lambda: [torch.log_softmax(randn(2, 4, 3), 1), indices(4, 2, 3)])


def attention_cases():
    def sdpa(name, q, k, v, mask=None, is_causal=False, scale=None):
        def make():
            inputs = [randn(*q), randn(*k), randn(*v)]
            if mask is not None:
                inputs.append(mask())
            return inputs
        case(name, "scaled_dot_product_attention", make, {"is_causal": is_causal, "scale": scale})

    sdpa("sdpa_basic", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8))
    sdpa("sdpa_cross_s_ne_t", (2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8))
    sdpa("sdpa_causal", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8), is_causal=True)
    sdpa("sdpa_causal_scale", (1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 4), is_causal=True, scale=0.3)
    sdpa("sdpa_scale", (2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8), scale=0.5)
    sdpa("sdpa_value_dim_differs", (2, 2, 5, 8), (2, 2, 7, 8), (2, 2, 7, 3))
    sdpa("sdpa_3d", (3, 5, 4), (3, 6, 4), (3, 6, 4))
    sdpa("sdpa_bool_mask_2d", (2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8),
         mask=lambda: keep_one_per_row(torch.rand(5, 7) > 0.4))
    sdpa("sdpa_bool_mask_4d", (2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8),
         mask=lambda: keep_one_per_row(torch.rand(2, 1, 5, 5) > 0.5))
    sdpa("sdpa_float_mask", (2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8), mask=lambda: randn(2, 1, 5, 7))
    sdpa("sdpa_float_mask_neg_inf", (1, 2, 4, 8), (1, 2, 6, 8), (1, 2, 6, 8),
         mask=lambda: torch.where(keep_one_per_row(torch.rand(4, 6) > 0.5), 0.0, float("-inf")))
    sdpa("sdpa_single_query", (2, 3, 1, 8), (2, 3, 7, 8), (2, 3, 7, 8))


# ----------------------------------------------------------------------------- writing



def outputs_as_list(op, result):
    return list(result) if op in MULTI_OUTPUT else [result]


def build(spec):
    """Runs one case and returns (tensors, metadata) ready for save_file."""
    op, args, name = spec["op"], spec["args"], spec["name"]
    torch.manual_seed(case_seed(name))
    base = spec["inputs"]() if callable(spec["inputs"]) else spec["inputs"]
    views = spec["views"] or [None] * len(base)
    assert len(views) == len(base), name

    grad_indices = GRAD_INPUTS.get(op, [i for i, t in enumerate(base) if t.is_floating_point()])
    # float64 copies of the float32 inputs, viewed as the op will see them.
    leaves = []
    for i, (t, view) in enumerate(zip(base, views)):
        v = apply_view(t.double() if t.is_floating_point() else t, view).detach()
        if i in grad_indices:
            v.requires_grad_()
        leaves.append(v)
    call_inputs = list(leaves)
    if op == "batch_norm":  # it updates the running stats in place; input.1/2 keep the values before
        call_inputs[1], call_inputs[2] = leaves[1].clone(), leaves[2].clone()

    outputs = outputs_as_list(op, TORCH_OPS[op](call_inputs, args))
    differentiable = DIFFERENTIABLE_OUTPUTS.get(op, list(range(len(outputs))))
    single = op not in MULTI_OUTPUT

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

    metadata = {"op": op, "args": json.dumps(args), "views": json.dumps(views)}
    return tensors, metadata




def main():
    torch.use_deterministic_algorithms(True)
    for make_cases in [unary_cases, binary_cases, softmax_cases, reduction_cases, matmul_cases, conv_cases,
                       pool_cases, nn_functional_cases, shape_cases, loss_cases, attention_cases]:
        make_cases()

    assert set(c["op"] for c in CASES) <= set(TORCH_OPS), "a case names an op missing from TORCH_OPS"
    total = write_cases(CASES, build, DATA_DIR)
    counts = {}
    for spec in CASES:
        counts[spec["op"]] = counts.get(spec["op"], 0) + 1
    for op, n in counts.items():
        print(f"{op:34s} {n}")
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()

"""Writes the PyTorch golden cases that tests/nn/layers_golden_test.cpp checks nabla's layers against.

Rerun from the repository root with

    bash scripts/setup-peers.sh        # once: installs torch, numpy, safetensors
    python3 tests/golden/nn/make_nn_golden.py

Reruns are byte-identical (per-case seeds, deterministic algorithms, sorted JSON headers).

Each case is a layer (or a whole nn.Sequential) described by a JSON spec that both sides build from:
this script turns it into a torch.nn module (torch_module below), the C++ test into the nabla one.
Each case becomes tests/golden/nn/data/<case>.safetensors holding
  state.<key>         the module's state_dict before the call, keys exactly as PyTorch names them
                      (F32; BatchNorm's num_batches_tracked I64)
  input               F32, or I64 token ids for Embedding
  output              PyTorch's result
  grad_output         a random upstream gradient
  grad.input          d sum(output * grad_output) / d input (float inputs only)
  grad.<param>        the same for every parameter, keyed by its state_dict name
  grad_factors.<param>.input / .grad_output
                      instead of grad.<param> for the weights of Linear layers too large to store
                      (the Keras CNN's 128x1600 and LeNet's 120x400): that layer's input and
                      output gradient, flattened to rows. PyTorch's weight gradient is exactly
                      grad_output^T @ input, so the test rebuilds it in double at no loss; storing
                      it would take 1 MB of the data budget.
  state_after.<key>   every buffer after the call (BatchNorm's running statistics and counter)
and metadata {"module": the JSON spec, "mode": "train" | "eval"}.

Inputs and state are drawn as float32 with a per-case seed (so adding a case never changes the
others) and stored as float32; the references are computed from them in float64 and rounded to
float32 once, so the C++ tolerances measure only nabla's float32 error.
"""

import json
import pathlib
import sys

import torch
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, write_cases

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"

# Linear weights with more elements than this store their gradient as factors (see above).
FACTOR_WEIGHT_GRADS_ABOVE = 16384


# ----------------------------------------------------------------------------- specs -> torch modules

def torch_module(spec):
    """The torch.nn module a spec describes; layers_golden_test.cpp's build_module is the nabla side."""
    t = spec["type"]
    nn = torch.nn
    if t == "Sequential":
        return nn.Sequential(*[torch_module(s) for s in spec["layers"]])
    if t == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    if t == "Conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]),
                         stride=tuple(spec["stride"]), padding=tuple(spec["padding"]),
                         dilation=tuple(spec["dilation"]), groups=spec["groups"], bias=spec["bias"])
    if t == "MaxPool2d":
        return nn.MaxPool2d(tuple(spec["kernel_size"]), stride=tuple(spec["stride"]),
                            padding=tuple(spec["padding"]), ceil_mode=spec["ceil_mode"])
    if t == "AvgPool2d":
        return nn.AvgPool2d(tuple(spec["kernel_size"]), stride=tuple(spec["stride"]),
                            padding=tuple(spec["padding"]), ceil_mode=spec["ceil_mode"],
                            count_include_pad=spec["count_include_pad"])
    if t == "AdaptiveAvgPool2d":
        return nn.AdaptiveAvgPool2d(tuple(spec["output_size"]))
    if t == "Flatten":
        return nn.Flatten(spec["start_dim"], spec["end_dim"])
    if t == "Dropout":
        return nn.Dropout(spec["p"])
    if t in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(nn, t)(spec["num_features"], eps=spec["eps"], momentum=spec["momentum"],
                              affine=spec["affine"], track_running_stats=spec["track_running_stats"])
    if t == "LayerNorm":
        return nn.LayerNorm(spec["normalized_shape"], eps=spec["eps"],
                            elementwise_affine=spec["elementwise_affine"])
    if t == "Embedding":
        return nn.Embedding(spec["num_embeddings"], spec["embedding_dim"], padding_idx=spec["padding_idx"])
    if t == "ReLU":
        return nn.ReLU()
    if t == "Sigmoid":
        return nn.Sigmoid()
    if t == "Tanh":
        return nn.Tanh()
    if t == "GELU":
        return nn.GELU(approximate=spec["approximate"])
    if t == "LeakyReLU":
        return nn.LeakyReLU(spec["negative_slope"])
    if t == "Softmax":
        return nn.Softmax(dim=spec["dim"])
    raise ValueError(f"unknown layer type {t}")


# Spec constructors with PyTorch's defaults, so every spec in a file spells out every argument.

def linear(i, o, bias=True):
    return {"type": "Linear", "in_features": i, "out_features": o, "bias": bias}


def conv(i, o, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    return {"type": "Conv2d", "in_channels": i, "out_channels": o, "kernel_size": pair(k), "stride": pair(stride),
            "padding": pair(padding), "dilation": pair(dilation), "groups": groups, "bias": bias}


def max_pool(k, stride=None, padding=0, ceil_mode=False):
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    return {"type": "MaxPool2d", "kernel_size": pair(k), "stride": pair(stride if stride is not None else k),
            "padding": pair(padding), "ceil_mode": ceil_mode}


def avg_pool(k, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    return {"type": "AvgPool2d", "kernel_size": pair(k), "stride": pair(stride if stride is not None else k),
            "padding": pair(padding), "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}


def batch_norm(kind, n, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
    return {"type": kind, "num_features": n, "eps": eps, "momentum": momentum, "affine": affine,
            "track_running_stats": track_running_stats}


def layer_norm(shape, eps=1e-5, elementwise_affine=True):
    return {"type": "LayerNorm", "normalized_shape": list(shape), "eps": eps,
            "elementwise_affine": elementwise_affine}


def simple(kind, **args):
    return {"type": kind, **args}


def sequential(*layers):
    return {"type": "Sequential", "layers": list(layers)}


# The Keras tutorial's MNIST CNN: 225,034 parameters.
KERAS_CNN = sequential(conv(1, 32, 3), simple("ReLU"), max_pool(2), conv(32, 64, 3), simple("ReLU"), max_pool(2),
                       simple("Flatten", start_dim=1, end_dim=-1), linear(1600, 128), simple("ReLU"),
                       linear(128, 10))

# LeNet-5 for 28x28 images (the first convolution pads by 2 to get the original 32x32 geometry):
# 61,706 parameters.
LENET5 = sequential(conv(1, 6, 5, padding=2), simple("Tanh"), avg_pool(2), conv(6, 16, 5), simple("Tanh"),
                    avg_pool(2), simple("Flatten", start_dim=1, end_dim=-1), linear(400, 120), simple("Tanh"),
                    linear(120, 84), simple("Tanh"), linear(84, 10))


# ----------------------------------------------------------------------------- cases

CASES = []


def case(name, spec, input_shape, mode="train", indices_below=None):
    """indices_below: the input is I64 token ids in [0, indices_below) instead of N(0, 1) floats."""
    CASES.append({"name": name, "spec": spec, "input_shape": list(input_shape), "mode": mode,
                  "indices_below": indices_below})


def layer_cases():
    case("linear", linear(7, 5), (3, 7))
    case("linear_no_bias_3d", linear(6, 4, bias=False), (2, 3, 6))

    case("conv2d", conv(3, 4, 3), (2, 3, 7, 7))
    case("conv2d_stride_padding", conv(3, 6, (3, 2), stride=(2, 1), padding=(1, 2)), (2, 3, 9, 8))
    case("conv2d_groups", conv(4, 6, 3, padding=1, groups=2), (2, 4, 6, 6))
    case("conv2d_depthwise_no_bias", conv(4, 8, 3, stride=2, groups=4, bias=False), (2, 4, 9, 9))
    case("conv2d_dilation", conv(2, 3, 3, padding=2, dilation=2), (2, 2, 7, 6))

    case("max_pool2d", max_pool(2), (2, 3, 6, 6))
    case("max_pool2d_k3_s2_p1_ceil", max_pool(3, stride=2, padding=1, ceil_mode=True), (2, 2, 8, 7))
    case("avg_pool2d", avg_pool(2), (2, 3, 6, 6))
    case("avg_pool2d_pad_exclude", avg_pool(3, stride=2, padding=1, count_include_pad=False), (2, 2, 7, 8))
    case("adaptive_avg_pool2d", simple("AdaptiveAvgPool2d", output_size=[3, 2]), (2, 3, 7, 5))

    case("flatten", simple("Flatten", start_dim=1, end_dim=-1), (2, 3, 4, 5))
    case("flatten_middle", simple("Flatten", start_dim=1, end_dim=2), (2, 3, 4, 5))
    case("dropout_eval", simple("Dropout", p=0.4), (4, 9), mode="eval")

    case("batch_norm1d_train", batch_norm("BatchNorm1d", 5), (8, 5))
    case("batch_norm1d_train_3d", batch_norm("BatchNorm1d", 4, momentum=0.3), (3, 4, 6))
    case("batch_norm1d_eval", batch_norm("BatchNorm1d", 5), (8, 5), mode="eval")
    case("batch_norm2d_train", batch_norm("BatchNorm2d", 3), (4, 3, 5, 5))
    case("batch_norm2d_eval", batch_norm("BatchNorm2d", 3, eps=1e-3), (4, 3, 5, 5), mode="eval")
    case("batch_norm2d_no_affine", batch_norm("BatchNorm2d", 3, affine=False), (2, 3, 4, 4))
    case("batch_norm2d_no_running_stats_eval", batch_norm("BatchNorm2d", 3, track_running_stats=False),
         (2, 3, 4, 4), mode="eval")

    case("layer_norm", layer_norm([8]), (2, 3, 8))
    case("layer_norm_2d", layer_norm([4, 5]), (3, 4, 5))
    case("layer_norm_no_affine", layer_norm([6], eps=1e-3, elementwise_affine=False), (4, 6))

    case("embedding", simple("Embedding", num_embeddings=10, embedding_dim=4, padding_idx=None), (3, 5),
         indices_below=10)
    case("embedding_padding_idx", simple("Embedding", num_embeddings=10, embedding_dim=4, padding_idx=2), (4, 6),
         indices_below=4)  # ids 0-3: the padding row 2 appears several times
    case("embedding_negative_padding_idx", simple("Embedding", num_embeddings=6, embedding_dim=3, padding_idx=-1),
         (5, 4), indices_below=6)

    case("relu", simple("ReLU"), (3, 7))
    case("sigmoid", simple("Sigmoid"), (3, 7))
    case("tanh", simple("Tanh"), (3, 7))
    case("gelu", simple("GELU", approximate="none"), (3, 7))
    case("gelu_tanh", simple("GELU", approximate="tanh"), (3, 7))
    case("leaky_relu", simple("LeakyReLU", negative_slope=0.2), (3, 7))
    case("softmax_dim1", simple("Softmax", dim=1), (2, 4, 3))


def model_cases():
    case("keras_cnn", KERAS_CNN, (4, 1, 28, 28))
    case("lenet5", LENET5, (4, 1, 28, 28))
    # Normalisation inside a model: BatchNorm's state keys gain the "1." prefix.
    block = sequential(conv(3, 8, 3, padding=1, bias=False), batch_norm("BatchNorm2d", 8), simple("ReLU"),
                       max_pool(2), simple("Flatten", start_dim=1, end_dim=-1), simple("Dropout", p=0.5),
                       linear(32, 6), layer_norm([6]), simple("GELU", approximate="none"))
    # Dropout is a random draw in training, so the train-mode model leaves it out.
    train_block = sequential(*[layer for layer in block["layers"] if layer["type"] != "Dropout"])
    case("conv_bn_block_train", train_block, (4, 3, 4, 4))
    case("conv_bn_block_eval", block, (4, 3, 4, 4), mode="eval")


# ----------------------------------------------------------------------------- writing



def randomise_norm_state(module):
    """Normalisation layers start at weight 1, bias 0, mean 0, var 1, which would hide mix-ups
    between them; give every one distinct values (float32, as stored)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
                if m.weight is not None:
                    m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5))
                    m.bias.copy_(0.3 * torch.randn_like(m.bias))
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) and m.track_running_stats:
                m.running_mean.copy_(0.5 * torch.randn_like(m.running_mean))
                m.running_var.copy_(torch.empty_like(m.running_var).uniform_(0.5, 2.0))
                m.num_batches_tracked.fill_(7)


def factored_linears(module):
    """{state key of the weight: Linear} for the Linear layers whose weight gradient is stored as factors."""
    return {f"{name}.weight" if name else "weight": m for name, m in module.named_modules()
            if isinstance(m, torch.nn.Linear) and m.weight.numel() > FACTOR_WEIGHT_GRADS_ABOVE}


def build(spec):
    """Runs one case and returns (tensors, metadata) ready for save_file."""
    torch.manual_seed(case_seed(spec["name"]))
    module = torch_module(spec["spec"])
    randomise_norm_state(module)
    if spec["indices_below"] is None:
        x32 = torch.randn(spec["input_shape"])
    else:
        x32 = torch.randint(0, spec["indices_below"], spec["input_shape"])

    tensors = {f"state.{k}": v.detach().clone().contiguous() for k, v in module.state_dict().items()}
    tensors["input"] = x32.clone()

    module = module.double()  # num_batches_tracked stays int64
    module.train(spec["mode"] == "train")
    x = x32.double().requires_grad_() if x32.is_floating_point() else x32

    factors = {}
    for key, layer in factored_linears(module).items():
        def capture(m, inputs, output, key=key):
            factors[f"grad_factors.{key}.input"] = inputs[0].detach().reshape(-1, m.in_features)
            output.register_hook(lambda g: factors.__setitem__(f"grad_factors.{key}.grad_output",
                                                                g.detach().reshape(-1, m.out_features)))
        layer.register_forward_hook(capture)

    out = module(x)
    grad_output = torch.randn(out.shape)  # float32, as stored
    tensors["output"] = out.detach().float().contiguous()
    tensors["grad_output"] = grad_output
    (out * grad_output.double()).sum().backward()

    if x.is_floating_point():
        tensors["grad.input"] = x.grad.float().contiguous()
    factored = factored_linears(module)
    for name, p in module.named_parameters():
        if name in factored:
            continue
        tensors[f"grad.{name}"] = p.grad.float().contiguous()
    for k, v in factors.items():
        tensors[k] = v.float().contiguous()
    assert len(factors) == 2 * len(factored), spec["name"]
    for name, b in module.named_buffers():
        tensors[f"state_after.{name}"] = (b.float() if b.is_floating_point() else b).detach().contiguous().clone()

    metadata = {"module": json.dumps(spec["spec"], sort_keys=True), "mode": spec["mode"]}
    return tensors, metadata




def main():
    torch.use_deterministic_algorithms(True)
    layer_cases()
    model_cases()

    total = write_cases(CASES, build, DATA_DIR)
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()

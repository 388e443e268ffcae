"""Writes the PyTorch golden cases that tests/nn/sequence_golden_test.cpp checks nabla's RNN, LSTM,
GRU, MultiheadAttention and TransformerBlock against.

Rerun from the repository root with

    bash scripts/setup-peers.sh        # once: installs torch, numpy, safetensors
    python3 tests/golden/nn_sequence/make_golden.py

Each case becomes tests/golden/nn_sequence/<case>.safetensors holding
  param.<name>         the PyTorch state dict (float32), loaded unchanged into the nabla layer
  input.<name>         the inputs: x / h0 / c0 (recurrent), query / key / value / key_padding_mask /
                       attn_mask (attention), x / key_padding_mask (block)
  output.<name>        PyTorch's results: output, h_n, c_n (recurrent) or output
  grad_output.<name>   a random upstream gradient for each output
  grad_input.<name>    d sum_j(sum(output_j * grad_output_j)) / d input (floating inputs only)
  grad_param.<name>    the same derivative for every parameter
and metadata {"module": RNN | LSTM | GRU | MultiheadAttention | TransformerBlock,
"config": JSON constructor arguments, "call": JSON forward arguments that are not tensors}.

Parameters and inputs are drawn as float32 with a per-case seed (adding a case never changes the
others); the module then runs in float64 and the results are rounded to float32 once, so the
goldens carry no float32 accumulation noise and the C++ tolerances measure only nabla's error.
"""

import json
import pathlib
import sys

import torch
import torch.nn as nn
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, write_cases
from torch_twins import TransformerBlock

DATA_DIR = pathlib.Path(__file__).resolve().parent
CASES = []


def case(name, module, config, inputs, call=None):
    CASES.append({"name": name, "module": module, "config": config, "inputs": inputs, "call": call or {}})


def make_module(kind, config):
    if kind in ("RNN", "LSTM", "GRU"):
        cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
        return cls(**config)
    if kind == "MultiheadAttention":
        m = nn.MultiheadAttention(**config)
    else:
        m = TransformerBlock(**config)
    # PyTorch zeroes these biases and sets LayerNorm to the identity; random values make the
    # forward pass depend on every parameter.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.2, 0.2)
            elif name.startswith("ln_") and name.endswith("weight"):
                p.add_(0.2 * torch.randn(p.shape))
    return m


def recurrent_case(name, kind, config, steps, batch, initial_state):
    """batch None = unbatched input [T, input_size]."""
    def inputs():
        d = 2 if config.get("bidirectional") else 1
        layers = config.get("num_layers", 1)
        if batch is None:
            x_shape, state_shape = (steps, config["input_size"]), (layers * d, config["hidden_size"])
        else:
            x_shape = (batch, steps, config["input_size"]) if config.get("batch_first") else (steps, batch,
                                                                                               config["input_size"])
            state_shape = (layers * d, batch, config["hidden_size"])
        out = {"x": torch.randn(x_shape)}
        if initial_state:
            out["h0"] = torch.randn(state_shape) * 0.5
            if kind == "LSTM":
                out["c0"] = torch.randn(state_shape) * 0.5
        return out
    case(name, kind, config, inputs)


def recurrent_cases():
    recurrent_case("lstm_basic", "LSTM", {"input_size": 5, "hidden_size": 7}, 6, 3, False)
    recurrent_case("lstm_h0", "LSTM", {"input_size": 5, "hidden_size": 7}, 6, 3, True)
    recurrent_case("lstm_2layer_bidirectional_h0", "LSTM",
                   {"input_size": 4, "hidden_size": 6, "num_layers": 2, "bidirectional": True}, 5, 2, True)
    recurrent_case("lstm_batch_first_h0", "LSTM", {"input_size": 5, "hidden_size": 8, "batch_first": True}, 4, 3,
                   True)
    recurrent_case("lstm_2layer_batch_first_bidirectional", "LSTM",
                   {"input_size": 3, "hidden_size": 5, "num_layers": 2, "batch_first": True, "bidirectional": True},
                   4, 2, False)
    recurrent_case("lstm_no_bias", "LSTM", {"input_size": 4, "hidden_size": 5, "bias": False}, 5, 2, True)
    recurrent_case("lstm_unbatched_h0", "LSTM", {"input_size": 3, "hidden_size": 4}, 5, None, True)
    recurrent_case("lstm_long", "LSTM", {"input_size": 8, "hidden_size": 16}, 64, 2, True)
    recurrent_case("gru_basic", "GRU", {"input_size": 5, "hidden_size": 7}, 6, 3, False)
    recurrent_case("gru_h0", "GRU", {"input_size": 5, "hidden_size": 7}, 6, 3, True)
    recurrent_case("gru_2layer_bidirectional_batch_first_h0", "GRU",
                   {"input_size": 4, "hidden_size": 6, "num_layers": 2, "bidirectional": True, "batch_first": True},
                   5, 2, True)
    recurrent_case("gru_3layer", "GRU", {"input_size": 3, "hidden_size": 4, "num_layers": 3}, 4, 2, False)
    recurrent_case("gru_no_bias_h0", "GRU", {"input_size": 3, "hidden_size": 5, "bias": False}, 5, 2, True)
    recurrent_case("gru_unbatched_bidirectional", "GRU", {"input_size": 3, "hidden_size": 4, "bidirectional": True},
                   5, None, False)
    recurrent_case("gru_long", "GRU", {"input_size": 8, "hidden_size": 16}, 64, 2, True)
    recurrent_case("rnn_tanh_2layer_h0", "RNN", {"input_size": 4, "hidden_size": 6, "num_layers": 2}, 5, 3, True)
    recurrent_case("rnn_relu_bidirectional_batch_first", "RNN",
                   {"input_size": 4, "hidden_size": 6, "nonlinearity": "relu", "bidirectional": True,
                    "batch_first": True}, 5, 3, False)
    recurrent_case("rnn_relu_2layer_h0", "RNN",
                   {"input_size": 3, "hidden_size": 5, "num_layers": 2, "nonlinearity": "relu"}, 4, 2, True)


def padding_mask(lengths, total):
    """True at the padding positions (past each sequence's length), as PyTorch expects."""
    return torch.arange(total)[None, :] >= torch.tensor(lengths)[:, None]


def attention_cases():
    e, h = 16, 4
    case("mha_self", "MultiheadAttention", {"embed_dim": e, "num_heads": h},
         lambda: {"query": torch.randn(5, 3, e)}, {"self": True})
    case("mha_self_batch_first_padding_causal", "MultiheadAttention",
         {"embed_dim": e, "num_heads": h, "batch_first": True},
         lambda: {"query": torch.randn(3, 6, e), "key_padding_mask": padding_mask([6, 4, 2], 6)},
         {"self": True, "is_causal": True})
    case("mha_self_padding", "MultiheadAttention", {"embed_dim": e, "num_heads": 2},
         lambda: {"query": torch.randn(5, 2, e), "key_padding_mask": padding_mask([3, 5], 5)}, {"self": True})
    case("mha_cross_key_is_value", "MultiheadAttention", {"embed_dim": e, "num_heads": h},
         lambda: {"query": torch.randn(4, 2, e), "key": torch.randn(7, 2, e)}, {"key_is_value": True})
    case("mha_cross_float_mask", "MultiheadAttention", {"embed_dim": e, "num_heads": h, "batch_first": True},
         lambda: {"query": torch.randn(2, 4, e), "key": torch.randn(2, 6, e), "value": torch.randn(2, 6, e),
                  "attn_mask": torch.randn(4, 6)})
    case("mha_cross_bool_mask_3d_padding", "MultiheadAttention", {"embed_dim": e, "num_heads": 2},
         lambda: {"query": torch.randn(3, 2, e), "key": torch.randn(5, 2, e), "value": torch.randn(5, 2, e),
                  # each query row keeps key 0 (never padded) so no row is fully masked
                  "attn_mask": torch.cat([torch.zeros(4, 3, 1, dtype=torch.bool), torch.rand(4, 3, 4) < 0.4], 2),
                  "key_padding_mask": padding_mask([5, 3], 5)})
    case("mha_unbatched_causal", "MultiheadAttention", {"embed_dim": 8, "num_heads": 2},
         lambda: {"query": torch.randn(5, 8)}, {"self": True, "is_causal": True})
    case("mha_no_bias", "MultiheadAttention", {"embed_dim": 8, "num_heads": 2, "bias": False},
         lambda: {"query": torch.randn(4, 2, 8), "key": torch.randn(3, 2, 8), "value": torch.randn(3, 2, 8)})


def block_cases():
    case("block_causal", "TransformerBlock", {"embed_dim": 16, "num_heads": 4},
         lambda: {"x": torch.randn(2, 6, 16)})
    case("block_causal_padding", "TransformerBlock", {"embed_dim": 16, "num_heads": 2},
         lambda: {"x": torch.randn(3, 5, 16), "key_padding_mask": padding_mask([5, 3, 4], 5)})
    case("block_bidirectional_mlp_ratio_2", "TransformerBlock",
         {"embed_dim": 12, "num_heads": 3, "mlp_ratio": 2.0, "causal": False},
         lambda: {"x": torch.randn(2, 4, 12)})


def seq_len(x, batch_first):
    return x.shape[1] if x.dim() == 3 and batch_first else x.shape[0]


def run(kind, module, inputs, call):
    """The module's outputs as a dict, from float64 leaves."""
    if kind in ("RNN", "LSTM", "GRU"):
        state = None
        if "h0" in inputs:
            state = (inputs["h0"], inputs["c0"]) if kind == "LSTM" else inputs["h0"]
        output, final = module(inputs["x"], state)
        if kind == "LSTM":
            return {"output": output, "h_n": final[0], "c_n": final[1]}
        return {"output": output, "h_n": final}
    if kind == "MultiheadAttention":
        q = inputs["query"]
        k = q if call.get("self") else inputs["key"]
        v = q if call.get("self") else k if call.get("key_is_value") else inputs["value"]
        attn_mask = inputs.get("attn_mask")
        if call.get("is_causal"):  # PyTorch wants the causal mask spelled out next to the hint
            attn_mask = torch.triu(torch.ones(seq_len(q, module.batch_first), seq_len(k, module.batch_first),
                                              dtype=torch.bool), 1)
        out = module(q, k, v, key_padding_mask=inputs.get("key_padding_mask"), attn_mask=attn_mask,
                     need_weights=False, is_causal=call.get("is_causal", False))[0]
        return {"output": out}
    return {"output": module(inputs["x"], inputs.get("key_padding_mask"))}


def build(spec):
    torch.manual_seed(case_seed(spec["name"]))
    module = make_module(spec["module"], spec["config"])
    inputs = spec["inputs"]()
    params = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}

    module = module.double()
    leaves = {}
    for k, v in inputs.items():
        leaves[k] = v.double().requires_grad_() if v.is_floating_point() else v
    if "attn_mask" in leaves and leaves["attn_mask"].is_floating_point():
        leaves["attn_mask"] = leaves["attn_mask"].detach()  # a constant, as in nabla
    outputs = run(spec["module"], module, leaves, spec["call"])
    grad_outputs = {k: torch.randn(v.shape) for k, v in outputs.items()}
    loss = sum((outputs[k] * grad_outputs[k].double()).sum() for k in outputs)
    wrt_inputs = [k for k, v in leaves.items() if v.requires_grad]
    wrt_params = list(dict(module.named_parameters()).keys())
    grads = torch.autograd.grad(loss, [leaves[k] for k in wrt_inputs] + list(module.parameters()))

    tensors = {}
    for k, v in params.items():
        tensors[f"param.{k}"] = v
    for k, v in inputs.items():
        tensors[f"input.{k}"] = v.contiguous().clone()
    for k, v in outputs.items():
        tensors[f"output.{k}"] = v.detach().float().contiguous()
        tensors[f"grad_output.{k}"] = grad_outputs[k].contiguous()
    for k, g in zip(wrt_inputs + wrt_params, grads):
        prefix = "grad_input" if k in wrt_inputs else "grad_param"
        tensors[f"{prefix}.{k}"] = g.float().contiguous()
    metadata = {"module": spec["module"], "config": json.dumps(spec["config"], sort_keys=True),
                "call": json.dumps(spec["call"], sort_keys=True)}
    return tensors, metadata


def main():
    torch.use_deterministic_algorithms(True)
    recurrent_cases()
    attention_cases()
    block_cases()
    total = write_cases(CASES, build, DATA_DIR)
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()

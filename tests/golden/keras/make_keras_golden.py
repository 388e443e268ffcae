"""Writes the Keras golden cases that tests/nn/keras_attention_test.cpp checks nabla's Keras layers
against: keras.layers.Attention and keras.layers.AdditiveAttention, run by Keras itself (its torch
backend, float64) on the same inputs and weights.

    bash scripts/setup-peers.sh        # once: installs torch, keras, safetensors
    KERAS_BACKEND=torch python3 tests/golden/keras/make_keras_golden.py

Each case becomes tests/golden/keras/data/<case>.safetensors holding
  query, value, key           F32 inputs (key only when the case passes one)
  query_mask, value_mask      BOOL masks (when the case passes them)
  weight.<name>               the layer's weights before the call (scale, concat_score_weight)
  output, scores              Keras' attention output and attention distribution
  grad_output                 a random upstream gradient for the output
  grad.<input or weight.name> d sum(output * grad_output) / d that tensor
and metadata {"layer": "Attention" | "AdditiveAttention", "args": JSON of the layer's arguments,
"call": JSON of the call's arguments (use_causal_mask)}.
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, write_cases  # noqa: E402

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
assert keras.backend.backend() == "torch", "run with KERAS_BACKEND=torch"

CASES = []


def case(name, layer, args, b=2, tq=4, tv=5, dim=6, key=False, query_mask=False, value_mask=False, causal=False):
    CASES.append(dict(name=name, layer=layer, args=args, b=b, tq=tq, tv=tv, dim=dim, key=key,
                      query_mask=query_mask, value_mask=value_mask, causal=causal))


case("attention_dot", "Attention", {})
case("attention_dot_scale", "Attention", {"use_scale": True})
case("attention_dot_key", "Attention", {"use_scale": True}, key=True)
case("attention_concat", "Attention", {"score_mode": "concat"})
case("attention_concat_scale", "Attention", {"score_mode": "concat", "use_scale": True}, key=True)
case("attention_causal", "Attention", {"use_scale": True}, tq=5, tv=5, causal=True)
case("attention_masks", "Attention", {}, query_mask=True, value_mask=True)
case("attention_causal_masks", "Attention", {"use_scale": True}, tq=5, tv=5, causal=True, value_mask=True)
case("additive", "AdditiveAttention", {})
case("additive_no_scale", "AdditiveAttention", {"use_scale": False}, key=True)
case("additive_masks", "AdditiveAttention", {}, query_mask=True, value_mask=True)
case("additive_causal", "AdditiveAttention", {}, tq=5, tv=5, causal=True)


def build(spec):
    torch.manual_seed(case_seed(spec["name"]))
    b, tq, tv, dim = spec["b"], spec["tq"], spec["tv"], spec["dim"]
    tensors = {"query": torch.randn(b, tq, dim), "value": torch.randn(b, tv, dim)}
    if spec["key"]:
        tensors["key"] = torch.randn(b, tv, dim)
    masks = [None, None]
    if spec["query_mask"]:
        tensors["query_mask"] = torch.rand(b, tq) > 0.3
        masks[0] = tensors["query_mask"]
    if spec["value_mask"]:
        m = torch.rand(b, tv) > 0.4
        m[:, 0] = True  # every row keeps a key
        tensors["value_mask"] = m
        masks[1] = m

    layer_class = getattr(keras.layers, spec["layer"])
    layer = layer_class(dtype="float64", **spec["args"])
    inputs = [tensors["query"].double().requires_grad_(), tensors["value"].double().requires_grad_()]
    if spec["key"]:
        inputs.append(tensors["key"].double().requires_grad_())
    layer.build([tuple(t.shape) for t in inputs])
    # Weights as nabla would start them: random so a scale of 1 does not hide a missing multiply.
    for w in layer.weights:
        w.assign(torch.rand(tuple(w.shape), dtype=torch.float64) + 0.5)
        tensors["weight." + w.name] = w.value.detach().float().clone()
    mask = masks if any(m is not None for m in masks) else None
    output, scores = layer(inputs, mask=mask, return_attention_scores=True, use_causal_mask=spec["causal"])
    grad_output = torch.randn(output.shape)
    tensors["output"] = output.detach().float().contiguous()
    tensors["scores"] = scores.detach().float().contiguous()
    tensors["grad_output"] = grad_output
    leaves = inputs + [w.value for w in layer.weights]
    names = ["query", "value"] + (["key"] if spec["key"] else []) + ["weight." + w.name for w in layer.weights]
    grads = torch.autograd.grad((output * grad_output.double()).sum(), leaves, allow_unused=True)
    for name, leaf, g in zip(names, leaves, grads):
        tensors["grad." + name] = (torch.zeros_like(leaf) if g is None else g).float().contiguous()
    metadata = {"layer": spec["layer"], "args": json.dumps(spec["args"]),
                "call": json.dumps({"use_causal_mask": spec["causal"]})}
    return {k: v.contiguous() for k, v in tensors.items()}, metadata


def main():
    total = write_cases(CASES, build, DATA_DIR)
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()

"""Writes the PyTorch training runs that tests/train/training_parity_test.cpp repeats in nabla:
whole training loops (forward, loss, backward, clipping, optimizer step) on three small models.

Rerun from the repository root with

    bash scripts/setup-peers.sh        # once: installs torch, numpy, safetensors
    python3 tests/golden/training/make_training_golden.py

Reruns are byte-identical (fixed per-model seeds, one thread, sorted JSON headers). Each model
becomes tests/golden/training/<model>.safetensors holding
  init.<key>     the PyTorch state dict before training (float32, PyTorch's key names, which are
                 nabla's too)
  grad.<key>     every parameter's gradient after the first backward (before clipping)
  final.<key>    the state dict after the last step
  loss           [steps] the training loss of every step, computed before that step's update
  grad_norm      [steps] clip_grad_norm_'s returned total norm (transformer only)
and the data, drawn from the model's seed:
  cnn            images u8 [128, 1, 28, 28] (pixel = value / 256, exact in float32), labels i64 [128],
                 batch_indices i64 [steps, 16]: step t trains on images[batch_indices[t]]
  lstm           tokens i64 [steps, 8, 12], targets i64 [steps, 8]
  transformer    tokens i64 [steps, 4, 17]: inputs tokens[t, :, :16], next-token targets tokens[t, :, 1:]
metadata "config": JSON {"model", "steps", "optimizer": "adam" | "adamw", "lr", "beta1", "beta2",
"eps", "weight_decay", "max_norm" (0 = no clipping)}.

The models are the ones the test builds: (cnn) Conv2d(1,8,3) ReLU MaxPool2d(2) Conv2d(8,16,3) ReLU
MaxPool2d(2) Flatten Linear(400,32) ReLU Linear(32,10), Adam; (lstm) Embedding(50,16) -> LSTM(16,32,
2 layers, batch_first) -> last timestep -> Linear(32,4), Adam; (transformer) Embedding(40,32) +
learned positions [16,32] -> pre-LN TransformerBlock(32, 4 heads, causal, GELU-tanh MLP x4) ->
LayerNorm -> Linear(32,40), AdamW (weight decay 0.1) with clip_grad_norm_(1.0).

The tasks are learnable (class prototypes, a token to remember, arithmetic progressions), so the
losses fall and the runs exercise real training rather than noise. Run with --float64 to also print
how far PyTorch's own float32 run drifts from the same run in float64: the scale of rounding noise
the C++ tolerances have to allow.
"""

import json
import pathlib
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, save_file
from torch_twins import TransformerBlock

DATA_DIR = pathlib.Path(__file__).resolve().parent
STEPS = 50


# ----------------------------------------------------------------------------- models


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 32), nn.ReLU(), nn.Linear(32, 10))


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(50, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.head = nn.Linear(32, 4)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.head(output[:, -1])


class TinyGPT(nn.Module):
    def __init__(self, vocab=40, context=16, width=32, heads=4):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, width)
        self.pos_emb = nn.Parameter(0.1 * torch.randn(context, width))
        self.block = TransformerBlock(width, heads)
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):
        x = self.tok_emb(tokens) + self.pos_emb[: tokens.shape[1]]
        return self.head(self.ln_f(self.block(x)))


# ----------------------------------------------------------------------------- data


def cnn_data():
    """128 noisy copies of 10 class prototypes; each step draws 16 of them (6 epochs in 50 steps)."""
    prototypes = torch.randint(0, 256, (10, 1, 28, 28))
    labels = torch.randint(0, 10, (128,))
    noise = torch.randint(-60, 61, (128, 1, 28, 28))
    images = (prototypes[labels] * 0.7 + noise + 30).round().clamp(0, 255).to(torch.uint8)
    batch_indices = torch.stack([torch.randperm(128)[:16] for _ in range(STEPS)])
    data = {"images": images, "labels": labels, "batch_indices": batch_indices}
    batches = [(images[i].float() / 256, labels[i]) for i in batch_indices]
    return data, batches


def lstm_data():
    """The class is the token three from the end, mod 4: the LSTM has to remember it."""
    tokens = torch.randint(0, 50, (STEPS, 8, 12))
    targets = tokens[:, :, -3] % 4
    return {"tokens": tokens, "targets": targets}, list(zip(tokens, targets))


def transformer_data():
    """Arithmetic progressions mod 40: after two tokens every next token is predictable."""
    start = torch.randint(0, 40, (STEPS, 4, 1))
    stride = torch.randint(1, 4, (STEPS, 4, 1))
    tokens = (start + stride * torch.arange(17)) % 40
    return {"tokens": tokens}, [(t[:, :16], t[:, 1:]) for t in tokens]


# ----------------------------------------------------------------------------- training


MODELS = {
    # name: (model factory, data factory, optimizer config)
    "cnn": (make_cnn, cnn_data, {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "max_norm": 0.0}),
    "lstm": (LSTMClassifier, lstm_data, {"optimizer": "adam", "lr": 5e-3, "weight_decay": 0.0, "max_norm": 0.0}),
    "transformer": (TinyGPT, transformer_data,
                    {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.1, "max_norm": 1.0}),
}
BETAS, EPS = (0.9, 0.999), 1e-8


def train(model, batches, config, dtype):
    """Runs the training loop; returns losses, clip norms, first-step gradients and final state."""
    model = model.to(dtype)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[config["optimizer"]]
    optimizer = cls(model.parameters(), lr=config["lr"], betas=BETAS, eps=EPS, weight_decay=config["weight_decay"],
                    foreach=False)
    losses, norms, first_grads = [], [], None
    for inputs, targets in batches:
        optimizer.zero_grad()
        inputs = inputs.to(dtype) if inputs.is_floating_point() else inputs
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        if first_grads is None:
            first_grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
        if config["max_norm"] > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), config["max_norm"])))
        optimizer.step()
        losses.append(loss.item())
    return losses, norms, first_grads, {k: v.detach().clone() for k, v in model.state_dict().items()}


def make(name, float64_report):
    factory, data_factory, config = MODELS[name]
    torch.manual_seed(case_seed(name))
    model = factory()
    init = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    data, batches = data_factory()
    losses, norms, grads, final = train(model, batches, config, torch.float32)

    tensors = {f"init.{k}": v for k, v in init.items()}
    tensors.update({f"grad.{k}": v.contiguous() for k, v in grads.items()})
    tensors.update({f"final.{k}": v.contiguous() for k, v in final.items()})
    tensors["loss"] = torch.tensor(losses, dtype=torch.float32)
    if norms:
        tensors["grad_norm"] = torch.tensor(norms, dtype=torch.float32)
    tensors.update({k: v.contiguous() for k, v in data.items()})
    full_config = {"model": name, "steps": STEPS, "beta1": BETAS[0], "beta2": BETAS[1], "eps": EPS, **config}
    path = DATA_DIR / f"{name}.safetensors"
    save_file(tensors, path, {"config": json.dumps(full_config, sort_keys=True)})
    print(f"{path.name}: {path.stat().st_size} bytes, loss {losses[0]:.4f} -> {losses[-1]:.4f}"
          + (f", clipped on {sum(n > config['max_norm'] for n in norms)}/{len(norms)} steps" if norms else ""))

    if float64_report:
        model64 = factory()
        model64.load_state_dict(init)
        losses64, _, _, final64 = train(model64, batches, config, torch.float64)
        loss_rel = max(abs(a - b) / abs(b) for a, b in zip(losses, losses64))
        param_rel = max(((final[k].double() - v).abs() / v.abs().clamp_min(1e-3)).max().item()
                        for k, v in final64.items())
        print(f"    float32 vs float64: max rel loss diff {loss_rel:.2e}, "
              f"max rel final-parameter diff {param_rel:.2e} (|p| floored at 1e-3)")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name in MODELS:
        make(name, "--float64" in sys.argv)


if __name__ == "__main__":
    main()

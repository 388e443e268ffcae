"""Writes the PyTorch oracle for nabla's GPT (src/nabla/models/gpt.h), as llm.c's test_gpt2 does:
a tiny GPT's logits, loss and every parameter gradient for one batch, which
tests/models/gpt_test.cpp compares with nabla's.

Rerun from the repository root (after `bash scripts/setup-peers.sh`) with

    python3 tests/golden/models/make_gpt_golden.py

Output tests/golden/models/gpt.safetensors:
  param.<key>   the initial weights under nabla's names (wte.weight, wpe.weight,
                h.<i>.ln_1.weight, h.<i>.attn.in_proj_weight, ..., ln_f.bias); the output layer is tied
                to wte.weight, as in GPT-2
  grad.<key>    d loss / d param
  tokens        i64 [2, 12]   inputs;  targets i64 [2, 12] next tokens
  logits        f32 [2, 12, 37];  loss f32 [] (mean cross-entropy)
metadata "config": {"vocab_size", "context", "n_layer", "n_head", "n_embd"}.
"""

import json
import pathlib
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden
from golden_io import case_seed, save_file
from torch_twins import TransformerBlock

OUT = pathlib.Path(__file__).resolve().parent / "gpt.safetensors"
CONFIG = {"vocab_size": 37, "context": 16, "n_layer": 2, "n_head": 4, "n_embd": 32}


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["context"], c["n_embd"])
        self.h = nn.ModuleList([TransformerBlock(c["n_embd"], c["n_head"]) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"])

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T


def main():
    torch.manual_seed(case_seed("gpt"))
    torch.set_num_threads(1)
    model = GPT(CONFIG)
    with torch.no_grad():  # GPT-2's N(0, 0.02) init, and LayerNorms off their defaults so their
        for name, p in model.named_parameters():  # gradients are tested too
            if "ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
            elif p.dim() >= 2:
                p.normal_(0.0, 0.1)
            else:
                p.normal_(0.0, 0.02)
    tokens = torch.randint(0, CONFIG["vocab_size"], (2, 13))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    logits = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, CONFIG["vocab_size"]), targets.reshape(-1))
    loss.backward()
    out = {"tokens": inputs, "targets": targets, "logits": logits.detach(), "loss": loss.detach()}
    for name, p in model.named_parameters():
        out["param." + name] = p.detach().clone()
        out["grad." + name] = p.grad.clone()
    save_file(out, OUT, {"config": json.dumps(CONFIG, sort_keys=True)})
    print(f"wrote {OUT} ({len(out)} tensors), loss {loss.item():.4f}")


if __name__ == "__main__":
    main()

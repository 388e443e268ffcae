"""PyTorch twins of nabla modules that torch.nn has no exact equivalent of, with nabla's child names
so state dicts move between the two unchanged."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class TransformerMLP(nn.Module):
    def __init__(self, embed_dim, hidden_dim):
        super().__init__()
        self.fc = nn.Linear(embed_dim, hidden_dim)
        self.proj = nn.Linear(hidden_dim, embed_dim)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class TransformerBlock(nn.Module):
    """nabla::nn::TransformerBlock: pre-LayerNorm GPT-2 block, batch first, dropout 0."""

    def __init__(self, embed_dim, num_heads, mlp_ratio=4.0, causal=True):
        super().__init__()
        self.causal = causal
        self.ln_1 = nn.LayerNorm(embed_dim)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(embed_dim)
        self.mlp = TransformerMLP(embed_dim, int(embed_dim * mlp_ratio))

    def forward(self, x, key_padding_mask=None):
        h = self.ln_1(x)
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if self.causal else None
        a = self.attn(h, h, h, key_padding_mask=key_padding_mask, attn_mask=mask, need_weights=False,
                      is_causal=self.causal)[0]
        x = x + a
        return x + self.mlp(self.ln_2(x))

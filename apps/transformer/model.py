"""Models of the transformer tab, built bottom-up.

Sentiment (transfer learning on top of the packaged all-MiniLM-L6-v2, a 6-layer BERT):
    LoRALinear        a frozen nn.Linear plus a trainable low-rank update  W + (alpha/r) B A
    MeanPoolHead      mean of the token vectors (padding excluded) -> Linear(384, 2)
    TopLayersClassifier   the top K BERT layers (LoRA inside) + MeanPoolHead, fed cached
                          hidden states of layer 6-K: only what is trained runs in training
    ScratchClassifier a 2-layer transformer encoder trained from nothing, for comparison

Generation: `tiny_gpt_config` (a GPT-2 with a few layers; transformers builds it).
Positional encoding: `sinusoidal_encoding` (Vaswani et al. 2017, section 3.5).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")


class LoRALinear(nn.Module):
    """y = base(x) + (alpha/r) * x A^T B^T, with base frozen; B starts at 0 so training starts at the base."""

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))

    @classmethod
    def from_factors(cls, base: nn.Linear, lora_A: torch.Tensor, lora_B: torch.Tensor, alpha: float) -> "LoRALinear":
        """A trained adapter for inference: wraps `base` (shared, not copied) without drawing random numbers."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self.base, self.scale = base, alpha / lora_A.shape[0]
        self.lora_A = nn.Parameter(lora_A, requires_grad=False)
        self.lora_B = nn.Parameter(lora_B, requires_grad=False)
        return self

    def forward(self, x):  # x: (..., in) -> (..., out)
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scale

    def merged_weight(self) -> torch.Tensor:
        return self.base.weight + self.scale * self.lora_B @ self.lora_A


def add_lora(layer: nn.Module, rank: int, alpha: float) -> None:
    """Replace the six linear maps of one BertLayer by LoRALinear wrappers, in place."""
    for target in LORA_TARGETS:
        parent_name, _, child = target.rpartition(".")
        parent = layer.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha))


class MeanPoolHead(nn.Module):
    """Sentence vector = mean of its token vectors (how all-MiniLM-L6-v2 was trained), then a linear map."""

    def __init__(self, hidden: int = 384, n_classes: int = 2, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden, n_classes)

    def forward(self, hidden_states, mask):  # (B, T, H), (B, T) -> (B, n_classes)
        pooled = mean_pool(hidden_states, mask)
        return self.linear(self.dropout(pooled))


def mean_pool(hidden_states, mask):  # (B, T, H), (B, T) -> (B, H)
    mask = mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def additive_mask(mask, dtype=torch.float32):
    """(B, T) 1/0 padding mask -> (B, 1, 1, T) mask added to attention scores (BERT's eager format)."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class TopLayersClassifier(nn.Module):
    """The top K layers of a BertModel (shared, with LoRA added) + a mean-pool head.

    Input: hidden states after layer 6-K (cached once), not token ids, so training never
    re-runs the frozen bottom of the network.
    """

    def __init__(self, top_layers: nn.ModuleList, hidden: int = 384):
        super().__init__()
        self.layers = top_layers
        self.head = MeanPoolHead(hidden)

    def forward(self, hidden_states, mask):  # (B, T, H) float, (B, T) -> (B, 2)
        attn_mask = additive_mask(mask, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask=attn_mask)
        return self.head(hidden_states, mask)


class ScratchClassifier(nn.Module):
    """A small transformer encoder with learned positions, trained from random weights."""

    def __init__(self, vocab_size: int, d_model: int = 128, n_heads: int = 4, n_layers: int = 2,
                 max_len: int = 64, dropout: float = 0.1):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, d_model)
        block = nn.TransformerEncoderLayer(d_model, n_heads, 2 * d_model, dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(block, n_layers, enable_nested_tensor=False)
        self.head = MeanPoolHead(d_model)

    def forward(self, input_ids, mask):  # (B, T) ints, (B, T) -> (B, 2)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.token_embedding(input_ids) + self.position_embedding(positions)
        x = self.encoder(x, src_key_padding_mask=mask == 0)
        return self.head(x, mask)


def tiny_gpt_config(vocab_size: int, n_positions: int = 256):
    """A GPT-2 shaped decoder small enough to train on two CPU cores in minutes (~0.45M params)."""
    from transformers import GPT2Config

    return GPT2Config(vocab_size=vocab_size, n_positions=n_positions, n_embd=96, n_layer=3,
                      n_head=4, n_inner=384, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1,
                      bos_token_id=0, eos_token_id=0, pad_token_id=0)


def sinusoidal_encoding(n_positions: int, d_model: int) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...): (n_positions, d_model)."""
    positions = np.arange(n_positions)[:, None]
    frequencies = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)
    encoding = np.zeros((n_positions, d_model))
    encoding[:, 0::2] = np.sin(positions * frequencies)
    encoding[:, 1::2] = np.cos(positions * frequencies[: d_model // 2])
    return encoding

"""A small vision transformer for Fashion-MNIST, built bottom-up, and what it shows.

    image (B, 1, 28, 28), normalised like the fashion CNN's input (data.FASHION_MEAN / STD)
      patches      cut into 4x4 patches, each flattened and projected   (B, 49, D)
      tokens       a learned class token in front, learned position embeddings added   (B, 50, D)
      encoder      depth x [x + attention(LN(x)); x + MLP(LN(x))]   (pre-norm)   (B, 50, D)
      head         LN -> linear on the class token   (B, 10)

No convolutions and no built-in notion of neighbourhood: the position embeddings start random,
and whatever 2-D layout the model knows it learned from the data (position_similarity shows it).

    model = load_vit()                           # eval mode, sha256-verified, loaded once
    classify(model, images)                      # (B, 1, 28, 28) -> probabilities (B, 10)
    attention_rollout(model, images)             # (B, 7, 7): class token's attention, all layers
    last_layer_attention(model, images)          # (B, heads, 7, 7): per head, last layer
    position_similarity(model)                   # (49, 49) cosine similarity
    position_similarity_maps(model)              # (7, 7, 7, 7): [r, c] is patch (r, c)'s map
    position_locality(model)                     # {"near": ..., "far": ...} mean similarities
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from apps.cnn.vit_spec import CHECKPOINT, GRID, IMAGE, N_PATCHES, PATCH
from shared.checkpoints import load_checkpoint
from shared.lazy import load_once

__all__ = ["CHECKPOINT", "GRID", "PATCH", "ViTConfig", "ViT", "load_vit", "classify",
           "attention_rollout", "last_layer_attention", "position_similarity", "position_similarity_maps",
           "position_locality"]


@dataclass(frozen=True)
class ViTConfig:
    dim: int = 64
    depth: int = 6
    heads: int = 4
    mlp_ratio: int = 2
    patch: int = PATCH
    image: int = IMAGE
    channels: int = 1
    n_classes: int = 10
    dropout: float = 0.0

    @property
    def grid(self) -> int:
        return self.image // self.patch


class PatchEmbedding(nn.Module):
    """Non-overlapping patch x patch squares, each flattened and mapped to D numbers (one linear
    layer; a conv with stride = kernel = patch is the same thing, written here as unfold + linear)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.patch = cfg.patch
        self.proj = nn.Linear(cfg.channels * cfg.patch ** 2, cfg.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # (B, C, H, W)
        b, c, h, w = x.shape
        p = self.patch
        x = x.reshape(b, c, h // p, p, w // p, p)             # (B, C, G, p, G, p)
        x = x.permute(0, 2, 4, 1, 3, 5)                        # (B, G, G, C, p, p): row-major patches
        x = x.reshape(b, (h // p) * (w // p), c * p * p)       # (B, P, C*p*p)
        return self.proj(x)                                    # (B, P, D)


class SelfAttention(nn.Module):
    """Multi-head self-attention; returns its attention weights too when asked (for the views)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.heads = cfg.heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.out = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, x: torch.Tensor, need_weights: bool = False):   # (B, T, D)
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # q, k, v: (B, heads, T, D/heads)
        weights = None
        if need_weights:
            weights = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1)   # (B, h, T, T)
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v)       # the same numbers, fused
        y = self.out(y.transpose(1, 2).reshape(b, t, d))       # (B, T, D): heads side by side, mixed
        return (y, weights) if need_weights else y


class MLP(nn.Sequential):
    def __init__(self, cfg: ViTConfig):
        hidden = cfg.mlp_ratio * cfg.dim
        super().__init__(nn.Linear(cfg.dim, hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                         nn.Linear(hidden, cfg.dim), nn.Dropout(cfg.dropout))


class Block(nn.Module):
    """Pre-norm encoder block: each token mixes with all others, then is processed alone."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(cfg.dim), SelfAttention(cfg)
        self.norm2, self.mlp = nn.LayerNorm(cfg.dim), MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # (B, T, D) -> (B, T, D)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, weights = self.attn(self.norm1(x), need_weights=True)
        x = x + y
        return x + self.mlp(self.norm2(x)), weights           # (B, T, D), (B, heads, T, T)


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig = ViTConfig()):
        super().__init__()
        self.cfg = cfg
        n_patches = cfg.grid ** 2
        self.patches = PatchEmbedding(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 1 + n_patches, cfg.dim))
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.depth)])
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.n_classes)
        self.apply(_init)
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:      # (B, C, H, W) -> (B, 1 + P, D)
        x = self.patches(x)                                    # (B, P, D)
        cls = self.cls_token.expand(x.shape[0], -1, -1)        # (B, 1, D)
        return torch.cat([cls, x], dim=1) + self.pos_embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # (B, C, H, W) -> (B, n_classes) logits
        x = self.tokens(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))                   # the class token's final state


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def config_dict(cfg: ViTConfig) -> dict:
    return asdict(cfg)


# ---------------------------------------------------------------------------------------------
# Loading and using the shipped model

@load_once
def load_vit() -> ViT:
    """The shipped Fashion-MNIST ViT in eval mode (sha256 checked against its card)."""
    state, card = load_checkpoint(CHECKPOINT)
    model = ViT(ViTConfig(**card["config"]))
    model.load_state_dict(state)
    return model.eval()


@torch.no_grad()
def classify(model: ViT, images: torch.Tensor) -> torch.Tensor:
    """images (B, 1, 28, 28), normalised like the fashion CNN's -> class probabilities (B, 10)."""
    return model(images).softmax(-1)


@torch.no_grad()
def attention_weights(model: ViT, images: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's attention weights, [(B, heads, T, T)] * depth (T = 1 + patches)."""
    x, weights = model.tokens(images), []
    for block in model.blocks:
        x, w = block.forward_with_attention(x)
        weights.append(w)
    return weights


def attention_rollout(model: ViT, images: torch.Tensor) -> torch.Tensor:
    """How much the class token draws on each patch through all layers (Abnar & Zuidema 2020):
    per layer, heads averaged, plus the identity for the residual path, rows renormalised; the
    layers' matrices multiplied. -> (B, grid, grid), each map summing to 1."""
    weights = attention_weights(model, images)
    t = weights[0].shape[-1]
    eye = torch.eye(t)
    rollout = eye.expand(weights[0].shape[0], t, t)
    for w in weights:
        a = 0.5 * w.mean(1) + 0.5 * eye                        # (B, T, T)
        a = a / a.sum(-1, keepdim=True)
        rollout = a @ rollout
    cls_to_patches = rollout[:, 0, 1:]                         # (B, P)
    cls_to_patches = cls_to_patches / cls_to_patches.sum(-1, keepdim=True)
    g = model.cfg.grid
    return cls_to_patches.reshape(-1, g, g)


def last_layer_attention(model: ViT, images: torch.Tensor) -> torch.Tensor:
    """The class token's attention over the patches in the last layer, per head, renormalised over
    the patches (its share on itself left out) -> (B, heads, grid, grid), each map summing to 1."""
    w = attention_weights(model, images)[-1][:, :, 0, 1:]      # (B, heads, P)
    w = w / w.sum(-1, keepdim=True)
    g = model.cfg.grid
    return w.reshape(w.shape[0], w.shape[1], g, g)


@torch.no_grad()
def position_similarity(model: ViT) -> torch.Tensor:
    """Cosine similarity between the learned position embeddings of every pair of patches (P, P)."""
    pos = F.normalize(model.pos_embedding[0, 1:], dim=-1)     # (P, D), the class token's left out
    return pos @ pos.T


def position_similarity_maps(model: ViT) -> torch.Tensor:
    """(grid, grid, grid, grid): [r, c] is the grid x grid map of patch (r, c)'s similarity to every
    patch (the ViT paper's Fig. 7); a model that learned the 2-D layout shows a bright spot at (r, c)
    fading with distance."""
    g = model.cfg.grid
    return position_similarity(model).reshape(g, g, g, g)


assert N_PATCHES == ViTConfig().grid ** 2


def position_locality(model: ViT) -> dict[str, float]:
    """Mean position-embedding similarity of side-by-side patches and of patches at least 3 apart
    (Chebyshev distance): 'near' well above 'far' means the model learned the 2-D layout."""
    g = model.cfg.grid
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    distance = torch.maximum((rows[:, None] - rows).abs(), (cols[:, None] - cols).abs())
    manhattan = (rows[:, None] - rows).abs() + (cols[:, None] - cols).abs()
    sim = position_similarity(model)
    return {"near": round(sim[manhattan == 1].mean().item(), 3), "far": round(sim[distance >= 3].mean().item(), 3)}

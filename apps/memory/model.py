"""Three recurrent cells on the same task, an order-blind baseline, and two non-recurrent models.

    tokens (B, L) ──one-hot──▶ (B, L, V) ──cell──▶ h_t (B, L, H) ──last step──▶ Linear ──▶ logits (B, K)

V = 12 token types (8 letters + 4 noise symbols), K = 8 possible answers, H = 32 hidden units.

`RecallModel` trains with PyTorch's fused nn.RNN / nn.LSTM / nn.GRU (fast), and `unroll`
replays the same weights one step at a time in Python, so every h_t and every gate value is
an explicit tensor: the gradient-norm plot differentiates the loss with respect to each h_t
(torch.autograd.grad), and the gate heat maps read the gates. The test suite checks that both paths give the same numbers.

Two models that do not read step by step, for "why transformers replaced RNNs" and "why CNNs
are not enough" (same task, data and loop):

    tokens (B, L) ─Embedding─▶ (B, L, D) + sinusoidal positions ─2 × self-attention layer─▶ (B, L, D)
        ─last position─▶ Linear ─▶ (B, K)                                   TransformerRecall, 5,336 params
    tokens (B, L) ─one-hot─▶ (B, V, L) ─6 × Conv1d(k=3, causal)─▶ (B, C, L) ─last position─▶ Linear ─▶ (B, K)
                                                                            ConvRecall, 4,648 params

(GRU: 4,680; LSTM: 6,152.) Every position of the transformer looks at every other in one layer,
so the whole sequence is processed at once; the CNN's last position sees only the last
CONV_RECEPTIVE_FIELD = 13 tokens, a fixed-size window, so for L > 13 the first letter is out of its sight.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from apps.memory.spec import CELLS, CONV_KERNEL, CONV_LAYERS

CONV_CHANNELS = 16
ATTN_DIM, ATTN_HEADS, ATTN_FF, ATTN_LAYERS = 16, 2, 40, 2
HIDDEN_SIZE = 32
# Gated cells start in "keep" mode (Gers et al. 2000; Tallec & Ollivier 2018, chrono init):
# forget gate ≈ σ(4) = 0.98, input gate ≈ σ(-2) = 0.12, GRU update gate z ≈ 0.98. The plain
# RNN has no gate, so there is nothing to set: it rewrites its whole state every step.
KEEP_BIAS, WRITE_BIAS = 4.0, -2.0


class RecallModel(nn.Module):
    def __init__(self, cell: str, vocab_size: int, num_classes: int, hidden_size: int = HIDDEN_SIZE):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {cell!r}")
        self.cell, self.vocab_size, self.hidden_size = cell, vocab_size, hidden_size
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.recurrent = layer(vocab_size, hidden_size, batch_first=True)  # tanh RNN by default
        self.head = nn.Linear(hidden_size, num_classes)
        H = hidden_size
        with torch.no_grad():
            if cell == "lstm":  # bias chunks in PyTorch's order: input, forget, cell, output
                self.recurrent.bias_hh_l0[0:H].fill_(WRITE_BIAS)
                self.recurrent.bias_hh_l0[H:2 * H].fill_(KEEP_BIAS)
            elif cell == "gru":  # chunks: reset, update, new
                self.recurrent.bias_hh_l0[H:2 * H].fill_(KEEP_BIAS)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(tokens, self.vocab_size).float()        # (B, L, V)
        states, _ = self.recurrent(x)                          # (B, L, H)
        return self.head(states[:, -1])                        # (B, K): answer after the last step

    def unroll(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step-by-step replay of forward(); returns logits, hidden states and gate values.

        hidden: (B, L, H) stacked h_t; "h_list": the per-step tensors themselves (still in the
        autograd graph, so ∂loss/∂h_t can be taken), and for the LSTM "c_list", its cell states (the LSTM's long-term memory lives in c_t). Gates (B, L, H): LSTM
        "forget", "input", "output"; GRU "update" (z: 1 = keep the old state), "reset".
        """
        r = self.recurrent
        w_ih, w_hh, b_ih, b_hh = r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0, r.bias_hh_l0
        x = F.one_hot(tokens, self.vocab_size).float()
        batch, length, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size)
        c = x.new_zeros(batch, self.hidden_size)
        h_list, c_list, gates = [], [], {}

        def keep(name, value):
            gates.setdefault(name, []).append(value.detach())

        for t in range(length):
            xi = x[:, t] @ w_ih.T + b_ih                      # (B, G*H)
            hh = h @ w_hh.T + b_hh                             # (B, G*H)
            if self.cell == "rnn":
                h = torch.tanh(xi + hh)                        # the whole notebook is rewritten
            elif self.cell == "lstm":
                i, f, g, o = (xi + hh).chunk(4, dim=1)         # PyTorch's gate order
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c = f * c + i * g                              # keep some, write some
                h = o * torch.tanh(c)
                keep("forget", f), keep("input", i), keep("output", o)
            else:
                xr, xz, xn = xi.chunk(3, dim=1)
                hr, hz, hn = hh.chunk(3, dim=1)
                reset = torch.sigmoid(xr + hr)
                update = torch.sigmoid(xz + hz)
                candidate = torch.tanh(xn + reset * hn)
                h = update * h + (1 - update) * candidate      # z = 1 keeps the old h
                keep("update", update), keep("reset", reset)
            h_list.append(h)
            if self.cell == "lstm":
                c_list.append(c)
        out = {"logits": self.head(h), "hidden": torch.stack([s.detach() for s in h_list], 1),
               "h_list": h_list, "c_list": c_list}
        out.update({name: torch.stack(values, 1) for name, values in gates.items()})
        return out


class BagOfSymbols(nn.Module):
    """Order-blind baseline: mean of token embeddings, then an MLP. Shuffling the input changes nothing."""

    def __init__(self, vocab_size: int, num_classes: int, embed_size: int = 32, hidden_size: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.mlp = nn.Sequential(nn.Linear(embed_size, hidden_size), nn.ReLU(),
                                 nn.Linear(hidden_size, num_classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embed(tokens).mean(dim=1))        # (B, L, E) -> (B, E) -> (B, K)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """(L, D) fixed positions (Vaswani et al. 2017): sin/cos at geometric frequencies, no parameters,
    so a model trained at one L still has positions for any input length."""
    position = torch.arange(length, dtype=torch.float32)[:, None]               # (L, 1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (D/2,)
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class TransformerRecall(nn.Module):
    """A small transformer encoder: every step attends to every other, all steps in parallel.

    The answer is read at the last position (where the decoy arrives); to answer, its attention
    must find position 0, which the sinusoidal positions make recognisable."""

    def __init__(self, vocab_size: int, num_classes: int, dim: int = ATTN_DIM, heads: int = ATTN_HEADS,
                 ff: int = ATTN_FF, layers: int = ATTN_LAYERS):
        super().__init__()
        self.dim = dim
        self.embed = nn.Embedding(vocab_size, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=ff, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.num_layers = layers

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)                                              # (B, L, D)
        x = x + sinusoidal_positions(tokens.shape[1], self.dim).to(x)      # (B, L, D): where each token is
        x = self.encoder(x)                                                 # (B, L, D): attention, L×L per head
        return self.head(self.norm(x[:, -1]))                               # (B, K) at the last position


class ConvRecall(nn.Module):
    """A 1-D CNN: 6 causal Conv1d layers, kernel 3, ReLU; read at the last position.

    Causal (left) padding keeps every layer length L; the last position's output depends only on
    the last CONV_RECEPTIVE_FIELD tokens: fixed-size local structure, by construction."""

    def __init__(self, vocab_size: int, num_classes: int, channels: int = CONV_CHANNELS,
                 layers: int = CONV_LAYERS, kernel: int = CONV_KERNEL):
        super().__init__()
        self.vocab_size, self.kernel = vocab_size, kernel
        self.convs = nn.ModuleList(nn.Conv1d(vocab_size if i == 0 else channels, channels, kernel)
                                   for i in range(layers))
        self.head = nn.Linear(channels, num_classes)
        self.receptive_field = 1 + layers * (kernel - 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(tokens, self.vocab_size).float().transpose(1, 2)     # (B, V, L)
        for conv in self.convs:
            x = F.relu(conv(F.pad(x, (self.kernel - 1, 0))))               # (B, C, L): sees k - 1 more steps back
        return self.head(x[:, :, -1])                                       # (B, K) from the last 13 tokens only


def build(kind: str, vocab_size: int, num_classes: int) -> nn.Module:
    if kind == "bag":
        return BagOfSymbols(vocab_size, num_classes)
    if kind == "transformer":
        return TransformerRecall(vocab_size, num_classes)
    if kind == "cnn":
        return ConvRecall(vocab_size, num_classes)
    return RecallModel(kind, vocab_size, num_classes)


class SideBySide(nn.Module):
    """Several models trained on the same batches in one loop: the sum of independent losses.

    With Adam each parameter's step depends only on its own gradients, so summing the losses
    trains each model exactly as if it were alone, on identical data.
    """

    def __init__(self, kinds, vocab_size: int, num_classes: int):
        super().__init__()
        self.models = nn.ModuleDict({k: build(k, vocab_size, num_classes) for k in kinds})

    def forward(self, tokens):
        return {k: m(tokens) for k, m in self.models.items()}


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

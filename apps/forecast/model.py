"""LSTM and GRU forecasters with one interface: read a window, output H steps x 3 quantiles.

    x (B, L, 4) --LSTM/GRU--> last hidden state (B, D) --Linear--> (B, H, 3) quantiles

The head predicts the median and two positive gaps (softplus), so lower <= median <= upper
always holds: quantile outputs never cross. Outputs are the change from the window's base in
scaled units: its last value (shipped checkpoints) or, for a seasonal upload, the value one season
back (see data.base_values); data.py turns them back into series values.

`lstm_gates` replays an nn.LSTM one step at a time from its own weights, to show the input,
forget and output gates and the cell state; a test checks it matches nn.LSTM exactly.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

N_FEATURES = 4  # level, change since last step of the window, sin/cos of the seasonal phase


class Forecaster(nn.Module):
    def __init__(self, cell: str = "lstm", hidden: int = 32, horizon: int = 12, n_quantiles: int = 3):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', not {cell!r}")
        self.cell, self.hidden, self.horizon, self.n_quantiles = cell, hidden, horizon, n_quantiles
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(N_FEATURES, hidden, batch_first=True)
        self.head = nn.Linear(hidden, horizon * n_quantiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)                      # (B, L, D)
        raw = self.head(out[:, -1])               # (B, H*Q)
        raw = raw.view(-1, self.horizon, self.n_quantiles)  # (B, H, Q): [median, low gap, high gap]
        median = raw[..., 0]
        lower = median - F.softplus(raw[..., 1])
        upper = median + F.softplus(raw[..., 2])
        return torch.stack([lower, median, upper], dim=-1)  # (B, H, 3), sorted


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: tuple[float, ...]) -> torch.Tensor:
    """Quantile (pinball) loss: minimised when pred[..., k] is the quantiles[k] of the target."""
    q = torch.tensor(quantiles, dtype=pred.dtype)      # (Q,)
    error = target.unsqueeze(-1) - pred                # (B, H, Q)
    return torch.maximum(q * error, (q - 1) * error).mean()


@torch.no_grad()
def lstm_gates(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gates and states of a one-layer nn.LSTM reading x (L, F), each (L, D).

    PyTorch packs the four gate pre-activations as [input, forget, cell candidate, output]:
        i = σ(W_ii x + W_hi h + b_i)   how much of the new candidate to write
        f = σ(W_if x + W_hf h + b_f)   how much of the old cell to keep
        g = tanh(...)                  the candidate
        o = σ(W_io x + W_ho h + b_o)   how much of the cell to show as h
        c = f*c + i*g ;  h = o * tanh(c)
    """
    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
    D = lstm.hidden_size
    h = torch.zeros(D)
    c = torch.zeros(D)
    trace = {k: [] for k in ("input", "forget", "output", "cell", "hidden")}
    for x_t in x:
        pre = w_ih @ x_t + w_hh @ h + bias                  # (4D,)
        i, f, g, o = pre.split(D)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(trace, (i, f, o, c, h)):
            trace[name].append(value)
    return {k: torch.stack(v) for k, v in trace.items()}

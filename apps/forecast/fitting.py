"""The training recipe, shared by train.py (shipped checkpoints) and the app (your own CSV).

One recipe for both keeps the comparison fair: an uploaded series gets the same model, windows,
loss and best-epoch rule as the bundled ones, only a shorter time budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from apps.forecast import data
from apps.forecast.model import Forecaster, pinball_loss
from shared.training import KeepBest, TrainResult, fit, set_seed

HIDDEN = 32
BATCH_SIZE = 64
PATIENCE = 40  # epochs without a better validation loss before training stops


@dataclass
class Fitted:
    model: Forecaster
    scalers: dict[str, data.Scaler]  # per series name: a checkpoint can serve several series
    result: TrainResult
    best_val_loss: float
    best_epoch: int
    epochs_trained: int  # epochs that ran steps (early stopping leaves the rest empty)


def build_arrays(series_list: list[data.Series]) -> tuple[dict, tuple, tuple]:
    """Scalers (from the part before the test block) and train / validation windows of all series."""
    scalers, train_x, train_y, val_x, val_y = {}, [], [], [], []
    for s in series_list:
        train_origins, val_origins, test_start = data.split_origins(len(s), s.window, s.horizon)
        scaler = data.Scaler.fit(data.forward_transform(s.values[:test_start], s.transform))
        scalers[s.name] = scaler
        for origins, xs, ys in ((train_origins, train_x, train_y), (val_origins, val_x, val_y)):
            x, y = data.make_windows(s, scaler, origins)
            xs.append(x)
            ys.append(y)
    to_tensor = lambda parts: torch.from_numpy(np.concatenate(parts))  # noqa: E731
    return scalers, (to_tensor(train_x), to_tensor(train_y)), (to_tensor(val_x), to_tensor(val_y))


def train_forecaster(series_list: list[data.Series], cell: str, *, epochs: int = 300,
                     time_limit_s: float | None = None, seed: int = 0, lr: float = 3e-3,
                     on_progress: Callable[[float, dict], None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> Fitted:
    """Fit one LSTM/GRU on windows of every series in the list (all share L and H).

    Validation windows choose the epoch to keep (the best validation pinball loss); the last
    H points of each series are never trained on or validated on: they are the backtest.
    """
    generator = set_seed(seed)
    horizon = series_list[0].horizon
    scalers, (train_x, train_y), (val_x, val_y) = build_arrays(series_list)
    model = Forecaster(cell, hidden=HIDDEN, horizon=horizon)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)

    keep = KeepBest("val_loss", mode="min")
    epochs_started = -1  # fit() calls shuffled_batches once up front to count the steps

    def shuffled_batches():
        nonlocal epochs_started
        if keep.evaluations - keep.evaluation >= PATIENCE:
            return []  # early stop: the remaining epochs run no steps (fit has no stop hook)
        epochs_started += 1
        order = torch.randperm(len(train_x), generator=generator)
        return [(train_x[idx], train_y[idx]) for idx in order.split(BATCH_SIZE)]

    def loss_fn(m, batch):
        x, y = batch
        return pinball_loss(m(x), y, data.QUANTILES)

    def evaluate(m):
        return keep.evaluated(m, {"val_loss": pinball_loss(m(val_x), val_y, data.QUANTILES).item()})

    result = fit(model, optimizer, shuffled_batches, loss_fn, epochs=epochs, time_limit_s=time_limit_s,
                 evaluate=evaluate, log_every=10**9, clip_grad_norm=1.0, on_progress=on_progress,
                 should_stop=should_stop)
    keep.restore(model)
    best_loss = keep.value if keep.value is not None else float("inf")
    return Fitted(model, scalers, result, best_loss, keep.evaluation, max(epochs_started, 0))


@torch.no_grad()
def predict(model: Forecaster, series: data.Series, scaler: data.Scaler, origin: int,
            horizon: int) -> np.ndarray:
    """Quantile forecasts (horizon, 3) [lower, median, upper] in the series' units, made at `origin`
    (reading values[origin-L:origin]); origin = len(series) forecasts the future."""
    x = torch.from_numpy(data.window_input(series, scaler, origin)).unsqueeze(0)
    change = model(x)[0, :horizon].numpy()                          # (H, 3) scaled changes
    z = data.forward_transform(series.values[:origin], series.transform)
    base = data.base_values(z, origin, horizon, series)[:, None]   # (H, 1)
    return data.inverse_transform(base + change * scaler.std, series.transform)

"""One small training loop, used by every train.py and by live training inside the app.

    result = fit(model, optimizer, batches, loss_fn, epochs=3,
                 evaluate=lambda m: {"val_acc": accuracy(m)},
                 on_progress=lambda frac, metrics: progress(frac))

`loss_fn(model, batch)` returns a scalar loss, or (loss, {"acc": ...}) to log more.
`on_progress(fraction_done, latest_metrics)` is where gr.Progress or a print hooks in.
`time_limit_s` stops training cleanly (the app's live runs are capped); result.stopped_early says so.
`should_stop()` is asked before every step (the app's live runs stop when nobody watches any more);
it stops training the same way, and result.cancelled says it was the reason.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per log point
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False  # hit time_limit_s or max_steps before the planned epochs
    cancelled: bool = False      # should_stop() said stop (stopped_early is then True too)


def set_seed(seed: int) -> torch.Generator:
    """Seed torch (and numpy/random where used) for reproducible runs; return a torch Generator."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable | Callable[[], Iterable],
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | tuple[torch.Tensor, dict]],
    *,
    epochs: int = 1,
    max_steps: int | None = None,
    time_limit_s: float | None = None,
    evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    log_every: int = 50,
    scheduler: Any | None = None,
    clip_grad_norm: float | None = None,
    on_progress: Callable[[float, dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train `model`; evaluate after every epoch (and every `eval_every` steps if given).

    `batches` is a DataLoader / iterable re-iterated each epoch, or a callable returning a
    fresh iterable (for generated data). Progress is reported as the fraction of the
    planned steps (or of the time limit, whichever is nearer to running out).
    """
    start = time.monotonic()
    result = TrainResult()
    make_epoch = batches if callable(batches) else (lambda: batches)
    try:
        steps_per_epoch = len(make_epoch())  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    planned = max_steps or (steps_per_epoch * epochs if steps_per_epoch else None)
    running: dict[str, float] = {}
    running_count = 0

    def fraction_done() -> float:
        parts = []
        if planned:
            parts.append(result.steps / planned)
        if time_limit_s:
            parts.append((time.monotonic() - start) / time_limit_s)
        return min(1.0, max(parts)) if parts else 0.0

    last_eval_step = -1

    def log(epoch: int, with_eval: bool) -> None:
        nonlocal running, running_count, last_eval_step
        row: dict[str, Any] = {"step": result.steps, "epoch": epoch,
                               "seconds": round(time.monotonic() - start, 2)}
        row.update({k: v / max(running_count, 1) for k, v in running.items()})
        running, running_count = {}, 0
        if with_eval and evaluate is not None:
            model.eval()
            with torch.no_grad():
                row.update(evaluate(model))
            model.train()
        if with_eval:
            last_eval_step = result.steps
        result.history.append(row)
        if on_progress:
            on_progress(fraction_done(), row)

    def out_of_budget() -> bool:
        if should_stop is not None and should_stop():
            result.cancelled = True
            return True
        if max_steps is not None and result.steps >= max_steps:
            return True
        return time_limit_s is not None and time.monotonic() - start >= time_limit_s

    model.train()
    epoch = 0
    for epoch in range(1, epochs + 1):
        for batch in make_epoch():
            # Checked before each step, so a budget that ends exactly with the plan is not "early".
            if out_of_budget():
                result.stopped_early = True
                break
            out = loss_fn(model, batch)
            loss, extra = (out if isinstance(out, tuple) else (out, {}))
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss became {loss.item()} at step {result.steps}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            result.steps += 1
            running["loss"] = running.get("loss", 0.0) + loss.item()
            for k, v in extra.items():
                running[k] = running.get(k, 0.0) + float(v)
            running_count += 1
            if eval_every and result.steps % eval_every == 0:
                log(epoch, with_eval=True)
            elif result.steps % log_every == 0:
                log(epoch, with_eval=False)
        if result.stopped_early:
            break
        if last_eval_step != result.steps:
            log(epoch, with_eval=True)
    if last_eval_step != result.steps and not result.cancelled:  # nobody waits for a final evaluation
        log(epoch, with_eval=True)
    model.eval()
    result.seconds = time.monotonic() - start
    return result


@torch.no_grad()
def accuracy(model: torch.nn.Module, batches: Iterable) -> float:
    """Fraction of correct argmax predictions over (x, y) batches."""
    model.eval()
    correct = total = 0
    for x, y in batches:
        correct += (model(x).argmax(-1) == y).sum().item()
        total += y.numel()
    return correct / max(total, 1)

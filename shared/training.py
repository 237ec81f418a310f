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


def budgeted_schedule(optimizer: torch.optim.Optimizer, total_steps: int, time_limit_s: float | None = None,
                      *, warmup: float = 0.0, shape: str = "cosine", floor: float = 0.0):
    """A LambdaLR whose progress is whichever runs out first: the planned steps or the time budget.

    Why: these CPUs are shared, so the step rate varies severalfold; a schedule tied to steps alone
    is cut off at a high learning rate when the clock stops the run. Tied to both, a run always ends
    annealed, with as many steps as the machine allowed (the card records how many ran).
    warmup: fraction of the run spent rising linearly from `floor`; shape: "cosine" or "linear"
    decay to `floor` (a fraction of the base learning rate) over the rest.
    """
    if shape not in ("cosine", "linear"):
        raise ValueError(f"shape must be 'cosine' or 'linear', not {shape!r}")
    start = time.monotonic()

    def progress(step: int) -> float:
        done = step / max(total_steps, 1)
        if time_limit_s:
            done = max(done, (time.monotonic() - start) / time_limit_s)
        return min(done, 1.0)

    def factor(step: int) -> float:
        done = progress(step)
        if warmup and done < warmup:
            return floor + (1 - floor) * done / warmup
        rest = (done - warmup) / (1 - warmup) if warmup < 1 else 1.0
        decay = 0.5 * (1 + math.cos(math.pi * rest)) if shape == "cosine" else 1 - rest
        return floor + (1 - floor) * decay

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class KeepBest:
    """The model's weights at its best evaluation, to restore when training ends.

        keep = KeepBest("val_acc")               # mode="min" for a loss
        fit(..., evaluate=lambda m: keep.evaluated(m, {"val_acc": accuracy(m, val)}))
        keep.restore(model)

    keep_last=True keeps the latest weights instead (when validation data is trained on, nothing is
    held out to choose by, and an annealed schedule's end is the model to ship).
    """

    def __init__(self, metric: str, mode: str = "max", keep_last: bool = False):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', not {mode!r}")
        self.metric, self.mode, self.keep_last = metric, mode, keep_last
        self.value: float | None = None   # the best metric so far (None with keep_last)
        self.evaluation = 0               # which evaluation it came from (1 = the first)
        self.evaluations = 0
        self.state: dict | None = None

    def better(self, value: float) -> bool:
        if self.value is None:
            return True
        return value > self.value if self.mode == "max" else value < self.value

    def evaluated(self, model: torch.nn.Module, metrics: dict[str, float]) -> dict[str, float]:
        """Record one evaluation's metrics; returns them (so it can be an `evaluate` callback's result)."""
        self.evaluations += 1
        value = metrics.get(self.metric)
        if self.keep_last or (value is not None and self.better(value)):
            self.value = None if self.keep_last else value
            self.evaluation = self.evaluations
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return metrics

    def restore(self, model: torch.nn.Module) -> torch.nn.Module:
        if self.state is not None:
            model.load_state_dict(self.state)
        model.eval()
        return model


def card_command(module: str | None = None, argv: list[str] | None = None) -> str:
    """The command that reproduces this run, for its model card: `python -m <module> <args as given>`."""
    import shlex
    import sys

    if module is None:
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        module = spec.name if spec is not None else getattr(main, "__file__", "train.py")
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m", module, *map(shlex.quote, args)]).strip()


def classification_loss(label_smoothing: float = 0.0) -> Callable:
    """A `fit` loss for (x, y) batches: cross-entropy (optionally label-smoothed), logging accuracy."""
    import torch.nn.functional as F

    def loss_fn(model: torch.nn.Module, batch) -> tuple[torch.Tensor, dict]:
        x, y = batch
        logits = model(x)
        return (F.cross_entropy(logits, y, label_smoothing=label_smoothing),
                {"acc": (logits.argmax(-1) == y).float().mean()})

    return loss_fn


def print_progress(fraction: float, row: dict) -> None:
    """A `fit` on_progress for training scripts: one line per log point."""
    print(f"{fraction:6.1%} " + " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in row.items()), flush=True)

"""What the tab, the tests and notebooks call: shipped models, inspection, live training.

No Gradio here. Bad input raises shared.errors.BadInput with a message meant for the learner.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from apps.memory import data
from apps.memory.model import CELL_NAMES, CELLS, SideBySide
from apps.memory.train import ALL_KINDS, KINDS, NEW_KINDS, new_checkpoint_path, train_side_by_side
from shared import validate
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once
from shared.plots import line_plot

LIVE_MIN_LENGTH, LIVE_MAX_LENGTH = 5, 200
LIVE_SECONDS = 60          # the whole live run, evaluation included
LIVE_MIN_SECONDS = 5
LIVE_MAX_RUNS = 32         # different live runs training at once (identical settings share one run)
LIVE_PARALLEL = min(4, os.cpu_count() or 2)  # runs computing at any moment; the rest take turns
LIVE_SLICE_S = 0.25        # a run's turn, when others wait for one
LIVE_NICE = 10             # live-training threads run at this nice value: answers to others come first
LIVE_UPDATE_S_PER_RUN = 0.5  # a watcher's curves are redrawn at most every 0.5 s x the runs training
LIVE_GRACE_S = 60          # a watcher gives up on a run this long past its budget (a hung worker)
LIVE_MAX_STEPS = 5000      # more than 60 s allows on a laptop: time, not steps, ends the run
GRADIENT_BATCH = 64        # gradient norms are averaged over this many held-out sequences


# ---------------------------------------------------------------- shipped models

def checkpoint_path(length: int):
    return WEIGHTS_DIR / "memory" / f"L{length}.safetensors"


@load_once
def shipped_models(length: int) -> SideBySide:
    """The six models trained at `length` (one of data.SHIPPED_LENGTHS), verified and in eval mode:
    RNN, LSTM, GRU and bag from L<L>.safetensors, transformer and CNN from nonrecurrent_L<L>."""
    if length not in data.SHIPPED_LENGTHS:
        raise BadInput(f"there are shipped models for L = {', '.join(map(str, data.SHIPPED_LENGTHS))}, "
                       f"not L = {length}.")
    state, _card = load_checkpoint(checkpoint_path(length))
    new_state, _new_card = load_checkpoint(new_checkpoint_path(length))
    side_by_side = SideBySide(ALL_KINDS, data.VOCAB_SIZE, data.NUM_LETTERS)
    side_by_side.models.load_state_dict({**state, **new_state})  # strict: every tensor of all six
    return side_by_side.eval()


def load_models() -> None:
    """Load every shipped checkpoint."""
    for length in data.SHIPPED_LENGTHS:
        shipped_models(length)


@load_once
def prime_training() -> None:
    """One tiny training step, so that the first live run does not spend its 60 s on one-off
    start-up costs (the optimizer's first import, kernel set-up: tens of seconds on a busy CPU)."""
    train_side_by_side(LIVE_MIN_LENGTH, ALL_KINDS, max_steps=1, eval_size=8, eval_every=1)


def warm_up() -> None:
    """The tab's warm-up (run in the background after launch)."""
    prime_training()
    load_models()


def shipped_curves(length: int):
    """Held-out accuracy against training step for the shipped run at `length` (from its card)."""
    from shared.checkpoints import read_card

    if int(length) not in data.SHIPPED_LENGTHS:
        raise BadInput(f"There are shipped runs for L = {', '.join(map(str, data.SHIPPED_LENGTHS))}.")
    card = read_card(checkpoint_path(int(length)))
    history = card["history"]
    steps = [row["step"] for row in history]
    series = {CELL_NAMES[k]: [row[f"{k}_val_acc"] for row in history] for k in KINDS}
    series["chance"] = [data.CHANCE] * len(history)
    fig = line_plot(series, x=steps, title=f"How the shipped models learned at L = {length}",
                    x_title=f"training step (batch of 32; {card['training']['seconds']:.0f} s in all)",
                    y_title="held-out accuracy")
    ax = fig.axes[0]
    new_card = read_card(new_checkpoint_path(int(length)))  # trained alone, each with its own steps
    for kind in NEW_KINDS:
        rows = new_card["history"].get(kind, [])
        capped = " (hit its time cap)" if new_card["training"][kind]["hit_time_cap"] else ""
        ax.plot([r["step"] for r in rows], [r["val_acc"] for r in rows], label=CELL_NAMES[kind] + capped,
                linestyle="--", marker=".")
    ax.legend(fontsize=7)
    ax.set_ylim(0, 1.05)
    return fig


# ---------------------------------------------------------------- inspection

def check_length(length, low: int, high: int, what: str) -> int:
    try:
        value = float(length)
    except (TypeError, ValueError):
        raise BadInput(f"{what} must be a whole number between {low} and {high}, not {length!r}.") from None
    if not value.is_integer() or not low <= value <= high:
        raise BadInput(f"{what} must be a whole number between {low} and {high}, not {length}.")
    return int(value)


def sample(length: int, seed: int = 0):
    """GRADIENT_BATCH sequences of `length` from `seed`; the first one is the one shown."""
    length = check_length(length, data.MIN_LENGTH, data.MAX_LENGTH, "The sequence length")
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise BadInput(f"The seed must be a whole number, not {seed!r}.") from None
    if not 0 <= seed < 2**31:
        raise BadInput("The seed must be between 0 and 2147483647.")
    return data.make_batch(GRADIENT_BATCH, length, torch.Generator().manual_seed(seed))


def inspect(trained_length: int, length: int, seed: int = 0) -> dict:
    """Each shipped model's answer for the shown sequence and its accuracy on GRADIENT_BATCH like it.

    The fast path (what /inspect_memory returns): one fused forward pass per model, no autograd.
    `explain` adds what the plots need (gradient norms, hidden states, gates).
    """
    try:
        trained_length = int(trained_length)
    except (TypeError, ValueError):
        raise BadInput(f"Pick a shipped length ({data.SHIPPED_LENGTHS}), not {trained_length!r}.") from None
    tokens, targets = sample(length, seed)  # validate the cheap inputs before loading anything
    models = shipped_models(trained_length).models
    out = _header(tokens, targets, trained_length)
    with torch.no_grad():
        for kind in ALL_KINDS:
            _score(out, kind, models[kind](tokens), targets)
    return out


def explain(trained_length: int, length: int, seed: int = 0) -> dict:
    """`inspect`, plus what happens inside: the same models on the same sequences, step by step.

    Adds ‖∂loss/∂h_t‖ for every t (for the LSTM, of its whole state (h_t, c_t); mean over
    GRADIENT_BATCH sequences, real autograd through the unrolled cell), and the hidden states
    and gate values for the shown sequence.
    """
    out = inspect(trained_length, length, seed)  # validates, and the answers the UI already shows
    tokens, targets = sample(length, seed)
    models = shipped_models(out["trained_length"]).models
    out.update(grad_norms={}, hidden={}, gates={})
    for kind in CELLS:
        with torch.enable_grad():
            trace = models[kind].unroll(tokens)
            loss = F.cross_entropy(trace["logits"], targets)
            # ∂loss/∂state_t for every t at once, without accumulating into the shared weights' .grad
            states = trace["h_list"] + trace["c_list"]
            grads = torch.autograd.grad(loss, states)
        # ‖∂loss/∂state_t‖ per sequence, then the mean over the batch: one number per time step.
        # The state is h_t, and for the LSTM (h_t, c_t): its long-term memory is the cell state c_t.
        steps = len(trace["h_list"])
        per_step = [torch.cat([grads[t], grads[steps + t]], dim=1) if kind == "lstm" else grads[t]
                    for t in range(steps)]
        norms = torch.stack([g.norm(dim=1) for g in per_step], 1).mean(0)
        out["grad_norms"][kind] = norms.tolist()
        out["hidden"][kind] = trace["hidden"][0].T.numpy()          # (H, L) for the shown sequence
        for gate in ("forget", "input", "update"):
            if gate in trace:
                out["gates"][f"{kind}_{gate}"] = trace[gate][0].T.numpy()  # (H, L)
    return out


def _header(tokens: torch.Tensor, targets: torch.Tensor, trained_length: int) -> dict:
    return {"sequence": data.render(tokens[0]), "target": data.SYMBOL_NAMES[int(targets[0])],
            "decoy": data.SYMBOL_NAMES[int(tokens[0, -1])], "length": int(tokens.shape[1]),
            "trained_length": trained_length, "predictions": {}, "batch_accuracy": {}}


def _score(out: dict, kind: str, logits: torch.Tensor, targets: torch.Tensor) -> None:
    out["predictions"][kind] = _top(logits[0])
    out["batch_accuracy"][kind] = (logits.argmax(-1) == targets).float().mean().item()


def _top(logits: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
    probs = logits.softmax(-1)
    values, indices = probs.topk(k)
    return [(data.SYMBOL_NAMES[int(i)], round(float(p), 4)) for p, i in zip(values, indices)]


def signal_reaching_start(grad_norms: list[float]) -> float:
    """‖∂loss/∂state‖ at t = 0 divided by its value at the last step: the fraction of the error
    signal that survives the trip back to the letter (1 = none lost). Summarises the plot."""
    last = grad_norms[-1]
    return float(grad_norms[0] / last) if last > 0 else 0.0


def gradient_plot(result: dict):
    series, vanished = {}, []
    for kind, norms in result["grad_norms"].items():
        norms = np.asarray(norms, dtype=float)
        relative = norms / norms[-1] if norms[-1] > 0 else norms  # relative to the last step
        zero = relative == 0
        if zero.any():  # float32 ran out of range: the signal is exactly 0 there, which log axes cannot draw
            vanished.append(f"{CELL_NAMES[kind]}: exactly 0 for t ≤ {int(np.nonzero(zero)[0].max())}")
        series[CELL_NAMES[kind]] = np.where(zero, np.nan, relative)
    fig = line_plot(series, title="How much of the error signal reaches step t",
                    x_title="time step t (the letter to remember is at t = 0)",
                    y_title="‖∂loss/∂h_t‖ ÷ its value at the last step", log_y=True)
    from matplotlib.ticker import LogFormatter, NullFormatter

    # Plain "1e-05" labels: the default 10^x labels go through mathtext, which costs more than the plot.
    fig.axes[0].yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))
    fig.axes[0].yaxis.set_minor_formatter(NullFormatter())
    fig.set_layout_engine("none")  # fixed margins: the constrained-layout solver costs as much as drawing
    fig.axes[0].set_position((0.14, 0.14, 0.84, 0.77))
    if vanished:
        fig.axes[0].text(0.01, 0.02, "underflow: " + "; ".join(vanished), transform=fig.axes[0].transAxes,
                         fontsize=7, color="dimgray")
    return fig


STATE_PANELS = tuple((kind, f"{CELL_NAMES[kind]}: hidden state h_t") for kind in CELLS)
GATE_PANELS = (("lstm_forget", "LSTM forget gate f_t (1 = keep)"),
               ("lstm_input", "LSTM input gate i_t (1 = write)"),
               ("gru_update", "GRU update gate z_t (1 = keep old state)"))


def states_figure(result: dict):
    """The hidden states of the three cells, stacked on one time axis (one sequence)."""
    return _stacked_heatmaps(result, [result["hidden"][k] for k, _ in STATE_PANELS],
                             [t for _, t in STATE_PANELS], cmap="RdBu_r", vmin=-1, vmax=1, label="h_t")


def gates_figure(result: dict):
    """The LSTM's forget and input gates and the GRU's update gate, stacked on one time axis."""
    return _stacked_heatmaps(result, [result["gates"][k] for k, _ in GATE_PANELS],
                             [t for _, t in GATE_PANELS], cmap="viridis", vmin=0, vmax=1, label="gate value")


def _stacked_heatmaps(result: dict, matrices, titles, *, cmap: str, vmin: float, vmax: float, label: str):
    """Several (units × steps) maps in one figure: one render instead of one per map (each
    gr.Plot is drawn and encoded on its own), and the same column is the same step in every map."""
    # Fixed margins instead of layout="constrained": the layout solver costs as much as drawing.
    fig = Figure(figsize=(6.5, 7.0))
    labels = _token_labels(result)
    fig.subplots_adjust(left=0.1, right=0.82, top=0.96, bottom=0.13 if labels else 0.08, hspace=0.28)
    axes = fig.subplots(len(matrices), 1, sharex=True)
    for ax, matrix, title in zip(axes, matrices, titles):
        image = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("hidden unit", fontsize=8)
    if labels is not None:
        axes[-1].set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    axes[-1].set_xlabel("time step t")
    fig.colorbar(image, cax=fig.add_axes((0.85, 0.3, 0.025, 0.45)), label=label)
    return fig


def _token_labels(result: dict):
    """Tick labels for short sequences only (too many ticks are unreadable)."""
    if result["length"] > 40:
        return None
    text = result["sequence"].replace(" ", "")
    return [f"{t}:{c}" for t, c in enumerate(text)]


def predictions_markdown(result: dict) -> str:
    lines = [f"**Sequence** (L = {result['length']}): `{result['sequence']}` · answer **{result['target']}**, "
             f"decoy **{result['decoy']}**",
             "",
             f"| model (trained at L = {result['trained_length']}) | top guesses | accuracy on {GRADIENT_BATCH} "
             "sequences like this |", "|---|---|---|"]
    for kind in ALL_KINDS:
        guesses = ", ".join(f"{s} {p:.0%}" for s, p in result["predictions"][kind])
        verdict = "✅" if result["predictions"][kind][0][0] == result["target"] else "❌"
        lines.append(f"| {CELL_NAMES[kind]} | {verdict} {guesses} | {result['batch_accuracy'][kind]:.0%} |")
    return "\n".join(lines)


def inspect_summary(result: dict) -> dict:
    """The numbers behind the answers (from `inspect`) and, from `explain`, behind the plots."""
    summary = {
        "sequence": result["sequence"], "target": result["target"], "length": result["length"],
        "trained_length": result["trained_length"],
        "predictions": {k: v[0][0] for k, v in result["predictions"].items()},
        "batch_accuracy": {k: round(v, 4) for k, v in result["batch_accuracy"].items()},
    }
    if "grad_norms" in result:
        summary.update({
            "grad_norm_first_step": {k: v[0] for k, v in result["grad_norms"].items()},
            "grad_norm_last_step": {k: v[-1] for k, v in result["grad_norms"].items()},
            "signal_reaching_start": {k: signal_reaching_start(v) for k, v in result["grad_norms"].items()},
        })
    return summary


# ---------------------------------------------------------------- live training

def parse_cells(cells) -> list[str]:
    """Cell names from a list (UI checkboxes) or a comma-separated string (API)."""
    if isinstance(cells, str):
        cells = [c for c in cells.replace(" ", "").split(",") if c]
    names = {v.lower(): k for k, v in CELL_NAMES.items()} | {k: k for k in CELL_NAMES}
    chosen, unknown = [], []
    for cell in cells or []:
        key = names.get(str(cell).strip().lower())
        (chosen if key else unknown).append(key or cell)
    if unknown:
        raise BadInput(f"Unknown model(s) {unknown}: choose from {', '.join(ALL_KINDS)}.")
    if not chosen:
        raise BadInput("Pick at least one model to train.")
    return [k for k in ALL_KINDS if k in chosen]  # fixed order, no duplicates


class LiveRun:
    """One live training computation, streamed to everyone who asked for the same settings.

    The work runs in its own thread and stops as soon as nobody watches any more: `cancel` is set
    when the last watcher leaves (the page was closed, the client disconnected), and the training
    loop asks it before every step.
    """

    def __init__(self, length: int, kinds: tuple[str, ...], seconds: float):
        self.key = (length, kinds, seconds)
        self.number = next(_RUN_NUMBERS)  # unique for the process's life (id() is reused)
        self.length, self.kinds, self.seconds = length, kinds, seconds
        self.history: list[dict] = []
        self.fraction = 0.0
        self.done = False
        self.error: BaseException | None = None
        self.watchers = 0          # changed under _RUNS_LOCK
        self.cancel = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._work, name="memory-live-train", daemon=True)

    def _add_row(self, fraction: float, row: dict) -> None:
        with self.changed:
            self.fraction = fraction
            self.history.append(row)
            self.changed.notify_all()

    def _work(self) -> None:
        _lower_priority()
        turn = _TURNS.take(self.cancel)
        turn_started = time.monotonic()

        def should_stop() -> bool:
            """Asked before every step: stop when nobody watches; hand the CPU on after a slice,
            once this run has shown its first curve (first curves first: they say "it works")."""
            nonlocal turn, turn_started
            if (turn and self.history and time.monotonic() - turn_started >= LIVE_SLICE_S
                    and _TURNS.others_wait()):
                _TURNS.give_back()
                turn, turn_started = _TURNS.take(self.cancel), time.monotonic()
            return not turn or self.cancel.is_set()

        try:
            # Leave a few seconds of the cap for the last evaluation and the final plots.
            train_side_by_side(self.length, list(self.kinds), max_steps=LIVE_MAX_STEPS,
                               time_limit_s=self.seconds - 3, eval_size=256,
                               eval_every=10 if self.length <= 50 else 5,
                               on_progress=self._add_row, should_stop=should_stop)
        except BaseException as exc:  # noqa: BLE001 - handed to every watcher
            self.error = exc
        finally:
            if turn:
                _TURNS.give_back()
            with _RUNS_LOCK:
                if _RUNS.get(self.key) is self:
                    del _RUNS[self.key]
            with self.changed:
                self.done = True
                self.changed.notify_all()


class _Turns:
    """At most `width` live runs compute at any moment; the others wait their turn, first come,
    first served, and each hands its turn on after a slice (LIVE_SLICE_S) when others wait.

    Thirty runs computing at once would each hold Python's GIL in turn: the server's event loop
    and the drawing of everyone's curves then wait behind thirty threads (first curves after
    50-70 s in a room of 30 different runs). Taking turns keeps the same total throughput with two."""

    def __init__(self, width: int):
        self.width, self.running = width, 0
        self.waiting: collections.deque = collections.deque()
        self.changed = threading.Condition()

    def take(self, cancel: threading.Event) -> bool:
        """Wait for a turn; False when `cancel` is set first."""
        me = object()
        with self.changed:
            self.waiting.append(me)
            try:
                while not (self.running < self.width and self.waiting[0] is me):
                    if cancel.is_set():
                        return False
                    self.changed.wait(timeout=0.2)
                self.running += 1
                return True
            finally:
                self.waiting.remove(me)
                self.changed.notify_all()

    def give_back(self) -> None:
        with self.changed:
            self.running -= 1
            self.changed.notify_all()

    def others_wait(self) -> bool:
        return bool(self.waiting)


_TURNS = _Turns(LIVE_PARALLEL)
_RUN_NUMBERS = itertools.count(1)
_RUNS: dict[tuple, LiveRun] = {}   # the runs that are training now and take new watchers
_RUNS_LOCK = threading.Lock()


def _lower_priority() -> None:
    """Live training yields the CPU to everything else the server does (a room's answers stay
    fast while 30 runs train): a higher nice value for this thread only (Linux threads have their own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LIVE_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: train at normal priority
        pass


def _attach(length: int, kinds: tuple[str, ...], seconds: float) -> LiveRun:
    """The run training these settings now, or a new one; either way with one more watcher."""
    with _RUNS_LOCK:
        run = _RUNS.get((length, kinds, seconds))
        if run is None:
            if len(_RUNS) >= LIVE_MAX_RUNS:
                raise BadInput(f"{LIVE_MAX_RUNS} different live runs are training right now, the most this "
                               "server takes at once; try again in a minute, or pick settings someone else "
                               "is running (identical settings share one run).")
            run = _RUNS[(length, kinds, seconds)] = LiveRun(length, kinds, seconds)
            run.thread.start()
        run.watchers += 1
        return run


def _detach(run: LiveRun) -> None:
    """One watcher fewer; the last one to leave stops the work."""
    with _RUNS_LOCK:
        run.watchers -= 1
        if run.watchers <= 0 and not run.done:
            run.cancel.set()
            if _RUNS.get(run.key) is run:
                del _RUNS[run.key]  # a newcomer with these settings starts afresh


def live_runs() -> list[dict]:
    """What trains now: settings, watchers and steps of each live run (for tests and status lines)."""
    with _RUNS_LOCK:
        runs = list(_RUNS.values())
    return [{"length": r.length, "kinds": list(r.kinds), "seconds": r.seconds, "watchers": r.watchers,
             "steps": r.history[-1]["step"] if r.history else 0} for r in runs]


def training_threads() -> list[threading.Thread]:
    """Live-training threads still alive in this process (finished and cancelled ones end)."""
    return [t for t in threading.enumerate() if t.name == "memory-live-train" and t.is_alive()]


def live_train(length, cells, seconds: float = LIVE_SECONDS):
    """Train the chosen models from scratch for at most `seconds`; yields (fraction, history, info).

    Everyone who asks for the same settings while a run trains shares that one run: a late joiner
    gets its history so far, then every new row. `info` says how many watch this run
    ("watchers") and how many different runs share the CPU ("live_runs"). The work stops when
    the last watcher closes this generator (Gradio closes it when the client goes away).
    The loop is train.py's `train_side_by_side` with a time cap, in a worker thread.
    """
    length = validate.integer(length, LIVE_MIN_LENGTH, LIVE_MAX_LENGTH, "the live training length L")
    kinds = tuple(parse_cells(cells))
    seconds = validate.number(seconds, LIVE_MIN_SECONDS, LIVE_SECONDS, "the time budget in seconds")
    prime_training()  # once per process; usually already done in the background after launch
    run = _attach(length, kinds, seconds)
    # The loop enforces the budget; this only guards against a worker that hangs.
    deadline = time.monotonic() + seconds + LIVE_GRACE_S
    try:
        seen = 0
        while True:
            with run.changed:
                run.changed.wait_for(lambda seen=seen: len(run.history) > seen or run.done,
                                     timeout=max(0.0, deadline - time.monotonic()))
                history, fraction, done = list(run.history), run.fraction, run.done
            if run.error is not None:
                raise run.error
            if done:
                break
            if len(history) > seen:
                seen = len(history)
                info = _info(run)
                yield fraction, history, info
                # Each update is drawn (two figures, ~0.3 CPU-s): with many runs at once, fewer
                # updates per run keep the drawing from starving the training and the first curves.
                with run.changed:
                    run.changed.wait_for(lambda: run.done, timeout=LIVE_UPDATE_S_PER_RUN * info["live_runs"])
            elif time.monotonic() >= deadline:
                raise TimeoutError(f"the live run did not finish within {seconds + LIVE_GRACE_S:.0f} s")
        yield 1.0, history, _info(run)
    finally:
        _detach(run)


def _info(run: LiveRun) -> dict:
    """`run_id` names the computation: watchers of one run can share what they draw from it."""
    with _RUNS_LOCK:
        return {"watchers": run.watchers, "live_runs": len(_RUNS), "run_id": run.number}


def live_plots(history: list[dict], kinds: list[str]):
    """(loss figure, held-out accuracy figure) from the rows live_train yields."""
    steps = [row["step"] for row in history]
    losses = {CELL_NAMES[k]: [row.get(f"{k}_loss", np.nan) for row in history] for k in kinds}
    accs = {CELL_NAMES[k]: [row.get(f"{k}_val_acc", np.nan) for row in history] for k in kinds}
    accs["chance"] = [data.CHANCE] * len(history)
    loss_fig = line_plot(losses, x=steps, title="Training loss (cross-entropy)", x_title="step",
                         y_title="loss")
    acc_fig = line_plot(accs, x=steps, title="Held-out accuracy", x_title="step", y_title="accuracy")
    acc_fig.axes[0].set_ylim(0, 1.05)
    return loss_fig, acc_fig


def live_summary(history: list[dict], kinds: list[str], length: int) -> dict:
    last = history[-1] if history else {}
    return {"length": int(length), "steps": last.get("step", 0), "seconds": last.get("seconds", 0.0),
            "chance": data.CHANCE,
            "final_val_acc": {k: round(last.get(f"{k}_val_acc", float("nan")), 4) for k in kinds}}

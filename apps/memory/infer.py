"""What the tab, the tests and notebooks call: shipped models, inspection, live training.

No Gradio and no drawing here (views.py renders what these return). Bad input raises
shared.errors.BadInput with a message meant for the learner.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from apps.memory import data, spec
from apps.memory.model import SideBySide
from apps.memory.spec import ALL_KINDS, CELL_NAMES, CELLS, KINDS, NEW_KINDS, SHIPPED_LENGTHS
from apps.memory.train import train_side_by_side
from shared.checkpoints import load_checkpoint, read_card
from shared.errors import BadInput
from shared.lazy import load_once
from shared.watched import Watched

LIVE_PARALLEL = min(4, os.cpu_count() or 2)  # runs computing at any moment; the rest take turns
LIVE_SLICE_S = 0.25        # a run's turn, when others wait for one
LIVE_NICE = 10             # live-training threads run at this nice value: answers to others come first
LIVE_UPDATE_S_PER_RUN = 0.5  # a watcher's curves are redrawn at most every 0.5 s x the runs training
LIVE_GRACE_S = 60          # a watcher gives up on a run this long past its budget (a hung worker)
LIVE_MAX_STEPS = 5000      # more than 60 s allows on a laptop: time, not steps, ends the run
LIVE_THREAD = "memory-live-train"


# ---------------------------------------------------------------- shipped models

@load_once
def shipped_models(length: int) -> SideBySide:
    """The six models trained at `length` (one of spec.SHIPPED_LENGTHS), verified and in eval mode:
    RNN, LSTM, GRU and bag from L<L>.safetensors, transformer and CNN from nonrecurrent_L<L>."""
    length = trained_length(length)
    state, _card = load_checkpoint(spec.recurrent_checkpoint(length))
    new_state, _new_card = load_checkpoint(spec.nonrecurrent_checkpoint(length))
    side_by_side = SideBySide(ALL_KINDS, data.VOCAB_SIZE, data.NUM_LETTERS)
    side_by_side.models.load_state_dict({**state, **new_state})  # strict: every tensor of all six
    return side_by_side.eval()


def trained_length(value) -> int:
    """`value` as one of the shipped lengths; BadInput naming them otherwise."""
    shipped = ", ".join(map(str, SHIPPED_LENGTHS))
    try:
        length = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"Pick a shipped length (L = {shipped}), not {value!r}.") from None
    if length not in SHIPPED_LENGTHS:
        raise BadInput(f"There are shipped models for L = {shipped}, not L = {value}.")
    return length


def load_models() -> None:
    """Load every shipped checkpoint."""
    for length in SHIPPED_LENGTHS:
        shipped_models(length)


@load_once
def prime_training() -> None:
    """One tiny training step, so that the first live run does not spend its 60 s on one-off
    start-up costs (the optimizer's first import, kernel set-up: tens of seconds on a busy CPU)."""
    train_side_by_side(spec.LIVE_LENGTH.low, ALL_KINDS, max_steps=1, eval_size=8, eval_every=1)


def warm_up() -> None:
    """The tab's warm-up (run in the background after launch)."""
    prime_training()
    load_models()


@dataclass(frozen=True)
class Curve:
    """Held-out accuracy of one model against its training step."""
    steps: list[int]
    accuracy: list[float]
    hit_time_cap: bool = False


@dataclass(frozen=True)
class ShippedCurves:
    """How the shipped models learned at one length: the recurrent four trained together, the
    transformer and the CNN alone (each with its own steps)."""
    length: int
    seconds: float               # the recurrent run's training time
    together: dict[str, Curve]   # rnn, lstm, gru, bag: one run, the same steps
    alone: dict[str, Curve]      # transformer, cnn


def shipped_curves(length) -> ShippedCurves:
    """The shipped runs' learning curves at `length`, from their model cards."""
    length = trained_length(length)
    card, new_card = read_card(spec.recurrent_checkpoint(length)), read_card(spec.nonrecurrent_checkpoint(length))
    steps = [row["step"] for row in card["history"]]
    together = {k: Curve(steps, [row[f"{k}_val_acc"] for row in card["history"]]) for k in KINDS}
    alone = {k: Curve([r["step"] for r in new_card["history"].get(k, [])],
                      [r["val_acc"] for r in new_card["history"].get(k, [])],
                      hit_time_cap=new_card["training"][k]["hit_time_cap"]) for k in NEW_KINDS}
    return ShippedCurves(length, card["training"]["seconds"], together, alone)


# ---------------------------------------------------------------- inspection

@dataclass(frozen=True)
class SampleSequence:
    sequence: str   # as shown: first letter, the noise (long middles shortened), the decoy
    answer: str     # the first letter
    decoy: str      # the last letter
    length: int


def _sequences(length: int, seed: int):
    """spec.GRADIENT_BATCH sequences of `length` from `seed` (both already checked); the first is the one shown."""
    return data.make_batch(spec.GRADIENT_BATCH, length, torch.Generator().manual_seed(seed))


def _sample_of(tokens: torch.Tensor, targets: torch.Tensor) -> SampleSequence:
    return SampleSequence(data.render(tokens[0]), data.SYMBOL_NAMES[int(targets[0])],
                          data.SYMBOL_NAMES[int(tokens[0, -1])], int(tokens.shape[1]))


def sample(length, seed=spec.SEED.default) -> SampleSequence:
    """One sequence of the task, drawn from `seed`: what a model sees and the answer it should give."""
    length = spec.SAMPLE_LENGTH.check(length, "the sequence length")
    seed = spec.SEED.check(seed, "the seed")
    return _sample_of(*_sequences(length, seed))


@dataclass(frozen=True)
class Guess:
    symbol: str
    probability: float


@dataclass(frozen=True)
class Inspection:
    """Each shipped model's answer for the shown sequence and its accuracy on spec.GRADIENT_BATCH like it."""
    sample: SampleSequence
    trained_length: int
    guesses: dict[str, list[Guess]]      # kind -> its top 3, most likely first
    batch_accuracy: dict[str, float]     # kind -> share right on the spec.GRADIENT_BATCH sequences

    def answer(self, kind: str) -> str:
        return self.guesses[kind][0].symbol


@dataclass(frozen=True)
class Explanation:
    """What happens inside the three recurrent cells on the same sequences as `answers`."""
    answers: Inspection
    grad_norms: dict[str, list[float]]   # kind -> ‖∂loss/∂state_t‖ for t = 0 … L-1, mean over the batch
    hidden: dict[str, np.ndarray]        # kind -> (H, L) hidden states of the shown sequence
    gates: dict[str, np.ndarray]         # "lstm_forget", "lstm_input", "gru_update" -> (H, L)

    @property
    def signal_reaching_start(self) -> dict[str, float]:
        return {k: signal_reaching_start(v) for k, v in self.grad_norms.items()}


def inspect(trained_at, length, seed=spec.SEED.default) -> Inspection:
    """The fast path (what /inspect_memory returns): one fused forward pass per model, no autograd.
    `explain` adds what the plots need (gradient norms, hidden states, gates)."""
    trained_at = trained_length(trained_at)
    length = spec.INPUT_LENGTH.check(length, "the sequence length")
    seed = spec.SEED.check(seed, "the seed")  # the cheap inputs are checked before anything loads
    tokens, targets = _sequences(length, seed)
    models = shipped_models(trained_at).models
    guesses, accuracy = {}, {}
    with torch.no_grad():
        for kind in ALL_KINDS:
            logits = models[kind](tokens)
            guesses[kind] = _top(logits[0])
            accuracy[kind] = (logits.argmax(-1) == targets).float().mean().item()
    return Inspection(_sample_of(tokens, targets), trained_at, guesses, accuracy)


def explain(trained_at, length, seed=spec.SEED.default) -> Explanation:
    """`inspect`, plus what happens inside: the same models on the same sequences, step by step.

    ‖∂loss/∂h_t‖ for every t (for the LSTM, of its whole state (h_t, c_t); mean over
    spec.GRADIENT_BATCH sequences, real autograd through the unrolled cell), and the hidden states
    and gate values for the shown sequence.
    """
    answers = inspect(trained_at, length, seed)  # checks the inputs; the answers the UI already shows
    tokens, targets = _sequences(answers.sample.length, spec.SEED.check(seed))
    models = shipped_models(answers.trained_length).models
    grad_norms, hidden, gates = {}, {}, {}
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
        grad_norms[kind] = torch.stack([g.norm(dim=1) for g in per_step], 1).mean(0).tolist()
        hidden[kind] = trace["hidden"][0].T.numpy()                  # (H, L) for the shown sequence
        for gate in ("forget", "input", "update"):
            if gate in trace:
                gates[f"{kind}_{gate}"] = trace[gate][0].T.numpy()   # (H, L)
    return Explanation(answers, grad_norms, hidden, gates)


def _top(logits: torch.Tensor, k: int = 3) -> list[Guess]:
    values, indices = logits.softmax(-1).topk(k)
    return [Guess(data.SYMBOL_NAMES[int(i)], round(float(p), 4)) for p, i in zip(values, indices)]


def signal_reaching_start(grad_norms: list[float]) -> float:
    """‖∂loss/∂state‖ at t = 0 divided by its value at the last step: the fraction of the error
    signal that survives the trip back to the letter (1 = none lost). Summarises the plot."""
    last = grad_norms[-1]
    return float(grad_norms[0] / last) if last > 0 else 0.0


# ---------------------------------------------------------------- live training

def parse_cells(cells) -> list[str]:
    """Model kinds from a list (UI checkboxes) or a comma-separated string (API)."""
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


@dataclass(frozen=True)
class LiveUpdate:
    """One moment of a live run, as a watcher sees it."""
    run_id: int                  # names the computation: its watchers can share what is drawn from it
    length: int
    kinds: tuple[str, ...]
    seconds: float               # the run's budget
    fraction: float              # of the budget (steps or time) used so far; 1.0 when done
    history: list[dict] = field(default_factory=list)  # shared.training.fit's rows so far
    watchers: int = 1            # people watching this same run
    live_runs: int = 1           # different runs sharing the CPU now
    done: bool = False

    @property
    def last(self) -> dict:
        return self.history[-1] if self.history else {}


class LiveRun:
    """One live training computation, streamed to everyone who asked for the same settings.

    The work runs in a shared.watched.Watched thread and stops as soon as nobody watches any more:
    `cancel` is set when the last of its watchers leaves (the page was closed, the client
    disconnected), and the training loop asks it before every step.
    """

    def __init__(self, length: int, kinds: tuple[str, ...], seconds: float):
        self.key = (length, kinds, seconds)
        self.number = next(_RUN_NUMBERS)  # unique for the process's life (id() is reused)
        self.length, self.kinds, self.seconds = length, kinds, seconds
        self.history: list[dict] = []
        self.fraction = 0.0
        self.done = False
        self.watchers = 0          # changed under _RUNS_LOCK
        self.cancel = threading.Event()
        self.changed = threading.Condition()
        self.job: Watched | None = None

    def start(self) -> None:
        """The work runs in shared.watched.Watched's thread, which hands its exception to `error`."""
        self.job = Watched(self._work)
        self.job.thread.name = LIVE_THREAD  # training_threads() counts these

    @property
    def error(self) -> BaseException | None:
        """The work's exception, once it has ended."""
        try:
            self.job.result  # noqa: B018 - re-raises the work's exception
        except BaseException as exc:  # noqa: BLE001 - handed to every watcher
            return exc
        return None

    def _add_row(self, fraction: float, row: dict) -> None:
        with self.changed:
            self.fraction = fraction
            self.history.append(row)
            self.changed.notify_all()

    def _work(self, _watched_stop, _report) -> None:
        # Watched's own stop flag is set through its updates() generator, which one run shared by
        # several watchers cannot use: `cancel` is set by the last watcher instead.
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
            if len(_RUNS) >= spec.LIVE_MAX_RUNS:
                raise BadInput(f"{spec.LIVE_MAX_RUNS} different live runs are training right now, the most this "
                               "server takes at once; try again in a minute, or pick settings someone else "
                               "is running (identical settings share one run).")
            run = _RUNS[(length, kinds, seconds)] = LiveRun(length, kinds, seconds)
            run.start()
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
    return [t for t in threading.enumerate() if t.name == LIVE_THREAD and t.is_alive()]


def live_train(length, cells, seconds=spec.LIVE_SECONDS.default):
    """Train the chosen models from scratch for at most `seconds`; yields a LiveUpdate per new row.

    Everyone who asks for the same settings while a run trains shares that one run: a late joiner
    gets its history so far, then every new row. The work stops when the last watcher closes
    this generator (Gradio closes it when the client goes away). The loop is train.py's
    `train_side_by_side` with a time cap, in a worker thread; the last update has done=True.
    """
    length = spec.LIVE_LENGTH.check(length, "the live training length L")
    kinds = tuple(parse_cells(cells))
    seconds = float(spec.LIVE_SECONDS.check(seconds, "the time budget in seconds"))
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
            if done:
                if run.error is not None:
                    raise run.error
                break
            if len(history) > seen:
                seen = len(history)
                update = _update(run, history, fraction)
                yield update
                # Each update is drawn (two figures, ~0.3 CPU-s): with many runs at once, fewer
                # updates per run keep the drawing from starving the training and the first curves.
                with run.changed:
                    run.changed.wait_for(lambda: run.done, timeout=LIVE_UPDATE_S_PER_RUN * update.live_runs)
            elif time.monotonic() >= deadline:
                raise TimeoutError(f"the live run did not finish within {seconds + LIVE_GRACE_S:.0f} s")
        yield _update(run, history, 1.0, done=True)
    finally:
        _detach(run)


def _update(run: LiveRun, history: list[dict], fraction: float, done: bool = False) -> LiveUpdate:
    with _RUNS_LOCK:
        watchers, live_runs = run.watchers, len(_RUNS)
    return LiveUpdate(run.number, run.length, run.kinds, run.seconds, fraction, history,
                      watchers, live_runs, done)

"""What the memory tab shows: Markdown and figures drawn from infer's dataclasses and the model cards.

No torch at import (tab.py builds the shipped-results table from the cards at start-up); infer's
dataclasses are only type hints here.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from apps.memory import spec
from apps.memory.spec import CELL_NAMES, CELLS, CHANCE, CONV_RECEPTIVE_FIELD, KINDS
from shared.checkpoints import read_card
from shared.errors import CheckpointError
from shared.plots import encoded, line_plot

if TYPE_CHECKING:
    from apps.memory.infer import Explanation, Inspection, LiveUpdate, SampleSequence, ShippedCurves

# Every figure is drawn 4.4 in (440 px at 100 dpi) wide with 11 pt (15.3 px) text: on a phone it
# fills the width (about 330 px), where its text stays >= 11 px; on a projector at 150 % too.
LABEL_PT = 11
FIGURE_WIDTH_IN = 4.4


def _readable(fig: Figure) -> Figure:
    """Every title, axis label, tick label and legend of `fig` at LABEL_PT; the legend under the
    axes (inside them, at this size, it would cover the lines)."""
    for ax in fig.axes:
        for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
            text.set_fontsize(LABEL_PT)
        ax.tick_params(labelsize=LABEL_PT)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
            handles, labels = ax.get_legend_handles_labels()
            two_columns = max(len(label) for label in labels) <= 18  # two long ones are wider than the figure
            fig.legend(handles, labels, loc="outside lower center", ncols=2 if two_columns else 1,
                       fontsize=LABEL_PT, frameon=False)
    return fig


# ---------------------------------------------------------------- shipped results (from the cards)

def scrolls_sideways(table: str) -> str:
    """A Markdown table that scrolls inside itself where the screen is narrower (a phone), instead of
    being cut off at the page's edge."""
    return f'<div style="overflow-x: auto">\n\n{table}\n\n</div>'


def results_markdown() -> str:
    """The table train.py wrote into the model cards, with what its special cells mean."""
    notes = []
    lines = ["| L | vanilla RNN | LSTM | GRU | order-blind bag | steps (s) of these four | transformer encoder | "
             f"1-D CNN (receptive field {CONV_RECEPTIVE_FIELD}) |", "|---|---|---|---|---|---|---|---|"]
    capped = []
    for path, new_path in zip(spec.RECURRENT_CHECKPOINTS, spec.NONRECURRENT_CHECKPOINTS):
        try:
            card, new = read_card(path), read_card(new_path)
        except CheckpointError as e:
            lines.append(f"| {path.stem} | ⚠️ {e} | | | | | | |")
            continue
        m, n = card["metrics"], new["metrics"]
        capped_note = time_cap_sentence(card)
        if capped_note:
            notes.append("\n" + capped_note)
        cells = []
        for kind in spec.NEW_KINDS:
            run = new["training"][kind]
            mark = "⏱️" if run["hit_time_cap"] else ""
            if run["hit_time_cap"]:
                capped.append(f"{kind} at L = {new['length']} ({run['steps']} of {run['planned_steps']} steps "
                              f"in its {run['time_cap_s']:.0f} s cap)")
            cells.append(f"{n[f'{kind}_acc']:.1%}{mark} · {run['steps']} steps ({run['seconds']:.0f} s)")
        lines.append(f"| {card['length']}{' ⏱️' if capped_note else ''} | "
                     + " | ".join(f"{m[f'{k}_acc']:.1%}" for k in KINDS)
                     + f" | {card['training']['steps']} ({card['training']['seconds']:.0f} s) | " + " | ".join(cells) + " |")
    lines = [scrolls_sideways("\n".join(lines))]
    lines.append("\nAccuracy on 2000 new sequences per length, never seen in training. Chance: 12.5 %; "
                 "best possible for an order-blind model: 56.25 %. The transformer and the CNN were "
                 "trained alone on the same batches, each with a strict time cap per length.")
    if capped:
        lines.append("⏱️ **Hit its time cap** (stopped before its planned steps, so its figure is where it was "
                     "when the clock ran out): " + "; ".join(capped) + ".")
    lines += notes
    try:
        lines.append("\n" + goal_sentence(read_card(spec.recurrent_checkpoint(100))))
    except CheckpointError:
        pass
    return "\n".join(lines)


def goal_sentence(card: dict) -> str:
    """The card's target in a learner's words: 'Goal at L = 100 (...): LSTM 100 %, ... — reached.'"""
    met = card.get("target_met", {})
    m = card["metrics"]
    measured = ", ".join(f"{CELL_NAMES[k]} {m[f'{k}_acc']:.1%}" for k in ("lstm", "gru", "rnn") if f"{k}_acc" in m)
    verdict = "reached" if met and all(met.values()) else "not yet"
    goal = card.get("target", "").removeprefix(f"at L={card.get('length', 100)} ").strip()
    return f"**Goal at L = {card.get('length', 100)}**: {goal}. Measured on new sequences: {measured} — {verdict}."


def time_cap_sentence(card: dict) -> str:
    """For a recurrent card whose run stopped at its time limit: what its low figures do and do not mean.

    Empty when the run finished its planned steps.
    """
    training, m = card.get("training", {}), card["metrics"]
    if not training.get("stopped_early"):
        return ""
    chance = m.get("chance", CHANCE)
    near = [k for k in CELLS if m.get(f"{k}_acc", 1.0) < chance + 0.1]
    learned = [k for k in CELLS if m.get(f"{k}_acc", 0.0) >= 0.9]
    text = (f"⏱️ At L = {card['length']} the run that trained the RNN, LSTM and GRU together hit its time cap after {training['steps']:,} steps "
            f"({training['seconds'] / 60:.0f} min) and stopped.")
    if near:
        names = " and ".join(f"the {CELL_NAMES[k]} ({m[f'{k}_acc']:.1%})" for k in near)
        text += (f" {names[0].upper() + names[1:]} {'was' if len(near) == 1 else 'were'} still near chance "
                 f"({chance:.1%}) when the clock ran out: {'it had' if len(near) == 1 else 'they had'} not "
                 "learned the task yet, which says nothing about how far such a cell can remember")
        if learned:
            text += (" (" + ", ".join(f"the {CELL_NAMES[k]} reached {m[f'{k}_acc']:.1%}" for k in learned)
                     + " in the same steps; a longer run can change the ranking)")
        text += "."
    return text


def parallelism_markdown() -> str:
    """The parallelism benchmark's table and what it shows, in sentences computed from the measured figures."""
    try:
        result = json.loads(spec.PARALLELISM.read_text())
    except (OSError, ValueError) as e:
        return f"⚠️ no parallelism measurement ({e})"
    rows = result["rows"]
    lines = ["| L | LSTM ms/step | transformer ms/step | LSTM ÷ transformer | sequential steps (LSTM · transformer) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['length']} | {r['lstm_ms']:.1f} | {r['transformer_ms']:.1f} | "
                     f"{r['ratio_lstm_over_transformer']:.2f} | {r['lstm_sequential_steps']} · "
                     f"{r['transformer_sequential_steps']} |")
    lines = [scrolls_sideways("\n".join(lines))]
    first, last = rows[0], rows[-1]
    faster = [r["length"] for r in rows if r["transformer_ms"] < r["lstm_ms"]]
    slower = [r["length"] for r in rows if r["transformer_ms"] >= r["lstm_ms"]]
    lines.append(f"\n{result['torch_threads']} torch thread, median of {result['repeats']} steps, "
                 f"{result['params']['lstm']:,} vs {result['params']['transformer']:,} parameters; "
                 f"{result['machine']}, {result['date']}.\n")
    growth_lstm = last["lstm_ms"] / first["lstm_ms"]
    growth_tr = last["transformer_ms"] / first["transformer_ms"]
    span = last["length"] / first["length"]
    text = (f"**What it shows.** From L = {first['length']} to {last['length']} ({span:.0f}× longer) the LSTM's "
            f"step grows {growth_lstm:.0f}×, one sequential step after another, while the transformer's "
            f"grows {growth_tr:.0f}× with only {first['transformer_sequential_steps']} sequential steps; ")
    if faster and slower:
        text += (f"the transformer is faster at L = {', '.join(map(str, faster))}, but **not** at L = "
                 f"{', '.join(map(str, slower))}, where its L × L attention (quadratic in L) costs more on "
                 "this CPU than the LSTM's L small steps.")
    elif faster:
        text += ("the transformer is faster at every measured L: on this CPU its L × L attention (quadratic in L) "
                 f"has not yet caught up with the LSTM's L sequential steps at L = {last['length']}, though its "
                 "share of the step grows with L.")
    else:
        text += ("the transformer is **not** faster at any measured L on this CPU, and falls further behind "
                 f"as L grows (the LSTM's step takes {first['ratio_lstm_over_transformer']:.2f}× the transformer's "
                 f"at L = {first['length']}, {last['ratio_lstm_over_transformer']:.2f}× at L = {last['length']}): "
                 "its L × L attention is quadratic in L, and one CPU thread has no parallel units to spread "
                 "its positions over.")
    text += (" What parallelism buys is in the last column: the transformer's work per layer is one large "
             "product over all L positions, which hardware with thousands of parallel units (a GPU; not "
             "measured here, this project has none) runs side by side, while the LSTM's L steps stay one "
             "after another on any hardware; on a CPU thread the fused LSTM loop (one C++ kernel) wins.")
    lines.append(text)
    return "\n".join(lines)


def accuracy_vs_length_figure(table: dict[int, dict[str, float]]) -> Figure:
    """Held-out accuracy of every shipped model against the length it was trained at
    ({length: {kind: accuracy}}, train.shipped_accuracy); train.py saves it as accuracy_vs_length.png."""
    lengths = list(table)
    kinds = [k for k in spec.ALL_KINDS if all(k in row for row in table.values())]
    series = {CELL_NAMES[k]: [table[n][k] for n in lengths] for k in kinds}
    series["chance"] = [CHANCE] * len(lengths)
    fig = line_plot(series, x=lengths, title="Accuracy after training at each L",
                    x_title="sequence length L (log scale)", y_title="held-out accuracy",
                    width=FIGURE_WIDTH_IN, height=5.2)
    ax = fig.axes[0]
    # Lines that coincide at 100 % must stay visible: a different style and width for each.
    styles = [("-", 5, "o"), ("--", 3, "s"), (":", 2.5, "^"), ("-.", 1.5, "D"), ("-", 2, "*"), ("--", 1.5, "x"),
              ("--", 1, "")]
    for line, (style, width, marker) in zip(ax.get_lines(), styles):
        line.set(linestyle=style, linewidth=width, marker=marker, markersize=width + 3)
    ax.axhline(spec.ORDER_BLIND_BEST, color="grey", linewidth=0.8)
    ax.annotate("best possible without order", (lengths[0], spec.ORDER_BLIND_BEST + 0.03), fontsize=LABEL_PT - 1)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.set_ylim(0, 1.08)
    return _readable(fig)


def parallelism_figure(result: dict) -> Figure:
    """The parallelism benchmark's time per training step against L (tests/benchmarks/parallelism.py
    saves it as parallelism.png)."""
    rows = result["rows"]
    lengths = [r["length"] for r in rows]
    fig = line_plot({"LSTM (L sequential steps)": [r["lstm_ms"] for r in rows],
                     f"transformer ({rows[0]['transformer_sequential_steps']} sequential steps)":
                         [r["transformer_ms"] for r in rows]},
                    x=lengths, title=f"One training step ({result['torch_threads']} CPU thread)",
                    x_title="sequence length L (log scale)", y_title="ms per step (log scale)", log_y=True,
                    width=FIGURE_WIDTH_IN, height=4.0)
    ax = fig.axes[0]
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(lengths, [str(n) for n in lengths])
    return _readable(fig)


def shipped_curves_figure(curves: ShippedCurves) -> Figure:
    """Held-out accuracy against training step, for the shipped runs at one length."""
    series = {CELL_NAMES[k]: c.accuracy for k, c in curves.together.items()}
    series["chance"] = [CHANCE] * len(next(iter(curves.together.values())).steps)
    fig = line_plot(series, x=next(iter(curves.together.values())).steps,
                    title=f"How they learned at L = {curves.length}",
                    x_title=f"training step (batches of 32; {curves.seconds:.0f} s)",
                    y_title="held-out accuracy", width=FIGURE_WIDTH_IN, height=5.2)
    ax = fig.axes[0]
    for kind, curve in curves.alone.items():  # trained alone, each with its own steps
        capped = " (hit its time cap)" if curve.hit_time_cap else ""
        ax.plot(curve.steps, curve.accuracy, label=CELL_NAMES[kind] + capped, linestyle="--", marker=".")
    ax.legend()
    ax.set_ylim(0, 1.05)
    return _readable(fig)


# ---------------------------------------------------------------- a sample, the answers

def sample_markdown(sample: SampleSequence) -> str:
    return f"`{sample.sequence}`  →  answer **{sample.answer}** (the decoy is {sample.decoy})"


def predictions_markdown(result: Inspection) -> str:
    s = result.sample
    lines = [f"**Sequence** (L = {s.length}): `{s.sequence}` · answer **{s.answer}**, decoy **{s.decoy}**",
             "",
             f"| model (trained at L = {result.trained_length}) | top guesses | right on {spec.GRADIENT_BATCH} "
             "sequences like this |", "|---|---|---|"]
    for kind, guesses in result.guesses.items():
        shown = ", ".join(f"{g.symbol} {g.probability:.0%}" for g in guesses)
        verdict = "✅" if result.answer(kind) == s.answer else "❌"
        lines.append(f"| {CELL_NAMES[kind]} | {verdict} {shown} | {result.batch_accuracy[kind]:.0%} |")
    return lines[0] + "\n\n" + scrolls_sideways("\n".join(lines[2:]))


def inspect_summary(result: Inspection | Explanation) -> dict:
    """The numbers behind the answers and, for an Explanation, behind the plots (the API's JSON)."""
    answers = getattr(result, "answers", result)
    summary = {
        "sequence": answers.sample.sequence, "target": answers.sample.answer, "length": answers.sample.length,
        "trained_length": answers.trained_length,
        "predictions": {k: answers.answer(k) for k in answers.guesses},
        "batch_accuracy": {k: round(v, 4) for k, v in answers.batch_accuracy.items()},
    }
    if result is not answers:
        summary.update({
            "grad_norm_first_step": {k: v[0] for k, v in result.grad_norms.items()},
            "grad_norm_last_step": {k: v[-1] for k, v in result.grad_norms.items()},
            "signal_reaching_start": result.signal_reaching_start,
        })
    return summary


# ---------------------------------------------------------------- inside the cells

def decay_markdown(result: Explanation) -> str:
    decay = " · ".join(f"{CELL_NAMES[k]}: {v:.1e}" if v > 0 else f"{CELL_NAMES[k]}: 0 (smaller than a float32 can hold)"
                       for k, v in result.signal_reaching_start.items())
    return f"**Error signal that reaches t = 0** (‖∂loss/∂state‖ at t = 0 ÷ at the last step): {decay}"


def gradient_figure(result: Explanation) -> Figure:
    series, vanished = {}, []
    for kind, norms in result.grad_norms.items():
        norms = np.asarray(norms, dtype=float)
        relative = norms / norms[-1] if norms[-1] > 0 else norms  # relative to the last step
        zero = relative == 0
        if zero.any():  # float32 ran out of range: the signal is exactly 0 there, which log axes cannot draw
            vanished.append(f"{CELL_NAMES[kind]} for t ≤ {int(np.nonzero(zero)[0].max())}")
        series[CELL_NAMES[kind]] = np.where(zero, np.nan, relative)
    fig = line_plot(series, title="Error signal reaching step t",
                    x_title="time step t (the letter is at t = 0)",
                    y_title="‖∂loss/∂h_t‖ ÷ at the last step", log_y=True,
                    width=FIGURE_WIDTH_IN, height=4.0)
    from matplotlib.ticker import LogFormatter, NullFormatter

    # Plain "1e-05" labels: the default 10^x labels go through mathtext, which costs more than the plot.
    fig.axes[0].yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))
    fig.axes[0].yaxis.set_minor_formatter(NullFormatter())
    fig.set_layout_engine("none")  # fixed margins: the constrained-layout solver costs as much as drawing
    ax = fig.axes[0]
    ax.set_position((0.2, 0.28, 0.76, 0.64))
    ax.get_legend().remove()
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=3, fontsize=LABEL_PT, frameon=False)
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
        text.set_fontsize(LABEL_PT)
    ax.tick_params(labelsize=LABEL_PT)
    if vanished:
        ax.text(0.98, 0.03, "exactly 0 (below float32):\n" + "\n".join(vanished), transform=ax.transAxes,
                fontsize=LABEL_PT, color="dimgray", ha="right")
    return fig


STATE_PANELS = tuple((kind, f"{CELL_NAMES[kind]}: hidden state h_t") for kind in CELLS)
GATE_PANELS = (("lstm_forget", "LSTM forget gate f_t (1 = keep)"),
               ("lstm_input", "LSTM input gate i_t (1 = write)"),
               ("gru_update", "GRU update gate z_t (1 = keep old)"))


def states_figure(result: Explanation) -> Figure:
    """The hidden states of the three cells, stacked on one time axis (one sequence)."""
    return _stacked_heatmaps(result, [result.hidden[k] for k, _ in STATE_PANELS],
                             [t for _, t in STATE_PANELS], cmap="RdBu_r", vmin=-1, vmax=1, label="h_t")


def gates_figure(result: Explanation) -> Figure:
    """The LSTM's forget and input gates and the GRU's update gate, stacked on one time axis."""
    return _stacked_heatmaps(result, [result.gates[k] for k, _ in GATE_PANELS],
                             [t for _, t in GATE_PANELS], cmap="viridis", vmin=0, vmax=1, label="gate value")


def _stacked_heatmaps(result: Explanation, matrices, titles, *, cmap: str, vmin: float, vmax: float,
                      label: str) -> Figure:
    """Several (units × steps) maps in one figure: one render instead of one per map (each
    gr.Plot is drawn and encoded on its own), and the same column is the same step in every map.
    Drawn FIGURE_WIDTH_IN wide with LABEL_PT text, like every figure here."""
    # Fixed margins instead of layout="constrained": the layout solver costs as much as drawing.
    fig = Figure(figsize=(FIGURE_WIDTH_IN, 7.4))
    labels = _token_labels(result)
    fig.subplots_adjust(left=0.17, right=0.76, top=0.95, bottom=0.15 if labels else 0.09, hspace=0.34)
    axes = fig.subplots(len(matrices), 1, sharex=True)
    for ax, matrix, title in zip(axes, matrices, titles):
        image = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=LABEL_PT)
        ax.set_ylabel("unit", fontsize=LABEL_PT)
        ax.tick_params(labelsize=LABEL_PT)
    if labels is not None:
        positions, shown = labels
        axes[-1].set_xticks(positions, shown, rotation=70, ha="right", fontsize=LABEL_PT)
    axes[-1].set_xlabel("time step t", fontsize=LABEL_PT)
    colorbar = fig.colorbar(image, cax=fig.add_axes((0.79, 0.3, 0.035, 0.45)), ticks=[vmin, (vmin + vmax) / 2, vmax])
    colorbar.set_label(label, fontsize=LABEL_PT)
    colorbar.ax.tick_params(labelsize=LABEL_PT)
    return fig


def _token_labels(result: Explanation):
    """(positions, 't:token' labels) for short sequences: every step up to 16, every other up to 40
    (more ticks than that are unreadable); None for longer ones."""
    length = result.answers.sample.length
    if length > 40:
        return None
    text = result.answers.sample.sequence.replace(" ", "")
    every = 1 if length <= 16 else 2
    positions = list(range(0, length, every))
    return positions, [f"{t}:{text[t]}" for t in positions]


# ---------------------------------------------------------------- live training

def live_figures(update: LiveUpdate) -> tuple[Figure, Figure]:
    """(loss figure, held-out accuracy figure) from a live run's rows so far."""
    history = update.history
    steps = [row["step"] for row in history]
    losses = {CELL_NAMES[k]: [row.get(f"{k}_loss", np.nan) for row in history] for k in update.kinds}
    accs = {CELL_NAMES[k]: [row.get(f"{k}_val_acc", np.nan) for row in history] for k in update.kinds}
    accs["chance"] = [CHANCE] * len(history)
    size = dict(width=FIGURE_WIDTH_IN, height=4.6)
    loss_fig = line_plot(losses, x=steps, title="Training loss (cross-entropy)", x_title="step",
                         y_title="loss", **size)
    acc_fig = line_plot(accs, x=steps, title="Held-out accuracy", x_title="step", y_title="accuracy", **size)
    acc_fig.axes[0].set_ylim(0, 1.05)
    return _readable(loss_fig), _readable(acc_fig)


_LIVE_PLOTS: dict[tuple, tuple] = {}  # (run, rows) -> the two curves, drawn once for all its watchers
_LIVE_PLOTS_LOCK = threading.Lock()


def live_plots(update: LiveUpdate) -> tuple:
    """The two live figures as gr.Plot sends them, drawn once per update of a run however many
    watch it (30 watchers drawing and encoding their own copies cost more CPU than the run)."""
    key = (update.run_id, len(update.history))
    with _LIVE_PLOTS_LOCK:  # one drawing at a time: the others wait for it instead of drawing it again
        if key not in _LIVE_PLOTS:
            _LIVE_PLOTS[key] = tuple(encoded(f) for f in live_figures(update))
            while len(_LIVE_PLOTS) > 64:  # a run's old updates are never asked for again
                del _LIVE_PLOTS[next(iter(_LIVE_PLOTS))]
        return tuple(p.model_copy() for p in _LIVE_PLOTS[key])  # Gradio may annotate what it sends


def live_status(update: LiveUpdate) -> str:
    """One line beside the curves: how far the run is, the accuracies now, and what the room does to it."""
    last = update.last
    accuracies = " · ".join(f"{CELL_NAMES[k]} {last[f'{k}_val_acc']:.0%}" for k in update.kinds
                            if f"{k}_val_acc" in last)
    steps, seconds = last.get("step", 0), last.get("seconds", 0.0)
    if update.done:
        text = (f"✅ Done at L = {update.length}: {steps:,} steps in {seconds:.0f} s. "
                f"Held-out accuracy: {accuracies}.")
    else:
        bar = "▰" * round(10 * update.fraction) + "▱" * (10 - round(10 * update.fraction))
        text = (f"⏳ {bar} training at L = {update.length} · step {steps:,} · "
                f"{seconds:.0f} s of {update.seconds:.0f} s. Held-out accuracy now: {accuracies or '…'}.")
    return text + room_note(update)


def room_note(update: LiveUpdate) -> str:
    """What the room does to this run: shared with others who asked for the same, or CPU shared."""
    parts = []
    if update.watchers > 1:
        parts.append(f"{update.watchers} people watch this same run")
    if update.live_runs > 1:
        parts.append(f"{update.live_runs} different runs share the CPU, so each makes fewer steps")
    return ("  \n👥 " + "; ".join(parts) + ".") if parts else ""


def live_summary(update: LiveUpdate) -> dict:
    """The run's final numbers (the API's JSON)."""
    last = update.last
    return {"length": update.length, "steps": last.get("step", 0), "seconds": last.get("seconds", 0.0),
            "chance": CHANCE,
            "final_val_acc": {k: round(last.get(f"{k}_val_acc", float("nan")), 4) for k in update.kinds}}

"""🧠 RNN vs LSTM vs GRU: watch a plain RNN forget, and see why gates fix it. (UI wiring only.)"""

from __future__ import annotations

import json
import threading

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR, read_card
from shared.errors import CheckpointError
from shared.ui import explainer, guard, model_card_accordion

WEIGHTS = WEIGHTS_DIR / "memory"
SHIPPED_LENGTHS = (10, 50, 100, 200)  # data.SHIPPED_LENGTHS (data.py imports torch; start-up must not)
RECURRENT_CHECKPOINTS = tuple(WEIGHTS / f"L{n}.safetensors" for n in SHIPPED_LENGTHS)
NEW_CHECKPOINTS = tuple(WEIGHTS / f"nonrecurrent_L{n}.safetensors" for n in SHIPPED_LENGTHS)
CHECKPOINTS = RECURRENT_CHECKPOINTS + NEW_CHECKPOINTS
RECEPTIVE_FIELD = 13  # model.CONV_RECEPTIVE_FIELD (model.py imports torch)
PARALLELISM = WEIGHTS / "parallelism.json"  # python -m tests.benchmarks.parallelism
LIVE_MAX_RUNS = 32  # infer.LIVE_MAX_RUNS: watchers at once; the rest queue (infer imports torch)
CELL_CHOICES = [("vanilla RNN", "rnn"), ("LSTM", "lstm"), ("GRU", "gru"), ("order-blind bag", "bag"),
                ("transformer encoder", "transformer"), (f"1-D CNN (receptive field {RECEPTIVE_FIELD})", "cnn")]

INTRO = """## Which letter came first?
Each sequence starts with a letter (A–H), then **L − 2 noise symbols** (w x y z), then a second,
*decoy* letter. After the last step the model must answer: **which letter came first?**
The answer was seen L − 1 steps ago. Guessing gets **12.5 %** (1 in 8).

Think of the hidden state as a **notebook** the model carries along the sequence.
The **vanilla RNN** rewrites its whole notebook at every step, h_t = tanh(W·h_{t−1} + U·x_t):
after enough noise the first letter is smudged away, and during training the error signal
that should teach it to keep the letter shrinks at every step it travels back (*vanishing gradients*).
The **LSTM** has gates that *decide*: the **forget gate** says what to keep, the **input gate**
what to write, the output gate what to show. The **GRU** does the same with one **update gate**
(keep the old note, or write the new one)."""

ORDER_TEXT = """### Why order matters
The **order-blind bag** averages the embeddings of all tokens, then applies an MLP: shuffling
the sequence changes nothing for it. It sees *both* letters but not which came first, so the best
it can do is **56.25 %** (right when the two letters agree, a coin flip otherwise), at every L.
In the table it sits there at L = 10 and 50 while the recurrent models reach 100 %: the answer lives
in the *order*, which only a model that reads step by step can use. (At long L it also learns slowly,
since each letter is only 1/L of the average it sees: at L = 200 it was still near chance when
training stopped.)"""

BEYOND_TEXT = f"""### Why transformers replaced RNNs, and why CNNs are not enough
Same task, same batches, same training loop, two models that do not read step by step
(parameters: GRU 4,680 · LSTM 6,152 · transformer 5,336 · CNN 4,648):
- The **transformer encoder** (token embedding + sinusoidal positions, 2 self-attention layers,
  2 heads, width 16, read out at the last position) lets every position look at every other in one
  layer: the last position can attend *directly* to position 0, however far back it is. No
  information has to survive L − 1 rewrites of a notebook, and no gradient has to travel back
  through L steps: the path from the letter to the answer is 2 layers long at every L.
- The **1-D CNN** (6 causal Conv1d layers, kernel 3, ReLU, read out at the last position) sees a
  **fixed-size window**: each layer adds 2 steps, so the answer depends on the last
  **{RECEPTIVE_FIELD} tokens** only. At L = 10 the first letter is inside the window and it learns; for
  L > {RECEPTIVE_FIELD} the letter is out of its sight by construction: it can only guess from the
  decoy, which is chance (12.5 %), however long it trains. Local patterns are what convolutions are
  for; a dependency longer than the receptive field needs more layers, dilations or pooling, i.e. a
  window that grows with L."""

PARALLEL_TEXT = """### Measured parallelism: time of one training step
An LSTM must finish step t − 1 before it can compute step t: **L sequential steps** per sequence,
however many cores there are. A transformer layer computes all L positions at once (one big
matrix product): **1 sequential step per layer**, but its attention compares every position with
every other, an **L × L** matrix per head. Measured here, forward + backward + Adam update, batch 32,
LSTM and transformer of similar size (`python -m tests.benchmarks.parallelism`):"""


def parallelism_markdown() -> str:
    """The benchmark's table and what it shows, in sentences computed from the measured figures."""
    try:
        result = json.loads(PARALLELISM.read_text())
    except (OSError, ValueError) as e:
        return f"⚠️ no parallelism measurement ({e})"
    rows = result["rows"]
    lines = ["| L | LSTM ms/step | transformer ms/step | LSTM ÷ transformer | sequential steps (LSTM · transformer) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['length']} | {r['lstm_ms']:.1f} | {r['transformer_ms']:.1f} | "
                     f"{r['ratio_lstm_over_transformer']:.2f} | {r['lstm_sequential_steps']} · "
                     f"{r['transformer_sequential_steps']} |")
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


LIVE_TEXT = """### Train them yourself (60 s)
All chosen models train **from scratch, side by side on the same batches**, with the same loop as
`python -m apps.memory.train`, for at most **60 s**. Try L = 10 (everyone learns in seconds), then
L = 100: the vanilla RNN stays near chance, the GRU typically climbs to 100 % within about 200 steps, the
LSTM needs more (about 1,500 steps in the shipped run, see the curves above). How many steps fit in 60 s
depends on how busy your CPU is (the status line shows the step count); untick the LSTM or the bag
to give the others more steps. Tick the **transformer** and the **CNN** to race them against the
cells: at L = 10 all learn; at L = 50 the CNN stays at chance (the letter is outside its
13-token window) while the transformer attends straight back to it.
**A room can train at once.** Everyone who presses Train with the same settings (L, models, budget)
while such a run is going watches that one run: you join it where it is, with its curves so far.
Different settings train side by side and share the CPU, so each makes fewer steps in its time
(the status line says when). Up to 32 different runs train at once; beyond that you wait in the
queue (Gradio shows your place). A run stops as soon as nobody watches it any more."""

INSIDE_TEXT = """### Inside the shipped models
Pick models trained at some L and feed them a sequence (any length from 3 to 400). Their answers
appear at once (all six models: the transformer and the CNN answer too; a CNN trained at L = 10 keeps
answering from its 13-token window at any input length); the plots below follow a moment later
(they replay every step of the three recurrent cells and backpropagate).
**Gradient plot**: ‖∂loss/∂h_t‖, how strongly the answer's error reaches the hidden state at step t,
relative to the last step, from real backpropagation through the unrolled cells (mean over 64 sequences;
for the LSTM the state is h_t together with its cell state c_t, where its long-term memory lives).
Falling steeply to the left = the early steps hardly learn anything: vanishing gradients.
**Heat maps** (one sequence, stacked on one time axis): rows are hidden units, columns time steps. Look for units that hold a
steady colour from t = 0 to the end (a kept note), the LSTM forget gate near 1 (keep) and input gate
near 0 (don't write) through the noise, and the GRU update gate near 1 (keep the old state)."""


def results_markdown() -> str:
    """The table train.py wrote into the model cards (read as JSON: no torch at start-up)."""
    notes = []
    lines = ["| L | vanilla RNN | LSTM | GRU | order-blind bag | steps (s) of these four | transformer encoder | "
             f"1-D CNN (receptive field {RECEPTIVE_FIELD}) |", "|---|---|---|---|---|---|---|---|"]
    capped = []
    for path, new_path in zip(RECURRENT_CHECKPOINTS, NEW_CHECKPOINTS):
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
        for kind in ("transformer", "cnn"):
            run = new["training"][kind]
            mark = "⏱️" if run["hit_time_cap"] else ""
            if run["hit_time_cap"]:
                capped.append(f"{kind} at L = {new['length']} ({run['steps']} of {run['planned_steps']} steps "
                              f"in its {run['time_cap_s']:.0f} s cap)")
            cells.append(f"{n[f'{kind}_acc']:.1%}{mark} · {run['steps']} steps ({run['seconds']:.0f} s)")
        lines.append(f"| {card['length']}{' ⏱️' if capped_note else ''} | "
                     + " | ".join(f"{m[f'{k}_acc']:.1%}" for k in ("rnn", "lstm", "gru", "bag"))
                     + f" | {card['training']['steps']} ({card['training']['seconds']:.0f} s) | " + " | ".join(cells) + " |")
    lines.append("\nAccuracy on 2000 new sequences per length, never seen in training. Chance: 12.5 %; "
                 "best possible for an order-blind model: 56.25 %. The transformer and the CNN were "
                 "trained alone on the same batches, each with a strict time cap per length.")
    if capped:
        lines.append("⏱️ **Hit its time cap** (stopped before its planned steps, so its figure is where it was "
                     "when the clock ran out): " + "; ".join(capped) + ".")
    lines += notes
    target = _target_note()
    if target:
        lines.append(target)
    return "\n".join(lines)


def _target_note() -> str:
    try:
        card = read_card(WEIGHTS / "L100.safetensors")
    except CheckpointError:
        return ""
    return "\n" + goal_sentence(card)


CELL_NAMES = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU", "bag": "order-blind bag"}


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
    chance = m.get("chance", 0.125)
    near = [k for k in ("rnn", "lstm", "gru") if m.get(f"{k}_acc", 1.0) < chance + 0.1]
    learned = [k for k in ("rnn", "lstm", "gru") if m.get(f"{k}_acc", 0.0) >= 0.9]
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


@guard("Drawing a sample sequence")
def sample_task(length, seed):
    from apps.memory import data, infer

    tokens, targets = infer.sample(length, seed)
    return (f"`{data.render(tokens[0])}`  →  answer **{data.SYMBOL_NAMES[int(targets[0])]}** "
            f"(the decoy is {data.SYMBOL_NAMES[int(tokens[0, -1])]})")


@guard("Live training")
def train_memory(length, cells, seconds=60, progress=gr.Progress()):
    from apps.memory import infer

    kinds = infer.parse_cells(cells)
    status = "Training …"
    for fraction, history, info in infer.live_train(length, kinds, seconds):
        progress(fraction, desc=f"training at L = {int(length)}")
        loss_fig, acc_fig = shared_plots(info["run_id"], history, kinds)
        summary = infer.live_summary(history, kinds, length)
        status = (f"L = {summary['length']} · step {summary['steps']} · {summary['seconds']:.0f} s of "
                  f"{float(seconds):.0f} s · "
                  + " · ".join(f"{k} {v:.0%}" for k, v in summary["final_val_acc"].items())
                  + room_note(info))
        yield status, loss_fig, acc_fig, summary
    yield "✅ Done. " + status, loss_fig, acc_fig, summary


_PLOTS: dict[tuple, tuple] = {}  # (run, rows) -> the two curves, drawn once for all its watchers
_PLOTS_LOCK = threading.Lock()


def shared_plots(run_id: int, history: list, kinds: list[str]):
    """The loss and accuracy curves as Gradio's plot data, drawn once per update of a run however
    many watch it (30 watchers drawing and encoding their own copies cost more CPU than the run)."""
    from gradio.components.plot import PlotData
    from gradio.processing_utils import encode_plot_to_base64

    from apps.memory import infer

    key = (run_id, len(history), tuple(kinds))
    with _PLOTS_LOCK:  # one drawing at a time: the others wait for it instead of drawing it again
        if key not in _PLOTS:
            figures = infer.live_plots(history, kinds)
            _PLOTS[key] = tuple(PlotData(type="matplotlib", plot=encode_plot_to_base64(f, "webp"))  # gr.Plot's format
                                for f in figures)
            while len(_PLOTS) > 64:  # a run's old updates are never asked for again
                del _PLOTS[next(iter(_PLOTS))]
        return _PLOTS[key]


def room_note(info: dict) -> str:
    """What the room does to this run: shared with others who asked for the same, or CPU shared."""
    parts = []
    if info["watchers"] > 1:
        parts.append(f"{info['watchers']} people watch this same run")
    if info["live_runs"] > 1:
        parts.append(f"{info['live_runs']} different runs share the CPU, so each makes fewer steps")
    return ("  \n👥 " + "; ".join(parts) + ".") if parts else ""


@guard("Drawing the shipped training curves")
def shipped_curves(length):
    from apps.memory import infer

    return infer.shipped_curves(length)


@guard("Inspecting the shipped models")
def inspect_memory(trained_length, length, seed):
    """Fast: each model's answer and the numbers behind it (the plots come from explain_memory)."""
    from apps.memory import infer

    result = infer.inspect(trained_length, length, seed)
    return infer.predictions_markdown(result), infer.inspect_summary(result)


@guard("Looking inside the shipped models")
def explain_memory(trained_length, length, seed):
    """Same models, same sequences: gradient flow, hidden states and gates (step-by-step replay)."""
    from apps.memory import infer

    result = infer.explain(trained_length, length, seed)
    summary = infer.inspect_summary(result)
    decay = " · ".join(f"{k}: {v:.1e}" for k, v in summary["signal_reaching_start"].items())
    return (infer.gradient_plot(result),
            f"**Error signal that reaches t = 0** (‖∂loss/∂state‖ at t = 0 ÷ at the last step): {decay}",
            infer.states_figure(result), infer.gates_figure(result), summary)


def build() -> None:
    gr.Markdown(INTRO)
    with gr.Row():
        sample_length = gr.Slider(3, 400, value=20, step=1, label="sequence length L")
        sample_seed = gr.Number(0, precision=0, label="seed")
        sample_button = gr.Button("Show a sample", scale=0)
    sample_text = gr.Markdown()
    sample_button.click(sample_task, [sample_length, sample_seed], sample_text, api_name="sample_task")

    gr.Markdown("### What the shipped models learned (trained once by this project)")
    # The table has eight columns since the transformer and the CNN joined: it takes the full width
    # (beside the plot its last column was cut off), the plot goes below it.
    gr.Markdown(results_markdown())
    plot_path = WEIGHTS / "accuracy_vs_length.png"
    if plot_path.exists():
        gr.Image(str(plot_path), label="accuracy vs L", show_label=False, interactive=False, height=420)
    with gr.Row():
        curves_length = gr.Dropdown([(f"L = {n}", n) for n in SHIPPED_LENGTHS], value=None,
                                    label="how the shipped models learned: pick a length")
        curves_plot = gr.Plot(label="shipped training curves")
    curves_length.change(shipped_curves, curves_length, curves_plot, api_name="shipped_curves")
    explainer(ORDER_TEXT)
    explainer(BEYOND_TEXT)
    explainer(PARALLEL_TEXT)
    with gr.Row():
        gr.Markdown(parallelism_markdown())
        parallel_png = WEIGHTS / "parallelism.png"
        if parallel_png.exists():
            gr.Image(str(parallel_png), label="time per training step vs L", show_label=False, interactive=False)

    explainer(LIVE_TEXT)
    with gr.Row():
        live_length = gr.Slider(5, 200, value=50, step=1, label="sequence length L")
        live_cells = gr.CheckboxGroup(CELL_CHOICES, value=["rnn", "lstm", "gru"], label="models")
        live_seconds = gr.Slider(5, 60, value=60, step=1, label="time budget (s)")
        train_button = gr.Button("Train", variant="primary", scale=0)
    live_status = gr.Markdown()
    with gr.Row():
        loss_plot = gr.Plot(label="training loss")
        acc_plot = gr.Plot(label="held-out accuracy")
    live_json = gr.JSON(label="final numbers", visible=False)
    train_button.click(
        lambda: "⏳ Starting (or joining a run with the same settings)…",
        None, live_status, queue=False, api_name="train_memory_queued", api_visibility="private",
    ).then(train_memory, [live_length, live_cells, live_seconds], [live_status, loss_plot, acc_plot, live_json],
           api_name="train_memory", concurrency_limit=LIVE_MAX_RUNS, concurrency_id="memory_live_train",
           time_limit=120)

    explainer(INSIDE_TEXT)
    with gr.Row():
        trained_length = gr.Dropdown([(f"trained at L = {n}", n) for n in SHIPPED_LENGTHS], value=100,
                                     label="shipped models")
        inspect_length = gr.Slider(3, 400, value=100, step=1, label="input length L")
        inspect_seed = gr.Number(0, precision=0, label="seed")
        inspect_button = gr.Button("Inspect", variant="primary", scale=0)
    predictions = gr.Markdown()
    with gr.Row():
        gradient = gr.Plot(label="gradient norm over time")
        with gr.Column():
            decay_text = gr.Markdown()
            inspect_json = gr.JSON(label="numbers", open=False)
    with gr.Row():
        states_plot = gr.Plot(label="hidden states (RNN, LSTM, GRU)")
        gates_plot = gr.Plot(label="gates (LSTM forget and input, GRU update)")
    inspect_inputs = [trained_length, inspect_length, inspect_seed]
    # The answers come at once; the plots (step-by-step replay + backprop, three figures) follow.
    inspect_button.click(inspect_memory, inspect_inputs, [predictions, inspect_json],
                         api_name="inspect_memory").success(
        explain_memory, inspect_inputs,
        [gradient, decay_text, states_plot, gates_plot, inspect_json],
        api_name="explain_memory")
    model_card_accordion(CHECKPOINTS)


def _warmup():
    from apps.memory import infer

    infer.warm_up()


TAB = Tab(name="memory", title="🧠 RNN vs LSTM vs GRU", order=20, build=build,
          summary="Watch a plain RNN forget a letter that LSTM and GRU keep; vanishing gradients made visible; "
                  "a transformer attends straight back, a CNN's window cannot reach.",
          checkpoints=CHECKPOINTS, warmup=_warmup)

"""🧠 RNN vs LSTM vs GRU: watch a plain RNN forget, and see why gates fix it.

Layout first, then events; the handlers call infer (imported inside them: start-up never waits for
torch) and views (what is shown).
"""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.memory import spec
from shared import arrival
from shared.ui import explainer, guard, model_card_accordion

CELL_CHOICES = [(spec.CELL_NAMES[k], k) for k in spec.ALL_KINDS]

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
  **{spec.CONV_RECEPTIVE_FIELD} tokens** only. At L = 10 the first letter is inside the window and it learns; for
  L > {spec.CONV_RECEPTIVE_FIELD} the letter is out of its sight by construction: it can only guess from the
  decoy, which is chance (12.5 %), however long it trains. Local patterns are what convolutions are
  for; a dependency longer than the receptive field needs more layers, dilations or pooling, i.e. a
  window that grows with L."""

PARALLEL_TEXT = """### Measured parallelism: time of one training step
An LSTM must finish step t − 1 before it can compute step t: **L sequential steps** per sequence,
however many cores there are. A transformer layer computes all L positions at once (one big
matrix product): **1 sequential step per layer**, but its attention compares every position with
every other, an **L × L** matrix per head. Measured here, forward + backward + Adam update, batch 32,
LSTM and transformer of similar size:"""


LIVE_TEXT = f"""### Train them yourself ({spec.LIVE_SECONDS.high} s)
All chosen models train **from scratch, side by side on the same batches**, with the same loop as
the shipped models, for at most **{spec.LIVE_SECONDS.high} s**; the curves grow while they train. Try L = 10 (everyone learns in seconds), then
L = 100: the vanilla RNN stays near chance, the GRU typically climbs to 100 % within about 200 steps, the
LSTM needs more (about 1,500 steps in the shipped run, see the curves above). How many steps fit in {spec.LIVE_SECONDS.high} s
depends on how busy your CPU is (the status line shows the step count); untick the LSTM or the bag
to give the others more steps. Tick the **transformer** and the **CNN** to race them against the
cells: at L = 10 all learn; at L = 50 the CNN stays at chance (the letter is outside its
{spec.CONV_RECEPTIVE_FIELD}-token window) while the transformer attends straight back to it.
**A room can train at once.** Everyone who presses Train with the same settings (L, models, budget)
while such a run is going watches that one run: you join it where it is, with its curves so far.
Different settings train side by side and share the CPU, so each makes fewer steps in its time
(the status line says when). Up to {spec.LIVE_MAX_RUNS} different runs train at once; beyond that you wait in the
queue until one ends. A run stops as soon as nobody watches it any more."""

INSIDE_TEXT = f"""### Inside the shipped models
Pick models trained at some L and feed them a sequence (any length from {spec.INPUT_LENGTH.range_text}). Their answers
appear at once (all six models: the transformer and the CNN answer too; a CNN trained at L = 10 keeps
answering from its {spec.CONV_RECEPTIVE_FIELD}-token window at any input length); the plots below follow a moment later
(they replay every step of the three recurrent cells and backpropagate).
**Gradient plot**: ‖∂loss/∂h_t‖, how strongly the answer's error reaches the hidden state at step t,
relative to the last step, from real backpropagation through the unrolled cells (mean over {spec.GRADIENT_BATCH} sequences;
for the LSTM the state is h_t together with its cell state c_t, where its long-term memory lives).
Falling steeply to the left = the early steps hardly learn anything: vanishing gradients.
**Heat maps** (one sequence, stacked on one time axis): rows are hidden units, columns time steps. Look for units that hold a
steady colour from t = 0 to the end (a kept note), the LSTM forget gate near 1 (keep) and input gate
near 0 (don't write) through the noise, and the GRU update gate near 1 (keep the old state)."""


@guard("Drawing a sample sequence")
def sample_task(length, seed):
    from apps.memory import infer, views

    return views.sample_markdown(infer.sample(length, seed))


@guard("Live training")
def train_memory(length, cells, seconds=spec.LIVE_SECONDS.default):
    from apps.memory import infer, views

    for update in infer.live_train(length, cells, seconds):
        yield (views.live_status(update), *views.live_plots(update), views.live_summary(update))


@guard("Drawing the shipped training curves")
def shipped_curves(length):
    from apps.memory import infer, views

    return views.shipped_curves_figure(infer.shipped_curves(length))


@guard("Inspecting the shipped models")
def inspect_memory(trained_length, length, seed):
    """Fast: each model's answer and the numbers behind it (the plots come from explain_memory)."""
    from apps.memory import infer, views

    result = infer.inspect(trained_length, length, seed)
    return views.predictions_markdown(result), views.inspect_summary(result)


@guard("Looking inside the shipped models")
def explain_memory(trained_length, length, seed):
    """Same models, same sequences: gradient flow, hidden states and gates (step-by-step replay)."""
    from apps.memory import infer, views

    result = infer.explain(trained_length, length, seed)
    return (views.gradient_figure(result), views.decay_markdown(result), views.states_figure(result),
            views.gates_figure(result), views.inspect_summary(result))


def on_arrival():
    """The default sample, the shipped curves at L = 100 and the default inspection with its plots."""
    from apps.memory import infer, views

    result = infer.explain(spec.DEFAULT_TRAINED_LENGTH, spec.INPUT_LENGTH.default, spec.SEED.default)
    return (views.sample_markdown(infer.sample(spec.SAMPLE_LENGTH.default, spec.SEED.default)),
            views.shipped_curves_figure(infer.shipped_curves(spec.DEFAULT_TRAINED_LENGTH)),
            views.predictions_markdown(result.answers), views.gradient_figure(result), views.decay_markdown(result),
            views.states_figure(result), views.gates_figure(result))


def build() -> None:
    from apps.memory import views

    lengths = spec.SHIPPED_LENGTHS
    gr.Markdown(INTRO)
    with gr.Row():
        sample_length = spec.SAMPLE_LENGTH.slider()
        sample_seed = spec.SEED.number()
        sample_button = gr.Button("Show a sample", scale=0, min_width=140)
    sample_text = gr.Markdown()

    gr.Markdown("### Results of the shipped models (trained once by this project)")
    # Eight columns: the table takes the full width, the plots go below it.
    gr.Markdown(views.results_markdown(), elem_classes=["memory-results"])
    with gr.Row():
        if spec.ACCURACY_PLOT.exists():
            gr.Image(str(spec.ACCURACY_PLOT), label="accuracy vs L", show_label=False, interactive=False,
                     min_width=360)
        with gr.Column(min_width=360):
            curves_length = gr.Dropdown([(f"L = {n}", n) for n in lengths], value=spec.DEFAULT_TRAINED_LENGTH,
                                        label="how the shipped models learned: pick a length")
            curves_plot = gr.Plot(label="shipped training curves")
    explainer(ORDER_TEXT)
    explainer(BEYOND_TEXT)
    explainer(PARALLEL_TEXT)
    gr.Markdown(views.parallelism_markdown())  # five columns: the full width, the plot below
    if spec.PARALLELISM_PLOT.exists():
        gr.Image(str(spec.PARALLELISM_PLOT), label="time per training step vs L", show_label=False,
                 interactive=False)

    explainer(LIVE_TEXT)
    with gr.Row():
        live_length = spec.LIVE_LENGTH.slider(elem_id="memory-live-length")
        live_cells = gr.CheckboxGroup(CELL_CHOICES, value=spec.LIVE_DEFAULT_KINDS, label="models",
                                      elem_id="memory-live-models")
        live_seconds = spec.LIVE_SECONDS.slider(elem_id="memory-live-seconds")
        train_button = gr.Button("Train", variant="primary", scale=0, min_width=120)
    # Progress is said once, here, in words; the curves below stay visible while they grow.
    live_status = gr.Markdown("Press **Train**: the curves appear here and grow while the models train.",
                              elem_id="memory-live-status")
    with gr.Row():
        loss_plot = gr.Plot(label="training loss", min_width=360, elem_id="memory-live-loss")
        acc_plot = gr.Plot(label="held-out accuracy", min_width=360, elem_id="memory-live-accuracy")
    live_json = gr.JSON(label="final numbers", visible=False)

    explainer(INSIDE_TEXT)
    with gr.Row():
        trained_length = gr.Dropdown([(f"trained at L = {n}", n) for n in lengths],
                                     value=spec.DEFAULT_TRAINED_LENGTH, label="shipped models", min_width=160)
        inspect_length = spec.INPUT_LENGTH.slider()
        inspect_seed = spec.SEED.number()
        inspect_button = gr.Button("Inspect", variant="primary", scale=0, min_width=120)
    predictions = gr.Markdown()
    with gr.Row():
        gradient = gr.Plot(label="gradient norm over time", min_width=360)
        decay_text = gr.Markdown(min_height=0)
    inspect_json = gr.JSON(label="numbers", visible=False)  # the API's answer; the page says it in words
    with gr.Row():
        # Short labels: on a phone a two-line label covers the figure's first title.
        states_plot = gr.Plot(label="hidden states", min_width=360)
        gates_plot = gr.Plot(label="gates", min_width=360)
    model_card_accordion(spec.CHECKPOINTS)

    arrival.show(on_arrival, [sample_text, curves_plot, predictions, gradient, decay_text, states_plot, gates_plot])

    sample_button.click(sample_task, [sample_length, sample_seed], sample_text, api_name="sample_task")
    curves_length.change(shipped_curves, curves_length, curves_plot, api_name="shipped_curves")
    train_button.click(
        lambda: "⏳ Starting (or joining a run with the same settings)…",
        None, live_status, queue=False, show_progress="hidden", api_name="train_memory_queued",
        api_visibility="private",
    ).then(train_memory, [live_length, live_cells, live_seconds], [live_status, loss_plot, acc_plot, live_json],
           api_name="train_memory", concurrency_limit=spec.LIVE_MAX_RUNS, concurrency_id="memory_live_train",
           time_limit=120, show_progress="hidden")
    inspect_inputs = [trained_length, inspect_length, inspect_seed]
    # The answers come at once; the plots (step-by-step replay + backprop, three figures) follow.
    inspect_button.click(inspect_memory, inspect_inputs, [predictions, inspect_json],
                         api_name="inspect_memory").success(
        explain_memory, inspect_inputs, [gradient, decay_text, states_plot, gates_plot, inspect_json],
        api_name="explain_memory")


def _warmup():
    from apps.memory import infer

    infer.warm_up()


TAB = Tab(name="memory", title="🧠 RNN vs LSTM vs GRU", order=20, build=build,
          summary="Watch a plain RNN forget a letter that LSTM and GRU keep; vanishing gradients made visible; "
                  "a transformer attends straight back, a CNN's window cannot reach.",
          checkpoints=spec.CHECKPOINTS, warmup=_warmup)

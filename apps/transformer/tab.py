"""Transformer tab: UI wiring only (the work is in infer.py, imported inside the handlers)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from apps import Tab
from shared import validate
from shared.checkpoints import WEIGHTS_DIR, read_card
from shared.errors import CheckpointError
from shared.ui import explainer, guard, model_card_accordion, selected_index, val_accuracy_text

SENTIMENT_PATH = WEIGHTS_DIR / "transformer" / "sentiment_lora.safetensors"
GPT_WEIGHTS = WEIGHTS_DIR / "transformer" / "fortune_gpt" / "model.safetensors"
EXAMPLE_SENTENCES = ["The cat that I saw yesterday was sleeping",
                     "The dog chased the ball because it was excited"]
SENTIMENT_EXAMPLES = [
    "a gorgeous, witty, seductive movie.",
    "the plot is nothing but boilerplate clichés from start to finish.",
    "The battery died after two days and support never answered.",
    "Great food, friendly staff, we will definitely come back!",
    "not as bad as I feared, but not good either.",
]
MODEL_CHOICES = [("MiniLM as pretrained", "base"), ("the fine-tuned sentiment model", "sentiment")]
HEAD_CHOICES = [("average of the 12 heads", 0)] + [(f"head {h}", h) for h in range(1, 13)]

INTRO = """## Transformers: attention you can see
In **self-attention** every token builds its new vector as a weighted average of *all* tokens'
vectors; the weights (one row per token, each row sums to 1) are what the heat maps show. No
recurrence: all positions are computed at once, which is why transformers train faster than RNNs
and reach far back without a vanishing gradient. Real applications start from a **pretrained**
transformer (here all-MiniLM-L6-v2, 6 layers, 22.7M parameters) and adapt it: see below how much
that beats training from scratch."""


def _notes(notes: list[str]) -> str:
    return "\n".join(f"ℹ️ {n}" for n in notes)


def _comparison_table() -> pd.DataFrame:
    """The card's three-way comparison (measured by train.py on the same 1,000 held-out sentences)."""
    try:
        comparison = read_card(SENTIMENT_PATH).get("comparison", {})
    except CheckpointError:
        comparison = {}
    rows = [{"approach": name, "trained parameters": f"{row['trained_params']:,}",
             "validation accuracy": val_accuracy_text(row.get("val_accuracy")),
             "test accuracy": f"{row['test_accuracy']:.1%}",
             "training time (s, 2 CPU cores)": row["train_seconds"]} for name, row in comparison.items()]
    return pd.DataFrame(rows)


def _comparison_note() -> str:
    """How the rows were trained (time limits, threads, a continued run), from the card."""
    try:
        note = read_card(SENTIMENT_PATH).get("comparison_note", "")
    except CheckpointError:
        return ""
    return f"<small>{note}.</small>" if note else ""


def _accuracy_line() -> str:
    """The served model's held-out accuracy against the 85 % target, stated plainly from its card."""
    try:
        metrics = read_card(SENTIMENT_PATH)["metrics"]
        accuracy = metrics["test_accuracy"]
    except (CheckpointError, KeyError):
        return ""
    verdict = ("meets the 85 % target" if accuracy >= 0.85 else
               "**below the 85 % target** (BERT-base reaches about 87 % on this data, Kim's CNN 81.5 %; "
               "this 6-layer model with adapters trained for minutes on 2 shared CPU cores gets this far)")
    line = f"The served model gets **{accuracy:.1%}** of the 1,000 held-out sentences right: {verdict}."
    elsewhere = metrics.get("out_of_domain_accuracy", {})
    if elsewhere:  # transfer beyond the training domain: reviews of restaurants and products
        line += (" On reviews from outside the movies, never trained on: "
                 + ", ".join(f"{name} **{acc:.1%}**" for name, acc in elsewhere.items())
                 + " (1,000 sentences each, UCI Sentiment Labelled Sentences).")
    return line


# --- handlers ------------------------------------------------------------------------------

@guard("Classifying the sentiment")
def classify(text):
    from apps.transformer import infer

    result = infer.classify_sentiment(text)
    return result.probs, result.frozen_probs, _notes(result.notes)


@guard("Explaining the decision")
def explain(text):
    from apps.transformer import infer

    attributions, _ = infer.word_attributions(text)
    return attributions


@guard("Computing attention")
def show_attention(text, which, layer, head, token_index):
    from apps.transformer import heads, infer
    from shared.plots import heatmap

    result = infer.attention_maps(text, which or "base")
    n_layers, n_heads, n_tokens, _ = result.weights.shape
    layer = validate.integer(layer, 1, n_layers, "the layer")
    head = validate.integer(head, 0, n_heads, "the head (0 = the average of all heads)")
    matrix = result.weights[layer - 1].mean(0) if head == 0 else result.weights[layer - 1, head - 1]
    head_name = "average of heads" if head == 0 else f"head {head}"
    fig = heatmap(matrix, x_labels=result.tokens, y_labels=result.tokens, vmin=0,
                  title=f"Layer {layer}, {head_name}", x_title="attended to (key)", y_title="token looking (query)",
                  width=7, height=6)
    token_index = heads.resolve_token(token_index, result.tokens, heads.question_word(result.tokens),
                                      "The token that looks")
    focus = [(tok, round(float(w), 3)) for tok, w in zip(result.tokens, matrix[token_index])]
    top = sorted(zip(matrix[token_index], result.tokens), reverse=True)[:3]
    summary = (f"**{result.tokens[token_index]}** attends most to "
               + ", ".join(f"**{tok}** ({w:.0%})" for w, tok in top) + ".")
    choices = [(f"{i}: {tok}", i) for i, tok in enumerate(result.tokens)]
    return fig, focus, gr.Dropdown(choices=choices, value=token_index), summary + "\n\n" + _notes(result.notes)


HEADS_NOTE = ("Attention heads are learnt weightings, one set per head, that decide how much each token "
              "mixes in every other token's vector; they are **weights, not explanations**: a bright cell says "
              "where information could flow, not why the model decided anything. A head that sends *every* "
              "token to one word (\"all → dog\") is not resolving coreference, however right it looks for *it*.")


@guard("Measuring every head")
def show_heads(text, which, token_index, target, hide_special):
    """The grid of all layers x heads for the token that looks, from the same cached forward pass."""
    from apps.transformer import infer

    result = infer.attention_heads(text, which or "base", token_index, target)
    fig = _heads_figure(result, bool(hide_special))
    choices = [(f"{i}: {tok}", i) for i, tok in enumerate(result.tokens)]
    return (fig, _heads_summary(result, bool(hide_special)),
            gr.Dropdown(choices=choices, value=result.target))


def _heads_summary(result, hide_special: bool) -> str:
    tokens, q = result.tokens, result.tokens[result.query]
    flat = [(layer + 1, head + 1, label) for layer, row in enumerate(result.labels) for head, label in enumerate(row)]
    if result.target is None:
        lines = [f"**{q}**: this sentence has no other word to link it to."]
    else:
        word = tokens[result.target]
        links = sorted((x for x in flat if x[2].links), key=lambda x: -x[2].weight)  # (layer, head, label)
        everywhere = [x for x in flat if x[2].kind == "one word" and x[2].common == result.target]
        lines = [(f"**{len(links)} of {len(flat)} heads link {q} → {word}** (its top word, [CLS]/[SEP] and itself left out, "
                  f"is *{word}*, while most other tokens' is not), strongest first: "
                  + ", ".join(f"L{layer} H{h} ({x.weight:.0%})" for layer, h, x in links) + ".") if links else
                 f"**No head links {q} → {word}**: no head's top word for *{q}* is *{word}* alone."]
        if everywhere:
            lines.append("Not coreference: " + ", ".join(f"L{layer} H{h} ({x.share:.0%})" for layer, h, x in everywhere)
                         + f" send most tokens, not just *{q}*, to *{word}* (\"all → {word}\"; in brackets the "
                         "share of the other tokens whose top word it is).")
    noop = sum(1 for *_, x in flat if x.kind == "special")
    lines.append(f"{noop} heads park ≥ 75 % of their weight on [CLS]/[SEP] (no-op heads). "
                 + ("[CLS]/[SEP] are hidden: each strip shows the rest of the weight, renormalised to 100 %."
                    if hide_special else "Tick *Hide [CLS]/[SEP]* to see where the rest of the weight goes."))
    return "\n\n".join(lines + [HEADS_NOTE] + ([_notes(result.notes)] if result.notes else []))


def _heads_figure(result, hide_special: bool):
    """6 panels (layers), each 12 strips (heads) of the query token's attention over the sentence;
    heads that link the query to the target are outlined in red, one-word heads greyed."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from apps.transformer.heads import is_special, short_text, without_special

    tokens = result.tokens
    rows = without_special(result.rows, tokens) if hide_special else np.asarray(result.rows, dtype=float)
    # Hidden [CLS]/[SEP] columns are dropped, not drawn as zeros.
    shown = [i for i, t in enumerate(tokens) if not (hide_special and is_special(t))] or list(range(len(tokens)))
    rows, column = rows[..., shown], {i: c for c, i in enumerate(shown)}
    n_layers, n_heads, n = rows.shape
    columns = 2
    panel_rows = int(np.ceil(n_layers / columns))
    width = min(13.5, 6.5 + 0.3 * n * columns)  # about the width of the page: labels stay >= 11 px
    fig = Figure(figsize=(width, 3.2 * panel_rows + 0.8), layout="constrained")
    axes = fig.subplots(panel_rows, columns, squeeze=False)
    image = None
    for layer, ax in enumerate(axes.flat):
        if layer >= n_layers:
            ax.axis("off")
            continue
        image = ax.imshow(rows[layer], aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        labels = result.labels[layer]
        ax.set_yticks(range(n_heads), [f"H{h + 1} {short_text(lab, tokens)}" for h, lab in enumerate(labels)],
                      fontsize=10)
        # Up to 32 token labels fit a panel at 10 pt; longer sentences label every k-th token (and
        # always the token that looks and the target).
        every = int(np.ceil(n / 32))
        ax.set_xticks(range(n), [tokens[i] if c % every == 0 or i in (result.query, result.target) else ""
                                 for c, i in enumerate(shown)], rotation=50, ha="right", fontsize=10)
        for h, (tick, lab) in enumerate(zip(ax.get_yticklabels(), labels)):
            if lab.links:
                tick.set_color("#c00000")
                tick.set_fontweight("bold")
                ax.add_patch(Rectangle((-0.5, h - 0.5), n, 1, fill=False, edgecolor="#ff2020", linewidth=2.2))
            elif lab.kind in ("one word", "special"):
                tick.set_color("#666666")
        if result.target in column:
            xtick = ax.get_xticklabels()[column[result.target]]
            xtick.set_fontweight("bold")
            xtick.set_color("#c00000")
        if result.query in column:
            ax.get_xticklabels()[column[result.query]].set_fontweight("bold")
        ax.set_title(f"Layer {layer + 1}", fontsize=12)
    target = f" → {tokens[result.target]}" if result.target is not None else ""
    fig.suptitle(f"Where \"{tokens[result.query]}\" looks in each of the {n_layers * n_heads} heads"
                 f"{' ([CLS]/[SEP] hidden, rest renormalised)' if hide_special else ''}; "
                 f"red outline: links {tokens[result.query]}{target}", fontsize=12)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.5, aspect=30)
        bar.set_label("attention weight", fontsize=11)
        bar.ax.tick_params(labelsize=10)
    return fig


@guard("Picking the token")
def pick_token(evt: gr.SelectData):
    """Clicking a token in the highlighted sentence makes it the token that looks."""
    return selected_index(evt, "a word of the highlighted sentence")


@guard("Generating text")
def generate(prompt, max_new_tokens, temperature, seed, top_k):
    """The text at once, with the per-step table; the figures come from explain_generation."""
    from apps.transformer import infer

    result = infer.generate(prompt, max_new_tokens, temperature, top_k, seed)
    return result.text, _steps_table(result), _notes(result.notes)


STEP_COLUMNS = ["step", "chosen token", "p(chosen)", "p(chosen) as sampled", "most likely next tokens"]


def _steps_table(result) -> pd.DataFrame:
    return pd.DataFrame([(i + 1, repr(s["token"]), round(s["probability"], 3), round(s["sampling_probability"], 3),
                          ", ".join(f"{t!r} {p:.2f}" for t, p in s["top_5"])) for i, s in enumerate(result.steps)],
                        columns=STEP_COLUMNS)


@guard("Explaining the generation")
def explain_generation(prompt, max_new_tokens, temperature, seed, top_k):
    """The figures of exactly the text generate_text gave for the same inputs: the seeded sampler
    runs again (same tokens, same per-step distributions), then one forward pass gives the attention."""
    from apps.transformer import infer
    from shared.plots import heatmap, line_plot

    result = infer.generate(prompt, max_new_tokens, temperature, top_k, seed, with_attention=True)
    labels = ["⟨start⟩" if t == "<|endoftext|>" else t for t in result.prompt_tokens + result.new_tokens]
    n = len(result.steps)
    probs = line_plot({"model's probability": [s["probability"] for s in result.steps],
                       "probability when sampled (temperature, top-k)": [s["sampling_probability"] for s in result.steps]},
                      x=range(1, n + 1), title="How sure the model was of each chosen token",
                      x_title="generated token", y_title="p(chosen token)", width=7, height=2.6)
    probs.axes[0].xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    attention = heatmap(result.attention[-1].mean(0), x_labels=labels, y_labels=labels, vmin=0,
                        title="Causal self-attention, last layer (mean of heads)",
                        x_title="attended to", y_title="token predicting the next one", width=7, height=6)
    return probs, attention


@guard("Drawing the positional encoding")
def show_positional_encoding(n_positions, d_model):
    from apps.transformer import infer
    from shared.plots import heatmap

    encoding = infer.positional_encoding(n_positions, d_model)
    fig = heatmap(encoding, title=f"Sinusoidal positional encoding ({encoding.shape[0]} positions × {encoding.shape[1]} dims)",
                  x_title="embedding dimension (low → high: fast → slow waves)", y_title="position",
                  cmap="RdBu", vmin=-1, vmax=1, width=7, height=4)
    similarity = heatmap(infer.position_similarity(encoding), title="Cosine similarity between positions",
                         x_title="position", y_title="position", cmap="magma", width=5, height=4)
    return fig, similarity


# --- layout ------------------------------------------------------------------------------------

def build() -> None:
    explainer(INTRO)
    with gr.Tabs():
        with gr.Tab("Sentiment · transfer learning", id="transformer-sentiment"):
            _build_sentiment()
        with gr.Tab("Attention explorer", id="transformer-attention"):
            _build_attention()
        with gr.Tab("Tiny GPT · generation", id="transformer-gpt"):
            _build_gpt()
        with gr.Tab("Positional encoding", id="transformer-positions"):
            _build_positional()
    model_card_accordion([SENTIMENT_PATH, GPT_WEIGHTS])


def _build_sentiment() -> None:
    explainer("Type a sentence or a short review. The **served model** is MiniLM with small LoRA adapters "
              "fine-tuned on short movie-review sentences (a soup of runs, see the card); beside it, the same frozen MiniLM with only a "
              "linear head. Colours under the result show which words pushed the decision (integrated "
              "gradients): towards *positive* or *negative*.")
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Text", lines=3, value=SENTIMENT_EXAMPLES[0])
            button = gr.Button("Classify", variant="primary")
            gr.Examples(SENTIMENT_EXAMPLES, inputs=text, cache_examples=False)
        with gr.Column():
            tuned = gr.Label(label="Fine-tuned MiniLM (served)", num_top_classes=2)
            frozen = gr.Label(label="Frozen MiniLM + linear head (baseline)", num_top_classes=2)
            notes = gr.Markdown()
    attribution = gr.HighlightedText(label="Which words pushed the decision: red towards positive, blue towards negative",
                                     show_legend=False, combine_adjacent=False)
    gr.Markdown("### Transfer learning vs training from scratch (same 1,000 held-out sentences)")
    gr.Dataframe(_comparison_table(), interactive=False, wrap=True,  # a long approach name must not hide the figures
                 column_widths=["40%", "14%", "16%", "14%", "16%"])
    gr.Markdown(_comparison_note())
    gr.Markdown(_accuracy_line())
    button.click(classify, text, [tuned, frozen, notes], api_name="classify_sentiment").then(
        explain, text, attribution, api_name="explain_sentiment")
    text.submit(classify, text, [tuned, frozen, notes], api_name="classify_sentiment_submit",
                api_visibility="private").then(explain, text, attribution, api_name="explain_sentiment_submit",
                                               api_visibility="private")


def _build_attention() -> None:
    explainer("The real attention weights of MiniLM for your sentence. Each **row** is a token looking at "
              "the others; bright cells are what it takes its new meaning from. Early layers tend to look at "
              "neighbours and punctuation, later ones link words that belong together (does *it* look at "
              "*dog* or *ball*?). Many heads also park most of their attention on [CLS] or [SEP] when they have "
              "nothing to add: a real habit of BERT models, not a bug. The token that looks starts on the "
              "sentence's question word (a pronoun such as *it*, else its last content word); the grid below "
              "shows all 72 heads at once for it. Click a token below, or pick it, to see what it attends to most.")
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Sentence", value=EXAMPLE_SENTENCES[0])
            gr.Examples([[s] for s in EXAMPLE_SENTENCES], inputs=text, cache_examples=False)
        with gr.Column(scale=1):
            which = gr.Radio(MODEL_CHOICES, value="base", label="Model")
            layer = gr.Slider(1, 6, value=3, step=1, label="Layer")
            head = gr.Dropdown(HEAD_CHOICES, value=0, label="Head")
    button = gr.Button("Show attention", variant="primary")
    with gr.Row():
        plot = gr.Plot(label="Attention weights")
        with gr.Column():
            # Empty = the sentence's question word; choices change with the sentence; the API may send any index.
            token = gr.Dropdown(choices=[], value=None, label="Token that looks (empty: the question word)",
                                allow_custom_value=True)
            focus = gr.HighlightedText(label="What it attends to (click a token to pick it)",
                                       show_legend=False, combine_adjacent=False)
            summary = gr.Markdown()
    gr.Markdown("### Every head at once")
    with gr.Row():
        target = gr.Dropdown(choices=[], value=None, allow_custom_value=True,
                             label="Word to look for (empty: the earlier noun it attends to most)")
        hide_special = gr.Checkbox(value=False, label="Hide [CLS]/[SEP] (renormalise the rest)")
    heads_plot = gr.Plot(label="All heads for the token that looks", elem_id="attention-heads-grid")
    heads_summary = gr.Markdown()
    inputs = [text, which, layer, head, token]
    outputs = [plot, focus, token, summary]
    heads_inputs = [text, which, token, target, hide_special]
    heads_outputs = [heads_plot, heads_summary, target]
    # The map answers first; the grid follows from the same cached forward pass (only if the map
    # succeeded: one error per failure).
    button.click(show_attention, inputs, outputs, api_name="attention_map").success(
        show_heads, heads_inputs, heads_outputs, api_name="attention_heads")
    text.submit(show_attention, inputs, outputs, api_name="attention_map_submit", api_visibility="private").success(
        show_heads, heads_inputs, heads_outputs, api_name="attention_heads_submit", api_visibility="private")
    # A new sentence starts again from its own question word and target.
    text.change(clear_picks, None, [token, target], api_name="attention_clear_picks", api_visibility="private",
                queue=False)
    for control in (which, layer, head):
        event = control.change(show_attention, inputs, outputs, api_name=f"attention_map_{control.label.lower()}",
                               api_visibility="private", trigger_mode="always_last")
        if control is which:
            event.success(show_heads, heads_inputs, heads_outputs, api_name="attention_heads_model",
                          api_visibility="private")
    token.input(show_attention, inputs, outputs, api_name="attention_map_token", api_visibility="private").success(
        show_heads, heads_inputs, heads_outputs, api_name="attention_heads_token", api_visibility="private")
    focus.select(pick_token, None, token, api_name="pick_token", api_visibility="private", queue=False).then(
        show_attention, inputs, outputs, api_name="attention_map_pick", api_visibility="private").success(
        show_heads, heads_inputs, heads_outputs, api_name="attention_heads_pick", api_visibility="private")
    for control, name in ((target, "target"), (hide_special, "hide")):
        control.input(show_heads, heads_inputs, heads_outputs, api_name=f"attention_heads_{name}",
                      api_visibility="private", trigger_mode="always_last")


@guard("Starting from the new sentence's question word")
def clear_picks():
    return None, None


def _gpt_size() -> str:
    try:
        card = read_card(GPT_WEIGHTS)
        return (f"{card['params']:,} parameters; held-out {card['metrics']['heldout_bits_per_char']:.2f} "
                "bits per character")
    except (CheckpointError, KeyError):
        return "size in the model card"


def _build_gpt() -> None:
    explainer(f"A **decoder-only** transformer (GPT-2 shape, {_gpt_size()}) trained here from scratch on "
              "Debian's `fortunes`, on two CPU cores in minutes: expect fortune-flavoured babble, not wisdom. It writes one token at a time: at each step it gives a probability to every "
              "token in its vocabulary, and we **sample** one. *Temperature* flattens (>1) or sharpens (<1) that "
              "distribution, 0 always takes the most likely token; *top-k* keeps only the k likeliest. The same "
              "seed gives the same text. Its attention is **causal**: a token sees only the tokens before it, "
              "hence the triangle.")
    with gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label="Prompt (may be empty)", value="The secret of life is")
            with gr.Row():
                max_new_tokens = gr.Number(value=40, precision=0, minimum=1, maximum=100, label="max new tokens (1-100)")
                seed = gr.Number(value=0, precision=0, label="seed")
            temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="temperature")
            top_k = gr.Slider(0, 200, value=40, step=1, label="top-k (0 = no limit)")
            button = gr.Button("Generate", variant="primary")
        with gr.Column():
            output = gr.Textbox(label="Generated text", lines=5)
            notes = gr.Markdown()
            probs = gr.Plot(label="Confidence per step")
    steps = gr.Dataframe(label="Next-token probabilities at each step", interactive=False, wrap=True,
                         headers=STEP_COLUMNS)
    attention = gr.Plot(label="Causal attention")
    inputs = [prompt, max_new_tokens, temperature, seed, top_k]
    outputs = [output, steps, notes]
    # The text first; the figures (slow to draw) follow for the same inputs, hence the same text.
    button.click(generate, inputs, outputs, api_name="generate_text").success(
        explain_generation, inputs, [probs, attention], api_name="explain_generation")
    prompt.submit(generate, inputs, outputs, api_name="generate_text_submit", api_visibility="private").success(
        explain_generation, inputs, [probs, attention], api_name="explain_generation_submit",
        api_visibility="private")


def _build_positional() -> None:
    explainer("Self-attention is a weighted average over a *set*: shuffle the words and every token gets the "
              "same result. So order must be **added**: the original transformer adds to each token's vector a "
              "pattern of sines and cosines of its position, with wavelengths from 2π to 10000·2π. Each position "
              "gets a unique code, and nearby positions get similar codes (the bright diagonal on the right), "
              "so the model can tell *dog bites man* from *man bites dog*. (MiniLM and the tiny GPT learn their "
              "position vectors instead; the idea is the same.)")
    with gr.Row():
        n_positions = gr.Slider(8, 256, value=64, step=1, label="positions")
        d_model = gr.Slider(16, 512, value=128, step=2, label="embedding dimensions")
        button = gr.Button("Draw", variant="primary", scale=0)
    with gr.Row():
        encoding = gr.Plot(label="Encoding")
        similarity = gr.Plot(label="Similarity")
    button.click(show_positional_encoding, [n_positions, d_model], [encoding, similarity],
                 api_name="positional_encoding")
    for slider in (n_positions, d_model):
        slider.release(show_positional_encoding, [n_positions, d_model], [encoding, similarity],
                       api_name=f"positional_encoding_{slider.label.split()[0]}", api_visibility="private")


def _warmup():
    from apps.transformer import infer

    infer.load_models()


TAB = Tab(name="transformer", title="🔤 Transformers · text", order=50, build=build,
          summary="Attention maps, transfer learning for sentiment, a tiny GPT, positional encoding",
          checkpoints=(SENTIMENT_PATH, GPT_WEIGHTS), warmup=_warmup)

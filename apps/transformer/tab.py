"""Transformer tab: layout, then events wired to infer (imported inside the handlers) and views."""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.transformer import spec
from shared import arrival
from shared.ui import explainer, guard, model_card_accordion, selected_index

INTRO = f"""## Transformers: attention you can see
In **self-attention** every token builds its new vector as a weighted average of *all* tokens'
vectors; the weights (one row per token, each row sums to 1) are what the heat maps show. No
recurrence: all positions are computed at once, which is why transformers train faster than RNNs
and reach far back without a vanishing gradient. Real applications start from a **pretrained**
transformer (here all-MiniLM-L6-v2, {spec.MINILM_LAYERS} layers of {spec.MINILM_HEADS} heads, 22.7 M
parameters) and adapt it: see below how much that beats training from scratch."""


# --- sentiment -------------------------------------------------------------------------------

@guard("Classifying the sentiment")
def classify(text):
    from apps.transformer import infer, views

    result = infer.classify_sentiment(text)
    return result.probs, result.frozen_probs, views.notes_markdown(result.notes)


@guard("Explaining the decision")
def explain(text):
    from apps.transformer import infer

    return infer.word_attributions(text).words


def sentiment_on_arrival():
    """The first example's answer and the words that pushed it."""
    return (*classify(spec.SENTIMENT_EXAMPLES[0]), explain(spec.SENTIMENT_EXAMPLES[0]))


# --- attention -------------------------------------------------------------------------------

@guard("Computing attention")
def show_attention(text, which, layer, head, token_index):
    from apps.transformer import infer, views

    result = infer.attention_map(text, which or spec.DEFAULT_MODEL, layer, head, token_index)
    return (views.attention_figure(result), views.attention_focus(result),
            gr.Dropdown(choices=views.token_choices(result.tokens), value=result.query),
            views.attention_summary(result))


@guard("Measuring every head")
def show_heads(text, which, token_index, target, hide_special):
    """The grid of all layers x heads for the token that looks, from the same cached forward pass."""
    from apps.transformer import infer, views

    result = infer.attention_heads(text, which or spec.DEFAULT_MODEL, token_index, target)
    return (views.heads_figure(result, bool(hide_special)), views.heads_summary(result, bool(hide_special)),
            gr.Dropdown(choices=views.token_choices(result.tokens), value=result.target))


def attention_on_arrival():
    """The default sentence's grid for its question word ("it"), and the map of the head that
    links it to its target most strongly (else the default layer's average)."""
    from apps.transformer import infer, views

    heads = infer.attention_heads(spec.DEFAULT_SENTENCE, spec.DEFAULT_MODEL)
    layer, head = views.strongest_link(heads) or (spec.LAYER.default, spec.HEAD.default)
    return (*show_attention(spec.DEFAULT_SENTENCE, spec.DEFAULT_MODEL, layer, head, None),
            *show_heads(spec.DEFAULT_SENTENCE, spec.DEFAULT_MODEL, None, None, False), layer, head)


@guard("Picking the token")
def pick_token(evt: gr.SelectData):
    """Clicking a token in the highlighted sentence makes it the token that looks."""
    return selected_index(evt, "a word of the highlighted sentence")


@guard("Starting from the new sentence's question word")
def clear_picks():
    return None, None


# --- tiny GPT --------------------------------------------------------------------------------

@guard("Generating text")
def generate(prompt, max_new_tokens, temperature, seed, top_k):
    """The text at once, with the per-step table; the figures come from explain_generation."""
    from apps.transformer import infer, views

    result = infer.generate(prompt, max_new_tokens, temperature, top_k, seed)
    return result.text, views.steps_table(result), views.notes_markdown(result.notes)


@guard("Explaining the generation")
def explain_generation(prompt, max_new_tokens, temperature, seed, top_k):
    """The figures of exactly the text generate_text gave for the same inputs: the seeded sampler
    runs again (same tokens, same per-step distributions), then one forward pass gives the attention."""
    from apps.transformer import infer, views

    result = infer.generate(prompt, max_new_tokens, temperature, top_k, seed, with_attention=True)
    return views.confidence_figure(result), views.causal_attention_figure(result)


def gpt_on_arrival():
    """The default prompt with the default (fixed) seed: the same text for everyone."""
    args = (spec.DEFAULT_PROMPT, spec.MAX_NEW_TOKENS.default, spec.TEMPERATURE.default, spec.GPT_SEED.default,
            spec.TOP_K.default)
    return (*generate(*args), *explain_generation(*args))


# --- positional encoding ---------------------------------------------------------------------

@guard("Drawing the positional encoding")
def show_positional_encoding(n_positions, d_model):
    from apps.transformer import infer, views

    encoding = infer.positional_encoding(n_positions, d_model)
    return views.encoding_figure(encoding), views.similarity_figure(infer.position_similarity(encoding))


# --- layout ----------------------------------------------------------------------------------

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
    model_card_accordion([spec.SENTIMENT_PATH, spec.GPT_WEIGHTS])


def _build_sentiment() -> None:
    from apps.transformer import views

    explainer("Type a sentence or a short review. The **served model** is MiniLM with small LoRA adapters "
              "fine-tuned on short movie-review sentences (four training runs averaged, see the card); beside it, "
              "the same MiniLM left frozen with only a linear head on top. Colours under the result show which "
              "words pushed the decision (integrated gradients): towards *positive* or *negative*.")
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Text", lines=3, value=spec.SENTIMENT_EXAMPLES[0])
            button = gr.Button("Classify", variant="primary")
            gr.Examples([[s] for s in spec.SENTIMENT_EXAMPLES], inputs=text, cache_examples=False)
        with gr.Column():
            tuned = gr.Label(label="Fine-tuned MiniLM (served)", num_top_classes=2)
            frozen = gr.Label(label="Frozen MiniLM + linear head (for comparison)", num_top_classes=2)
            notes = gr.Markdown()
    attribution = gr.HighlightedText(label="Which words pushed the decision: red towards positive, blue towards negative",
                                     show_legend=False, combine_adjacent=False)
    gr.Markdown("### Transfer learning vs training from scratch (the same 1,000 new sentences)")
    gr.Dataframe(views.comparison_table(), interactive=False, wrap=True)
    gr.Markdown(views.comparison_note())
    gr.Markdown(views.accuracy_line())

    answer = [tuned, frozen, notes]
    button.click(classify, text, answer, api_name="classify_sentiment").then(
        explain, text, attribution, api_name="explain_sentiment")
    text.submit(classify, text, answer, api_name="classify_sentiment_submit",
                api_visibility="private").then(explain, text, attribution, api_name="explain_sentiment_submit",
                                               api_visibility="private")
    arrival.show(sentiment_on_arrival, [*answer, attribution])


def _build_attention() -> None:
    explainer("The real attention weights of MiniLM for your sentence. Each **row** is a token looking at "
              "the others; bright cells are what it takes its new meaning from. The token that looks starts on "
              "the sentence's question word (a pronoun such as *it*, else its last content word), and the map on "
              "the head that links it to its word most strongly; the grid below shows all "
              f"{spec.MINILM_LAYERS * spec.MINILM_HEADS} heads at once for it, each labelled by what it does on "
              "this sentence. Many heads park most of their attention on [CLS] or [SEP] when they have nothing "
              "to add (a real habit of BERT models, not a bug): hide them to see where the rest goes. Click a "
              "token in the sentence, or pick it, to see what it attends to.")
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Sentence", value=spec.DEFAULT_SENTENCE)
            gr.Examples([[s] for s in spec.EXAMPLE_SENTENCES], inputs=text, cache_examples=False)
        with gr.Column(scale=1):
            which = gr.Radio(spec.MODEL_CHOICES, value=spec.DEFAULT_MODEL, label="Model")
            layer = spec.LAYER.slider()
            head = gr.Dropdown(spec.HEAD_CHOICES, value=spec.HEAD.default, label="Head")
    button = gr.Button("Show attention", variant="primary")
    with gr.Row():
        plot = gr.Plot(label="Attention weights", elem_classes=["natural-size"])
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
    heads_plot = gr.Plot(label="All heads for the token that looks (on a narrow screen, scroll the picture sideways)",
                         elem_id="attention-heads-grid", elem_classes=["natural-size"])
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
    # .input, not .change: the arrival views set the layer and head without redrawing them.
    for control in (which, layer, head):
        event = control.input(show_attention, inputs, outputs, api_name=f"attention_map_{control.label.lower()}",
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
    arrival.show(attention_on_arrival, [*outputs, *heads_outputs, layer, head])


def _build_gpt() -> None:
    from apps.transformer import views

    explainer(f"A **decoder-only** transformer (GPT-2 shape, {views.gpt_size()}) trained here from scratch on "
              "the fortune cookies of Debian's *fortunes* package, on two CPU cores: expect "
              "fortune-flavoured babble, not wisdom. It writes one token at a time: at each step it gives a "
              "probability to every token in its vocabulary, and we **sample** one. *Temperature* flattens (>1) "
              "or sharpens (<1) that distribution, 0 always takes the most likely token; *top-k* keeps only the "
              "k likeliest. The same seed gives the same text. Its attention is **causal**: a token sees only "
              "the tokens before it, hence the triangle.")
    with gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label="Prompt (may be empty)", value=spec.DEFAULT_PROMPT)
            with gr.Row():
                max_new_tokens = spec.MAX_NEW_TOKENS.number(label=f"max new tokens ({spec.MAX_NEW_TOKENS.range_text})")
                seed = spec.GPT_SEED.number()
            temperature = spec.TEMPERATURE.slider()
            top_k = spec.TOP_K.slider()
            button = gr.Button("Generate", variant="primary")
        with gr.Column():
            output = gr.Textbox(label="Generated text", lines=5)
            notes = gr.Markdown()
            probs = gr.Plot(label="Confidence per step", elem_classes=["natural-size"])
    steps = gr.Dataframe(label="Next-token probabilities at each step", interactive=False, wrap=True,
                         headers=views.STEP_COLUMNS)
    attention = gr.Plot(label="Causal attention", elem_classes=["natural-size"])

    inputs = [prompt, max_new_tokens, temperature, seed, top_k]
    outputs = [output, steps, notes]
    # The text first; the figures (slow to draw) follow for the same inputs, hence the same text.
    button.click(generate, inputs, outputs, api_name="generate_text").success(
        explain_generation, inputs, [probs, attention], api_name="explain_generation")
    prompt.submit(generate, inputs, outputs, api_name="generate_text_submit", api_visibility="private").success(
        explain_generation, inputs, [probs, attention], api_name="explain_generation_submit",
        api_visibility="private")
    arrival.show(gpt_on_arrival, [*outputs, probs, attention])


def _build_positional() -> None:
    explainer("Self-attention is a weighted average over a *set*: shuffle the words and every token gets the "
              "same result. So order must be **added**: the original transformer adds to each token's vector a "
              "pattern of sines and cosines of its position, with wavelengths from 2π to 10000·2π. Each position "
              "gets a unique code, and nearby positions get similar codes (the bright diagonal on the right), "
              "so the model can tell *dog bites man* from *man bites dog*. (MiniLM and the tiny GPT learn their "
              "position vectors instead; the idea is the same.)")
    with gr.Row():
        n_positions = spec.POSITIONS.slider()
        d_model = spec.DIMENSIONS.slider()
        button = gr.Button("Draw", variant="primary", scale=0)
    with gr.Row():
        encoding = gr.Plot(label="Encoding", elem_classes=["natural-size"])
        similarity = gr.Plot(label="Similarity", elem_classes=["natural-size"])

    sliders, figures = [n_positions, d_model], [encoding, similarity]
    button.click(show_positional_encoding, sliders, figures, api_name="positional_encoding")
    for slider in sliders:
        slider.release(show_positional_encoding, sliders, figures,
                       api_name=f"positional_encoding_{slider.label.split()[0]}", api_visibility="private")
    arrival.show(lambda: show_positional_encoding(spec.POSITIONS.default, spec.DIMENSIONS.default), figures)


def _warmup():
    from apps.transformer import infer

    infer.load_models()


TAB = Tab(name="transformer", title="🔤 Transformers · text", order=50, build=build,
          summary="Attention maps, transfer learning for sentiment, a tiny GPT, positional encoding",
          checkpoints=(spec.SENTIMENT_PATH, spec.GPT_WEIGHTS), warmup=_warmup)

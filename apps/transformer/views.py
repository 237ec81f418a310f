"""What the transformer tab shows, drawn from infer's results and the model cards: figures
(matplotlib Figure, never pyplot), tables and Markdown. No model runs here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from apps.transformer import spec
from apps.transformer.heads import is_special, short_text, without_special
from shared.checkpoints import read_card
from shared.errors import CheckpointError
from shared.plots import heatmap, line_plot

LABEL_PT = 9      # tick labels: 12.5 px at 100 dpi, drawn at natural size (>= 11 px on any screen)
TITLE_PT = 11
MAX_TOKEN_LABELS = 40  # longer sentences label every k-th token (and always the ones that matter)

def notes_markdown(notes: list[str]) -> str:
    return "\n".join(f"ℹ️ {n}" for n in notes)


def token_choices(tokens: list[str]) -> list[tuple[str, int]]:
    return [(f"{i}: {token}", i) for i, token in enumerate(tokens)]


def _card(path) -> dict:
    try:
        return read_card(path)
    except CheckpointError:
        return {}


def _readable(fig: Figure) -> Figure:
    """Tick labels, axis titles and titles at sizes that stay >= 11 px at natural size."""
    for ax in fig.axes:
        ax.tick_params(labelsize=LABEL_PT)
        ax.xaxis.label.set_fontsize(TITLE_PT)
        ax.yaxis.label.set_fontsize(TITLE_PT)
        ax.title.set_fontsize(TITLE_PT + 1)
    return fig


def _sparse_labels(tokens: list[str], keep: tuple[int | None, ...] = ()) -> list[str]:
    every = int(np.ceil(len(tokens) / MAX_TOKEN_LABELS))
    return [t if i % every == 0 or i in keep else "" for i, t in enumerate(tokens)]


# --- sentiment -------------------------------------------------------------------------------

ROW_NAMES = {"scratch": "from scratch", "probe": "frozen + linear head", "lora": "fine-tuning"}
SHORT_NAMES = {"scratch": "a small transformer trained from scratch (2 layers)",
               "probe": "pretrained MiniLM, frozen, + a linear head",
               "lora": "pretrained MiniLM, fine-tuned with LoRA adapters (served)"}


def _kind(name: str) -> str:
    return "scratch" if "scratch" in name else "probe" if "frozen" in name else "lora"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def comparison_table(card: dict | None = None) -> pd.DataFrame:
    """The card's three approaches, measured by train.py on the same 1,000 held-out sentences."""
    card = _card(spec.SENTIMENT_PATH) if card is None else card
    rows = [{"approach": SHORT_NAMES[_kind(name)], "trained parameters": f"{row['trained_params']:,}",
             "accuracy on validation sentences": (f"{row['val_accuracy']:.1%}" if row.get("val_accuracy") is not None
                                                  else "— (trained on them)"),
             "accuracy on new sentences": f"{row['test_accuracy']:.1%}",
             "training time": _duration(row["train_seconds"])}
            for name, row in card.get("comparison", {}).items()]
    return pd.DataFrame(rows)


def comparison_note(card: dict | None = None) -> str:
    """How the rows were trained, in a sentence written from the rows."""
    card = _card(spec.SENTIMENT_PATH) if card is None else card
    rows = {_kind(name): row for name, row in card.get("comparison", {}).items()}
    if not rows:
        return ""
    runs = len(card.get("soup", {}).get("ingredients", []))
    each = f" for each of its {runs} runs, whose times the table adds up" if runs > 1 else ""
    limits = ", ".join(f"{ROW_NAMES[k]} {_duration(rows[k]['time_limit_s'])}" + (each if k == "lora" else "")
                       for k in ("scratch", "probe", "lora") if k in rows and "time_limit_s" in rows[k])
    note = f"Each approach had a time limit on two shared CPU cores ({limits})."
    lora = rows.get("lora", {})
    if lora.get("trained_on") == "train + val":
        note += (" The fine-tuned model's recipe was chosen on the 700 validation sentences, which then joined "
                 "its training: it has no validation figure of its own.")
    return f"{note} All three are tested on the same 1,000 new sentences."


def accuracy_line(card: dict | None = None) -> str:
    """The served model's accuracy on new sentences against the goal, in a learner's words."""
    card = _card(spec.SENTIMENT_PATH) if card is None else card
    metrics = card.get("metrics", {})
    accuracy = metrics.get("test_accuracy")
    if accuracy is None:
        return ""
    lora = next((row for name, row in card.get("comparison", {}).items() if _kind(name) == "lora"), {})
    trained = f" for {lora['train_seconds'] / 60:.0f} minutes" if "train_seconds" in lora else ""
    verdict = ("reached" if accuracy >= spec.ACCURACY_GOAL else
               "not yet (BERT-base reaches about 87 % on these sentences, Kim's CNN 81.5 %; this 6-layer model "
               f"with adapters trained{trained} on two CPU cores gets this far)")
    n = metrics.get("test_sentences", 1000)
    line = (f"**Goal: ≥ {spec.ACCURACY_GOAL * 100:.0f} % of {n:,} new movie-review sentences right — "
            f"{accuracy:.1%}: {verdict}.**")
    elsewhere = metrics.get("out_of_domain_accuracy", {})
    if elsewhere:
        line += (" On reviews from outside the movies, which it never saw in training: "
                 + ", ".join(f"{name} **{acc:.1%}**" for name, acc in elsewhere.items())
                 + " (1,000 sentences each, UCI Sentiment Labelled Sentences).")
    return line


# --- attention map ---------------------------------------------------------------------------

def attention_figure(result) -> Figure:
    """One layer's (or one head's) attention: row = the token looking, column = the token looked at."""
    head = "average of its heads" if result.head == 0 else f"head {result.head}"
    labels = _sparse_labels(result.tokens, (result.query,))
    fig = heatmap(result.matrix, x_labels=labels, y_labels=labels, vmin=0, title=f"Layer {result.layer}, {head}",
                  x_title="attended to (key)", y_title="token looking (query)", width=5.8, height=5.4)
    ax = fig.axes[0]
    fig.axes[1].set_ylabel("attention weight", fontsize=TITLE_PT)
    _readable(fig)
    ax.get_yticklabels()[result.query].set_fontweight("bold")
    ax.get_yticklabels()[result.query].set_color("#c00000")
    return fig


def attention_focus(result) -> list[tuple[str, float]]:
    """The query token's row as (token, weight) pairs, for the highlighted sentence."""
    return [(token, round(float(w), 3)) for token, w in zip(result.tokens, result.matrix[result.query])]


def attention_summary(result) -> str:
    query = result.tokens[result.query]
    text = (f"**{query}** attends most to " + ", ".join(f"**{token}** ({w:.0%})" for token, w in result.top) + ".")
    if result.top and is_special(result.top[0][0]) and result.top_word is not None:
        text += f" Leaving [CLS]/[SEP] aside, its top word is **{result.tokens[result.top_word]}**."
    return text + (f"\n\n{notes_markdown(result.notes)}" if result.notes else "")


# --- every head at once ----------------------------------------------------------------------

HEADS_NOTE = ("Attention heads are learnt weightings, one set per head, that decide how much each token "
              "mixes in every other token's vector; they are **weights, not explanations**: a bright cell says "
              "where information could flow, not why the model decided anything. A head that sends *every* "
              "token to one word (\"all → dog\") is not resolving coreference, however right it looks for *it*.")


def heads_summary(result, hide_special: bool) -> str:
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
    return "\n\n".join(lines + [HEADS_NOTE] + ([notes_markdown(result.notes)] if result.notes else []))


def heads_figure(result, hide_special: bool) -> Figure:
    """One panel per layer, one strip per head: the query token's attention over the sentence.
    Heads that link the query to the target are outlined in red, one-word and no-op heads greyed."""
    from matplotlib.patches import Rectangle

    tokens = result.tokens
    rows = without_special(result.rows, tokens) if hide_special else np.asarray(result.rows, dtype=float)
    # Hidden [CLS]/[SEP] columns are dropped, not drawn as zeros.
    shown = [i for i, t in enumerate(tokens) if not (hide_special and is_special(t))] or list(range(len(tokens)))
    rows, column = rows[..., shown], {i: c for c, i in enumerate(shown)}
    n_layers, n_heads, n = rows.shape
    columns = 2
    panel_rows = int(np.ceil(n_layers / columns))
    width = min(12.0, 6.5 + 0.3 * n * columns)  # 1,200 px: fits a 1280-px screen at natural size
    fig = Figure(figsize=(width, 3.2 * panel_rows + 0.8), layout="constrained")
    axes = fig.subplots(panel_rows, columns, squeeze=False)
    image = None
    every = int(np.ceil(n / 32))  # up to 32 token labels fit a panel
    for layer, ax in enumerate(axes.flat):
        if layer >= n_layers:
            ax.axis("off")
            continue
        image = ax.imshow(rows[layer], aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        labels = result.labels[layer]
        ax.set_yticks(range(n_heads), [f"H{h + 1} {short_text(lab, tokens)}" for h, lab in enumerate(labels)],
                      fontsize=LABEL_PT)
        ax.set_xticks(range(n), [tokens[i] if c % every == 0 or i in (result.query, result.target) else ""
                                 for c, i in enumerate(shown)], rotation=50, ha="right", fontsize=LABEL_PT)
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
        ax.set_title(f"Layer {layer + 1}", fontsize=TITLE_PT + 1)
    target = f" → {tokens[result.target]}" if result.target is not None else ""
    fig.suptitle(f"Where \"{tokens[result.query]}\" looks in each of the {n_layers * n_heads} heads"
                 f"{' ([CLS]/[SEP] hidden, rest renormalised)' if hide_special else ''}; "
                 f"red outline: links {tokens[result.query]}{target}", fontsize=TITLE_PT + 1)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.5, aspect=30)
        bar.set_label("attention weight", fontsize=TITLE_PT)
        bar.ax.tick_params(labelsize=LABEL_PT)
    return fig


def strongest_link(result) -> tuple[int, int] | None:
    """(layer, head), 1-based, of the head that links the query to the target most strongly."""
    links = [(label.weight, layer + 1, head + 1) for layer, row in enumerate(result.labels)
             for head, label in enumerate(row) if label.links]
    return max(links)[1:] if links else None


# --- tiny GPT --------------------------------------------------------------------------------

STEP_COLUMNS = ["step", "chosen token", "p(chosen)", "p(chosen) as sampled", "most likely next tokens"]


def gpt_size(card: dict | None = None) -> str:
    card = _card(spec.GPT_WEIGHTS) if card is None else card
    try:
        return (f"{card['params'] / 1e6:.2f} M parameters, trained for {card['metrics']['train_seconds'] / 60:.0f} "
                f"minutes; on held-out fortunes it needs {card['metrics']['heldout_bits_per_char']:.2f} bits per "
                "character, where guessing among the 95 printable characters needs 6.6")
    except KeyError:
        return "size in the model card"


def steps_table(result) -> pd.DataFrame:
    return pd.DataFrame([(i + 1, repr(s.token), round(s.probability, 3), round(s.sampling_probability, 3),
                          ", ".join(f"{t!r} {p:.2f}" for t, p in s.top_5)) for i, s in enumerate(result.steps)],
                        columns=STEP_COLUMNS)


def confidence_figure(result) -> Figure:
    n = len(result.steps)
    fig = line_plot({"model's probability": [s.probability for s in result.steps],
                     "probability when sampled (temperature, top-k)": [s.sampling_probability for s in result.steps]},
                    x=range(1, n + 1), title="How sure the model was of each chosen token",
                    x_title="generated token", y_title="p(chosen token)", width=5.6, height=3.6)
    ax = fig.axes[0]
    ax.set_ylim(0, 1.02)  # a probability: the axis starts at zero
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    if ax.get_legend() is not None:  # below the axes: inside, it hides the curves
        ax.get_legend().remove()
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=LABEL_PT)
    return _readable(fig)


def causal_attention_figure(result) -> Figure:
    labels = ["⟨start⟩" if t == "<|endoftext|>" else t for t in result.prompt_tokens + result.new_tokens]
    labels = _sparse_labels(labels)
    fig = heatmap(result.attention[-1].mean(0), x_labels=labels, y_labels=labels, vmin=0,
                  title="Causal self-attention, last layer (mean of heads)",
                  x_title="attended to", y_title="token predicting the next one", width=6.0, height=5.6)
    return _readable(fig)


# --- positional encoding ---------------------------------------------------------------------

def encoding_figure(encoding: np.ndarray) -> Figure:
    fig = heatmap(encoding, title=f"Sinusoidal positional encoding ({encoding.shape[0]} positions × "
                                  f"{encoding.shape[1]} dims)",
                  x_title="embedding dimension (low → high: fast → slow waves)", y_title="position",
                  cmap="RdBu", vmin=-1, vmax=1, width=6.0, height=4.0)
    return _readable(fig)


def similarity_figure(similarity: np.ndarray) -> Figure:
    fig = heatmap(similarity, title="Cosine similarity between positions", x_title="position", y_title="position",
                  cmap="magma", width=5.0, height=4.0)
    return _readable(fig)

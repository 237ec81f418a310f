"""The Overview tab: where each model family is used, the module's learning goals, and every
shipped model (generated from weights/**/*.json, never typed by hand)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from shared.checkpoints import WEIGHTS_DIR, all_cards
from shared.links import href

# The course module's table "where each model is used": each row, the views that show it
# (a tab, a sub-tab or None, and the button's words; a sub-tab is `gr.Tab(id=f"{tab}-{view}")`).
WHERE_USED = [
    ("RNN", "Basic sequence modelling", "Legacy: mostly replaced", [("memory", None, None)]),
    ("LSTM / GRU", "Time series and speech", "Still used",
     [("forecast", None, None), ("speech", None, None)]),
    ("CNN", "Image tasks", "Standard for vision", [("cnn", None, None)]),
    ("Transformer", "NLP, vision and multimodal systems", "Dominant",
     [("transformer", None, "text"), ("cnn", "vit", "vision"), ("speech", "whisper", "speech")]),
    ("CNN (ten classics)", "From LeNet-5 to ResNeXt: what each architecture added", "Foundations of vision models",
     [("zoo", None, None)]),
    ("Autoencoder · RBM · DBN · SOM · DSN", "Unsupervised representation learning",
     "Autoencoders still used; the rest mostly historical", [("unsupervised", None, None)]),
]

# Each goal: the tab and sub-tab (a `gr.Tab(id=f"{tab}-{view}")`, see shared/links.py) that shows it,
# and that sub-tab's title for the button (None: the tab itself).
LEARNING_GOALS = [
    ("Why sequence models are needed", "memory", None, None),
    ("What sequential data is", "forecast", None, None),
    ("The basic idea of RNNs", "memory", None, None),
    ("Why LSTM and GRU were introduced", "memory", None, None),
    ("The intuition behind attention", "transformer", "attention", "Attention"),
    ("The high-level idea of Transformers", "transformer", "gpt", "Tiny GPT"),
    ("Why transformers replaced RNNs (parallel, long range)", "memory", None, None),
    ("Transformers beyond text: images", "cnn", "vit", "Vision transformer"),
    ("Transformers beyond text: speech", "speech", "whisper", "Whisper"),
    ("Pretrained models and transfer learning", "cnn", "teach", "Teach"),
    ("How modern deep-learning systems are built", "speech", None, None),
    ("Supervised and unsupervised deep architectures", "unsupervised", None, None),
]

# "Start here": the module's own order (sequential data → RNN → LSTM/GRU → attention → transformers
# → pretrained models), each step a deep link to its sub-tab and one line on what to look for.
START_HERE = [
    ("Sequential data: forecast a series", "forecast", None,
     "Pick CO₂ or sunspots: the forecast is scored on the last points, hidden from the models; "
     "MASE below 1 beats repeating the last season."),
    ("RNN vs LSTM vs GRU: which one remembers?", "memory", None,
     "Raise the gap L: the plain RNN falls to guessing (12.5 %) while the LSTM and GRU keep the first "
     "letter; the gradient plot shows why."),
    ("Attention: what each word looks at", "transformer", "attention",
     "Try \"The dog chased the ball because it was excited\": which heads make \"it\" look at \"dog\"?"),
    ("A tiny GPT writes text", "transformer", "gpt",
     "Each new token is drawn from the probabilities shown, and can only attend to the tokens "
     "before it; temperature 0 always takes the top one."),
    ("Pretrained models: teach a CNN new classes", "cnn", "teach",
     "A pretrained CNN learns a new class from a few pictures; the same network trained from "
     "scratch on them does not."),
    ("Pretrained transformer: sentiment", "transformer", "sentiment",
     "The fine-tuned MiniLM against the same frozen model with only a linear head on top."),
    ("A transformer for images", "cnn", "vit",
     "The vision transformer cuts the picture into patches; see which patches the class token used, "
     "and how it needs more training images than the CNN to catch up."),
    ("A pretrained speech transformer", "speech", "whisper",
     "Say a sentence: Whisper writes it down, and the map shows which moments of sound each word "
     "attended to. Then compare it with the small models trained here on the ten command words."),
]

INTRO = """# Deep-learning architectures gallery
Try each model family of the module *sequence models and modern architectures* on real data,
and look inside it. Every model here was trained by this project (or, where marked, is a
published pretrained model) and runs on your CPU, offline."""


def models_table() -> pd.DataFrame:
    """One row per shipped checkpoint, read from its model card."""
    rows = []
    for card in all_cards(WEIGHTS_DIR):
        metrics = card.get("metrics", {})
        headline = card.get("headline_metric") or next(iter(metrics), "")
        rows.append({
            "tab": card["tab"],
            "model": card.get("name", card.get("file")),
            "params": f"{card.get('params', 0):,}",
            "size (MB)": round(card.get("size_bytes", 0) / 1e6, 2),
            "training data": _short(card.get("data", "")),
            "headline metric": headline_text(headline, metrics.get(headline, "")),
        })
    return pd.DataFrame(rows, columns=["tab", "model", "params", "size (MB)", "training data", "headline metric"])


def _short(text: str, limit: int = 90) -> str:
    """The start of a card's long data description (the full text is in the tab's model cards)."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def headline_text(name: str, value) -> str:
    """A card's headline metric in words: `test_accuracy` 0.9354 → "test accuracy 93.5 %",
    `backtest_MASE_lstm` 0.2609 → "backtest MASE lstm 0.26"."""
    words = name.replace("_", " ")
    if isinstance(value, float) and any(w in name.lower() for w in ("acc", "top1", "coverage")) and 0 <= value <= 1:
        return f"{words} {value:.1%}".replace("%", " %")
    if isinstance(value, float):
        return f"{words} {value:.3g}"
    return f"{words} {value}".strip()


def start_here(titles: dict[str, str]) -> str:
    """The "Start here" list (Markdown): each step a deep link, or plain text if its tab is absent."""
    lines = ["## Start here\nA suggested order for a first visit or a workshop hour. Each link opens "
             "the exact view (a workshop host can put it on a slide)."]
    for i, (step, tab, view, look_for) in enumerate(START_HERE, 1):
        name = f"[{step}]({href(tab, view)})" if tab in titles else f"{step} *(not in this build)*"
        lines.append(f"{i}. **{name}**  \n   {look_for}")
    return "\n".join(lines)


def build(tabs: gr.Tabs, titles: dict[str, str]) -> list[tuple[gr.Button, str, str | None]]:
    """Build the Overview inside the current gr.Tab; `titles` maps present tab names to titles.
    Returns its "Open …" buttons with the tab and sub-tab each opens (app.py wires them with
    shared.links.wire, once every tab exists)."""
    gr.Markdown(INTRO)
    gr.Markdown(start_here(titles), elem_id="start-here")
    buttons: list[tuple[gr.Button, str, str | None]] = []
    gr.Markdown("## Where each model is used")
    for family, use, status, views in WHERE_USED:
        with gr.Row(equal_height=True):
            with gr.Column(scale=1, min_width=220):  # on a phone the buttons wrap below the text
                gr.Markdown(f"**{family}** · {use} · *{status}*")
            for tab_name, view, words in views:
                title = titles.get(tab_name) and (f"{words}: {titles[tab_name]}" if words else titles[tab_name])
                _open_button(tab_name, view, title, buttons, min_width=200 if words else 300)
    gr.Markdown("## Learning goals, and where to see each one")
    for goal, tab_name, view, view_title in LEARNING_GOALS:
        with gr.Row(equal_height=True):
            with gr.Column(scale=1, min_width=220):
                gr.Markdown(goal)
            title = titles.get(tab_name) and (f"{titles[tab_name]} › {view_title}" if view else titles[tab_name])
            _open_button(tab_name, view, title, buttons)
    gr.Markdown("## Shipped models\nGenerated from the model cards in `weights/`.")
    gr.Dataframe(models_table(), interactive=False, wrap=True)
    return buttons


def _open_button(tab_name: str, view: str | None, title: str | None,
                 buttons: list[tuple[gr.Button, str, str | None]], min_width: int = 300) -> None:
    if title is None:
        gr.Markdown("*(tab not in this build)*")
        return
    buttons.append((gr.Button(f"Open {title} →", size="sm", scale=0, min_width=min_width), tab_name, view))

"""The Overview tab: where each model family is used, the module's learning goals, and every
shipped model (generated from weights/**/*.json, never typed by hand)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from shared.checkpoints import WEIGHTS_DIR, all_cards
from shared.links import href

# The course module's table "where each model is used", each row pointing at the tab that shows it.
WHERE_USED = [
    ("RNN", "Basic sequence modelling", "Legacy: mostly replaced", "memory"),
    ("LSTM / GRU", "Time series and speech", "Still used", "forecast"),
    ("LSTM / GRU", "Speech commands", "Still used", "speech"),
    ("CNN", "Image tasks", "Standard for vision", "cnn"),
    ("Transformer", "NLP, vision and multimodal systems", "Dominant", "transformer"),
    ("Transformer (speech)", "Speech recognition: Whisper tiny.en, pretrained, text attending to sound",
     "Dominant", "speech"),
    ("CNN (ten classics)", "From LeNet-5 to ResNeXt: what each architecture added", "Foundations of vision models", "zoo"),
    ("Autoencoder · RBM · DBN · SOM · DSN", "Unsupervised representation learning",
     "Autoencoders still used; the rest mostly historical", "unsupervised"),
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
        value = metrics.get(headline, "")
        rows.append({
            "tab": card["tab"],
            "model": card.get("name", card.get("file")),
            "params": f"{card.get('params', 0):,}",
            "size (MB)": round(card.get("size_bytes", 0) / 1e6, 2),
            "training data": card.get("data", ""),
            "headline metric": f"{headline} = {value:.4g}" if isinstance(value, float) else f"{headline} = {value}",
        })
    return pd.DataFrame(rows, columns=["tab", "model", "params", "size (MB)", "training data", "headline metric"])


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
    for family, use, status, tab_name in WHERE_USED:
        with gr.Row(equal_height=True):
            with gr.Column(scale=1, min_width=220):  # on a phone the button wraps below the text
                gr.Markdown(f"**{family}** · {use} · *{status}*")
            _open_button(tab_name, None, titles.get(tab_name), buttons)
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
                 buttons: list[tuple[gr.Button, str, str | None]]) -> None:
    if title is None:
        gr.Markdown("*(tab not in this build)*")
        return
    buttons.append((gr.Button(f"Open {title} →", size="sm", scale=0, min_width=300), tab_name, view))

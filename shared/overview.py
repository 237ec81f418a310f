"""The Overview tab: where each model family is used, the module's learning goals, and every
shipped model (generated from weights/**/*.json, never typed by hand)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from shared.checkpoints import WEIGHTS_DIR, all_cards

# The course module's table "where each model is used", each row pointing at the tab that shows it.
WHERE_USED = [
    ("RNN", "Basic sequence modelling", "Legacy: mostly replaced", "memory"),
    ("LSTM / GRU", "Time series and speech", "Still used", "forecast"),
    ("LSTM / GRU", "Speech commands", "Still used", "speech"),
    ("CNN", "Image tasks", "Standard for vision", "cnn"),
    ("Transformer", "NLP, vision and multimodal systems", "Dominant", "transformer"),
    ("CNN (ten classics)", "From LeNet-5 to ResNeXt: what each architecture added", "Foundations of vision models", "zoo"),
    ("Autoencoder · RBM · DBN · SOM · DSN", "Unsupervised representation learning",
     "Autoencoders still used; the rest mostly historical", "unsupervised"),
]

LEARNING_GOALS = [
    ("Why sequence models are needed", "memory"),
    ("What sequential data is", "forecast"),
    ("The basic idea of RNNs", "memory"),
    ("Why LSTM and GRU were introduced", "memory"),
    ("The intuition behind attention", "transformer"),
    ("The high-level idea of Transformers", "transformer"),
    ("Pretrained models and transfer learning", "cnn"),
    ("How modern deep-learning systems are built", "speech"),
    ("Supervised and unsupervised deep architectures", "unsupervised"),
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


def build(tabs: gr.Tabs, titles: dict[str, str]) -> None:
    """Build the Overview inside the current gr.Tab; `titles` maps present tab names to titles."""
    gr.Markdown(INTRO)
    buttons: dict[str, list[gr.Button]] = {}
    gr.Markdown("## Where each model is used")
    for family, use, status, tab_name in WHERE_USED:
        with gr.Row(equal_height=True):
            gr.Markdown(f"**{family}** · {use} · *{status}*")
            _open_button(tab_name, titles, buttons)
    gr.Markdown("## Learning goals, and where to see each one")
    for goal, tab_name in LEARNING_GOALS:
        with gr.Row(equal_height=True):
            gr.Markdown(goal)
            _open_button(tab_name, titles, buttons)
    for tab_name, tab_buttons in buttons.items():
        # Navigation only: private, so it stays out of the documented API.
        gr.on([b.click for b in tab_buttons], lambda name=tab_name: gr.Tabs(selected=name),
              outputs=tabs, api_name=f"open_{tab_name}", api_visibility="private", queue=False)
    gr.Markdown("## Shipped models\nGenerated from the model cards in `weights/`.")
    gr.Dataframe(models_table(), interactive=False, wrap=True)


def _open_button(tab_name: str, titles: dict[str, str], buttons: dict[str, list[gr.Button]]) -> None:
    if tab_name not in titles:
        gr.Markdown("*(tab not in this build)*")
        return
    buttons.setdefault(tab_name, []).append(
        gr.Button(f"Open {titles[tab_name]} →", size="sm", scale=0, min_width=240))

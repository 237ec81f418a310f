"""UI helpers every tab uses: explainer text, the model-card accordion, one style of error.

Only tab.py files import this module (infer.py stays free of Gradio).
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

import gradio as gr

from shared.checkpoints import _rel, read_card, verify_checkpoint
from shared.errors import BadInput, CheckpointError
from shared.lazy import import_model_code

log = logging.getLogger("gallery")


def explainer(markdown: str) -> gr.Markdown:
    """The short 'what am I looking at' text under a tab's title or next to a plot."""
    return gr.Markdown(markdown, elem_classes=["explainer"])


def error_message(exc: BaseException, action: str) -> str:
    """One style for every message a user sees when something goes wrong."""
    if isinstance(exc, (BadInput, CheckpointError)):
        return shown_text(str(exc))
    return shown_text(f"{action} failed unexpectedly ({type(exc).__name__}: {exc}). "
                      "The app is still running; try another input.")


def user_error(message: str) -> gr.Error:
    """A gr.Error whose message may quote the user's input (a file name, a value)."""
    return gr.Error(shown_text(message), print_exception=False)


def shown_text(message: str) -> str:
    """Gradio renders an error toast as HTML: a quoted `<img src=…>` or `<b>` from the user would
    render, and a right-to-left override (U+202E) in a file name would reverse what follows it.
    Both are shown as plain characters instead."""
    message = "".join(c for c in message if unicodedata.category(c) != "Cf" or c in "\u200d")
    return html.escape(message, quote=False)


def guard(action: str) -> Callable:
    """Decorator for event handlers: every failure becomes a clear gr.Error, never a traceback.

    BadInput/CheckpointError messages go to the user as they are; anything else is logged with
    its traceback on the server and reported in one sentence. Works for generator handlers
    (live training) too. `action` names what the user asked for: "Classifying the image".
    """

    def decorate(fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                try:
                    import_model_code()
                    yield from fn(*args, **kwargs)
                except gr.Error:
                    raise
                except Exception as exc:  # noqa: BLE001 - the point is to catch everything
                    _log(exc, action)
                    raise gr.Error(error_message(exc, action), print_exception=False) from None
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                import_model_code()
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001
                _log(exc, action)
                raise gr.Error(error_message(exc, action), print_exception=False) from None
        return wrapper

    return decorate


def selected_index(evt: gr.SelectData | None, what: str):
    """The index a click selected. An API caller who calls a click handler directly sends no
    click: say what the event is for instead of failing on a missing index."""
    index = getattr(evt, "index", None)
    if index is None:
        raise BadInput(f"This event comes from clicking {what} in the page; it takes no input of its own.")
    return index


def _log(exc: BaseException, action: str) -> None:
    if isinstance(exc, BadInput):
        log.info("%s: bad input: %s", action, exc)
    else:
        log.exception("%s failed", action)


def checkpoint_problems(paths: Iterable[str | Path]) -> list[str]:
    """Messages for every checkpoint that is missing or fails its sha256 (empty when all good)."""
    problems = []
    for path in paths:
        try:
            verify_checkpoint(path)
        except CheckpointError as e:
            problems.append(str(e))
    return problems


def checkpoint_banner(paths: Iterable[str | Path]) -> bool:
    """Show a warning in the tab for each broken checkpoint; return True when all are fine.

    Only the tab that owns the checkpoint shows it: the rest of the gallery keeps working.
    """
    problems = checkpoint_problems(paths)
    if problems:
        gr.Markdown("\n\n".join(f"⚠️ **This part of the tab cannot run.** {p}" for p in problems),
                    elem_classes=["checkpoint-error"])
    return not problems


def card_markdown(card: dict) -> str:
    """A model card as a short Markdown table (the JSON stays the source of truth)."""
    metrics = card.get("metrics", {})
    metric_text = ", ".join(f"{k}: {_fmt(v)}" for k, v in metrics.items() if not isinstance(v, (dict, list)))
    rows = [
        ("Architecture", card.get("architecture", "")),
        ("Parameters", f"{card.get('params', 0):,}"),
        ("Size", f"{card.get('size_bytes', 0) / 1e6:.2f} MB"),
        ("Training data", card.get("data", "")),
        ("Data license", card.get("data_license", "")),
        ("Held-out metrics", metric_text),
        ("Reproduce with", f"`{card.get('command', '')}`"),
        ("Seed · date", f"{card.get('seed', '')} · {card.get('date', '')}"),
        ("sha256", f"`{str(card.get('sha256', ''))[:16]}…`"),
    ]
    body = "\n".join(f"| {k} | {v} |" for k, v in rows)
    notes = card.get("notes")
    notes = "\n".join(f"- {n}" for n in notes) if isinstance(notes, list) else (notes or "")
    return f"**{card.get('name', card.get('file', 'model'))}**\n\n| | |\n|---|---|\n{body}\n\n{notes}\n"


def model_card_accordion(paths: Iterable[str | Path], label: str = "Model cards") -> gr.Accordion:
    """A closed accordion with each checkpoint's card; a missing card says so instead."""
    with gr.Accordion(label, open=False) as accordion:
        for path in paths:
            try:
                gr.Markdown(card_markdown(read_card(path)))
            except CheckpointError as e:
                gr.Markdown(f"⚠️ {e} ({_rel(Path(path))})")
    return accordion


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

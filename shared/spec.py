"""Numbers a tab offers, written once: the UI's slider or box, the server's check, the docs' range.

    # apps/<tab>/spec.py (torch-free, imported by tab.py, infer.py, data.py and train.py)
    LENGTH = Limit("sequence length L", 3, 400, default=20)
    TEMPERATURE = Limit("temperature", 0.0, 2.0, default=0.8, step=0.05, integer=False)

    # tab.py                                   # infer.py
    length = spec.LENGTH.slider()              L = spec.LENGTH.check(length)
    seed = spec.SEED.number()

`check` follows shared.validate's rule (non-numbers, NaN, infinities and values outside the range
are refused with the range, never clamped). tests/test_specs.py checks that every slider and number
box of every tab was made from its tab's spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import validate


@dataclass(frozen=True)
class Limit:
    label: str
    low: float
    high: float
    default: float
    step: float = 1
    integer: bool = True

    def check(self, value, name: str | None = None) -> int | float:
        """`value` as a number within [low, high]; BadInput with the range otherwise."""
        return validate.number(value, self.low, self.high, name or self.label, integer=self.integer)

    def slider(self, **kwargs):
        """A gr.Slider over this range (kwargs such as label=, value=, info= override)."""
        import gradio as gr

        kwargs.setdefault("label", self.label)
        kwargs.setdefault("value", self.default)
        return gr.Slider(self.low, self.high, step=self.step, **kwargs)

    def number(self, **kwargs):
        """A gr.Number bounded to this range (whole numbers when `integer`)."""
        import gradio as gr

        kwargs.setdefault("label", self.label)
        kwargs.setdefault("value", self.default)
        if self.integer:
            kwargs.setdefault("precision", 0)
        return gr.Number(minimum=self.low, maximum=self.high, step=self.step, **kwargs)

    @property
    def range_text(self) -> str:
        """"1–100" for the README and explainers."""
        return f"{validate._fmt(self.low)}–{validate._fmt(self.high)}"


SEED = Limit("seed", 0, 2**31 - 1, default=0)  # one seed range for every tab
# Every upload (phones send big photos): Gradio refuses a larger file before any handler runs, and
# readers that take files from API callers check it again.
MAX_UPLOAD_BYTES = 25 * 2**20

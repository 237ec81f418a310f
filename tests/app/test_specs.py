"""Every number a tab offers is defined once, in its apps/<tab>/spec.py (shared.spec.Limit): the
slider or box the page shows has exactly the range the server checks."""

from __future__ import annotations

import importlib

import gradio as gr
import pytest

import app
from shared.spec import Limit

TABS = [t.name for t in app.demo.gallery_tabs]


def _limits(module) -> list[Limit]:
    found = []

    def walk(value, depth=0):
        if isinstance(value, Limit):
            found.append(value)
        elif depth < 2 and isinstance(value, dict):
            for v in value.values():
                walk(v, depth + 1)
        elif depth < 2 and isinstance(value, (list, tuple)):
            for v in value:
                walk(v, depth + 1)

    for name in dir(module):
        if not name.startswith("_"):
            walk(getattr(module, name))
    return found


def _numeric_components(tab_id: str) -> list:
    tab = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Tab) and b.id == tab_id)
    found, todo = [], list(tab.children)
    while todo:
        block = todo.pop()
        todo.extend(getattr(block, "children", []) or [])
        if isinstance(block, (gr.Slider, gr.Number)) and block.visible not in (False, "hidden"):
            found.append(block)
    return found


@pytest.mark.parametrize("tab", TABS)
def test_every_slider_and_number_box_comes_from_the_tabs_spec(tab):
    spec = importlib.import_module(f"apps.{tab}.spec")
    ranges = {(float(limit.low), float(limit.high)) for limit in _limits(spec)}
    for component in _numeric_components(tab):
        low, high = component.minimum, component.maximum
        assert low is not None and high is not None, f"{tab}: {component.label!r} has no range"
        assert (float(low), float(high)) in ranges, (
            f"{tab}: {component.label!r} offers {low}..{high}, which no Limit in apps/{tab}/spec.py defines")


def test_a_limit_checks_what_its_slider_offers():
    limit = Limit("temperature", 0.0, 2.0, default=0.8, step=0.05, integer=False)
    slider = limit.slider()
    assert (slider.minimum, slider.maximum, slider.value, slider.step) == (0.0, 2.0, 0.8, 0.05)
    assert limit.check(2.0) == 2.0
    from shared.errors import BadInput

    for bad in (2.01, float("nan"), "hot", None):
        with pytest.raises(BadInput, match="from 0 to 2"):
            limit.check(bad)
    box = Limit("seed", 0, 99, default=3).number()
    assert (box.minimum, box.maximum, box.value, box.precision) == (0, 99, 3, 0)

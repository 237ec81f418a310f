"""shared.arrival: a tab's default views are computed once per server and shown on first opening."""

from __future__ import annotations

import gradio as gr
import pytest

from shared import arrival
from shared.plots import new_figure


@pytest.fixture
def registry():
    saved = dict(arrival._by_tab)
    yield
    arrival._by_tab.clear()
    arrival._by_tab.update(saved)
    arrival._building.clear()


def test_views_are_computed_once_and_figures_are_sent_encoded(registry):
    calls = []

    def default_views():
        calls.append(1)
        fig, ax = new_figure()
        ax.plot([0, 1], [1, 0])
        return "answer", fig

    arrival.show(default_views, [gr.Textbox(render=False), gr.Plot(render=False)])
    arrival.collect("demo-tab")
    first = arrival.values_for("demo-tab")
    second = arrival.values_for("demo-tab")
    assert len(calls) == 1
    assert first[0] == second[0] == "answer"
    assert first[1].type == "matplotlib" and first[1].plot.startswith("data:image/")
    assert first[1] is not second[1]  # each visitor gets its own copy of the encoded figure


def test_a_failing_view_is_skipped_and_tried_again_later(registry):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("model not loaded yet")
        return "ok"

    arrival.show(flaky, gr.Textbox(render=False))
    arrival.collect("flaky-tab")
    assert arrival.values_for("flaky-tab") != ["ok"]  # skipped: the component keeps what it shows
    assert arrival.values_for("flaky-tab") == ["ok"]
    assert len(attempts) == 2


def test_a_wrong_number_of_values_is_an_error_not_a_silent_mismatch(registry):
    arrival.show(lambda: ("a", "b", "c"), [gr.Textbox(render=False), gr.Textbox(render=False)])
    arrival.collect("bad-tab")
    values = arrival.values_for("bad-tab")  # logged and skipped: the components keep what they show
    assert len(values) == 2 and all(not isinstance(v, str) for v in values)

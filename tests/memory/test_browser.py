"""The memory tab in a browser (Playwright + Chromium): what a learner sees on arrival, live curves
that grow while the models train, and a page that reads on a phone."""

from __future__ import annotations

import time

import pytest

from tests.conftest import open_tab, plot_labels_over_figures

TAB = "#tab-memory"
PLOT_IMAGES = f"() => [...document.querySelectorAll('{TAB} .matplotlib img')].filter(i => i.src.startsWith('data:image')).length"


def test_arrival_shows_the_default_answers_and_pictures(page, artifacts):
    """Before any click: a sample, the shipped curves, the inspected answers and the three plots."""
    open_tab(page, "RNN vs LSTM vs GRU")
    page.get_by_text("Which letter came first?").first.wait_for(timeout=10_000)
    tab = page.locator(TAB)
    tab.get_by_text("top guesses").first.wait_for(timeout=120_000)      # the default inspection's table
    tab.get_by_text("Error signal that reaches t = 0").wait_for(timeout=30_000)
    assert tab.get_by_text("(the decoy is").count() > 0                  # the default sample
    page.wait_for_function(f"({PLOT_IMAGES})() >= 4", timeout=30_000)    # curves, gradient, states, gates
    assert plot_labels_over_figures(page, TAB) == []
    page.screenshot(path=str(artifacts / "memory-arrival-1280.png"), full_page=True)
    assert not [e for e in page.console_errors if "memory" in e.lower()]


def test_tab_ui_shows_sample_and_results(page):
    open_tab(page, "RNN vs LSTM vs GRU")
    page.get_by_text("Which letter came first?").first.wait_for(timeout=10_000)
    assert page.get_by_text("order-blind bag").count() > 0
    assert page.get_by_text("Why transformers replaced RNNs").count() > 0
    assert page.get_by_text("Measured parallelism").count() > 0
    assert page.get_by_text("Results of the shipped models").count() > 0
    # The shipped table's eight columns all fit (beside the plot, the 1-D CNN's was cut off).
    cut_off = page.evaluate("""() => {
        const header = [...document.querySelectorAll('#tab-memory .prose table th')]
            .find(th => th.innerText.includes('1-D CNN'));
        const box = header.closest('.prose').getBoundingClientRect(), cell = header.getBoundingClientRect();
        return cell.right > box.right + 1 || cell.right > window.innerWidth;
    }""")
    assert not cut_off
    page.get_by_role("button", name="Show a sample").click()
    page.get_by_text("answer").first.wait_for(timeout=30_000)
    # Inspect: the answers table first, then the chained explanation fills in the three figures.
    tab = page.locator(TAB)
    tab.get_by_role("button", name="Inspect", exact=True).click()
    tab.get_by_text("top guesses").first.wait_for(timeout=30_000)
    tab.get_by_text("Error signal that reaches t = 0").wait_for(timeout=60_000)
    page.wait_for_function(f"({PLOT_IMAGES})() >= 3", timeout=30_000)
    assert plot_labels_over_figures(page, TAB) == []  # the badges once hid the figures' titles
    assert not [e for e in page.console_errors if "memory" in e.lower()]


def _set_number(page, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_live_curves_grow_while_training(page, artifacts):
    """The curves the server streams are on the page while the run trains, not hidden under a
    progress overlay until it ends: the loss plot's picture changes at least twice before 'Done'."""
    open_tab(page, "RNN vs LSTM vs GRU")
    page.get_by_text("Train them yourself").first.wait_for(timeout=10_000)
    # One small model at the shortest L: many steps, so many updates, even on a busy CPU.
    _set_number(page, "memory-live-length", 5)
    _set_number(page, "memory-live-seconds", 20)
    for name in ("vanilla RNN", "LSTM"):
        page.locator("#memory-live-models").get_by_label(name, exact=True).uncheck()
    page.locator(TAB).get_by_role("button", name="Train", exact=True).click()
    page.evaluate("document.querySelector('#memory-live-status').scrollIntoView({block: 'start'})")
    seen, overlays, shot = [], 0, False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = page.evaluate("""() => {
            const img = document.querySelector('#memory-live-loss .matplotlib img');
            const status = document.querySelector('#memory-live-status').innerText;
            const covered = [...document.querySelectorAll('#memory-live-loss .wrap, #memory-live-accuracy .wrap')]
                .some(w => w.offsetParent !== null && w.getBoundingClientRect().height > 40
                           && !w.classList.contains('hide'));
            return {src: img ? img.src : null, status, covered};
        }""")
        if state["status"].startswith("✅"):
            break
        overlays += state["covered"]
        if state["src"] and (not seen or seen[-1] != state["src"]):
            seen.append(state["src"])
            if len(seen) == 2 and not shot:
                page.screenshot(path=str(artifacts / "memory-live-training.png"), full_page=False)
                shot = True
        page.wait_for_timeout(250)
    else:
        raise AssertionError("the live run did not finish")
    assert len(seen) >= 3, f"the loss curve changed {len(seen) - 1} times before the run ended"
    assert overlays == 0  # no progress overlay on the curves
    assert "held-out accuracy" in state["status"].lower()
    assert not [e for e in page.console_errors if "memory" in e.lower()]


@pytest.mark.parametrize("screen", [(390, 844, 2), (853, 480, 1.5)], ids=["phone-390", "projector-150pct"])
def test_readable_on_a_phone_and_a_projector(browser, gallery, artifacts, screen):
    """At 390 px (a phone) and 1280 x 720 at 150 % zoom (a projector): nothing wider than the screen
    (tables scroll inside themselves), and every figure shown at >= 72 % of its drawn size, so its
    11 pt text (15.3 px drawn at 100 dpi) stays >= 11 px."""
    width, height, scale = screen
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
    page = context.new_page()
    try:
        page.goto(gallery)
        page.wait_for_selector("button[role='tab']", timeout=120_000)  # a busy CPU serves the page slowly
        open_tab(page, "RNN vs LSTM vs GRU")
        page.locator(TAB).get_by_text("top guesses").first.wait_for(timeout=120_000)
        page.wait_for_function(f"({PLOT_IMAGES})() >= 4", timeout=30_000)
        shown = page.evaluate("""() => ({page: document.documentElement.scrollWidth, screen: window.innerWidth,
            figures: [...document.querySelectorAll('#tab-memory img')].filter(i => i.naturalWidth > 200)
                     .map(i => [i.getBoundingClientRect().width / i.naturalWidth, i.alt || i.src.slice(0, 40)])})""")
        assert shown["page"] <= shown["screen"] + 1, shown
        assert len(shown["figures"]) >= 5 and all(s >= 0.72 for s, _ in shown["figures"]), shown["figures"]
        assert plot_labels_over_figures(page, TAB) == []  # a label wrapped to two lines covers a title
        page.screenshot(path=str(artifacts / f"memory-{width}px.png"), full_page=True)
    finally:
        context.close()

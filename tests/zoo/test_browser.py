"""The zoo tab in a real browser: the default architecture's table is there on arrival, and a digit
drawn with the mouse on the Sketchpad is read by LeNet-5 (checks the drawing's real polarity and
format end to end)."""

from __future__ import annotations

import re

from tests.conftest import app_errors, draw_stroke, open_tab


def test_draw_a_one_and_lenet_reads_it(page, artifacts):
    open_tab(page, "Architecture zoo")
    page.get_by_text("25,557,032").first.wait_for(timeout=90_000)  # ResNet-50, shown on arrival

    page.get_by_role("tab", name="LeNet-5 reads your digit").click()

    canvas = page.locator("#tab-zoo canvas").first
    canvas.scroll_into_view_if_needed()
    # Gradio 6's Sketchpad starts with no tool selected: pick the brush as a user would
    page.locator("#tab-zoo").get_by_role("button", name=re.compile("brush", re.I)).first.click()
    page.wait_for_timeout(300)
    box = canvas.bounding_box()
    assert box is not None
    # a thick vertical stroke in the middle: a "1"
    x = box["x"] + box["width"] * 0.5
    draw_stroke(page, [(x, box["y"] + box["height"] * 0.2), (x, box["y"] + box["height"] * 0.8)], steps=20)
    page.get_by_role("button", name="Classify").click()
    label = page.locator("#tab-zoo .output-class").first
    try:
        label.wait_for(timeout=90_000)
    finally:
        page.screenshot(path=str(artifacts / "zoo_digit.png"), full_page=True)
    assert label.inner_text().strip() == "1"
    assert not app_errors(page)


def test_the_comparison_is_there_on_arrival_and_fits_a_phone(browser, gallery, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(gallery + "/?tab=zoo&view=compare")
        page.locator("#tab-zoo .matplotlib img").first.wait_for(timeout=90_000)
        page.get_by_text("ResNeXt-50 (32×4d)").first.wait_for(timeout=30_000)
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('#tab-zoo .block')]"
                               ".filter(b => b.offsetParent !== null).map(b => b.getBoundingClientRect().right))")
        page.screenshot(path=str(artifacts / "zoo_compare_phone.png"), full_page=True)
        assert widest <= 390 + 1
    finally:
        context.close()


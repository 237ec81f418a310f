"""The zoo tab in a real browser: a layer table appears, and a digit drawn with the mouse on the
Sketchpad is read by LeNet-5 (checks the drawing's real polarity and format end to end)."""

from __future__ import annotations

import re

from tests.conftest import app_errors, draw_stroke, open_tab


def test_draw_a_one_and_lenet_reads_it(page, artifacts):
    open_tab(page, "Architecture zoo")
    page.get_by_role("button", name="Describe").click()
    page.get_by_text("25,557,032").first.wait_for(timeout=60_000)

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


def test_click_on_the_latent_map_decodes_that_point(page, artifacts):
    open_tab(page, "Unsupervised family")
    page.get_by_role("button", name="Draw the latent map").click()
    scatter = page.locator("#tab-unsupervised img").first
    scatter.wait_for(timeout=90_000)
    box = scatter.bounding_box()
    assert box is not None
    # a point inside the axes (left 10%..72%, bottom 10%..94% of the figure)
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    z1 = page.get_by_label("z₁")
    page.wait_for_function("el => el.value !== '0'", arg=z1.element_handle(), timeout=90_000)
    page.get_by_text("Nearest held-out images are").first.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "unsupervised_latent.png"), full_page=False)
    assert float(z1.input_value()) != 0.0

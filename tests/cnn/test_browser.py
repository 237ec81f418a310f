"""CNN tab in the browser: every view shows its default answer on opening, the feature maps are
readable without scrolling, the sketchpad draws at once and again after Clear, and the ViT view opens."""

from __future__ import annotations

import pytest

from tests.conftest import draw_stroke

SEVEN = [(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.65, 0.45), (0.55, 0.65), (0.45, 0.85)]


@pytest.fixture
def cnn_page(browser, gallery):
    """A fresh page opened on the CNN tab by its deep link (patient: the whole gallery serves it on a
    shared 2-core machine); page errors are collected in page.errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(gallery + "/?tab=cnn", timeout=120_000)
    page.wait_for_selector("button[role='tab'][data-tab-id='cnn-classify'][aria-selected='true']")
    yield page
    context.close()


def _draw(page, points) -> None:
    """Drag the mouse through `points`, (u, v) in [0, 1] of the sketchpad's white drawing square."""
    canvas = page.locator("#cnn-sketch canvas").first
    canvas.wait_for(state="visible", timeout=60_000)
    box = canvas.bounding_box()
    # The white 280x280 square sits centred in the canvas element, scaled to fit its height.
    side = 0.8 * min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    draw_stroke(page, [(left + u * side, top + v * side) for u, v in points])


def _answer(page, selector: str, timeout: int = 120_000) -> str:
    page.wait_for_function(f"() => document.querySelector({selector!r})?.innerText.trim()", timeout=timeout)
    return page.locator(selector).first.inner_text().strip()


def test_browser_draw_a_digit_at_once_and_again_after_clear(cnn_page, artifacts):
    """No brush to pick first: the first stroke draws; after Clear the next one draws too. The
    answer is titled with the model that gave it (the digits CNN, not the photo tab's choice)."""
    page = cnn_page
    brush_picked = "() => document.querySelector(\"#cnn-sketch button[aria-label='Brush']\")?.classList.contains('highlight')"
    page.get_by_role("tab", name="Draw a digit").click()
    page.wait_for_function(brush_picked, timeout=60_000)
    _draw(page, SEVEN)
    page.locator("#cnn-sketch-btn").click()
    label = "#cnn-label .output-class"
    page.wait_for_function(f"() => document.querySelector({label!r})?.innerText.trim() === '7'", timeout=120_000)
    page.wait_for_function("() => document.querySelector('#cnn-label').innerText.includes('Handwritten digits CNN')",
                           timeout=60_000)
    page.locator("#cnn-sketch button[aria-label='Clear canvas']").first.click()
    page.wait_for_timeout(300)
    page.wait_for_function(brush_picked, timeout=60_000)
    _draw(page, [(0.5, 0.15), (0.5, 0.5), (0.5, 0.85)])  # a "1"
    page.locator("#cnn-sketch-btn").click()
    try:
        page.wait_for_function(f"() => document.querySelector({label!r})?.innerText.trim() === '1'", timeout=120_000)
    finally:
        page.screenshot(path=str(artifacts / "cnn_sketch.png"), full_page=True)
    assert not page.errors


def test_browser_classify_view_shows_the_default_example_and_compact_feature_maps(cnn_page, artifacts):
    page = cnn_page
    answer = _answer(page, "#cnn-label .output-class")  # no click: the arrival views
    assert answer in {"palace", "monastery", "bell cote", "church", "castle"}
    page.wait_for_function("() => document.querySelectorAll('#cnn-stages img').length >= 6", timeout=120_000)
    page.locator("#cnn-stages").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "cnn_classify_arrival.png"), full_page=True)
    layout = page.evaluate("""() => {
        const g = document.querySelector('#cnn-stages');
        const scrollers = [...g.querySelectorAll('*')].filter(e => e.scrollHeight > e.clientHeight + 4
            && ['auto', 'scroll'].includes(getComputedStyle(e).overflowY));
        const top = g.getBoundingClientRect().top;
        const imgs = [...g.querySelectorAll('img')].map(i => i.getBoundingClientRect());
        return {scrollers: scrollers.length, firstTop: imgs[0].top - top, height: g.getBoundingClientRect().height,
                smallest: Math.min(...imgs.map(r => r.width))};
    }""")
    assert layout["scrollers"] == 0, layout                # no scroll box inside the gallery
    assert layout["firstTop"] < 120, layout                # the first grid is at the top, not 400 px down
    assert layout["height"] < 1200 and layout["smallest"] >= 150, layout  # six grids, each readable
    assert not page.errors


def test_browser_teach_view_shows_the_example_set_on_opening(cnn_page):
    page = cnn_page
    page.get_by_role("tab", name="Teach it new classes").click()
    page.wait_for_function("() => document.querySelectorAll('#cnn-class-images-1 img').length === 16", timeout=120_000)
    assert page.locator("#cnn-class-name-1 input").input_value() == "trousers"
    assert "Train both" in page.locator("#cnn-teach-report").inner_text()
    assert not page.errors


@pytest.mark.parametrize("width", [1280, 390])
def test_browser_vision_transformer_view_opens_with_its_answer(browser, gallery, artifacts, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(gallery + "/?tab=cnn&view=vit")
        page.wait_for_selector("button[role='tab'][data-tab-id='cnn-vit'][aria-selected='true']", timeout=120_000)
        answer = _answer(page, "#cnn-vit-label .output-class")
        assert answer in {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                          "Bag", "Ankle boot"}
        page.wait_for_function("() => document.querySelector('#cnn-vit-rollout img') && "
                               "document.querySelector('#cnn-vit-positions img')", timeout=120_000)
        page.screenshot(path=str(artifacts / f"cnn_vit_{width}.png"), full_page=True)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than a {width} px screen"
        assert not errors
    finally:
        context.close()

"""Transformer tab in a real browser: every view answers on opening, the attention explorer starts
on "it" and its grid picks out the heads linking it -> dog, figures stay readable on a phone.

Run: python -m pytest tests/transformer/test_browser.py -x -q
"""

from __future__ import annotations

from tests.conftest import app_errors, open_tab

DOG = "The dog chased the ball because it was excited"
VISIBLE_PLOTS = ("() => [...document.querySelectorAll('#tab-transformer img')]"
                 ".filter(i => i.src.startsWith('data:image') && i.offsetParent !== null).length")


def _wait_for_text(page, text: str, timeout: int) -> None:
    """Wait until `text` is shown (innerText leaves hidden elements out)."""
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=text, timeout=timeout)


def _open_view(page, name: str) -> None:
    open_tab(page, "Transformers")
    page.get_by_role("tab", name=name).click()


def test_attention_explorer_opens_on_it_and_the_grid_links_it_to_dog(page, artifacts):
    _open_view(page, "Attention explorer")
    try:  # no click: the arrival views
        _wait_for_text(page, "its top word is dog", 240_000)
        _wait_for_text(page, "heads link it → dog", 240_000)
    finally:
        page.screenshot(path=str(artifacts / "attention_heads_page.png"), full_page=True)
    # The heads with a wide margin on every CPU (tests/transformer/test_infer.py) are named, and the
    # map beside the grid opens on the strongest of them.
    summary = page.locator("#tab-transformer").inner_text()
    assert all(head in summary for head in ("L3 H6", "L5 H5", "L5 H12")), summary[-2000:]
    assert "L6 H12 (100%)" in summary.split("Not coreference")[1]  # every token -> dog: not a link
    assert page.locator("#tab-transformer").get_by_label("Sentence").input_value() == DOG
    grid = page.locator("#attention-heads-grid img").first
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()
    assert grid.evaluate("img => img.complete && img.naturalWidth > 800 && img.src.startsWith('data:image')")
    # Drawn at its natural size: labels of 9 pt at 100 dpi are 12.5 px on the page.
    scale = grid.evaluate("img => img.getBoundingClientRect().width / img.naturalWidth")
    assert abs(scale - 1) < 0.02, scale
    grid.screenshot(path=str(artifacts / "attention_heads_grid.png"))

    # Hiding [CLS]/[SEP] redraws the grid and says the rest is renormalised.
    page.get_by_label("Hide [CLS]/[SEP]").check()
    _wait_for_text(page, "[CLS]/[SEP] are hidden", 120_000)
    assert not app_errors(page)


def test_clicking_a_token_makes_it_the_token_that_looks(page, artifacts):
    _open_view(page, "Attention explorer")
    _wait_for_text(page, "it attends most to", 240_000)
    page.locator("#tab-transformer").get_by_text("ball", exact=True).first.click()
    _wait_for_text(page, "ball attends most to", 240_000)
    page.screenshot(path=str(artifacts / "transformer_attention.png"), full_page=True)


def test_on_a_phone_the_grid_scrolls_inside_its_box_at_readable_size(browser, gallery, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(gallery + "/?tab=transformer&view=attention")
        _wait_for_text(page, "heads link it → dog", 240_000)
        grid = page.locator("#attention-heads-grid img").first
        grid.scroll_into_view_if_needed()
        box = page.locator("#attention-heads-grid .matplotlib").first
        sizes = box.evaluate("""b => ({box: b.getBoundingClientRect().width, scroll: b.scrollWidth,
            overflow: getComputedStyle(b).overflowX, page: document.documentElement.scrollWidth,
            img: b.querySelector('img').getBoundingClientRect().width, natural: b.querySelector('img').naturalWidth})""")
        page.screenshot(path=str(artifacts / "attention_heads_phone.png"), full_page=False)
        assert sizes["box"] <= 390 and sizes["overflow"] in ("auto", "scroll"), sizes
        assert sizes["scroll"] > sizes["box"] and abs(sizes["img"] - sizes["natural"]) < 2, sizes  # not shrunk
        assert sizes["page"] <= 392, sizes  # the page itself does not scroll sideways
    finally:
        context.close()


def test_every_view_answers_on_opening(page, artifacts):
    _open_view(page, "Sentiment")
    page.get_by_text("Fine-tuned MiniLM (served)").first.wait_for(timeout=60_000)
    _wait_for_text(page, "positive", 240_000)
    _open_view(page, "Tiny GPT")
    output = page.get_by_label("Generated text")
    page.wait_for_function("el => el.value.startsWith('The secret of life is') && el.value.length > 21",
                           arg=output.element_handle(), timeout=240_000)
    page.wait_for_function(VISIBLE_PLOTS + " >= 2", timeout=240_000)
    _open_view(page, "Positional encoding")
    page.wait_for_function(VISIBLE_PLOTS + " >= 2", timeout=240_000)
    page.screenshot(path=str(artifacts / "transformer_positions.png"), full_page=True)
    assert not app_errors(page)


def test_comparison_table_shows_every_figure_without_scrolling(page):
    """A long approach name once pushed the accuracy column off-screen."""
    open_tab(page, "Transformers")
    table = page.locator("#tab-transformer .table-container").filter(has_text="trained from scratch").first
    table.wait_for(timeout=60_000)
    shown = table.evaluate("""t => { const box = t.querySelector('.table-wrap').getBoundingClientRect();
        return [...t.querySelectorAll('th')].map(th => [th.innerText.trim(), th.getBoundingClientRect().right <= box.right + 1]); }""")
    headers = {name: visible for name, visible in shown if name}
    assert "accuracy on new sentences" in headers and all(headers.values()), headers


def test_generation_in_the_browser(page, artifacts):
    """Generate shows the text first; the two figures of that text fill in right after."""
    _open_view(page, "Tiny GPT")
    page.get_by_label("seed").fill("3")
    page.get_by_role("button", name="Generate").click()
    output = page.get_by_label("Generated text")
    page.wait_for_function("el => el.value.startsWith('The secret of life is') && el.value.length > 21",
                           arg=output.element_handle(), timeout=240_000)
    page.wait_for_function(VISIBLE_PLOTS + " >= 2", timeout=240_000)
    page.screenshot(path=str(artifacts / "transformer_generation.png"), full_page=True)
    assert not app_errors(page)

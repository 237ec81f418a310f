"""The attention explorer's heads grid in a real browser (issue 19): the token that looks starts on
the question word, one click draws all 72 heads, and the grid picks out the heads linking it -> dog."""

from __future__ import annotations

from tests.conftest import app_errors, open_tab

DOG = "The dog chased the ball because it was excited"


def _wait_for_text(page, text: str, timeout: int) -> None:
    """Wait until `text` is shown (innerText leaves hidden elements out)."""
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=text, timeout=timeout)


def test_heads_grid_for_it_links_it_to_dog(page, artifacts):
    open_tab(page, "Transformers")
    page.get_by_role("tab", name="Attention explorer").click()
    sentence = page.locator("#tab-transformer").get_by_label("Sentence")
    sentence.fill(DOG)
    page.get_by_role("button", name="Show attention").click()
    try:
        _wait_for_text(page, "it attends most to", 240_000)  # the default token is "it"
        _wait_for_text(page, "heads link it → dog", 240_000)
    finally:
        page.screenshot(path=str(artifacts / "attention_heads_page.png"), full_page=True)
    grid = page.locator("#attention-heads-grid img").first
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()
    assert grid.evaluate("img => img.complete && img.naturalWidth > 800 && img.src.startsWith('data:image')")
    # Drawn at (close to) its natural size: labels of 10 pt at 100 dpi stay >= 11 px on the page.
    scale = grid.evaluate("img => img.getBoundingClientRect().width / img.naturalWidth")
    assert scale * 10 * 100 / 72 >= 11, scale
    grid.screenshot(path=str(artifacts / "attention_heads_grid.png"))
    page.screenshot(path=str(artifacts / "attention_heads_page.png"), full_page=True)

    # Hiding [CLS]/[SEP] redraws the grid and says the rest is renormalised.
    page.get_by_label("Hide [CLS]/[SEP]").check()
    _wait_for_text(page, "[CLS]/[SEP] are hidden", 120_000)
    assert not app_errors(page)

"""The unsupervised tab in a real browser: every view shows its default pictures on arrival, and a
click on the latent map decodes the point under it."""

from __future__ import annotations

import pytest

from tests.conftest import app_errors, open_tab


def test_click_on_the_latent_map_decodes_that_point(page, artifacts):
    open_tab(page, "Unsupervised family")
    scatter = page.locator("#tab-unsupervised img").first
    scatter.wait_for(timeout=240_000)  # shown on arrival: the first opening computes all four views
    box = scatter.bounding_box()
    assert box is not None
    # a point inside the axes (left 13.5%..72%, bottom 10%..94% of the figure)
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    z1 = page.get_by_label("z₁")
    page.wait_for_function("el => el.value !== '0'", arg=z1.element_handle(), timeout=90_000)
    page.get_by_text("Nearest held-out images are").first.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "unsupervised_latent.png"), full_page=False)
    assert float(z1.input_value()) != 0.0
    assert not app_errors(page)


@pytest.mark.parametrize("view, title, plots", [("rbm", "RBM & deep belief network", 3),
                                                ("som", "Self-organising map", 4),
                                                ("dsn", "Deep stacking network", 1)])
def test_each_view_has_its_pictures_before_any_click(page, artifacts, view, title, plots):
    open_tab(page, "Unsupervised family")
    page.get_by_role("tab", name=title).click()
    selector = f"#unsupervised-{view} .matplotlib img"
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n",
                           arg=[selector, plots], timeout=240_000)  # the first opening computes all four views
    page.screenshot(path=str(artifacts / f"unsupervised_{view}_arrival.png"), full_page=True)
    assert page.locator(selector).count() >= plots
    assert not app_errors(page)


@pytest.mark.parametrize("width, height, scale", [(390, 844, 3), (853, 480, 1.5)])  # a phone; 1280×720 at 150 %
def test_the_autoencoder_view_fits_phones_and_projectors(browser, gallery, artifacts, width, height, scale):
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
    page = context.new_page()
    try:
        page.goto(gallery + "/?tab=unsupervised&view=autoencoder")
        page.locator("#unsupervised-autoencoder .matplotlib img").first.wait_for(timeout=240_000)
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('#unsupervised-autoencoder .block')]"
                               ".filter(b => b.offsetParent !== null).map(b => b.getBoundingClientRect().right))")
        original = page.locator("#unsupervised-original img").first  # the denoising row, at the bottom
        original.scroll_into_view_if_needed()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=original.element_handle(),
                               timeout=30_000)
        page.screenshot(path=str(artifacts / f"unsupervised_autoencoder_{width}px.png"), full_page=True)
        assert widest <= width + 1
    finally:
        context.close()

"""Deep links and the Overview's path (issue 19): `/?tab=..&view=..` opens that tab and sub-tab, the
Overview's buttons and "Start here" links open the exact sub-tab, the URL follows the tabs, Back works."""

from __future__ import annotations

import pytest

from shared import links, overview
from tests.conftest import app_errors, open_tab

SELECTED = "[...document.querySelectorAll('button[role=tab][aria-selected=true]')].map(b => b.dataset.tabId)"


def wait_selected(page, *tab_ids: str) -> None:
    """Wait until each of these tab / sub-tab ids is the selected one of its tab bar (20 s at most)."""
    for tab_id in tab_ids:
        page.wait_for_selector(f"button[role='tab'][data-tab-id='{tab_id}'][aria-selected='true']", timeout=20_000)


def query(page) -> str:
    return page.evaluate("location.search")


# --- without a browser ------------------------------------------------------------------------

def test_every_sub_tab_is_found_by_its_id():
    import app

    outer = next(b for b in app.demo.blocks.values()
                 if any(getattr(c, "id", None) == "overview" for c in getattr(b, "children", [])))
    found = links.sub_tabs(outer)
    views = {tab: sorted(v) for tab, (_, v) in found.items()}
    assert views["transformer"] == ["attention", "gpt", "positions", "sentiment"]
    assert views["cnn"] == ["classify", "teach", "vit"]
    assert views["forecast"] == ["csv", "series"]
    assert views["speech"] == ["commands", "whisper"]
    assert views["zoo"] == ["architecture", "compare", "lenet"]
    assert views["unsupervised"] == ["autoencoder", "dsn", "rbm", "som"]


def test_unknown_tabs_and_views_are_ignored():
    inner = {"transformer": (None, {"attention": "transformer-attention"})}
    names = ["overview", "memory", "transformer"]

    def selected(q):
        return [u.get("selected") if isinstance(u, dict) else getattr(u, "selected", "skip")
                for u in links.selection(q, names, inner)]

    assert selected("?tab=transformer&view=attention") == ["transformer", "transformer-attention"]
    assert selected("?tab=transformer&view=transformer-attention") == ["transformer", "transformer-attention"]
    assert selected("?tab=memory&view=attention")[0] == "memory"
    assert selected("?tab=nope&view=attention")[0] == "overview"
    assert selected("")[0] == "overview"
    assert selected("?tab=transformer&view=nope")[0] == "transformer"
    for q in ("?tab=memory&view=attention", "?tab=nope&view=attention", "?tab=transformer&view=nope"):
        assert selected(q)[1] not in ("transformer-attention",), q


def test_learning_goals_point_at_the_right_sub_tabs():
    goals = {goal: (tab, view) for goal, tab, view, _ in overview.LEARNING_GOALS}
    assert goals["The intuition behind attention"] == ("transformer", "attention")
    assert goals["Pretrained models and transfer learning"] == ("cnn", "teach")
    assert goals["Transformers beyond text: images"] == ("cnn", "vit")
    assert goals["Transformers beyond text: speech"] == ("speech", "whisper")
    text = overview.start_here({"forecast": "f", "memory": "m", "transformer": "t", "cnn": "c", "speech": "s"})
    for _step, tab, view, _ in overview.START_HERE:
        assert f"]({links.href(tab, view)})" in text


# --- in the browser ---------------------------------------------------------------------------

@pytest.mark.parametrize("tab, view", [("transformer", "attention"), ("cnn", "teach"), ("memory", None),
                                       ("unsupervised", "som")])
def test_a_deep_link_opens_its_tab_and_sub_tab(page, gallery, tab, view):
    page.goto(gallery + links.href(tab, view))
    wait_selected(page, tab, *([f"{tab}-{view}"] if view else []))
    assert query(page) == links.href(tab, view)  # the page load adds no history entry of its own
    assert app_errors(page) == []


def test_unknown_deep_links_show_the_overview(page, gallery):
    page.goto(gallery + "/?tab=nope&view=attention")
    page.wait_for_timeout(2000)
    assert page.evaluate(SELECTED) == ["overview"]
    page.goto(gallery + "/?tab=transformer&view=nope")
    wait_selected(page, "transformer")
    assert "transformer-sentiment" in page.evaluate(SELECTED)  # the first sub-tab, as without a view


def test_each_learning_goal_button_opens_its_sub_tab(page):
    import app

    titles = {t.name: t.title for t in app.demo.gallery_tabs}
    for goal, tab, view, view_title in overview.LEARNING_GOALS:
        name = f"Open {titles[tab]} › {view_title} →" if view else f"Open {titles[tab]} →"
        page.get_by_role("button", name=name).first.click()
        wait_selected(page, tab, *([f"{tab}-{view}"] if view else []))
        # A tab with sub-tabs may name the one it shows once it renders (?tab=unsupervised&view=autoencoder).
        assert query(page) == links.href(tab, view) or (not view and query(page).startswith(links.href(tab) + "&")), goal
        open_tab(page, "Overview")
        wait_selected(page, "overview")
    assert app_errors(page) == []


def test_tab_clicks_change_the_url_and_back_returns(page):
    open_tab(page, "RNN vs LSTM vs GRU")
    wait_selected(page, "memory")
    page.wait_for_function("location.search === '?tab=memory'", timeout=10_000)
    open_tab(page, "Transformers")
    page.get_by_role("tab", name="Tiny GPT").click()
    page.wait_for_function("location.search === '?tab=transformer&view=gpt'", timeout=10_000)
    open_tab(page, "Unsupervised")  # a tab in the "…" overflow menu at this width
    wait_selected(page, "unsupervised")
    page.wait_for_function("location.search.startsWith('?tab=unsupervised')", timeout=10_000)

    page.go_back()
    wait_selected(page, "transformer", "transformer-gpt")
    assert query(page) == "?tab=transformer&view=gpt"
    page.go_back()  # ?tab=transformer (refined to its first sub-tab when that rendered)
    wait_selected(page, "transformer", "transformer-sentiment")
    assert query(page) == "?tab=transformer&view=sentiment"
    page.go_back()
    wait_selected(page, "memory")
    assert query(page) == "?tab=memory"
    page.go_back()
    wait_selected(page, "overview")
    assert query(page) == ""
    page.go_forward()
    wait_selected(page, "memory")
    assert app_errors(page) == []


def test_start_here_has_a_link_per_step_that_opens_its_view(page, artifacts):
    page.wait_for_selector("#start-here a", timeout=20_000)
    anchors = page.locator("#start-here a")
    hrefs = [anchors.nth(i).get_attribute("href") for i in range(anchors.count())]
    assert hrefs == [links.href(tab, view) for _, tab, view, _ in overview.START_HERE]
    text = page.inner_text("#start-here")
    for step, _, _, look_for in overview.START_HERE:
        assert step in text and look_for.split(":")[0][:30] in text
    page.screenshot(path=str(artifacts / "overview-start-here-1280.png"), full_page=True)

    page.evaluate("window.notReloaded = true")
    page.locator("#start-here a", has_text="Attention").click()
    wait_selected(page, "transformer", "transformer-attention")
    assert query(page) == "?tab=transformer&view=attention"
    assert page.evaluate("window.notReloaded === true")  # opened in place, not a new page or tab
    assert len(page.context.pages) == 1
    page.screenshot(path=str(artifacts / "deep-link-attention-1280.png"))
    page.go_back()
    wait_selected(page, "overview")
    assert app_errors(page) == []


def test_start_here_on_a_phone(browser, gallery, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        phone = context.new_page()
        phone.goto(gallery)
        phone.wait_for_selector("#start-here a", timeout=30_000)
        phone.wait_for_timeout(800)
        phone.locator("#start-here").screenshot(path=str(artifacts / "overview-start-here-390.png"))
        phone.screenshot(path=str(artifacts / "overview-390.png"), full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        width = phone.evaluate("document.querySelector('#start-here').scrollWidth")
        assert width <= 390, width
        size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('#start-here li')).fontSize)")
        assert size >= 11, size
        phone.goto(gallery + links.href("cnn", "teach"))
        phone.wait_for_selector("button[role='tab'][data-tab-id='cnn-teach'][aria-selected='true']", timeout=30_000)
        phone.screenshot(path=str(artifacts / "deep-link-cnn-teach-390.png"))
    finally:
        context.close()

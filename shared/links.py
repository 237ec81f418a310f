"""Deep links: `/?tab=<tab>&view=<sub-tab>` opens that tab and sub-tab, and the URL follows the tabs.

    /?tab=memory                    the RNN vs LSTM vs GRU tab
    /?tab=transformer&view=attention  its "Attention explorer" sub-tab
    /?tab=cnn&view=teach            the CNN's "Teach it new classes" sub-tab

A sub-tab's `gr.Tab(id=...)` is `<tab>-<view>` (e.g. `transformer-attention`); `wire` finds them in
the built app, so a tab gets deep links by giving its sub-tabs such ids. The server selects the tabs
(one Python handler, from the query string); the page's script (`HEAD`) only keeps the URL in step:
a tab click pushes `?tab=..&view=..`, Back/Forward and in-page `?tab=` links ask the server again.
Unknown tabs or views are ignored: the Overview (or the tab's current sub-tab) stays.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import gradio as gr

OVERVIEW = "overview"


def href(tab: str, view: str | None = None) -> str:
    """The relative deep link to a tab (and sub-tab): `?tab=transformer&view=attention`."""
    return "?" + urlencode({"tab": tab, **({"view": view} if view else {})})


def sub_tabs(outer: gr.Tabs) -> dict[str, tuple[gr.Tabs, dict[str, str]]]:
    """For each outer tab with deep-linkable sub-tabs: (its inner gr.Tabs, {view: sub-tab id})."""
    found: dict[str, tuple[gr.Tabs, dict[str, str]]] = {}
    for tab in outer.children:
        name = getattr(tab, "id", None)
        if not isinstance(name, str):
            continue
        for block in _descendants(tab):
            block_id = getattr(block, "id", None)
            if isinstance(block, gr.Tab) and isinstance(block_id, str) and block_id.startswith(f"{name}-"):
                inner, views = found.setdefault(name, (block.parent, {}))
                if block.parent is inner:  # only the first level of sub-tabs
                    views[block_id[len(name) + 1:]] = block_id
    return found


def _descendants(block):
    for child in getattr(block, "children", []) or []:
        yield child
        yield from _descendants(child)


def selection(query: str | dict, tab_names: list[str], inner: dict) -> list:
    """Updates for [outer Tabs, *inner Tabs] that show what `query` (`?tab=..&view=..`) names.
    No tab, or an unknown one, selects the Overview; an unknown view leaves the sub-tab as it is."""
    if isinstance(query, str):
        params = {k: v[0] for k, v in parse_qs(query.lstrip("?")).items()}
    else:
        params = dict(query)
    tab, view = params.get("tab", ""), params.get("view", "")
    if tab not in tab_names:
        tab, view = OVERVIEW, ""
    updates = [gr.Tabs(selected=tab)]
    for name, (_, views) in inner.items():
        sub_id = views.get(view) or (view if view in views.values() else None)
        updates.append(gr.Tabs(selected=sub_id) if name == tab and sub_id else gr.skip())
    return updates


def wire(demo: gr.Blocks, outer: gr.Tabs, buttons: list[tuple[gr.Button, str, str | None]] = ()) -> list:
    """Inside the app's gr.Blocks, after every tab is built: the page-load event that opens the
    tab and sub-tab in the URL, the hidden trigger `HEAD`'s script uses for Back/Forward and links,
    and `buttons` (each with its tab and view) that open their sub-tab and push its URL.
    Returns the navigation events (after each, the address bar names the tab it opened)."""
    tab_names = [t.id for t in outer.children if isinstance(getattr(t, "id", None), str)]
    inner = sub_tabs(outer)
    outputs = [outer] + [tabs for tabs, _ in inner.values()]

    def one_or_many(updates: list):  # Gradio reads a list returned for one output as that output's value
        return updates[0] if len(outputs) == 1 else updates

    def from_request(request: gr.Request):
        params = dict(request.query_params)
        if params.get("tab") not in tab_names:  # no deep link: leave the page (and an early click) alone
            return one_or_many([gr.skip() for _ in outputs])
        return one_or_many(selection(params, tab_names, inner))

    def from_query(query: str):
        return one_or_many(selection(query or "", tab_names, inner))

    # Navigation only: private, so it stays out of the documented API; no queue, so it is instant.
    nav = dict(outputs=outputs, api_visibility="private", queue=False, show_progress="hidden")
    # Tab selections push URLs only once the server's own (on load, Back/Forward) have settled.
    on_load = demo.load(from_request, api_name="deep_link", **nav)
    on_load.then(None, js="() => galleryLinks.settle()")
    query = gr.Textbox(visible="hidden", elem_id="deep-link-query", label="query")
    go = gr.Button("go", visible="hidden", elem_id="deep-link-go")
    on_go = go.click(from_query, inputs=query, js="() => [location.search]", api_name="deep_link_go", **nav)
    on_go.then(None, js="() => galleryLinks.settle()")
    navigations = [on_load, on_go]

    by_target: dict[tuple[str, str | None], list[gr.Button]] = {}
    for button, tab, view in buttons:
        by_target.setdefault((tab, view), []).append(button)
    for (tab, view), group in by_target.items():
        target = href(tab, view)
        navigations.append(gr.on([b.click for b in group], lambda target=target: from_query(target),
                                 js=f"() => {{ galleryLinks.pushSearch({target!r}); }}",
                                 api_name=f"open_{tab}" + (f"_{view}" if view else ""), **nav))

    # Tab clicks by the user: push their URL (JS only, no server round trip).
    for tab in outer.children:
        if isinstance(getattr(tab, "id", None), str):
            tab.select(None, js=f"() => galleryLinks.pushTab({tab.id!r})")
    for name, (_, views) in inner.items():
        for view, sub_id in views.items():
            _find(outer, sub_id).select(None, js=f"() => galleryLinks.pushTab({name!r}, {view!r})")
    return navigations


def _find(outer: gr.Tabs, block_id: str) -> gr.Tab:
    return next(b for b in _descendants(outer) if isinstance(b, gr.Tab) and getattr(b, "id", None) == block_id)


# Passed as launch(head=...). Small on purpose: the server decides what is selected.
HEAD = """<script>
// Deep links (shared/links.py): keep ?tab=..&view=.. in the address bar, so Back/Forward work.
window.galleryLinks = {
  ready: false,  // false until the page-load event has selected what the URL names
  views: {},  // the last sub-tab seen in each tab, so clicking a tab keeps its sub-tab in the URL
  url(tab, view) {
    if (!tab || tab === "overview") return location.pathname;
    return "?tab=" + encodeURIComponent(tab) + (view ? "&view=" + encodeURIComponent(view) : "");
  },
  pushTab(tab, view) {  // a tab was selected by the user: push its URL
    if (this.ready) this.push(tab, view);  // (Gradio also reports the first tab it renders on load)
  },
  push(tab, view) {  // a new history entry, unless the URL already says it
    view = view || this.views[tab];
    if (view) this.views[tab] = view;
    const url = this.url(tab, view), here = new URLSearchParams(location.search);
    if (url === location.pathname + location.search || url === location.search) return;
    // The same tab, now with its sub-tab named: refine this entry rather than add one.
    const refine = here.get("tab") === tab && !here.get("view");
    history[refine ? "replaceState" : "pushState"](null, "", url);
  },
  pushSearch(search) { const p = new URLSearchParams(search); this.push(p.get("tab"), p.get("view")); },
  go() {  // the server selects what the URL says; its selections are not the user's
    this.ready = false;
    document.querySelector("#deep-link-go")?.click();
  },
  settle() {  // after the server's selection (Gradio reports it a moment later), listen to the user again
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.ready = true; }, 500);
  },
};
(() => { const p = new URLSearchParams(location.search); if (p.get("view")) galleryLinks.views[p.get("tab")] = p.get("view"); })();
window.addEventListener("popstate", () => galleryLinks.go());
// In-page ?tab= links (the Overview's "Start here"): no reload; a copied link still opens the view.
document.addEventListener("click", (e) => {
  if (e.target.closest?.('[role="tab"], .overflow-dropdown button')) galleryLinks.ready = true;  // the user's
  const a = e.target.closest?.('a[href^="?tab="]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  galleryLinks.pushSearch(a.getAttribute("href"));
  galleryLinks.go();
}, true);
</script>"""

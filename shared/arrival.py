"""What a tab shows when it opens: the default input's answer and pictures, before any click.

Inside a tab's `build()`:

    arrival.show(views.default_answer, [label, figure, table])

`default_answer()` takes no arguments and returns the values for those components (as an event
handler would). It runs once per server, not per visitor: in the warm-up thread after launch, or on
the first opening if that comes first; every later opening is served from memory. The first time a
visitor opens the tab (by a click, a deep link or an Overview button) the components are filled;
re-opening the tab later leaves whatever the visitor has computed since.

app.py collects the registrations made while each tab is built (`collect`), wires them (`wire`),
and warms them (`warm`). A function that fails logs and leaves its components as they were; the
next opening tries again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import gradio as gr

log = logging.getLogger("gallery")


@dataclass
class _Views:
    fn: Callable[[], Any]
    outputs: list
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None
    ready: bool = False

    def get(self) -> list:
        with self.lock:  # one computation, even when a room opens the tab at once
            if not self.ready:
                value = self.fn()
                values = list(value) if isinstance(value, (tuple, list)) and len(self.outputs) > 1 else [value]
                if len(values) != len(self.outputs):
                    raise ValueError(f"{self.fn.__qualname__} returned {len(values)} values for "
                                     f"{len(self.outputs)} components")
                # Figures are drawn once, here: the cached payload is what gr.Plot sends anyway.
                self.value, self.ready = [_encoded_if_figure(v) for v in values], True
            # Gradio may annotate what it sends; every visitor gets a copy of encoded data.
            return [v.model_copy() if hasattr(v, "model_copy") else v for v in self.value]

    def get_or_skip(self, tab_name: str) -> list:
        """get(), or skips when it fails: the log says why, the components keep what they show,
        and the next opening tries again."""
        try:
            return self.get()
        except Exception:  # noqa: BLE001 - the tab still works on a click
            log.warning("arrival views of tab %s failed", tab_name, exc_info=True)
            return [gr.skip() for _ in self.outputs]


def _encoded_if_figure(value):
    from matplotlib.figure import Figure

    if isinstance(value, Figure):
        from shared.plots import encoded

        return encoded(value)
    return value


_building: list[_Views] = []        # registrations of the tab being built
_by_tab: dict[str, list[_Views]] = {}


def show(fn: Callable[[], Any], outputs) -> None:
    """Fill `outputs` (a component or a list) with `fn()` when the tab being built is first opened."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    _building.append(_Views(fn, outputs))


def collect(tab_name: str) -> None:
    """Called by app.py after a tab's build(): the registrations made since belong to `tab_name`."""
    _by_tab[tab_name] = _building[:]
    _building.clear()


def values_for(tab_name: str) -> list:
    """The values for a tab's registered components, computed at most once per server; a part that fails
    logs and is skipped (its components keep what they show)."""
    return [v for views in _by_tab.get(tab_name, []) for v in views.get_or_skip(tab_name)]


def warm(tab_name: str) -> None:
    """Compute a tab's arrival views now (the app's warm-up thread calls this after the models load)."""
    values_for(tab_name)


def wire(tabs: dict[str, gr.Tab], navigations=()) -> None:
    """Inside the app's Blocks after every tab is built: a tab's first opening fills its views, whether
    it is opened by a click on the tab or by `navigations` (the deep-link events of shared/links.py,
    after which the address bar names the tab: `?tab=<name>`)."""
    from urllib.parse import parse_qs

    # Every registration's components, and where each registration's sit among them.
    all_outputs: list = []
    slots: dict[str, list[tuple[_Views, int]]] = {}
    for name in tabs:
        for views in _by_tab.get(name, []):
            slots.setdefault(name, []).append((views, len(all_outputs)))
            all_outputs.extend(views.outputs)
    if not all_outputs:
        return
    opened = gr.State(frozenset())  # the tabs this visitor has already been shown
    # Values are cached (figures encoded, copied per visitor) and each is computed under its own
    # lock, so visitors need not queue behind each other; a first computation runs once.
    settings = dict(api_visibility="private", show_progress="hidden", concurrency_limit=None)

    def first_opening(name: str | None, seen: frozenset):
        """A generator: when a view must still be computed, each is sent as soon as it is ready (a
        slow one, such as a first load of Whisper, does not hold back the tab's quick ones). The
        last message always carries every view: the browser keeps only the last message's values
        for a Plot or Dataframe not yet drawn (one in a sub-tab the visitor has not opened)."""
        if name not in tabs or name in seen or name not in slots:
            yield [seen] + [gr.skip() for _ in all_outputs]
            return
        seen = seen | {name}
        stream = not all(views.ready for views, _ in slots[name])
        every = [gr.skip() for _ in all_outputs]
        for views, start in slots[name]:
            every[start:start + len(views.outputs)] = views.get_or_skip(name)
            if stream:
                out = [gr.skip() for _ in all_outputs]
                out[start:start + len(views.outputs)] = every[start:start + len(views.outputs)]
                yield [seen] + out
        yield [seen] + every

    for name, tab in tabs.items():
        if name in slots:
            def on_select(seen, name=name):
                yield from first_opening(name, seen)
            tab.select(on_select, opened, [opened, *all_outputs], **settings)

    search = gr.Textbox(visible="hidden", elem_id="arrival-search", label="search")

    def from_search(query: str, seen: frozenset):
        params = parse_qs((query or "").lstrip("?"))
        yield from first_opening((params.get("tab") or [None])[0], seen)

    for event in navigations:
        event.then(None, js="() => location.search", outputs=search).then(
            from_search, [search, opened], [opened, *all_outputs], **settings)

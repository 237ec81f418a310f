"""The registry of gallery tabs.

Each tab is a package apps/<name>/ whose tab.py defines

    TAB = Tab(name="cnn", title="🖼️ CNN · images", order=10, build=build,
              checkpoints=[...], warmup=infer.load_models)

`registered_tabs()` finds them and sorts them by `order`. A package without tab.py (or one
whose tab.py fails to import) is not shown: only tabs that work are registered.
Importing a tab.py must stay cheap (no torch/transformers at module level): the app builds
every tab's UI at start-up, and start-up never waits for a model.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

log = logging.getLogger("gallery")


@dataclass(frozen=True)
class Tab:
    name: str                      # id used by --tabs, the Overview links and tests
    title: str                     # what the tab header shows
    order: int                     # position in the gallery
    build: Callable[[], None]      # creates the tab's components (called inside gr.Tab)
    summary: str = ""              # one line for the Overview
    checkpoints: tuple[Path, ...] = field(default_factory=tuple)  # verified at build time
    warmup: Callable[[], object] | None = None  # loads models in the background after launch


def registered_tabs() -> list[Tab]:
    tabs = []
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg or not (Path(__path__[0]) / module.name / "tab.py").exists():
            continue
        try:
            tab = importlib.import_module(f"apps.{module.name}.tab").TAB
        except Exception:  # noqa: BLE001 - one broken tab must not take the gallery down
            log.exception("tab %s failed to import; it is left out", module.name)
            continue
        tabs.append(tab)
    return sorted(tabs, key=lambda t: t.order)

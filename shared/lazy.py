"""Load heavy things once, on first use, from any thread.

    @load_once
    def fashion_model():
        ...  # build + load_checkpoint; runs the first time only

Start-up never waits for a model: tabs call these from their event handlers, and
app.py may warm them in a background thread after launch.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

_registry: list[Callable[[], object]] = []
log = logging.getLogger("gallery")

# Model code that handlers import on first use (app.py lists every tab's infer module).
FIRST_IMPORTS: list[str] = []
_first_imports_lock = threading.Lock()
_first_imports_done = threading.Event()
_first_load_lock = threading.RLock()


def import_model_code() -> None:
    """Import FIRST_IMPORTS once, one module at a time, before a handler uses any of them.

    Python imports each module under its own lock, but transformers and matplotlib resolve names
    lazily on first use: two threads importing different tabs at once could meet a half-built
    module ("ImportError: cannot import name 'AutoTokenizer'", matplotlib's "partially initialized
    module") in 2 of 3 cold starts with twelve parallel first requests. Every guarded handler and
    the warm-up call this; after the first time it costs one flag check.
    """
    if _first_imports_done.is_set():
        return
    with _first_imports_lock:
        if _first_imports_done.is_set():
            return
        for name in FIRST_IMPORTS:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - that tab reports it when used; the others still work
                log.warning("importing %s failed", name, exc_info=True)
        _first_imports_done.set()


def load_once(loader: Callable[..., T]) -> Callable[..., T]:
    """Cache `loader`'s result per argument tuple; concurrent first calls load only once.

    First loads run one at a time across all loaders (one re-entrant lock: a loader may call
    another): loaders import transformers' models lazily, and two loaders importing different
    names at once failed with "cannot import name 'AutoTokenizer'". A loader that raises is not
    cached, so fixing a checkpoint and retrying works.
    """
    cache: dict[tuple, T] = {}

    @functools.wraps(loader)
    def wrapper(*args):
        if args in cache:
            return cache[args]
        with _first_load_lock:
            if args not in cache:
                cache[args] = loader(*args)
            return cache[args]

    wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
    _registry.append(wrapper)
    return wrapper


def clear_all() -> None:
    """Forget every loaded model (tests use this after corrupting a checkpoint)."""
    for loader in _registry:
        loader.cache_clear()  # type: ignore[attr-defined]

"""Load heavy things once, on first use, from any thread.

    @load_once
    def fashion_model():
        ...  # build + load_checkpoint; runs the first time only

Start-up never waits for a model: tabs call these from their event handlers, and
app.py may warm them in a background thread after launch.
"""

from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

_registry: list[Callable[[], object]] = []


def load_once(loader: Callable[..., T]) -> Callable[..., T]:
    """Cache `loader`'s result per argument tuple; concurrent first calls load only once.

    A loader that raises is not cached, so fixing a checkpoint and retrying works.
    """
    cache: dict[tuple, T] = {}
    lock = threading.Lock()

    @functools.wraps(loader)
    def wrapper(*args):
        if args in cache:
            return cache[args]
        with lock:
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

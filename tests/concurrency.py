"""Run model calls from several threads at once, as Gradio does for a room of users."""

from __future__ import annotations

import threading
from typing import Callable


def run_together(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list]:
    """Each call `rounds` times in its own thread, all threads released at once: name -> results."""
    results: dict[str, list] = {name: [] for name in calls}
    start = threading.Barrier(len(calls))

    def worker(name: str) -> None:
        start.wait()
        for _ in range(rounds):
            try:
                results[name].append(calls[name]())
            except Exception as e:  # noqa: BLE001 - an error is a result the test compares
                results[name].append(e)

    threads = [threading.Thread(target=worker, args=(name,)) for name in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results

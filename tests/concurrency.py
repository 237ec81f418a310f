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


def run_async(coroutine):
    """asyncio.run(coroutine) in a thread of its own: the sync Playwright fixtures keep an event
    loop running in the main thread for the whole session, where asyncio.run refuses to start."""
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

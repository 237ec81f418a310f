"""Long work that stops when nobody waits for it any more.

Gradio runs a handler in a thread it cannot stop: a user who closes the tab mid-training left
the server training to the end of the budget. A generator handler is different: Gradio closes it
when its client goes away. So the work runs in a worker thread, the handler's generator relays
its progress, and closing the generator sets the stop flag that the work's loop asks before every
step (`shared.training.fit(should_stop=...)`).

    job = Watched(lambda should_stop, report: teach(..., on_progress=report, should_stop=should_stop))
    for fraction, text in job.updates():   # while it runs; yield something to the client here
        ...
    result = job.result                    # after the loop (re-raises the work's exception)
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Watched(Generic[T]):
    def __init__(self, work: Callable[[Callable[[], bool], Callable[[float, str], None]], T],
                 poll_s: float = 0.5):
        self._stop = threading.Event()
        self._done = threading.Event()
        self._progress: tuple[float, str] = (0.0, "")
        self._result: T | None = None
        self._error: BaseException | None = None
        self._poll_s = poll_s

        def run():
            try:
                self._result = work(self._stop.is_set, self._report)
            except BaseException as e:  # noqa: BLE001 - handed to the waiting handler
                self._error = e
            finally:
                self._done.set()

        self.thread = threading.Thread(target=run, name="watched-work", daemon=True)
        self.thread.start()

    def _report(self, fraction: float, text: str) -> None:
        self._progress = (float(fraction), str(text))

    def updates(self) -> Iterator[tuple[float, str]]:
        """(fraction done, what it does now) every poll interval until the work ends. Closing this
        generator (the client left) asks the work to stop."""
        try:
            while not self._done.wait(self._poll_s):
                yield self._progress
        finally:
            if not self._done.is_set():
                self._stop.set()

    @property
    def result(self) -> T:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

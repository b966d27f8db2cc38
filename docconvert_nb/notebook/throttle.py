"""Rate-limited redraws driven from any thread.

Job changes arrive on the tracker's threads, sometimes dozens a second. A
view wraps its redraw in a :class:`Throttle`: the first change redraws at
once, later ones within ``interval`` are folded into one trailing redraw,
so the latest state is always delivered and the frontend never receives
more than a few updates a second. One daemon thread per process runs every
delayed call (trailing redraws and elapsed-time ticks), however many views
exist.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

#: Seconds between two redraws of one view (≤ 4 updates per second).
MIN_INTERVAL = 0.25


class _Scheduler:
    """Runs callables at given monotonic times on one background thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), fn))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="docconvert-views", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = None if not self._heap else self._heap[0][0] - time.monotonic()
                    self._cond.wait(timeout)
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # a broken view must not stop the others
                log.exception("delayed view update failed")


_scheduler = _Scheduler()


def call_later(delay: float, fn: Callable[[], None]) -> None:
    """Run ``fn()`` on the views' background thread after ``delay`` seconds."""
    _scheduler.call_later(delay, fn)


class Throttle:
    """Call ``fn`` at most once per ``interval`` seconds, never dropping the last call.

    :meth:`trigger` is cheap and safe from any thread. If the previous call
    was long enough ago, ``fn`` runs at once in the caller's thread;
    otherwise one trailing call is scheduled (further triggers meanwhile
    add nothing), and it reads the state current when it runs.
    """

    def __init__(self, fn: Callable[[], None], interval: float = MIN_INTERVAL, clock: Callable[[], float] = time.monotonic):
        self._fn = fn
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._pending = False
        #: How many times ``fn`` actually ran (for tests and benchmarks).
        self.calls = 0

    def trigger(self, *, now: bool = False) -> None:
        """Ask for a call; ``now=True`` makes it at once, in this thread, whatever the rate
        (for the one change that must never wait, such as a job's final state)."""
        with self._lock:
            if self._pending and not now:
                return
            wait = 0.0 if now else self._last + self.interval - self._clock()
            if wait > 0:
                self._pending = True
            else:
                self._last = self._clock()
        if wait > 0:
            call_later(wait, self._trailing)
        else:
            self._run()

    def _trailing(self) -> None:
        with self._lock:
            self._pending = False
            self._last = self._clock()
        self._run()

    def _run(self) -> None:
        self.calls += 1
        self._fn()

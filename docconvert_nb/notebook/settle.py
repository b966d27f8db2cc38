"""Final states re-sent from the kernel's main thread, so the saved notebook agrees with the screen.

A job usually finishes on a tracker thread. ipykernel stamps a message sent
from another thread with the parent of the latest request: between two cells
that is the cell that has already ended. JupyterLab applies such updates
anyway, but headless runners (nbclient, ``jupyter nbconvert --execute``) only
record what belongs to the cell they are running, so the saved notebook would
keep a card saying "queued". Views therefore queue a replay here when they
draw a final state off the main thread; the end of the next cell runs it,
and its messages belong to that cell.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Hashable

log = logging.getLogger(__name__)

_pending: dict[Hashable, Callable[[], None]] = {}
_lock = threading.Lock()


def after_next_cell(key: Hashable, replay: Callable[[], None]) -> None:
    """Run ``replay`` on the main thread when the next cell ends (once per ``key``).

    Nothing is queued on the main thread itself: what it sends already
    belongs to the running cell.
    """
    if threading.current_thread() is threading.main_thread():
        return
    with _lock:
        _pending[key] = replay


def run_pending(*_args) -> int:
    """Run every queued replay (IPython's ``post_run_cell`` hook); returns how many ran."""
    with _lock:
        replays = list(_pending.values())
        _pending.clear()
    for replay in replays:
        try:
            replay()
        except Exception:  # a closed widget or a kernel shutting down must not break the cell
            log.debug("replay after the cell failed", exc_info=True)
    return len(replays)


def install(shell) -> None:
    """Hook :func:`run_pending` to the end of every cell of ``shell`` (idempotent)."""
    if run_pending not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", run_pending)

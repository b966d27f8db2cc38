"""One-line progress on stderr while ``wait()`` blocks in a terminal (IPython or a script on a TTY).

Like tqdm's line: redrawn in place a few times a second, then replaced by
the final state and a newline. Nothing is written when stderr is not a
terminal (logs, pipes, CI) or inside a notebook kernel (the card shows it).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Iterator, TextIO

from ..jobs import Job, JobGroup
from ..util import format_seconds
from . import html

#: Seconds between two redraws of the line.
INTERVAL = 0.25
_SPINNER = "|/-\\"


def progress_line(obj: Job | JobGroup, frame: int = 0, width: int = 100) -> str:
    """The one line describing ``obj`` now (a spinner while it runs)."""
    if isinstance(obj, JobGroup):
        view, _rows = html.group_view(obj, [])
        name = obj.name or "jobs"
        text = f"{name}: {view['progress']['text']}"
        failed = len(obj.failed)
        if failed:
            text += f" · {failed} failed"
        running = not view["done"]
    else:
        progress = obj.progress
        state = obj.status.value
        if progress is not None and not obj.done:
            state += f" {min(progress, 1.0):.0%}"
        text = f"{obj.source_name} → {obj.target} {state} · {format_seconds(obj.elapsed)}"
        running = not obj.done
    line = (f"{_SPINNER[frame % len(_SPINNER)]} " if running else "") + text
    return line if len(line) <= width else line[: width - 1] + "…"


@contextlib.contextmanager
def report(obj: Job | JobGroup, stream: TextIO | None = None, *, force: bool = False) -> Iterator[None]:
    """Redraw :func:`progress_line` on ``stream`` (stderr) until the block ends, if it is a terminal."""
    stream = stream or sys.stderr
    if not force and (not _is_terminal(stream) or threading.current_thread() is not threading.main_thread()):
        # only the user's own wait draws: a background thread waiting would scramble the line
        yield
        return
    stop = threading.Event()

    def draw() -> None:
        frame = 0
        while not stop.wait(INTERVAL):
            frame += 1
            _write(stream, "\r\x1b[2K" + progress_line(obj, frame))

    _write(stream, progress_line(obj))
    painter = threading.Thread(target=draw, name="docconvert-wait-progress", daemon=True)
    painter.start()
    try:
        yield
    finally:
        stop.set()
        painter.join(1)
        _write(stream, "\r\x1b[2K" + progress_line(obj) + "\n")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):  # a closed terminal must not break the wait
        pass

"""Small helpers every layer shares: safe file names and human-readable sizes and times.

This module imports nothing from the package but its errors, so the engine, the
providers, the job model and the views can all use it without depending on
each other.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from .errors import DocconvertError


def safe_filename(name: str) -> str:
    """Return ``name`` if it is a plain file name, else raise.

    Output names come from providers, i.e. from the network: a name with a
    directory part, ``..``, a NUL or a leading dot-dot could write outside the
    folder the user chose.
    """
    if (
        not name
        or name in (".", "..")
        or "\x00" in name
        or "/" in name
        or "\\" in name
        or os.path.basename(name) != name
        or (len(name) > 1 and name[1] == ":")  # drive letters
    ):
        raise DocconvertError(f"refusing to save an output with an unsafe file name: {name!r}")
    return name


def format_bytes(n: int) -> str:
    """``1536`` → ``'1.5 kB'``."""
    step = 1000.0
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < step or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= step
    return f"{n:.1f} TB"


def format_seconds(seconds: float) -> str:
    """``4.25`` → ``'4.2 s'``, ``75`` → ``'1 min 15 s'``, ``3700`` → ``'1 h 01 min'``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def utc_time(seconds: float | None) -> datetime | None:
    """A ``time.time()`` value as an aware UTC datetime (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc)

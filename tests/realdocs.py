"""Where the real-world development documents are (read in place, never copied into the project).

They live in ``../shared/realdocs-dev/files`` next to the repository's checkout;
``$DOCCONVERT_REALDOCS`` points elsewhere. Tests that need them skip when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def realdocs_dir() -> Path | None:
    candidates = [Path(os.environ["DOCCONVERT_REALDOCS"])] if os.environ.get("DOCCONVERT_REALDOCS") else []
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "realdocs-dev" / "files")
    return next((c for c in candidates if c.is_dir()), None)


def realdoc(relative: str) -> Path:
    """The development document ``format/name``, or skip the test."""
    folder = realdocs_dir()
    if folder is None or not (folder / relative).is_file():
        pytest.skip(f"development document {relative} not available (../shared/realdocs-dev)")
    return folder / relative

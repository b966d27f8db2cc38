"""The README's first command runs the main job on the embedded engine: OCR and a table, saved to a folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.tools, pytest.mark.slow]


def test_the_demo_converts_and_says_where_the_outputs_are(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DOCCONVERT_NB_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "docconvert_nb.demo", str(out)], capture_output=True, text=True,
                          timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    written = {path.name for path in out.iterdir()}
    assert {"page.pdf", "page.txt"} <= written and any(name.endswith(".csv") for name in written), written
    assert str(out / "page.pdf") in done.stdout
    assert (out / "page.txt").read_text().strip(), "the OCR text is empty"

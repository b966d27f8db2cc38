"""The warm office dies with its owner and leaves nothing behind; it works under a hard memory limit."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docconvert_nb.engine import office_server, tools

pytestmark = [pytest.mark.tools, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
OWNER = r"""
import json, sys, time
from pathlib import Path
from docconvert_nb.engine.office_server import get_server, office_pipe
source, target = Path(sys.argv[1]), Path(sys.argv[2])
server = get_server()
server.convert_to_pdf(source, target, timeout=90)
print(json.dumps({"pid": server.pid, "profile": str(server._profile), "pipe": str(office_pipe(server._profile)),
                  "confined": server.confined}), flush=True)
time.sleep(600)
"""


def _needs_office():
    if office_server.soffice_binary() is None or not office_server.uno_available():
        pytest.skip("LibreOffice with python3-uno is not installed")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_office_its_profile_and_pipe_go_when_the_owner_is_killed(tmp_path, sig):
    _needs_office()
    source = tmp_path / "letter.rtf"
    source.write_bytes(rb"{\rtf1\ansi Owner test\par}")
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(source), str(tmp_path / "out.pdf")],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        state = json.loads(owner.stdout.readline())
        assert _alive(state["pid"]) and Path(state["profile"]).is_dir()
        owner.send_signal(sig)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (_alive(state["pid"]) or Path(state["profile"]).exists()):
            time.sleep(0.1)
        assert not _alive(state["pid"]), "soffice.bin outlived its owner"
        assert not Path(state["profile"]).exists(), "the office profile stayed behind"
        assert not Path(state["pipe"]).exists(), "the office IPC pipe stayed behind"
    finally:
        if owner.poll() is None:
            owner.kill()


def test_office_conversions_work_under_a_hard_address_space_limit(tmp_path):
    """Like ``ulimit -v 3 GiB`` on a JupyterHub: children cannot ask for the 8 GiB they used to."""
    _needs_office()
    source = tmp_path / "letter.rtf"
    source.write_bytes(rb"{\rtf1\ansi Limited memory\par}")
    limit = 3 * 1024 ** 3

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    script = ("import sys; from pathlib import Path; from docconvert_nb.engine.office_server import OfficeServer; "
              "s = OfficeServer(); s.convert_to_pdf(Path(sys.argv[1]), Path(sys.argv[2]), timeout=90); s.stop()")
    proc = subprocess.run([sys.executable, "-c", script, str(source), str(tmp_path / "out.pdf")],
                          preexec_fn=cap, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")


def test_tools_fit_inside_a_hard_address_space_limit(tmp_path):
    script = ("import resource, sys; from docconvert_nb.engine import tools; "
              "resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31)); "
              "print(tools.address_space_limit(8192) == 2**31, tools.address_space_limit(None) == 2**31); "
              "tools.run(['true'], cwd='.', memory_mb=8192); print('ran')")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.split() == ["True", "True", "ran"], proc.stderr[-2000:]
    assert tools.address_space_limit(None) in (None, resource.getrlimit(resource.RLIMIT_AS)[1])


def test_a_tool_dies_with_the_process_that_runs_it(tmp_path):
    script = "from docconvert_nb.engine import tools; tools.run(['sleep', '300'], cwd='.', timeout=600)"
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 20
        children: list[str] = []
        while time.monotonic() < deadline and not children:
            time.sleep(0.2)
            children = subprocess.run(["pgrep", "-P", str(owner.pid)], capture_output=True, text=True).stdout.split()
        assert children, "the tool did not start"
        owner.kill()
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(int(pid)) for pid in children):
            time.sleep(0.1)
        assert not any(_alive(int(pid)) for pid in children), "the tool outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()

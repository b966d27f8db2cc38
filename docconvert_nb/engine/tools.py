"""Running external tools (Tesseract, LibreOffice, djvulibre) safely.

Every tool runs as a subprocess in its own process group with a wall-clock
time limit and an address-space limit, in a working directory the caller
owns. A tool that hangs is killed with its children; one that fails raises
:class:`ToolFailed` with the end of its stderr, so the job's message says
what the tool said.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import DocconvertError, ToolMissing
from . import sandbox

log = logging.getLogger(__name__)

#: Default limits for one tool run.
DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 2048


class ToolFailed(DocconvertError):
    """An external tool exited with an error, crashed, or ran out of time or memory."""


@dataclass(frozen=True)
class Tool:
    """A system tool a converter may need, and how to install it on Debian."""

    name: str
    binary: str
    debian_package: str
    version_args: tuple[str, ...] = ("--version",)

    @property
    def install_hint(self) -> str:
        return f"sudo apt-get install -y --no-install-recommends {self.debian_package}"

    def path(self) -> str | None:
        return shutil.which(self.binary)

    def require(self) -> str:
        found = self.path()
        if not found:
            raise ToolMissing(self.name, self.install_hint)
        return found


#: Tools known to the engine, by short name. Converters list the ones they need.
TOOLS: dict[str, Tool] = {}


def register_tool(tool: Tool) -> Tool:
    TOOLS[tool.name] = tool
    return tool


def address_space_limit(megabytes: int | None) -> int | None:
    """The address-space limit (bytes) a child can actually get: ``megabytes``, or less under a hard limit.

    A process under ``ulimit -v`` (a JupyterHub memory limit) cannot raise its hard limit, so asking
    its children for more fails; they get the hard limit instead. None means no limit to set.
    """
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = megabytes * 1024 * 1024 if megabytes else None
    if hard != resource.RLIM_INFINITY and (wanted is None or wanted > hard):
        return hard
    return wanted


def set_address_space(limit: int | None) -> None:
    """Apply :func:`address_space_limit`'s answer in a child; never fails (the hard limit still holds)."""
    if limit is None:
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def _limit_memory(megabytes: int | None, confinement=None):
    limit = address_space_limit(megabytes)  # computed before fork: the child only applies it

    def apply():
        os.setsid()
        # Killed if the thread that started it dies with this process (it waits for the tool meanwhile).
        sandbox.die_with_parent()
        set_address_space(limit)
        if confinement is not None:
            confinement.apply()

    return apply


def run(
    args: Sequence[str],
    *,
    cwd: str | Path,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    cancel: threading.Event | None = None,
    confine=None,
) -> subprocess.CompletedProcess:
    """Run a tool; return the completed process or raise :class:`ToolFailed`.

    ``env`` adds to (not replaces) the current environment. Stdout and stderr
    are captured. A non-zero exit, a signal, the time limit, or ``cancel``
    being set (the job was canceled) raise; the tool's whole process group is
    killed in the last two cases. ``confine`` (a :class:`~.sandbox.Policy`) restricts what the tool
    may read, write and connect to, where the kernel has Landlock.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    name = Path(args[0]).name
    confinement = confine.prepare() if confine is not None else None

    def start(confinement):
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_limit_memory(memory_mb, confinement),
        )

    try:
        try:
            proc = start(confinement)
        except subprocess.SubprocessError:
            if confinement is None:
                raise
            # Landlock refused in the child (a seccomp filter, say): run as before confinement existed.
            log.warning("could not confine %s with Landlock; running it unconfined", name)
            proc = start(None)
    except FileNotFoundError:
        raise ToolFailed(f"{name} is not installed") from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Short slices so a cancel is noticed quickly; no output is lost between them.
            remaining = deadline - time.monotonic()
            try:
                stdout, stderr = proc.communicate(input=input, timeout=max(0.0, min(remaining, 0.2)))
                break
            except subprocess.TimeoutExpired:
                input = None  # already written on the first call
                if cancel is not None and cancel.is_set():
                    _kill_group(proc)
                    proc.communicate()
                    raise ToolFailed(f"{name} was stopped because the job was canceled") from None
                if time.monotonic() >= deadline:
                    _kill_group(proc)
                    proc.communicate()
                    raise ToolFailed(f"{name} took longer than {timeout:g} s and was stopped") from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise ToolFailed(_failure_message(name, proc.returncode, stderr))
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _failure_message(name: str, code: int, stderr: bytes) -> str:
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    said = f": {' / '.join(tail)}" if tail else ""
    if code < 0:
        sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        if -code == signal.SIGKILL:
            return f"{name} was killed (out of memory or time){said}"
        return f"{name} crashed with signal {sig}{said}"
    return f"{name} failed with exit code {code}{said}"

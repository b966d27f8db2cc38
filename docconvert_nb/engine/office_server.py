"""A warm LibreOffice: one long-lived office process reused across conversions.

Starting LibreOffice costs about a second per document; a running one
converts a small document in a few hundredths. :class:`OfficeServer` starts
``soffice.bin`` lazily on first use, listening on a local port with its own
user profile, plus a small bridge process under Debian's ``/usr/bin/python3``
(the only Python with the ``uno`` module) that drives it over UNO and talks
to us in JSON lines. Conversions are serialised (LibreOffice is one office);
a conversion that exceeds its time limit or is canceled, or an office that died, gets the
office killed and restarted on the next request. :func:`shutdown` runs at exit.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..errors import DocconvertError
from .tools import Tool, ToolFailed, register_tool

SOFFICE = register_tool(Tool(
    "soffice", "soffice",
    "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
))
UNO_PYTHON = "/usr/bin/python3"
BRIDGE = Path(__file__).with_name("_office_bridge.py")
#: Address-space limit of the office process; LibreOffice maps far more than it uses.
OFFICE_MEMORY_MB = 8192
STARTUP_TIMEOUT = 60.0
DEFAULT_CONVERSION_TIMEOUT = 120.0
#: soffice.bin's exit code for "restart me" (after creating a new user profile).
RESTART_EXIT_CODE = 81


class OfficeDied(ToolFailed):
    """The office process went away during a conversion."""


class DocumentKilledOffice(OfficeDied):
    """The office died while working on the document: trying it warm again would kill it again."""


def soffice_binary() -> str | None:
    """The real office executable (``soffice.bin``), so the pid we hold is the office itself."""
    found = SOFFICE.path()
    if not found:
        return None
    real = Path(os.path.realpath(found))
    candidate = real.with_name("soffice.bin")
    return str(candidate) if candidate.exists() else str(real)


_uno_checked: bool | None = None


def uno_available() -> bool:
    """Whether Debian's Python can import ``uno`` (package python3-uno); checked once per process."""
    global _uno_checked
    if _uno_checked is None:
        try:
            proc = subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True, timeout=30)
            _uno_checked = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _uno_checked = False
    return _uno_checked


def _office_pipes() -> set[Path]:
    """LibreOffice's single-instance IPC sockets of this user in /tmp."""
    return set(Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_*"))


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        proc.send_signal(sig)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _limits():
    os.setsid()
    limit = OFFICE_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class OfficeServer:
    """One warm office process and its UNO bridge. Thread-safe; conversions run one at a time."""

    def __init__(self, *, startup_timeout: float = STARTUP_TIMEOUT):
        self.startup_timeout = startup_timeout
        self._lock = threading.RLock()
        self._office: subprocess.Popen | None = None
        self._bridge: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._profile: Path | None = None
        self._pipes: set[Path] = set()
        self._port = 0
        self.starts = 0  # how many times an office was started (restarts included)
        self.conversions = 0

    # -- state ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """Process id of the running office, or None."""
        office = self._office
        return office.pid if office is not None and office.poll() is None else None

    def alive(self) -> bool:
        return (self._office is not None and self._office.poll() is None
                and self._bridge is not None and self._bridge.poll() is None)

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive() else "stopped"
        return f"<OfficeServer {state}, {self.conversions} conversion(s), {self.starts} start(s)>"

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the office and its bridge (if not running) and wait until they answer."""
        with self._lock:
            if self.alive():
                return
            self.stop()
            binary = soffice_binary()
            if binary is None:
                SOFFICE.require()  # raises ToolMissing with the install command
            if not uno_available():
                raise ToolFailed("LibreOffice's Python bridge is missing. Install it with: "
                                 "sudo apt-get install -y --no-install-recommends python3-uno")
            self._profile = Path(tempfile.mkdtemp(prefix="docconvert-office-profile-"))
            port = _free_port()
            self._port = port
            pipes_before = _office_pipes()
            self._office = self._launch_office(binary, port)
            self._bridge = subprocess.Popen(
                [UNO_PYTHON, str(BRIDGE), str(port), str(self.startup_timeout)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True, text=True, bufsize=1,
                env={**os.environ, "TMPDIR": str(self._office_tmp())},
            )
            self._replies = queue.Queue()
            threading.Thread(target=self._read_replies, args=(self._bridge, self._replies),
                             daemon=True, name="docconvert-office-bridge").start()
            self.starts += 1
            reply = self._next_reply(self.startup_timeout + 5, "start")
            # The office's IPC pipe lives in /tmp whatever TMPDIR says; remember it to remove it on stop.
            self._pipes = _office_pipes() - pipes_before
            if not reply.get("ready"):
                self.stop()
                raise ToolFailed(f"LibreOffice did not start: {reply.get('error', 'no answer')}")

    def _launch_office(self, binary: str, port: int) -> subprocess.Popen:
        return subprocess.Popen(
            [binary, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
             f"-env:UserInstallation={self._profile.as_uri()}",
             f"--accept=socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_limits,
            # Its pipe and temp files go inside the profile, which stop() removes even after a kill.
            env={**os.environ, "TMPDIR": str(self._office_tmp())},
        )

    def _temp_dir_gone(self) -> bool:
        """Whether something removed the running office's temp folder (a /tmp cleaner, say)."""
        return self._profile is not None and not (self._profile / "tmp").is_dir()

    def _office_tmp(self) -> Path:
        tmp = self._profile / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def stop(self) -> None:
        """Stop the office and the bridge and remove the profile."""
        with self._lock:
            for proc in (self._bridge, self._office):
                if proc is None:
                    continue
                # SIGTERM first: LibreOffice then removes its IPC pipe from /tmp (a SIGKILL leaves it).
                if proc is self._office and proc.poll() is None:
                    _signal_group(proc, signal.SIGTERM)
                    try:
                        proc.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        pass
                if proc.poll() is None:
                    _signal_group(proc, signal.SIGKILL)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                for stream in (proc.stdin, proc.stdout):
                    if stream is not None:
                        try:
                            stream.close()
                        except OSError:
                            pass
            self._office = self._bridge = None
            for pipe in self._pipes:
                pipe.unlink(missing_ok=True)
            self._pipes = set()
            if self._profile is not None:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None

    # -- converting ------------------------------------------------------------------------
    def convert_to_pdf(self, source: Path, target: Path, *, password: str | None = None, csv_options: str | None = None,
                       timeout: float = DEFAULT_CONVERSION_TIMEOUT, cancel: threading.Event | None = None,
                       import_filter: str | None = None, main_thread: bool = False) -> dict:
        """Convert ``source`` to PDF at ``target``; restarts a dead office once and retries.

        An office that dies while working on this document raises
        :class:`DocumentKilledOffice` at once (it is stopped, and restarts on the next request).

        ``csv_options`` are LibreOffice's CSV import options (the input is then read as CSV);
        ``import_filter`` names the import filter to use instead of LibreOffice's detection;
        ``main_thread`` runs the conversion on the office's main thread (Writer documents with
        comments: see ``_office_bridge``).
        Setting ``cancel`` (the job was canceled) stops the wait for the office; a
        conversion already running in it is abandoned by stopping the office,
        which the next request starts afresh.
        """
        request = {"input": str(source), "output": str(target), "password": password, "csv_options": csv_options,
                   "import_filter": import_filter, "main_thread": main_thread}
        self._acquire(cancel)
        try:
            for attempt in (1, 2):
                if self.alive() and self._temp_dir_gone():
                    self.stop()  # every export would fail writing its temp file: start afresh
                self.start()
                try:
                    reply = self._ask(request, timeout, cancel)
                except DocumentKilledOffice:
                    self.stop()
                    raise
                except OfficeDied:
                    self.stop()
                    if attempt == 2:
                        raise
                    continue
                self.conversions += 1
                return reply
        finally:
            self._lock.release()
        raise AssertionError("unreachable")

    def _acquire(self, cancel: threading.Event | None) -> None:
        """Wait for the office (one conversion at a time), giving up if the job is canceled meanwhile."""
        while not self._lock.acquire(timeout=0.2):
            if cancel is not None and cancel.is_set():
                raise ToolFailed("the job was canceled while waiting for LibreOffice")

    def _ask(self, request: dict, timeout: float, cancel: threading.Event | None = None) -> dict:
        try:
            self._bridge.stdin.write(json.dumps(request) + "\n")
            self._bridge.stdin.flush()
        except (BrokenPipeError, OSError):
            raise OfficeDied("the LibreOffice bridge exited") from None
        reply = self._next_reply(timeout, "convert", cancel)
        if reply.get("ok"):
            return reply
        kind, error = reply.get("kind"), reply.get("error", "unknown error")
        if kind == "dead":
            raise DocumentKilledOffice(f"LibreOffice went away during the conversion ({error})")
        if kind == "password":
            raise DocconvertError("the document is password-protected and the password is missing or wrong")
        raise DocconvertError(f"LibreOffice could not convert the document ({error})")

    def _next_reply(self, timeout: float, what: str, cancel: threading.Event | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._replies.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if what == "start" and self._office is not None and self._office.poll() == RESTART_EXIT_CODE:
                    # A fresh profile: the office initialises it, exits asking for a restart
                    # (oosplash would do this for us), and then listens for real.
                    self._office = self._launch_office(self._office.args[0], self._port)
                    continue
                if self._office is None or self._office.poll() is not None or self._bridge.poll() is not None:
                    died = DocumentKilledOffice if what == "convert" else OfficeDied
                    raise died("LibreOffice exited during the conversion" if what == "convert"
                               else "LibreOffice exited") from None
                if cancel is not None and cancel.is_set():
                    self.stop()  # the only way to abandon a document LibreOffice is working on
                    raise ToolFailed("LibreOffice was stopped because the job was canceled; "
                                     "it restarts on the next job") from None
                if time.monotonic() >= deadline:
                    self.stop()  # a hung office is useless: the next request starts a fresh one
                    raise ToolFailed(f"LibreOffice took longer than {timeout:g} s to {what} and was stopped; "
                                     "it restarts on the next job") from None
                continue
            if reply is None:
                raise (DocumentKilledOffice if what == "convert" else OfficeDied)("the LibreOffice bridge exited")
            return reply

    @staticmethod
    def _read_replies(bridge: subprocess.Popen, replies: queue.Queue) -> None:
        for line in bridge.stdout:
            try:
                replies.put(json.loads(line))
            except ValueError:
                continue  # stray output from the UNO runtime
        replies.put(None)


_server: OfficeServer | None = None
_server_lock = threading.Lock()


def get_server() -> OfficeServer:
    """The process-wide office server (created on first use, not started until a conversion)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = OfficeServer()
            atexit.register(shutdown)
        return _server


def shutdown() -> None:
    """Stop the warm office, if one runs."""
    if _server is not None:
        _server.stop()

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
import hashlib
import json
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import DocconvertError
from . import sandbox
from .tools import Tool, ToolFailed, address_space_limit, register_tool, set_address_space

SOFFICE = register_tool(Tool(
    "soffice", "soffice",
    "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui",
))
UNO_PYTHON = "/usr/bin/python3"
BRIDGE = Path(__file__).with_name("_office_bridge.py")
REAPER = Path(__file__).with_name("_office_reaper.py")
#: Address-space limit of the office process; LibreOffice maps far more than it uses.
OFFICE_MEMORY_MB = 8192
STARTUP_TIMEOUT = 60.0
DEFAULT_CONVERSION_TIMEOUT = 120.0
#: A conversion's time budget grows with its input: a small hostile file (a 1 KB DOCX of nested tables,
#: a 1.6 KB sheet declaring a million rows) fails after BASE seconds instead of holding the office,
#: which converts one document at a time, for the full two minutes.
TIME_BUDGET_BASE = 20.0
TIME_BUDGET_PER_MB = 15.0
#: Resident memory the office may reach during one conversion (plus RSS_BUDGET_PER_MB per MB of input)
#: before it is stopped; with this process it keeps a job of a ≤ 2 MB input under 1.5 GB.
RSS_BUDGET_MB = 1024
RSS_BUDGET_PER_MB = 64


def time_budget(size_bytes: int, ceiling: float = DEFAULT_CONVERSION_TIMEOUT) -> float:
    """Seconds a conversion of an input of ``size_bytes`` may take by default (at most ``ceiling``)."""
    return min(float(ceiling), TIME_BUDGET_BASE + TIME_BUDGET_PER_MB * size_bytes / 1e6)


def memory_budget_mb(size_bytes: int, base_mb: int = RSS_BUDGET_MB) -> int:
    """Resident megabytes the office may use converting an input of ``size_bytes``."""
    return int(base_mb + RSS_BUDGET_PER_MB * size_bytes / 1e6)


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 1 else f"{value:.2g}"


def resident_mb(pid: int) -> int:
    """Resident set size of a process in MB (0 if it is gone), from /proc (proc(5): VmRSS)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
#: soffice.bin's exit code for "restart me" (after creating a new user profile).
RESTART_EXIT_CODE = 81


log = logging.getLogger(__name__)


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


def office_pipe(profile: Path) -> Path:
    """The single-instance IPC socket an office with this profile creates in /tmp.

    LibreOffice names it after the MD5 of the profile URL's UTF-16 code units, each byte in hex
    without padding (desktop/source/app/officeipcthread.cxx, ``CreateMD5FromString``). A confined
    office cannot delete it, so the engine does (only once nobody listens on it).
    """
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le")).digest()
    return Path("/tmp") / f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{''.join(format(b, 'x') for b in digest)}"


def remove_stale_pipe(profile: Path) -> None:
    """Remove the IPC pipe of an office with this profile if it no longer runs."""
    _remove_stale_pipes([office_pipe(profile)])


def _remove_stale_pipes(pipes) -> None:
    """Remove the IPC sockets nobody listens on any more (never a live office's, maybe another user's)."""
    for pipe in pipes:
        if _socket_is_stale(pipe):
            pipe.unlink(missing_ok=True)


def _socket_is_stale(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        proc.send_signal(sig)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: LibreOffice settings written into every profile the engine starts an office with, so a document
#: cannot make the office read a local file or the network. Names and values are LibreOffice's
#: configuration schema (officecfg/registry/schema/org/openoffice/Office/Common.xcs, Writer.xcs, Calc.xcs:
#: https://git.libreoffice.org/core/+/refs/heads/master/officecfg/registry/schema/org/openoffice/):
#: ``BlockUntrustedRefererLinks`` refuses every resource a document links to (images, sections, frames,
#: linked sheets) unless the document sits in a trusted location, and ``SecureURL`` (trusted locations)
#: is empty; Writer's link mode 0 and Calc's 1 mean "never update links", so external references and
#: fields are not refreshed; macros never run. As a second line, HTTP(S)/FTP go through a proxy at
#: 127.0.0.1:9 (discard port, nothing answers), so a request that slips past the first rule goes nowhere.
OFFLINE_SETTINGS = (
    ("/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "boolean", "true"),
    ("/org.openoffice.Office.Common/Security/Scripting", "SecureURL", "string-list", ""),
    ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "int", "3"),
    ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "boolean", "true"),
    ("/org.openoffice.Office.Common/Security/Scripting", "CheckDocumentEvents", "boolean", "true"),
    ("/org.openoffice.Office.Writer/Content/Update", "Link", "int", "0"),
    ("/org.openoffice.Office.Writer/Content/Update", "Field", "boolean", "false"),
    ("/org.openoffice.Office.Writer/Content/Update", "Chart", "boolean", "false"),
    ("/org.openoffice.Office.Calc/Content/Update", "Link", "int", "1"),
    ("/org.openoffice.Inet/Settings", "ooInetProxyType", "int", "1"),
    ("/org.openoffice.Inet/Settings", "ooInetNoProxy", "string", ""),
    ("/org.openoffice.Inet/Settings", "ooInetHTTPProxyName", "string", "127.0.0.1"),
    ("/org.openoffice.Inet/Settings", "ooInetHTTPProxyPort", "int", "9"),
    ("/org.openoffice.Inet/Settings", "ooInetHTTPSProxyName", "string", "127.0.0.1"),
    ("/org.openoffice.Inet/Settings", "ooInetHTTPSProxyPort", "int", "9"),
    ("/org.openoffice.Inet/Settings", "ooInetFTPProxyName", "string", "127.0.0.1"),
    ("/org.openoffice.Inet/Settings", "ooInetFTPProxyPort", "int", "9"),
)


#: What ``remote_resources=True`` gives up: the block on linked resources and the dead proxy.
#: Local files stay out of reach through Landlock alone, which is why the option requires it.
_REMOTE_ALLOWS = {"BlockUntrustedRefererLinks", "ooInetProxyType", "ooInetNoProxy", "ooInetHTTPProxyName",
                  "ooInetHTTPProxyPort", "ooInetHTTPSProxyName", "ooInetHTTPSProxyPort", "ooInetFTPProxyName",
                  "ooInetFTPProxyPort"}


def write_offline_profile(profile: Path, *, remote: bool = False) -> Path:
    """Create ``profile`` (a LibreOffice UserInstallation folder) holding :data:`OFFLINE_SETTINGS`.

    The settings are ``finalized``, so nothing the office does later (a document, an extension) can
    change them. ``remote`` leaves out the rules that keep remote resources away (see
    :data:`_REMOTE_ALLOWS`). Returns the settings file.
    """
    items = []
    for path, name, kind, value in OFFLINE_SETTINGS:
        if remote and name in _REMOTE_ALLOWS:
            continue
        xml_value = "<value/>" if value == "" and kind == "string-list" else f"<value>{value}</value>"
        items.append(f'<item oor:path="{path}"><prop oor:name="{name}" oor:op="fuse" oor:finalized="true">'
                     f"{xml_value}</prop></item>")
    settings = profile / "user" / "registrymodifications.xcu"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n' + "\n".join(items) + "\n</oor:items>\n",
        encoding="utf-8",
    )
    return settings


#: Where Debian keeps parts of LibreOffice outside /usr (shared extensions, their cache).
OFFICE_SYSTEM_READ = ("/var/spool/libreoffice", "/var/lib/libreoffice")


def office_policy(profile: Path, *, read_files=(), read_write=(), bind_ports=(),
                  allow_connect: bool = False) -> sandbox.Policy:
    """What an office may touch: the system, its profile, the given files; no TCP but its own port
    (``allow_connect``: outgoing connections too, for ``remote_resources=True``)."""
    return sandbox.Policy(read=[*sandbox.SYSTEM_READ, *OFFICE_SYSTEM_READ],
                          read_write=[str(profile), *map(str, read_write)], read_files=[str(f) for f in read_files],
                          bind_ports=list(bind_ports), allow_connect=allow_connect)


def office_environment(profile: Path) -> dict[str, str]:
    """The office's environment: temp files, caches and ``$HOME`` inside its profile (it cannot read the real home)."""
    tmp = profile / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "HOME": str(profile), "XDG_CACHE_HOME": str(profile / "cache"),
            "XDG_CONFIG_HOME": str(profile / "config")}


def _office_preexec(memory_limit: int | None, confinement):
    """Runs in the office's process between fork and exec: own session, memory limit, Landlock."""
    def apply():
        os.setsid()
        set_address_space(memory_limit)
        if confinement is not None:
            confinement.apply()
    return apply


class Reaper:
    """A watchdog process that stops the office and removes its profile and pipe once we are gone.

    It holds the read end of a pipe whose write end only this process has: when this process exits,
    even by SIGKILL, the kernel closes it, and the reaper cleans up (see ``_office_reaper.py``).
    """

    def __init__(self, profile: Path):
        self._proc = subprocess.Popen(
            [sys.executable, str(REAPER), str(profile)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, text=True, bufsize=1, close_fds=True,
        )

    def _tell(self, line: str) -> None:
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def watch(self, pid: int) -> None:
        self._tell(f"pid {pid}")

    def remove_later(self, pipe: Path) -> None:
        self._tell(f"pipe {pipe}")

    def finish(self, timeout: float = 10.0) -> None:
        """Let it clean up now (the office is stopped already) and wait for it."""
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


class OfficeServer:
    """One warm office process and its UNO bridge. Thread-safe; conversions run one at a time.

    The office never follows the links of a document: its profile holds :data:`OFFLINE_SETTINGS`,
    and it is confined with Landlock where the kernel has it (``confine=True``), so it reads only the
    system and its own profile, where each document is staged, and opens no TCP connection.
    """

    def __init__(self, *, startup_timeout: float = STARTUP_TIMEOUT, confine: bool = True, offline: bool = True,
                 rss_budget_mb: int = RSS_BUDGET_MB, remote: bool = False):
        self.startup_timeout = startup_timeout
        #: Documents may fetch remote resources (the ``remote_resources=True`` opt-in); local files stay
        #: unreadable through Landlock, so start() refuses where the kernel has none.
        self.remote = remote
        self.rss_budget_mb = rss_budget_mb
        self._rss_limit_mb: int | None = None  # of the conversion under way
        self.peak_rss_mb = 0  # the office's largest resident size seen during the last conversion
        self.confine = confine and offline
        #: False only to show what an office without the offline settings does (the safety tests' control).
        self.offline = offline
        self.confined = False  # whether the running office is under Landlock
        self._reaper: Reaper | None = None
        self._lock = threading.RLock()
        self._office: subprocess.Popen | None = None
        self._bridge: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._profile: Path | None = None
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
            if self.remote and not (self.confine and sandbox.available()):
                raise ToolFailed("remote_resources=True needs Landlock (Linux ≥ 5.13) to keep local files "
                                 "out of the document's reach; this kernel has none")
            if self.offline:
                write_offline_profile(self._profile, remote=self.remote)
            self._reaper = Reaper(self._profile)
            port = _free_port()
            self._port = port
            self._reaper.remove_later(office_pipe(self._profile))
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
            if not reply.get("ready"):
                self.stop()
                raise ToolFailed(f"LibreOffice did not start: {reply.get('error', 'no answer')}")

    def _launch_office(self, binary: str, port: int) -> subprocess.Popen:
        args = [binary, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                f"-env:UserInstallation={self._profile.as_uri()}",
                f"--accept=socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext"]
        confinement = (office_policy(self._profile, bind_ports=[port], allow_connect=self.remote).prepare()
                       if self.confine else None)
        memory = address_space_limit(OFFICE_MEMORY_MB)
        try:
            office = self._popen_office(args, memory, confinement)
        except subprocess.SubprocessError:
            if confinement is None:
                raise
            # Landlock refused (a seccomp filter, say): the offline settings still hold.
            log.warning("could not confine LibreOffice with Landlock; running it with its offline settings only")
            self.confined = False
            office = self._popen_office(args, memory, None)
        else:
            self.confined = confinement is not None
        if self._reaper is not None:
            self._reaper.watch(office.pid)
        return office

    def _popen_office(self, args, memory, confinement) -> subprocess.Popen:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_office_preexec(memory, confinement),
            # Its pipe and temp files go inside the profile, which stop() removes even after a kill.
            env=office_environment(self._profile),
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
            if self._profile is not None:
                # The office's IPC pipe lives in /tmp whatever TMPDIR says.
                office_pipe(self._profile).unlink(missing_ok=True)  # named after our profile: ours alone
            if self._reaper is not None:
                self._reaper.finish()
                self._reaper = None
            if self._profile is not None:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None

    # -- converting ------------------------------------------------------------------------
    def convert_to_pdf(self, source: Path, target: Path, *, password: str | None = None, csv_options: str | None = None,
                       timeout: float | None = None, cancel: threading.Event | None = None,
                       import_filter: str | None = None, main_thread: bool = False) -> dict:
        """Convert ``source`` to PDF at ``target``; restarts a dead office once and retries.

        An office that dies while working on this document raises
        :class:`DocumentKilledOffice` at once (it is stopped, and restarts on the next request).

        ``csv_options`` are LibreOffice's CSV import options (the input is then read as CSV);
        ``import_filter`` names the import filter to use instead of LibreOffice's detection;
        ``main_thread`` runs the conversion on the office's main thread (Writer documents with
        comments: see ``_office_bridge``).
        ``timeout`` defaults to :func:`time_budget` of the input's size; the office's resident
        memory is watched and the office stopped past :func:`memory_budget_mb`.
        Setting ``cancel`` (the job was canceled) stops the wait for the office; a
        conversion already running in it is abandoned by stopping the office,
        which the next request starts afresh.
        """
        self._acquire(cancel)
        try:
            for attempt in (1, 2):
                if self.alive() and self._temp_dir_gone():
                    self.stop()  # every export would fail writing its temp file: start afresh
                self.start()
                # The confined office reads only its profile: the document goes in and the PDF comes out there.
                staging = Path(tempfile.mkdtemp(prefix="job-", dir=self._profile))
                try:
                    staged = staging / f"document{source.suffix.lower()}"
                    shutil.copyfile(source, staged)
                    produced = staging / "converted.pdf"
                    request = {"input": str(staged), "output": str(produced), "password": password,
                               "csv_options": csv_options, "import_filter": import_filter,
                               "main_thread": main_thread}
                    if timeout is None:
                        timeout = time_budget(staged.stat().st_size)
                    self._rss_limit_mb = memory_budget_mb(staged.stat().st_size, self.rss_budget_mb)
                    self.peak_rss_mb = 0
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
                    if produced.exists():
                        shutil.move(str(produced), str(target))
                finally:
                    self._rss_limit_mb = None
                    shutil.rmtree(staging, ignore_errors=True)
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
        limit = self._rss_limit_mb if what == "convert" else None
        while True:
            # Watched from the first turn: a document may grow the office past its budget and
            # reply before a first 0.2 s wait would have ended.
            if limit is not None and self._sample_memory() > limit:
                self.stop()
                raise ToolFailed(f"LibreOffice needed more than {limit} MB of memory for this document "
                                 "and was stopped; it restarts on the next job")
            try:
                reply = self._replies.get(timeout=min(0.2, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if what == "start" and self._office is not None and self._office.poll() == RESTART_EXIT_CODE:
                    # A fresh profile: the office initialises it, exits asking for a restart
                    # (oosplash would do this for us), and then listens for real. The confined office
                    # cannot delete its first IPC pipe from /tmp, so we do, or the second one could not bind.
                    office_pipe(self._profile).unlink(missing_ok=True)  # named after our profile: ours alone
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
                    raise ToolFailed(f"LibreOffice took longer than {_seconds(timeout)} s to {what} and was stopped; "
                                     "it restarts on the next job (pass timeout=... to allow more)") from None
                continue
            if reply is None:
                raise (DocumentKilledOffice if what == "convert" else OfficeDied)("the LibreOffice bridge exited")
            if limit is not None:
                self._sample_memory()  # the size it reached for a document converted between two samples
            return reply

    def _sample_memory(self) -> int:
        """The office's resident size now, in MB, folded into ``peak_rss_mb``."""
        used = resident_mb(self._office.pid) if self._office is not None else 0
        self.peak_rss_mb = max(self.peak_rss_mb, used)
        return used

    @staticmethod
    def _read_replies(bridge: subprocess.Popen, replies: queue.Queue) -> None:
        for line in bridge.stdout:
            try:
                replies.put(json.loads(line))
            except ValueError:
                continue  # stray output from the UNO runtime
        replies.put(None)


_server: OfficeServer | None = None
_remote_server: OfficeServer | None = None
_server_lock = threading.Lock()


def get_server(*, remote: bool = False) -> OfficeServer:
    """The process-wide office server (created on first use, not started until a conversion).

    ``remote=True`` gives the separate office for documents allowed to fetch remote resources.
    """
    global _server, _remote_server
    with _server_lock:
        if _server is None and _remote_server is None:
            atexit.register(shutdown)
        if remote:
            if _remote_server is None:
                _remote_server = OfficeServer(remote=True)
            return _remote_server
        if _server is None:
            _server = OfficeServer()
        return _server


def shutdown() -> None:
    """Stop the warm offices, if they run."""
    for server in (_server, _remote_server):
        if server is not None:
            server.stop()

"""The harness every provider simulator stands on.

A :class:`Simulator` is a Flask app served by Werkzeug on 127.0.0.1 (a free
port by default) in a background thread. It does the real conversions with
its own embedded :class:`~docconvert_nb.engine.Engine`, and keeps the
service's rules on a :class:`SimClock` that tests move by hand, so a 24 h
retention window passes in a microsecond. Every request is logged in
``requests_seen`` (auth headers removed) for tests that check a client's
polling pattern, and :class:`Faults` injects errors, delays and truncated
bodies.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..engine import Engine

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the simulator records requests in ``requests_seen``."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class SimClock:
    """Real time plus an offset that tests can advance."""

    def __init__(self, start: float | None = None):
        self._offset = 0.0 if start is None else start - time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class FaultRule:
    path: re.Pattern | None
    method: str | None
    remaining: int | None  # None: every matching request
    status: int | None = None
    body: bytes = b""
    delay: float = 0.0
    truncate: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, request: Request) -> bool:
        if self.remaining == 0:
            return False
        if self.method and request.method != self.method.upper():
            return False
        return self.path is None or bool(self.path.search(request.path))


class Faults:
    """Fault injection for a simulator: errors, slow answers, truncated bodies.

    >>> sim.faults.fail(status=500, path="/job/", times=1)
    >>> sim.faults.delay(2.0, path="/upload")
    >>> sim.faults.truncate(path="/download")
    """

    def __init__(self):
        self.rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def fail(self, status: int = 500, *, path: str | None = None, method: str | None = None,
             times: int | None = 1, body: bytes | str = b"", headers: dict | None = None) -> None:
        self._add(FaultRule(_compile(path), method, times, status=status,
                            body=body.encode() if isinstance(body, str) else body, headers=dict(headers or {})))

    def delay(self, seconds: float, *, path: str | None = None, method: str | None = None, times: int | None = None) -> None:
        self._add(FaultRule(_compile(path), method, times, delay=seconds))

    def truncate(self, *, path: str | None = None, method: str | None = None, times: int | None = 1) -> None:
        self._add(FaultRule(_compile(path), method, times, truncate=True))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _add(self, rule: FaultRule) -> None:
        with self._lock:
            self.rules.append(rule)

    def take(self, request: Request) -> list[FaultRule]:
        """The rules that apply to ``request`` (each use counts against its ``times``)."""
        taken = []
        with self._lock:
            for rule in self.rules:
                if rule.matches(request):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    taken.append(rule)
        return taken


def _compile(path: str | None) -> re.Pattern | None:
    return re.compile(re.escape(path), re.IGNORECASE) if path else None


@dataclass
class SeenRequest:
    method: str
    path: str
    query: str
    at: float
    ended: float | None = None
    status: int | None = None


class Simulator:
    """Base class of the four provider simulators.

    Subclasses set ``name``, build their routes in :meth:`create_app` and
    return a configured adapter from :meth:`make_provider`.
    ``durations`` sets how long a job stays queued and (at least) processing,
    in simulator-clock seconds.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: SimClock | None = None,
        engine: Engine | None = None,
        durations: dict[str, float] | None = None,
    ):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("simulators listen on loopback only")
        self.host = host
        self.port = port
        self.clock = clock or SimClock()
        self._store = None
        if engine is None:
            self._store = tempfile.TemporaryDirectory(prefix=f"docconvert-sim-{self.name}-")
            # The simulator applies the service's retention itself; its engine keeps everything.
            engine = Engine(self._store.name, clock=self.clock, retention=float("inf"))
        self.engine = engine
        self.durations = {"queued": 0.0, "processing": 0.0, **(durations or {})}
        self.jobs: dict[str, Any] = {}
        self.requests_seen: list[SeenRequest] = []
        self.faults = Faults()
        self.lock = threading.RLock()
        self.app = self.create_app()
        self._server = None
        self._thread: threading.Thread | None = None
        self._provider = None

    # -- to implement ------------------------------------------------------------
    def create_app(self):
        """The Flask (or any WSGI) app with the service's routes."""
        raise NotImplementedError

    def make_provider(self):
        """An adapter instance configured for this simulator's URL and test credentials."""
        raise NotImplementedError

    @property
    def credentials(self) -> dict[str, str]:
        """Valid test credentials for this simulator."""
        raise NotImplementedError

    # -- running -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it in a with block")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def provider(self):
        """A provider instance already configured for this simulator."""
        if self._provider is None:
            self._provider = self.make_provider()
        return self._provider

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "Simulator":
        if self.running:
            return self
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        # A short poll interval makes stop() quick (shutdown waits up to one interval).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._provider is not None:
            self._provider.close()
            self._provider = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.engine.shutdown(wait=False)
        if self._store is not None:
            self._store.cleanup()
            self._store = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server else "stopped"
        return f"<{type(self).__name__} {where}>"

    # -- helpers for subclasses -------------------------------------------------------
    def stage(self, submitted_at: float, engine_status: str) -> str:
        """Where a job stands on the simulator clock: 'queued', 'processing' or the engine's final state."""
        age = self.clock() - submitted_at
        if age < self.durations["queued"]:
            return "queued"
        if engine_status in ("queued", "processing") or age < self.durations["queued"] + self.durations["processing"]:
            return "processing"
        return engine_status

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        seen = SeenRequest(request.method, request.path, request.query_string.decode("latin-1"), self.clock())
        with self.lock:
            self.requests_seen.append(seen)
        rules = self.faults.take(request)
        for rule in rules:
            if rule.delay:
                time.sleep(rule.delay)
        failing = next((r for r in rules if r.status), None)
        if failing is not None:
            seen.status, seen.ended = failing.status, self.clock()
            headers = {"Content-Type": "application/json", **failing.headers}
            return Response(failing.body, status=failing.status, headers=headers)(environ, start_response)
        if any(r.truncate for r in rules):
            return self._truncated(environ, start_response, seen)

        def recording_start(status, headers, exc_info=None):
            seen.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start)
        finally:
            seen.ended = self.clock()

    def _truncated(self, environ, start_response, seen: SeenRequest):
        """Answer with the real response's headers but only half of its body."""
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        seen.status, seen.ended = int(captured["status"].split()[0]), self.clock()
        start_response(captured["status"], captured["headers"])  # keeps the full Content-Length
        return [body[: len(body) // 2]]

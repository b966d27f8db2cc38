"""The harness every provider simulator stands on, so that a simulator is its routes.

A :class:`Simulator` is a Flask app served by Werkzeug on 127.0.0.1 (a free
port by default) in a background thread. The base class holds what every
simulator shares:

* the app preamble (loopback only, the simulator header on every answer,
  404/405 in the service's error shape, an OAuth token endpoint for the
  services that have one) and test credentials;
* the engine bridge: conversions run for real on the simulator's own
  embedded :class:`~docconvert_nb.engine.Engine` (:meth:`start_conversion`,
  :meth:`engine_outcome`, :meth:`discard`), counted in
  ``conversions_started``;
* the stage mapping (:meth:`stage`): the service's rules run on a
  :class:`SimClock` that tests move by hand, so a 24 h retention window
  passes in a microsecond;
* a background thread for the calls a service makes itself (webhooks,
  callbacks): :meth:`notify_in_background` / :meth:`deliver_notifications`;
* the request log ``requests_seen`` (auth headers removed), for tests that
  check a client's polling pattern, and :class:`Faults`, which injects
  errors, delays and truncated bodies.

A subclass sets ``name`` and ``label``, makes its credentials and adds its
routes.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from flask import Flask, jsonify
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..documents import ConversionRequest, Source
from ..engine import Engine
from ..errors import DocconvertError
from ..protocols import SIMULATOR_HEADER

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


#: Kinds of random faults: a gateway's 502/503/504 before any work; the connection dropped after the
#: work, before the answer; the answer held longer than a client's read timeout; 429 with Retry-After
#: before any work; the body cut in half; the job's results expired just before the request; a file
#: download whose bytes differ from the file (one byte flipped: only a checksum can tell).
FAULT_KINDS = ("5xx", "reset", "slow", "429", "truncate", "expire", "corrupt")


@dataclass
class RandomFaults:
    """Faults drawn at ``rate`` from ``kinds`` for every matching request (see :meth:`Faults.random`)."""

    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    slow: float = 2.0
    retry_after: int = 1
    path: re.Pattern | None = None
    method: str | None = None
    #: How many faults of each kind were injected.
    injected: Counter = field(default_factory=Counter)

    def draw(self, request: Request) -> str | None:
        if self.method and request.method != self.method.upper():
            return None
        if self.path is not None and not self.path.search(request.path):
            return None
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        self.injected[kind] += 1
        return kind


class Faults:
    """Fault injection for a simulator: errors, slow answers, truncated bodies, at a rate or one by one.

    >>> sim.faults.fail(status=500, path="/job/", times=1)
    >>> sim.faults.delay(2.0, path="/upload")
    >>> sim.faults.truncate(path="/download")
    >>> sim.faults.random(rate=0.1, seed=7)               # every kind of FAULT_KINDS, mixed
    >>> sim.faults.random(rate=0.2, kinds=("5xx", "429"))
    """

    def __init__(self):
        self.rules: list[FaultRule] = []
        self.mix: RandomFaults | None = None
        self._lock = threading.Lock()

    def random(self, rate: float = 0.1, *, seed: int | None = None, kinds=FAULT_KINDS, slow: float = 2.0,
               retry_after: int = 1, path: str | None = None, method: str | None = None) -> RandomFaults:
        """Inject a fault into a ``rate`` share of the requests, of a kind drawn from ``kinds``.

        The draws come from ``random.Random(seed)`` in the order requests
        arrive, so the same requests in the same order meet the same faults.
        ``slow`` is how long a slow answer is held (make it longer than the
        client's read timeout); ``retry_after`` the seconds a 429 announces.
        """
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown or not kinds:
            raise ValueError(f"fault kinds are {', '.join(FAULT_KINDS)}; not {', '.join(unknown) or 'none'}")
        if not 0 <= rate <= 1:
            raise ValueError("rate is a share of the requests, from 0 to 1")
        mix = RandomFaults(rate, tuple(kinds), random.Random(seed), slow, int(retry_after), _compile(path), method)
        with self._lock:
            self.mix = mix
        return mix

    @property
    def injected(self) -> Counter:
        """How many random faults of each kind were injected so far."""
        return Counter(self.mix.injected) if self.mix is not None else Counter()

    def draw(self, request: Request) -> str | None:
        """The random fault for ``request``, if one is drawn."""
        with self._lock:
            return self.mix.draw(request) if self.mix is not None else None

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
            self.mix = None

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
    #: The random fault injected into this request, if any.
    fault: str | None = None


class Simulator:
    """Base class of the provider simulators.

    Subclasses set ``name`` and ``label``, return their test credentials
    from :meth:`new_credentials` and add their routes in :meth:`add_routes`.
    ``durations`` sets how long a job stays queued and (at least)
    processing, in simulator-clock seconds.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    #: Whether the service authenticates with OAuth client credentials (then ``self.tokens`` issues them).
    oauth: ClassVar[bool] = False

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
        #: How many conversions the simulator really handed to its engine.
        self.conversions_started = 0
        #: Service job ids whose results an "expire" fault removed.
        self.expired_jobs: set[str] = set()
        self._credentials = self.new_credentials()
        if self.oauth:
            from ._common import TokenIssuer

            self.tokens = TokenIssuer(self.clock, {self._credentials["client_id"]: self._credentials["client_secret"]})
        self._notify_stop = threading.Event()
        self._notify_thread: threading.Thread | None = None
        self.app = self.create_app()
        self._server = None
        self._thread: threading.Thread | None = None
        self._provider = None

    # -- to implement ------------------------------------------------------------
    def new_credentials(self) -> dict[str, str]:
        """Fresh test credentials, named as the adapter's constructor arguments (none by default)."""
        return {}

    def add_routes(self, app: Flask) -> None:
        """Add the service's routes to ``app``."""
        raise NotImplementedError

    def expire_for(self, request: Request) -> str | None:
        """Make the job ``request`` asks about expire now (its results gone); returns its id, or None."""
        return None

    def error_response(self, status: int, message: str):
        """An error answer in the service's shape (used for unknown routes and methods)."""
        response = jsonify(message=message)
        response.status_code = status
        return response

    # -- the app and the adapter -----------------------------------------------------
    def create_app(self) -> Flask:
        """The Flask app: the shared preamble, then the service's routes."""
        app = Flask(f"docconvert-sim-{self.name}")
        app.url_map.strict_slashes = False

        @app.after_request
        def mark_as_simulator(response):
            response.headers[SIMULATOR_HEADER] = self.name
            return response

        app.register_error_handler(404, lambda _: self.error_response(404, "Not found"))
        app.register_error_handler(405, lambda _: self.error_response(405, "Method not allowed"))
        if self.oauth:
            self.tokens.add_route(app)
        self.add_routes(app)
        return app

    @property
    def credentials(self) -> dict[str, str]:
        """Valid test credentials for this simulator."""
        return dict(self._credentials)

    @property
    def provider_base_url(self) -> str:
        """The base URL the adapter is given (the API root)."""
        return self.base_url

    def make_provider(self):
        """An adapter instance configured for this simulator's URL and test credentials."""
        from ..providers import provider_class

        return provider_class(self.name)(**self._credentials, base_url=self.provider_base_url, simulator=True,
                                         poll_interval=0.2)

    # -- running -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() or use it in a with block")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def provider(self):
        """A provider instance already configured for this simulator (made on first use)."""
        with self.lock:
            self._provider = self._provider or self.make_provider()
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
        self._notify_stop.set()
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

    # -- the engine bridge ---------------------------------------------------------------
    def start_conversion(self, task: str, fmt: str, target: str, data: bytes, name: str,
                         options: dict[str, Any] | None = None) -> str:
        """Hand one conversion to the engine; returns its engine job id.

        Options the engine's converter does not know are dropped (the
        service ignores what it does not apply); the engine reads text values
        as the option's type (``"72"`` → 72). Raises :class:`DocconvertError` when
        the engine has no converter for the pair.
        """
        converter = self.engine.registry.find(task, fmt, target)
        if converter is None:
            raise DocconvertError(
                f"cannot {task} {fmt} to {target}: the simulator's engine has no converter for it "
                f"(is its tool installed? see dc.doctor())"
            )
        known = {option.name for option in converter.options}
        chosen = {key: value for key, value in (options or {}).items() if key in known and value is not None}
        job_id = self.engine.submit(ConversionRequest(Source(name=name, format=fmt, data=data), target, task, chosen))
        with self.lock:
            self.conversions_started += 1
        return job_id

    def engine_outcome(self, engine_ids: list[str]) -> str:
        """'queued', 'processing', 'completed' (every job, with outputs) or 'failed', for a service job."""
        records = [self.engine.get(job_id) for job_id in engine_ids]
        states = [record.status for record in records]
        if any(state in ("queued", "processing") for state in states):
            return "processing" if any(state != "queued" for state in states) else "queued"
        if records and all(record.status == "completed" and record.outputs for record in records):
            return "completed"
        return "failed"

    def engine_failure(self, engine_ids: list[str]) -> list[str]:
        """The engine's error messages for jobs that did not complete."""
        records = [self.engine.get(job_id) for job_id in engine_ids]
        messages = [error for record in records for error in record.errors]
        return messages or [record.message for record in records if record.status != "completed" and record.message]

    def discard(self, engine_ids: list[str]) -> None:
        """Delete engine jobs and their outputs (a purge, a deletion); already gone is fine."""
        for job_id in engine_ids:
            try:
                self.engine.delete(job_id)
            except DocconvertError:
                pass

    def older_than(self, created_at: float, retention: float) -> bool:
        """Whether something made at ``created_at`` (simulator clock) is past the service's retention."""
        return self.clock() - created_at > retention

    def stage(self, submitted_at: float, engine_status: str, words: dict[str, str] | None = None) -> str:
        """Where a job stands on the simulator clock: 'queued', 'processing' or the engine's final state.

        ``words`` translates the stage into the service's vocabulary.
        """
        age = self.clock() - submitted_at
        if age < self.durations["queued"]:
            stage = "queued"
        elif engine_status in ("queued", "processing") or age < self.durations["queued"] + self.durations["processing"]:
            stage = "processing"
        else:
            stage = engine_status
        return words.get(stage, stage) if words else stage

    # -- calls the service makes itself --------------------------------------------------
    def notify_in_background(self) -> None:
        """Make sure the thread delivering webhooks/callbacks runs (started on first need)."""
        with self.lock:
            if self._notify_thread is None or not self._notify_thread.is_alive():
                self._notify_thread = threading.Thread(target=self._notify_loop, name=f"sim-{self.name}-notify",
                                                       daemon=True)
                self._notify_thread.start()

    def deliver_notifications(self, session: requests.Session) -> None:
        """Make the calls that are due (called every 50 ms on the notification thread)."""

    def _notify_loop(self) -> None:
        with requests.Session() as session:
            while not self._notify_stop.wait(0.05):
                try:
                    self.deliver_notifications(session)
                except Exception:  # a broken delivery must not end the thread
                    log.exception("%s simulator: notification delivery failed", self.name)

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
        kind = seen.fault = self.faults.draw(request)
        if kind is not None:
            answer = self._random_fault(kind, environ, start_response, seen)
            if answer is not None:
                return answer

        def recording_start(status, headers, exc_info=None):
            seen.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start)
        finally:
            seen.ended = self.clock()

    def _random_fault(self, kind: str, environ, start_response, seen: SeenRequest):
        """Answer ``environ`` with fault ``kind``; None lets the request through (after an expiry)."""
        mix = self.faults.mix
        if kind == "5xx":
            status = mix.rng.choice((502, 503, 504))
            seen.status, seen.ended = status, self.clock()
            return Response(b"<html><body>gateway error</body></html>", status=status,
                            content_type="text/html")(environ, start_response)
        if kind == "429":
            seen.status, seen.ended = 429, self.clock()
            with self.app.request_context(environ):  # the service's error shape, made by its own app
                answer = self.error_response(429, "Too many requests: slow down")
            answer.headers["Retry-After"] = str(mix.retry_after)
            return answer(environ, start_response)
        if kind == "truncate":
            return self._truncated(environ, start_response, seen)
        if kind == "expire":
            expired = self.expire_for(Request(environ))
            if expired is not None:
                with self.lock:
                    self.expired_jobs.add(expired)
            return None
        status, headers, body = self._run_app(environ)  # "reset", "slow" and "corrupt" do the work first
        seen.status, seen.ended = status, self.clock()
        if kind == "corrupt":
            is_file = status == 200 and body and any(name.lower() == "content-disposition" for name, _ in headers)
            if is_file:
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
            start_response(status_line(status), headers)
            return [body]
        if kind == "slow":
            time.sleep(mix.slow)
            start_response(status_line(status), headers)
            return [body]
        seen.status = None  # "reset": the work is done, the answer never leaves
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("500 Internal Server Error", [("Content-Length", "0")])
        return [b""]

    def _run_app(self, environ) -> tuple[int, list, bytes]:
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        return int(captured["status"].split()[0]), captured["headers"], body

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


def status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


"""A small loopback HTTP receiver for job-finished webhooks.

A service that supports webhooks (ConvertAPI's ``WebHook`` parameter) calls a
URL when a job is done: ``GET <url>?JobId=<id>`` (legacy) or ``POST <url>``
with ``{"JobId": "<id>"}`` (current API). :class:`WebhookReceiver` is that
URL for an adapter: the standard library's threading HTTP server on
127.0.0.1 (nothing beyond a core install), started on first use, whose path carries a random token, and which accepts only the job ids
it was told to expect (404 for anything else). Each accepted call runs
``on_event(job_id)``; the adapter then fetches the result itself, so a
forged call can at worst cause one extra status check.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

#: Largest request body the receiver reads (a job id fits many times over).
MAX_BODY = 64 * 1024


class WebhookReceiver:
    """Receives "job finished" calls on loopback for the job ids it expects.

    >>> receiver = WebhookReceiver(lambda job_id: print("done", job_id))
    >>> receiver.expect("d3bd2056-...")
    >>> receiver.url            # starts the server; give this to the service
    'http://127.0.0.1:41234/hook/Jx0...'
    """

    def __init__(self, on_event: Callable[[str], None], *, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the webhook receiver listens on loopback only")
        self.host = host
        self.on_event = on_event
        self._path = f"/hook/{secrets.token_urlsafe(16)}"
        self._expected: set[str] = set()
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None
        #: Every call received: (method, job id or None, accepted?).
        self.calls: list[tuple[str, str | None, bool]] = []

    # -- which jobs ------------------------------------------------------------------
    def expect(self, job_id: str) -> None:
        """Accept calls for ``job_id`` from now on."""
        with self._lock:
            self._expected.add(job_id)

    def forget(self, job_id: str) -> None:
        """Stop accepting calls for ``job_id`` (404 from now on)."""
        with self._lock:
            self._expected.discard(job_id)

    def expecting(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._expected

    # -- the server --------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The URL to hand to the service (starts the server on first use)."""
        self.start()
        return f"http://{self.host}:{self._server.server_port}{self._path}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "WebhookReceiver":
        with self._lock:
            if self._server is None:
                self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
                self._server.daemon_threads = True
                self._thread = threading.Thread(
                    target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                    name="docconvert-webhooks", daemon=True,
                )
                self._thread.start()
        return self

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def handle(self, method: str, path: str, job_id: str | None) -> int:
        """Decide on one call; returns the HTTP status to answer."""
        if path != self._path or method not in ("GET", "POST"):
            return 404
        accepted = job_id is not None and self.expecting(job_id)
        self.calls.append((method, job_id, accepted))
        if not accepted:
            return 404
        try:
            self.on_event(job_id)
        except Exception:  # the service must get its 200 whatever the adapter does with the news
            log.exception("webhook handler failed for job %s", job_id)
        return 200

    def __repr__(self) -> str:
        state = f"on port {self._server.server_port}" if self._server else "not started"
        return f"<WebhookReceiver {state}, {len(self._expected)} job(s) expected>"


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=b"")

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._reply(413)
                return
            self._answer(body=self.rfile.read(length))

        def _answer(self, body: bytes) -> None:
            parts = urlsplit(self.path)
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            job_id = _job_id_of(parts.query, content_type, body)
            self._reply(receiver.handle(self.command, parts.path, job_id))

        def _reply(self, status: int) -> None:
            text = {200: b"OK", 404: b"unknown job", 413: b"too large"}.get(status, b"")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args) -> None:  # no access log on stderr
            pass

    return Handler


def _job_id_of(query: str, content_type: str, body: bytes) -> str | None:
    """``JobId`` from the query, a form, or a JSON body (any letter case)."""
    pairs = parse_qsl(query)
    if content_type == "application/x-www-form-urlencoded":
        pairs += parse_qsl(body.decode("utf-8", "replace"))
    for key, value in pairs:
        if key.lower() == "jobid" and value:
            return value
    if content_type == "application/json" and body:
        try:
            document = json.loads(body)
        except ValueError:
            return None
        if isinstance(document, dict):
            for key, value in document.items():
                if key.lower() == "jobid" and isinstance(value, str) and value:
                    return value
    return None


__all__ = ["WebhookReceiver"]

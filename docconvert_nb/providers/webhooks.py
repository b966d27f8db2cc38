"""A small loopback HTTP receiver for job-finished webhooks.

A service that supports webhooks (ConvertAPI's ``WebHook`` parameter) calls a
URL when a job is done: ``GET <url>?JobId=<id>`` (legacy) or ``POST <url>``
with ``{"JobId": "<id>"}`` (current API). :class:`WebhookReceiver` is that
URL for an adapter: a kept Werkzeug server on 127.0.0.1, started on first
use, whose path carries a random token, and which accepts only the job ids
it was told to expect (404 for anything else). Each accepted call runs
``on_event(job_id)``; the adapter then fetches the result itself, so a
forged call can at worst cause one extra status check.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from typing import Callable

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


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
                self._server = make_server(self.host, 0, self._app, threaded=True, request_handler=_QuietHandler)
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

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.path != self._path or request.method not in ("GET", "POST"):
            return Response("not found", status=404)(environ, start_response)
        job_id = _job_id_of(request)
        accepted = job_id is not None and self.expecting(job_id)
        self.calls.append((request.method, job_id, accepted))
        if not accepted:
            return Response("unknown job", status=404)(environ, start_response)
        try:
            self.on_event(job_id)
        except Exception:  # the service must get its 200 whatever the adapter does with the news
            log.exception("webhook handler failed for job %s", job_id)
        return Response("OK", status=200, content_type="text/plain")(environ, start_response)

    def __repr__(self) -> str:
        state = f"on port {self._server.server_port}" if self._server else "not started"
        return f"<WebhookReceiver {state}, {len(self._expected)} job(s) expected>"


def _job_id_of(request: Request) -> str | None:
    """``JobId`` from the query, a form, or a JSON body (any letter case)."""
    for source in (request.args, request.form):
        for key, value in source.items():
            if key.lower() == "jobid" and value:
                return value
    if request.method == "POST" and request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data(cache=False, as_text=True) or "null")
        except ValueError:
            return None
        if isinstance(body, dict):
            for key, value in body.items():
                if key.lower() == "jobid" and isinstance(value, str) and value:
                    return value
    return None


__all__ = ["WebhookReceiver"]

"""Pieces several simulators share: an OAuth token endpoint, bearer checks, loopback callbacks, file answers.

Aspose and GroupDocs run the same identity server: ``POST /connect/token``
with ``grant_type=client_credentials`` answers ``{"access_token",
"expires_in", "token_type"}``. :class:`TokenIssuer` simulates it on the
simulator's clock, so tests can let a token expire by advancing the clock::

    issuer = TokenIssuer(sim.clock, {"client-id": "client-secret"})
    issuer.add_route(app)                       # POST /connect/token
    if not issuer.authorized(flask.request):    # in a protected route
        return 401
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Request, Response, jsonify

from ..fileformats import from_name, media_type
from ..protocols import OAUTH_TOKEN_LIFETIME as TOKEN_LIFETIME
from ..protocols import OAUTH_TOKEN_PATH


class TokenIssuer:
    """A simulated OAuth 2 client-credentials token endpoint.

    ``clients`` maps client ids to secrets. Tokens are random, known only to
    this issuer, and expire ``lifetime`` seconds after issue on ``clock``.
    The endpoint accepts the form as ``application/x-www-form-urlencoded``
    or ``multipart/form-data`` (Aspose SDK 24.8 sends multipart), and client
    credentials in the form or as HTTP Basic auth.
    """

    def __init__(self, clock: Callable[[], float], clients: dict[str, str], *, lifetime: float = TOKEN_LIFETIME):
        self.clock = clock
        self.clients = dict(clients)
        self.lifetime = lifetime
        self._tokens: dict[str, float] = {}  # token -> expiry
        self._lock = threading.Lock()
        #: How many tokens were issued (tests check caching with it).
        self.issued = 0

    def issue(self, client_id: str | None, client_secret: str | None) -> str | None:
        """A new token for valid credentials, else None."""
        if not client_id or self.clients.get(client_id) != client_secret or client_secret is None:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.clock() + self.lifetime
            self.issued += 1
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and self.clock() < expiry

    def revoke_all(self) -> None:
        """Forget every token (the next call with an old token gets 401)."""
        with self._lock:
            self._tokens.clear()

    def authorized(self, request: Request) -> bool:
        """Whether ``request`` carries ``Authorization: Bearer <valid token>``."""
        return self.valid(bearer_token(request))

    def token_endpoint(self, request: Request):
        """The Flask view of ``POST /connect/token``."""
        form = request.form  # Flask parses urlencoded and multipart alike
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = client_id or request.authorization.username
            client_secret = client_secret or request.authorization.password
        if grant != "client_credentials":
            return jsonify(error="unsupported_grant_type"), 400
        token = self.issue(client_id, client_secret)
        if token is None:
            return jsonify(error="invalid_client"), 400
        response = jsonify(access_token=token, expires_in=int(self.lifetime), token_type="Bearer")
        response.headers["Cache-Control"] = "no-store"
        return response

    def add_route(self, app: Flask, path: str = OAUTH_TOKEN_PATH) -> None:
        from flask import request

        app.add_url_rule(path, "connect_token", lambda: self.token_endpoint(request), methods=["POST"])


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def new_guid() -> str:
    import uuid

    return str(uuid.uuid4())


def iso_utc(seconds: float, *, zone: bool = True) -> str:
    """``2024-01-01T10:00:05Z`` (or without the ``Z`` for services that omit the zone)."""
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + "Z" if zone else text


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is a loopback address: the only callback targets a simulator calls."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def file_response(data: bytes, name: str, *, disposition: str = "attachment", content_type: str | None = None) -> Response:
    """A file download answer: the bytes, their media type, ``Content-Disposition`` with the file name."""
    headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
    return Response(data, content_type=content_type or media_type(from_name(name) or ""), headers=headers)


__all__ = ["TOKEN_LIFETIME", "TokenIssuer", "bearer_token", "file_response", "is_loopback_url", "iso_utc", "new_guid"]

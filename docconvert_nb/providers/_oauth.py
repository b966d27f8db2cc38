"""OAuth 2 client-credentials tokens, fetched once and renewed before they expire.

Aspose and GroupDocs share the same identity server protocol: ``POST
/connect/token`` with ``grant_type=client_credentials&client_id=...&
client_secret=...`` (form-encoded) answers ``{"access_token", "expires_in",
"token_type"}``. :class:`ClientCredentials` keeps one token per adapter,
thread-safe, and hands it to ``requests`` as an ``auth=`` object::

    oauth = ClientCredentials(http, "/connect/token", client_id, client_secret)
    http.request("GET", "/v5.0/ocr/...", auth=oauth)
    oauth.call(lambda: http.request("POST", ..., auth=oauth))   # renews once on a 401

The client secret and every token are registered with the
:class:`~docconvert_nb.providers.http.HttpClient` as secrets, so they are
masked in its error messages; no repr here shows them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, TypeVar

import requests

from ..errors import AuthenticationError, ProviderError
from .http import HttpClient
from .retry import RetryNote, report

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Renew a token this many seconds before the server says it expires.
DEFAULT_RENEW_MARGIN = 60.0
#: Lifetime assumed when the server does not send ``expires_in``.
DEFAULT_LIFETIME = 3600.0


class ClientCredentials(requests.auth.AuthBase):
    """A cached OAuth 2 client-credentials bearer token for one client.

    ``token_url`` is a path on ``http``'s base URL or an absolute URL.
    ``clock`` is the time source (tests pass one they can advance).
    """

    def __init__(
        self,
        http: HttpClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        renew_margin: float = DEFAULT_RENEW_MARGIN,
        clock: Callable[[], float] = time.time,
        scope: str | None = None,
    ):
        if not client_id or not client_secret:
            raise AuthenticationError(f"{http.provider_label} needs a client id and a client secret")
        self.http, self.token_url, self.scope = http, token_url, scope
        self.client_id, self._client_secret = client_id, client_secret
        self.renew_margin, self.clock = renew_margin, clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._lock = threading.Lock()
        #: How many tokens were fetched (for tests and diagnostics).
        self.fetches = 0
        http.add_secret(client_secret)

    # -- the token -------------------------------------------------------------------
    def token(self) -> str:
        """A valid access token: the cached one, or a new one if it is (about to be) expired."""
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._fetch()
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._expires_at = self._renew_at = 0.0

    @property
    def expires_at(self) -> float:
        """When the cached token expires, on ``clock`` (0 when there is none)."""
        return self._expires_at

    def _fetch(self) -> None:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._client_secret}
        if self.scope:
            form["scope"] = self.scope
        started = self.clock()
        try:
            response = self._post_for_token(form)
        except AuthenticationError:
            raise
        except ProviderError as exc:
            if exc.status_code in (400, 401, 403):  # OAuth servers answer 400 invalid_client
                raise AuthenticationError(
                    f"{self.http.provider_label} rejected the client id/secret: {exc}",
                    status_code=exc.status_code,
                    code=exc.code,
                ) from None
            raise
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                f"{self.http.provider_label}'s token endpoint sent no access_token", status_code=response.status_code
            ) from None
        if not isinstance(token, str) or not token:
            raise ProviderError(f"{self.http.provider_label}'s token endpoint sent an empty access_token")
        try:
            lifetime = float(body.get("expires_in", DEFAULT_LIFETIME))
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        self.http.add_secret(token)
        self._token = token
        self._expires_at = started + lifetime
        # A margin larger than the lifetime would renew on every call: use at most half of it.
        self._renew_at = self._expires_at - min(self.renew_margin, lifetime / 2)
        self.fetches += 1
        log.debug("fetched a %s token valid for %.0f s", self.http.provider_label, lifetime)

    def _post_for_token(self, form: dict[str, str]) -> requests.Response:
        """POST the token request; asking for a token twice is harmless, so transient failures are retried."""
        attempt = 0
        while True:
            try:
                return self.http.request("POST", self.token_url, data=form, headers={"Accept": "application/json"},
                                         expected=(200,))
            except AuthenticationError:
                raise
            except ProviderError as exc:
                attempt += 1
                if exc.status_code not in (None, 502, 503, 504) or attempt > self.http.retry.budget:
                    raise
                wait = self.http.retry.sleep_for(attempt)
                reason = f"a {exc.status_code}" if exc.status_code else "a dropped connection or a timeout"
                report(RetryNote(attempt, self.http.retry.budget, f"{reason} from the token endpoint", wait))
                time.sleep(wait)

    # -- using it ----------------------------------------------------------------------
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def call(self, send: Callable[[], T]) -> T:
        """Run ``send()`` (which authenticates with this object); on a 401, renew the token once and retry.

        A 401 means the server refused the request before doing anything,
        so sending it again cannot duplicate a submission.
        """
        used = self.token()
        try:
            return send()
        except AuthenticationError as exc:
            if exc.status_code != 401:
                raise
            log.debug("%s refused the token; fetching a new one", self.http.provider_label)
            self.invalidate(used)
            return send()

    def __repr__(self) -> str:
        state = "no token yet" if self._token is None else f"token valid until {self._expires_at:.0f}"
        return f"<ClientCredentials for {self.http.provider_label} at {self.token_url!r}: {state}>"


__all__ = ["ClientCredentials", "DEFAULT_RENEW_MARGIN"]

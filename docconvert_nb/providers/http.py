"""The HTTP layer every cloud adapter shares.

One :class:`HttpClient` per provider instance: a ``requests.Session`` with
the retry policy of :mod:`docconvert_nb.providers.retry` (idempotent calls
re-sent after transient failures, incomplete bodies included; a POST or PATCH
that may have started a conversion only after a 429); connect and read
timeouts; a user agent; streamed downloads with an MD5 computed on the way;
and errors whose messages never contain a secret.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import IO, Any, Callable, Iterable

import requests
from requests.adapters import HTTPAdapter

from ..errors import AuthenticationError, ProviderError
from ..redact import mask_text
from .retry import DEFAULT_BACKOFF, DEFAULT_RETRIES, IDEMPOTENT, TRANSIENT_STATUSES, RetryNote, RetryPolicy, report

log = logging.getLogger(__name__)

_INCOMPLETE = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
DEFAULT_TIMEOUT = (5.0, 120.0)  # (connect, read) seconds

#: Turns an error response into (message, provider error code).
ErrorParser = Callable[[requests.Response], "tuple[str, Any]"]


def _user_agent() -> str:
    from .._version import __version__

    return f"docconvert_nb/{__version__} python-requests/{requests.__version__}"


def default_error_parser(response: requests.Response) -> tuple[str, Any]:
    """Best effort: a JSON ``message``/``Message``/``error`` field, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or response.reason or "no details"), None
    if isinstance(body, dict):
        for key in ("message", "Message", "detail", "title"):
            if isinstance(body.get(key), str):
                return body[key], body.get("code", body.get("Code"))
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error), error.get("code")
        if isinstance(error, str):
            return error, None
    return str(body)[:300], None


class HttpClient:
    """A session for one provider endpoint.

    ``secrets`` are values (tokens, keys) that must never appear in an error
    message; more can be added with :meth:`add_secret` (e.g. a token fetched
    later). ``retry_statuses`` are the HTTP statuses retried on idempotent
    calls; a provider whose 503 means something else (ConvertAPI) passes its
    own list.
    """

    def __init__(
        self,
        base_url: str,
        *,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        retry_statuses: Iterable[int] = TRANSIENT_STATUSES,
        error_parser: ErrorParser = default_error_parser,
        provider_label: str = "the provider",
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.error_parser = error_parser
        self.provider_label = provider_label
        self._secrets: list[str] = [s for s in secrets if s]
        self.retry_statuses = tuple(retry_statuses)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = _user_agent()
        self.configure_retries(retries, backoff=backoff)

    def configure_retries(self, retries: int = DEFAULT_RETRIES, *, backoff: float = DEFAULT_BACKOFF) -> None:
        """Set the retry budget and back-off (the same policy for every call of this client)."""
        self.retry = RetryPolicy.for_adapter(retries, backoff=backoff, statuses=self.retry_statuses)
        adapter = HTTPAdapter(max_retries=self.retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def add_secret(self, value: str | None) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)

    def mask(self, text: str) -> str:
        return mask_text(text, self._secrets)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        expected: Iterable[int] = (200,),
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; return the response if its status is ``expected``, else raise.

        Raises :class:`AuthenticationError` for 401/403 and
        :class:`ProviderError` (with ``status_code`` and the provider's
        ``code``) for any other unexpected status or a network failure.
        """
        kwargs.setdefault("timeout", self.timeout)
        url = self.url(path)
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, **kwargs)
                break
            except _INCOMPLETE:
                # The session's policy retries failures before the body; a body cut short is retried here.
                attempt += 1
                if method.upper() not in IDEMPOTENT or attempt > self.retry.budget:
                    raise ProviderError(
                        self.mask(f"{self.provider_label} sent an incomplete answer to {method} {_path_of(url)}")
                    ) from None
                self._pause(attempt, "an incomplete answer")
            except requests.RequestException as exc:
                raise ProviderError(
                    self.mask(f"cannot reach {self.provider_label} ({method} {_path_of(url)}): {_reason(exc)}")
                ) from None
        if response.status_code not in tuple(expected):
            raise self.error_for(response)
        return response

    def error_for(self, response: requests.Response) -> ProviderError:
        """The typed, secret-free error describing an unexpected response."""
        message, code = self.error_parser(response)
        where = f"{response.request.method} {_path_of(response.url)}"
        text = self.mask(f"{self.provider_label} answered {response.status_code} to {where}: {message}")
        cls = AuthenticationError if response.status_code in (401, 403) else ProviderError
        return cls(text, status_code=response.status_code, code=code)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                self.mask(f"{self.provider_label} sent a non-JSON answer to {method} {_path_of(response.url)}"),
                status_code=response.status_code,
            ) from None

    def download(self, path: str, sink: IO[bytes], **kwargs: Any) -> tuple[int, str]:
        """Stream a response body into ``sink``; returns (bytes written, MD5 hex).

        A download broken off half-way is started over (``sink`` rewound and
        truncated) when ``sink`` can be, within the retry budget.
        """
        attempt = 0
        while True:
            digest, size = hashlib.md5(), 0
            try:
                response = self.request("GET", path, stream=True, **kwargs)
            except ProviderError as exc:
                # A gateway's 5xx on a download is worth another try even where the adapter's own calls
                # give that status a meaning (ConvertAPI's 503 for an open poll).
                attempt += 1
                if exc.status_code not in TRANSIENT_STATUSES or attempt > self.retry.budget:
                    raise
                self._pause(attempt, f"a {exc.status_code}")
                continue
            with response:
                try:
                    for chunk in response.iter_content(1 << 20):
                        sink.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    return size, digest.hexdigest()
                except requests.RequestException:
                    where = _path_of(response.url)
            attempt += 1
            if attempt > self.retry.budget or not _rewind(sink):
                raise ProviderError(
                    self.mask(f"{self.provider_label} broke off the download of {where} after {size} bytes")
                )
            self._pause(attempt, "a broken-off download")

    def _pause(self, attempt: int, reason: str) -> None:
        wait = self.retry.sleep_for(attempt)
        report(RetryNote(attempt, self.retry.budget, reason, wait))
        time.sleep(wait)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"


def _rewind(sink: IO[bytes]) -> bool:
    """Empty ``sink`` for a fresh start; False when it cannot be."""
    try:
        sink.seek(0)
        sink.truncate()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _path_of(url: str) -> str:
    """The path of a URL without its query string (where legacy secrets travel)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__

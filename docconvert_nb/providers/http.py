"""The HTTP layer every cloud adapter shares.

One :class:`HttpClient` per provider instance: a ``requests.Session`` whose
urllib3 ``Retry`` re-sends only idempotent calls (GET, PUT, DELETE...), never
a POST or PATCH that may have started a conversion; connect and read
timeouts; a user agent; streamed downloads with an MD5 computed on the way;
and errors whose messages never contain a secret.
"""

from __future__ import annotations

import hashlib
import logging
from typing import IO, Any, Callable, Iterable

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import AuthenticationError, ProviderError
from ..redact import mask_text

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
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
        retries: int = 3,
        backoff: float = 0.5,
        retry_statuses: Iterable[int] = (429, 500, 502, 503, 504),
        error_parser: ErrorParser = default_error_parser,
        provider_label: str = "the provider",
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.error_parser = error_parser
        self.provider_label = provider_label
        self._secrets: list[str] = [s for s in secrets if s]
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=tuple(retry_statuses),
            allowed_methods=IDEMPOTENT,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = _user_agent()

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
        try:
            response = self.session.request(method, url, **kwargs)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise ProviderError(
                self.mask(f"{self.provider_label} sent an incomplete answer to {method} {_path_of(url)}")
            ) from None
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
        """Stream a response body into ``sink``; returns (bytes written, MD5 hex)."""
        digest = hashlib.md5()
        size = 0
        with self.request("GET", path, stream=True, **kwargs) as response:
            try:
                for chunk in response.iter_content(1 << 20):
                    sink.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            except requests.RequestException:
                raise ProviderError(
                    self.mask(f"{self.provider_label} broke off the download of {_path_of(response.url)} after {size} bytes")
                ) from None
        return size, digest.hexdigest()

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"


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

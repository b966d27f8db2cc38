"""The skeleton every cloud adapter stands on, so that an adapter is request building and response parsing.

A :class:`CloudProvider` subclass declares its service's facts as class
attributes (default base URL and the environment variable that overrides it,
the credentials and the environment variables they come from, whether it
authenticates with OAuth 2 client credentials, how its errors look) and
implements the job verbs. The base class does the rest:

* credentials from the constructor's arguments or the environment, never
  shown in a repr, a log or an error message (they are registered with the
  :class:`~docconvert_nb.providers.http.HttpClient` as secrets);
* the HTTP session with timeouts and the retry policy, an OAuth token cached
  per adapter (:class:`~docconvert_nb.providers._oauth.ClientCredentials`);
* :meth:`check` (the request can run here, its options are valid, the
  credentials are present), a clear error naming the arguments and
  environment variables when they are missing;
* :meth:`poll_delay` (``poll_interval`` growing ×1.5 up to a ceiling),
  :meth:`close`, ``__repr__``;
* a private cache folder (mode 0700) for request bodies and downloads, made
  on first use and removed on :meth:`close` or at exit; downloads streamed
  into it and checked against the size and checksum the service announced;
* noticing that the endpoint is one of our simulators (they mark every
  answer with :data:`~docconvert_nb.protocols.SIMULATOR_HEADER`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, ClassVar

import requests

from ..errors import AuthenticationError, ChecksumMismatch, DocconvertError, OutputUnavailable, ProviderError
from ..fileformats import from_name, media_type
from ..outputs import Output, safe_filename
from ..protocols import SIMULATOR_HEADER
from .base import ConversionRequest, JobSnapshot, Provider, UpdateCallback
from .http import DEFAULT_TIMEOUT, HttpClient, default_error_parser
from .retry import RetryNote, report, reporting_retries

log = logging.getLogger(__name__)

#: Parses a decoded JSON error body into (message, code), or None when the body is not the service's error shape.
ErrorShape = Callable[[Any], "tuple[str, Any] | None"]


@dataclass(frozen=True)
class Credential:
    """One credential an adapter needs: the constructor argument and the environment variables it falls back on."""

    argument: str
    env: tuple[str, ...]
    #: How the missing-credential message names the argument (default ``argument=``).
    hint: str = ""

    @classmethod
    def client_pair(cls, prefix: str) -> "tuple[Credential, Credential]":
        """The OAuth client id and secret, from ``<PREFIX>_CLIENT_ID`` and ``<PREFIX>_CLIENT_SECRET``."""
        return cls("client_id", (f"{prefix}_CLIENT_ID",)), cls("client_secret", (f"{prefix}_CLIENT_SECRET",))


class CloudProvider(Provider):
    """Base of the adapters that talk to a service over HTTP."""

    #: The service's public endpoint; ``<env_prefix>_BASE_URL`` replaces it.
    default_base_url: ClassVar[str] = ""
    env_prefix: ClassVar[str] = ""
    #: What the adapter needs to authenticate (all of them); OAuth services need
    #: ``client_id`` and ``client_secret`` (from ``<env_prefix>_CLIENT_ID``/``_CLIENT_SECRET``).
    credential_fields: ClassVar[tuple[Credential, ...]] = ()
    #: How the missing-credential message calls them ("credentials", "an API key"...).
    credentials_named: ClassVar[str] = "credentials"
    #: Path of the OAuth 2 client-credentials endpoint, for services that use one
    #: (then the credentials are ``client_id`` and ``client_secret``).
    token_path: ClassVar[str | None] = None
    #: The service's error shape (see :data:`ErrorShape`).
    error_shape: ClassVar[ErrorShape | None] = None
    #: HTTP statuses the session retries on idempotent calls.
    retry_statuses: ClassVar[tuple[int, ...]] = (429, 500, 502, 503, 504)
    #: First delay between status checks, and its ceiling (see :meth:`poll_delay`).
    default_poll_interval: ClassVar[float] = 1.0
    max_poll_delay: ClassVar[float] = 10.0
    #: (connect, read) timeouts in seconds.
    default_timeout: ClassVar[tuple[float, float]] = DEFAULT_TIMEOUT

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if cls.token_path and not cls.credential_fields:
            cls.credential_fields = Credential.client_pair(cls.env_prefix)

    def __init__(
        self,
        *credentials: str | None,
        base_url: str | None = None,
        simulator: bool = False,
        poll_interval: float | None = None,
        timeout: tuple[float, float] | None = None,
        cache_dir: str | os.PathLike | None = None,
        **named: str | None,
    ):
        """Credentials by position (in :attr:`credential_fields` order) or by name, else from the environment.

        ``base_url`` replaces the public endpoint (e.g. a local simulator);
        ``simulator=True`` says it is one; ``poll_interval`` is the first
        delay between status checks; ``timeout`` the (connect, read)
        timeouts; ``cache_dir`` a folder for request bodies and downloads
        (default: a private temporary one).
        """
        names = [field.argument for field in self.credential_fields]
        if len(credentials) > len(names):
            raise TypeError(f"{type(self).__name__}() takes at most {len(names)} credentials by position")
        unknown = sorted(set(named) - set(names))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(unknown)}")
        given = {**dict(zip(names, credentials)), **{key: value for key, value in named.items() if value}}
        from_env = os.environ.get(f"{self.env_prefix}_BASE_URL", "") if self.env_prefix else ""
        self.base_url = (base_url or from_env or self.default_base_url).rstrip("/")
        self._simulator = simulator
        self.poll_interval = self.default_poll_interval if poll_interval is None else poll_interval
        self._credentials = {field.argument: _first(given.get(field.argument), field.env)
                             for field in self.credential_fields}
        self._lock = threading.Lock()
        self._listeners: list[UpdateCallback] = []
        self.http = HttpClient(
            self.base_url, secrets=[value for value in self._credentials.values() if value],
            timeout=timeout or self.default_timeout,
            retry_statuses=self.retry_statuses, error_parser=self.parse_error, provider_label=self.label,
        )
        self.http.session.hooks["response"].append(self._notice_simulator)
        self._oauth = None
        if self.token_path and self.configured:
            from ._oauth import ClientCredentials

            self._oauth = ClientCredentials(
                self.http, self.token_path, self._credentials["client_id"], self._credentials["client_secret"]
            )
        self._cache_lock = threading.Lock()
        self._cache: Path | None = Path(cache_dir) if cache_dir is not None else None
        self._cleanup: weakref.finalize | None = None

    # -- credentials -----------------------------------------------------------------
    @property
    def configured(self) -> bool:
        """True when every credential is present."""
        return all(self._credentials.values())

    def credential(self, name: str) -> str | None:
        return self._credentials.get(name)

    @property
    def client_id(self) -> str | None:
        """The OAuth client id (not a secret), for services that use one."""
        return self._credentials.get("client_id")

    def require_credentials(self) -> None:
        """Raise the missing-credential error unless the adapter is configured."""
        if not self.configured:
            raise self.missing_credentials()

    def missing_credentials(self) -> AuthenticationError:
        arguments = " and ".join(field.hint or f"{field.argument}=" for field in self.credential_fields)
        variables = " and ".join(" or ".join(field.env) for field in self.credential_fields)
        return AuthenticationError(
            f"{self.label} needs {self.credentials_named}: pass {arguments} to dc.providers.{type(self).__name__}(...), "
            f"or set {variables}"
        )

    # -- requests ----------------------------------------------------------------------
    def call(self, method: str, path: str, *, expected=(200,), **kwargs: Any) -> requests.Response:
        """One authenticated request; with OAuth, a refused token is renewed once and the request sent again."""
        if self.token_path is None:
            return self.http.request(method, path, expected=expected, **kwargs)
        oauth = self.oauth()
        return oauth.call(lambda: self.http.request(method, path, auth=oauth, expected=expected, **kwargs))

    def oauth(self):
        """The OAuth token source (raises the missing-credential error when there is none)."""
        if self._oauth is None:
            raise self.missing_credentials()
        return self._oauth

    def parse_error(self, response: requests.Response) -> tuple[str, Any]:
        """(message, code) of an error answer, in the service's own shape when it has one."""
        if self.error_shape is not None:
            try:
                parsed = type(self).error_shape(response.json())
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed
        return default_error_parser(response)

    # -- the Provider interface ----------------------------------------------------
    def status(self, job_id: str) -> JobSnapshot:
        """The job's state (:meth:`fetch_status`); retries made on the way are told as they happen and noted."""
        notes: list[str] = []

        def tell(note: RetryNote) -> None:
            notes.append(str(note))
            self.tell(job_id, JobSnapshot(status=None, note=str(note)))

        with reporting_retries(tell):
            snapshot = self.fetch_status(job_id)
        if notes and snapshot.note is None:
            snapshot.note = f"answered after {notes[-1]}"
        return snapshot

    def fetch_status(self, job_id: str) -> JobSnapshot:
        """Ask the service about one job (what :meth:`status` does, without the retry reports)."""
        raise NotImplementedError

    def subscribe(self, callback: UpdateCallback) -> bool:
        """Keep ``callback`` for remarks on jobs (retries); returns whether the adapter also pushes states."""
        self._listeners.append(callback)
        return self.pushes_states()

    def pushes_states(self) -> bool:
        """Whether job states arrive by push (webhooks), so that polls are a rare safety net."""
        return False

    def tell(self, job_id: str, snapshot: JobSnapshot | None) -> None:
        """Pass ``snapshot`` (None: "come and look") to every subscriber."""
        for callback in list(self._listeners):
            try:
                callback(job_id, snapshot)
            except Exception:  # a subscriber must never break the adapter
                log.exception("update callback failed for job %s", job_id)

    def check(self, request: ConversionRequest) -> None:
        super().check(request)
        self.validate(request)
        self.require_credentials()

    def validate(self, request: ConversionRequest) -> None:
        """Raise :class:`~docconvert_nb.errors.InvalidOptions` for options the service would refuse."""

    def poll_delay(self, attempt: int) -> float:
        """``poll_interval`` seconds, growing ×1.5 per poll up to :attr:`max_poll_delay`."""
        return min(self.max_poll_delay, self.poll_interval * 1.5**attempt)

    def close(self) -> None:
        self.http.close()
        self.remove_cache()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["base_url"] = self.base_url
        return info

    def __repr__(self) -> str:
        extra = " (simulator)" if self.is_simulator else ""
        state = "" if self.configured else ", not configured"
        return f"<{type(self).__name__} {self.base_url}{extra}{state}>"

    # -- simulator detection ---------------------------------------------------------
    @property
    def is_simulator(self) -> bool:
        """True when built for a simulator, or once any answer came from one."""
        return self._simulator

    def _notice_simulator(self, response, *args, **kwargs):
        if response.headers.get(SIMULATOR_HEADER):
            self._simulator = True
        return response

    # -- the cache and downloads -------------------------------------------------------
    @property
    def cache(self) -> Path:
        """The private folder (mode 0700) for request bodies and downloads, made on first use."""
        with self._cache_lock:
            if self._cache is None:
                self._cache = Path(tempfile.mkdtemp(prefix=f"docconvert-{self.name}-"))
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._cache, True)
            cache = self._cache
        cache.mkdir(parents=True, exist_ok=True)
        return cache

    def remove_cache(self) -> None:
        """Delete the cache folder this instance made (a folder given by the caller is kept)."""
        with self._cache_lock:
            if self._cleanup is not None:
                self._cleanup()
                self._cache = self._cleanup = None

    def download_output(
        self,
        output: Output,
        send: Callable[[IO[bytes]], "tuple[int, str]"],
        *,
        refused: Callable[[ProviderError], Exception | None] | None = None,
    ) -> IO[bytes]:
        """Stream one output into an anonymous file in the cache, check it, and return it open at 0.

        ``send(sink)`` writes the body and returns (bytes, MD5 hex), e.g. a
        call of :meth:`HttpClient.download`. A 403/404/410 becomes
        ``refused(error)`` (default: "no longer available"). The size and
        the MD5 are compared with those the service announced on ``output``.
        """
        sink = tempfile.TemporaryFile(dir=self.cache)
        for attempt in (1, 2):
            try:
                size, digest = send(sink)
            except ProviderError as exc:
                sink.close()
                if exc.status_code in (403, 404, 410):
                    error = refused(exc) if refused is not None else OutputUnavailable(
                        f"{output.name} cannot be downloaded: {self.label} no longer has it "
                        f"(deleted, or past its retention)"
                    )
                    if error is not None:
                        raise error from None
                raise
            except BaseException:
                sink.close()
                raise
            try:
                verify_download(output, size, digest, self.label)
                break
            except ChecksumMismatch as exc:
                if attempt == 2:  # twice the wrong bytes: the service's file itself is bad
                    sink.close()
                    raise
                report(RetryNote(1, 1, "bytes that do not match the announced checksum", 0.0))
                log.info("%s; downloading %s once more", exc, output.name)
                sink.seek(0)
                sink.truncate()
            except ProviderError:
                sink.close()
                raise
        sink.seek(0)
        return sink

    def retention_text(self) -> str:
        """The service's retention as text ("24 h")."""
        return f"{(self.retention_seconds or 0) / 3600:g} h"


def new_output(name: str, fallback: str, *, size: Any = None, metadata: dict | None = None, **fields: Any) -> Output:
    """An output named as the service says (made a safe file name, else ``fallback``), typed by its extension."""
    try:
        name = safe_filename(name)
    except DocconvertError:
        name = fallback
    fmt = from_name(name)
    return Output(name=name, content_type=media_type(fmt) if fmt else "application/octet-stream", size=size,
                  metadata=dict(metadata or {}), **fields)


def verify_download(output: Output, size: int, digest: str, label: str) -> None:
    """Raise when the bytes received differ from the size or MD5 the service announced for ``output``."""
    if output.checksum and digest.lower() != str(output.checksum).lower():
        raise ChecksumMismatch(
            f"{output.name}: the downloaded bytes ({size} B, MD5 {digest}) do not match the checksum "
            f"{output.checksum} announced by {label}; the download was discarded"
        )
    if isinstance(output.size, int) and not isinstance(output.size, bool) and size != output.size:
        raise ProviderError(f"{output.name}: received {size} bytes, {label} announced {output.size}")


def file_opener(path: Path, name: str, reason: str = "the job was deleted or expired") -> Callable[[], IO[bytes]]:
    """An output opener reading a file of the cache (OutputUnavailable once it is gone)."""

    def open_result() -> IO[bytes]:
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise OutputUnavailable(f"{name} is no longer available: {reason}") from None

    return open_result


def gone_opener(name: str, reason: str) -> Callable[[], IO[bytes]]:
    """An output opener that always refuses, saying why."""

    def refuse() -> IO[bytes]:
        raise OutputUnavailable(f"{name} cannot be downloaded: {reason}")

    return refuse


def _first(value: str | None, variables: tuple[str, ...]) -> str | None:
    if value:
        return value
    return next((os.environ[name] for name in variables if os.environ.get(name)), None)


__all__ = ["CloudProvider", "Credential", "file_opener", "gone_opener", "new_output", "verify_download"]

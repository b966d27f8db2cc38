"""One retry policy for every cloud adapter, on urllib3's :class:`~urllib3.util.retry.Retry`.

What is sent again, and when:

* idempotent calls (GET, PUT, DELETE...) after a connection failure, a read
  timeout, an incomplete body, or a 429/5xx the adapter lists as transient;
* any call, POST included, after a **429**: the service refused it before
  doing any work, so sending it again cannot start a conversion twice;
* a POST after anything else only where the protocol makes it idempotent
  (ConvertAPI's client-made ``JobId``; the adapter says so per call).

Waits follow exponential back-off, or the ``Retry-After`` the service sent
(up to :data:`MAX_RETRY_AFTER`; a longer one is not waited for: the answer
goes back to the adapter, which reports it). Every retry is reported as a
:class:`RetryNote` ("retrying after a 502 (2 of 5)") to the listener the
adapter installed with :func:`reporting_retries` for the job it is working
on, and logged.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Statuses retried by default (an adapter may narrow them: ConvertAPI's 500 and 503 mean something).
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
#: Statuses by which a service refuses a request before doing anything: safe to resend whatever the method.
REFUSED_BEFORE_WORK = frozenset({429})
DEFAULT_RETRIES = 5
DEFAULT_BACKOFF = 0.5
#: Longest Retry-After waited for (seconds).
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class RetryNote:
    """One retry about to happen: the ``attempt``-th of at most ``total``, after ``reason``, in ``wait`` s."""

    attempt: int
    total: int
    reason: str
    wait: float

    def __str__(self) -> str:
        return f"retrying after {self.reason} ({self.attempt} of {self.total})"


Listener = Callable[[RetryNote], None]
_local = threading.local()


@contextmanager
def reporting_retries(listener: Listener) -> Iterator[None]:
    """Send the retries made by this thread inside the block to ``listener``."""
    previous = getattr(_local, "listener", None)
    _local.listener = listener
    try:
        yield
    finally:
        _local.listener = previous


def report(note: RetryNote) -> None:
    """Log a retry and tell this thread's listener, if any."""
    log.info("%s; waiting %.2f s", note, note.wait)
    listener = getattr(_local, "listener", None)
    if listener is not None:
        try:
            listener(note)
        except Exception:  # a listener must never break the request
            log.exception("retry listener failed")


class RetryPolicy(Retry):
    """urllib3's Retry, plus: 429 resends any method, Retry-After is capped, and every retry is reported."""

    def __init__(self, *args: Any, budget: int | None = None, max_retry_after: float = MAX_RETRY_AFTER,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.budget = budget if budget is not None else (self.total if isinstance(self.total, int) else 0)
        self.max_retry_after = max_retry_after

    @classmethod
    def for_adapter(cls, retries: int = DEFAULT_RETRIES, *, backoff: float = DEFAULT_BACKOFF,
                    statuses: tuple[int, ...] = TRANSIENT_STATUSES, methods=IDEMPOTENT) -> "RetryPolicy":
        return cls(total=retries, connect=retries, read=retries, status=retries, other=0, backoff_factor=backoff,
                   status_forcelist=tuple(statuses), allowed_methods=methods, respect_retry_after_header=True,
                   raise_on_status=False, budget=retries)

    def new(self, **kwargs: Any) -> "RetryPolicy":
        kwargs.setdefault("budget", self.budget)
        kwargs.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in REFUSED_BEFORE_WORK and status_code in (self.status_forcelist or ()):
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def parse_retry_after(self, retry_after: str) -> float:
        """Seconds or an HTTP date, as RFC 9110 says; a decimal ("0.5") is read too, anything else as 0."""
        try:
            return super().parse_retry_after(retry_after)
        except InvalidHeader:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return 0.0

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        asked = self.get_retry_after(response) if response is not None else None
        if asked is not None and asked > self.max_retry_after:
            # Longer than we are willing to wait: give the answer back for the adapter to report.
            raise MaxRetryError(_pool, url, f"Retry-After {asked:g} s is longer than {self.max_retry_after:g} s")
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        wait = (retry.get_retry_after(response) if response is not None else None)
        report(RetryNote(len(retry.history), self.budget, describe_failure(response, error),
                         wait if wait is not None else retry.get_backoff_time()))
        return retry

    def sleep_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) of a call retried by hand."""
        if retry_after is not None:
            return retry_after
        return min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1)) if attempt > 1 else self.backoff_factor


def describe_failure(response=None, error: BaseException | None = None) -> str:
    """What went wrong, as the retry note says it: "a 502", "a timeout", "a dropped connection"..."""
    if response is not None and getattr(response, "status", None):
        return f"a {response.status}"
    if response is not None and getattr(response, "status_code", None):
        return f"a {response.status_code}"
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return "a timeout"
    if isinstance(error, ProtocolError) or isinstance(error, ConnectionError):
        return "a dropped connection"
    text = type(error).__name__ if error is not None else "an error"
    return "an incomplete answer" if "Incomplete" in text or "Chunked" in text else f"an error ({text})"


__all__ = ["IDEMPOTENT", "MAX_RETRY_AFTER", "RetryNote", "RetryPolicy", "describe_failure", "report",
           "reporting_retries"]

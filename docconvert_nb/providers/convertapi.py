"""ConvertAPI v2: asynchronous conversions polled by HTTP status, semi-async ids, webhooks.

The protocol (documented at https://docs.convertapi.com/, async
conversions at https://docs.convertapi.com/docs/async-conversion) is summed
up in :mod:`docconvert_nb.protocols.convertapi`: ``POST
/convert/{from}/to/{to}`` with ``Async=true`` answers ``{"JobId"}``; ``GET
/job/{JobId}`` answers with the HTTP status as the state (200 done with the
result, 202 converting, 404 unknown or expired, 503 another poll is open,
other 5xx failed); results stay 2 hours; with ``WebHook=<url>`` the service
calls that URL when the job finishes.

Rules this adapter keeps:

* It makes the ``JobId`` itself (a UUID 4) and sends it with every
  submission, asynchronous or not ("semi-async"). That makes a submission
  idempotent: after a dropped connection the very same POST is sent again
  and the service recognises the id instead of converting twice. It is the
  only reason a POST is ever repeated.
* One poll per job at a time (a per-job lock, on top of the Job's own), and
  at least ``poll_interval`` (5 s, as documented) between the end of one
  poll and the start of the next, so it never provokes the 503; a 503 that
  comes anyway is "no news, look again later".
* With webhooks on (``webhook=True``, or automatically when the endpoint is
  on loopback), a small receiver on 127.0.0.1 waits for the service's call
  and the job is fetched once, when it is done; no status polls meanwhile.
  A job whose call does not come within ``webhook_timeout`` is polled.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable
from urllib.parse import urlsplit

import requests

from ..errors import AuthenticationError, InvalidOptions, ProviderError
from ..fileformats import IMAGE_FORMATS, OFFICE_FORMATS, media_type
from ..outputs import Output
from ..protocols import convertapi as protocol
from ..protocols.convertapi import DOCUMENTED_POLL_DELAY, JOB_RETENTION, OPTION_PARAMETERS
from ..status import JobStatus
from .base import Capability, ConversionRequest, JobSnapshot
from .cloud import CloudProvider, Credential, file_opener, gone_opener, new_output
from .retry import RetryNote, report
from .webhooks import WebhookReceiver

log = logging.getLogger(__name__)

_PDF_IMAGE_TARGETS = ("png", "jpeg", "tiff", "webp")


@dataclass
class _JobState:
    """What the adapter knows about one job."""

    id: str
    stem: str
    webhook: bool = False
    submitted: float = field(default_factory=time.monotonic)
    hooked: threading.Event = field(default_factory=threading.Event)
    poll_lock: threading.Lock = field(default_factory=threading.Lock)
    next_poll_at: float = 0.0
    #: A result body received with the submission itself (synchronous mode), not yet reported.
    fresh_result: dict | None = None
    outputs: list[Output] | None = None
    deleted: bool = False


class ConvertAPI(CloudProvider):
    """ConvertAPI v2 (https://www.convertapi.com).

    Credentials: ``secret=`` or ``token=``, else ``CONVERTAPI_SECRET`` or
    ``CONVERTAPI_TOKEN``; sent as ``Authorization: Bearer`` only, never in a
    URL. ``base_url`` (or ``CONVERTAPI_BASE_URL``) chooses the endpoint.

    ``sync=True`` converts in one request (the synchronous endpoint, still
    with a client ``JobId`` so a dropped connection can be recovered);
    otherwise jobs are asynchronous and polled every ``poll_interval``
    seconds (never less than the documented 5 s in real use; tests lower
    it). ``webhook=True``/``False`` forces push notifications on or off;
    the default turns them on when the endpoint is on loopback (a local
    simulator), since a remote service cannot reach this machine's
    receiver. ``store_file=False`` asks for results inline (base64) instead
    of as download URLs.
    """

    name = "convertapi"
    label = "ConvertAPI"
    can_cancel = False
    retention_seconds = JOB_RETENTION
    default_base_url = protocol.DEFAULT_BASE_URL
    env_prefix = "CONVERTAPI"
    credential_fields = (Credential("secret", ("CONVERTAPI_SECRET", "CONVERTAPI_TOKEN"), "secret= (or token=)"),)
    credentials_named = "a secret or token"
    error_shape = protocol.error_message
    # 503 is not retried by the session: for a job poll it means "another poll is open".
    # 500 neither: it means the conversion failed.
    retry_statuses = (429, 502, 504)
    default_poll_interval = DOCUMENTED_POLL_DELAY
    default_timeout = (5.0, 300.0)

    def __init__(self, secret: str | None = None, *, token: str | None = None, webhook: bool | None = None,
                 webhook_timeout: float = 300.0, sync: bool = False, store_file: bool = True,
                 submit_attempts: int = 6, **options: Any):
        super().__init__(secret or token, **options)
        self.webhook = _is_loopback(self.base_url) if webhook is None else bool(webhook)
        self.webhook_timeout = webhook_timeout
        self.sync = sync
        self.store_file = store_file
        self.submit_attempts = max(1, submit_attempts)
        self._jobs: dict[str, _JobState] = {}
        self._receiver: WebhookReceiver | None = None

    # -- description -----------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        caps = {Capability("convert", src, "pdf") for src in sorted(OFFICE_FORMATS) + ["txt"]}
        caps |= {Capability("convert", src, "pdf") for src in IMAGE_FORMATS}
        caps |= {Capability("convert", "pdf", dst) for dst in _PDF_IMAGE_TARGETS}
        caps |= {Capability("convert", src, dst) for src in IMAGE_FORMATS for dst in ("png", "jpeg", "tiff", "webp")
                 if src != dst}
        return sorted(caps, key=lambda c: (c.task, c.source, c.target))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(webhook=self.webhook, mode="sync" if self.sync else "async")
        return info

    def validate(self, request: ConversionRequest) -> None:
        _parameters(request)

    # -- job verbs -----------------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        self.require_credentials()
        job_id = str(uuid.uuid4())
        state = _JobState(id=job_id, stem=Path(request.source.name).stem or "result")
        params = {"StoreFile": _flag(self.store_file), "JobId": job_id, **_parameters(request)}
        receiver = self._receiver if (self._receiver is not None and self._receiver.running) else None
        if not self.sync:
            params["Async"] = "true"
            if receiver is not None:
                receiver.expect(job_id)  # before the POST: the call may come before its answer
                params["WebHook"] = receiver.url
                state.webhook = True
        with self._lock:
            self._jobs[job_id] = state
        path = f"/convert/{protocol.path_name(request.source.format)}/to/{protocol.path_name(request.target)}"
        try:
            response = self._post_idempotent(path, params, request)
            body = _json_body(response, self.label)
        except BaseException:
            with self._lock:
                self._jobs.pop(job_id, None)
            if receiver is not None:
                receiver.forget(job_id)
            raise
        if self.sync:
            state.fresh_result = body
            return job_id
        answered = str(body.get("JobId") or "") if isinstance(body, dict) else ""
        if not answered:
            raise ProviderError(f"{self.label} accepted the job but sent no JobId")
        if answered != job_id:  # a service that ignores client ids: follow its own
            log.debug("ConvertAPI replaced JobId %s by %s", job_id, answered)
            state.id = answered
            with self._lock:
                self._jobs[answered] = self._jobs.pop(job_id)
            if receiver is not None:
                receiver.forget(job_id)
                receiver.expect(answered)
        return answered

    def fetch_status(self, job_id: str) -> JobSnapshot:
        state = self._state(job_id)
        if state.deleted:
            return JobSnapshot(status=JobStatus.DELETED, message=f"Job {job_id} was deleted at {self.label}.")
        if state.fresh_result is not None:
            body, state.fresh_result = state.fresh_result, None
            return self._completed(state, body)
        if state.webhook and not state.hooked.is_set() and time.monotonic() - state.submitted < self.webhook_timeout:
            return JobSnapshot(status=None)  # the webhook will say when there is something to fetch
        if not state.poll_lock.acquire(blocking=False):
            return JobSnapshot(status=None, retry_after=self.poll_interval)  # a poll of this job is open
        try:
            wait = state.next_poll_at - time.monotonic()
            if wait > 0:
                return JobSnapshot(status=None, retry_after=wait)
            try:
                response = self.http.request(
                    "GET", f"/job/{job_id}", headers=self._headers(), expected=range(200, 600)
                )
            finally:
                state.next_poll_at = time.monotonic() + self.poll_interval
            return self._poll_answer(state, response)
        finally:
            state.poll_lock.release()

    def delete(self, job_id: str) -> None:
        state = self._state(job_id)
        response = self.http.request("DELETE", f"/job/{job_id}", headers=self._headers(), expected=(200, 204, 404))
        log.debug("ConvertAPI DELETE /job/%s answered %s", job_id, response.status_code)
        state.deleted = True
        for output in state.outputs or []:
            output._opener = gone_opener(output.name, "the job was deleted")
        if self._receiver is not None:
            self._receiver.forget(job_id)
        shutil.rmtree(self.cache / job_id, ignore_errors=True)

    # -- following jobs --------------------------------------------------------------
    def pushes_states(self) -> bool:
        """With webhooks on, start the loopback receiver; jobs then complete by push."""
        if not self.webhook:
            return False
        try:
            with self._lock:
                if self._receiver is None:
                    self._receiver = WebhookReceiver(self._webhook_called)
                receiver = self._receiver
            receiver.start()
        except OSError as exc:
            log.warning("ConvertAPI: cannot start the webhook receiver (%s); polling instead", exc)
            return False
        return True

    def poll_delay(self, attempt: int) -> float:
        """Never sooner than ``poll_interval`` after the last poll; growing ×1.5 up to 6× it."""
        return self.poll_interval * min(1.5**attempt, 6.0)

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
        super().close()

    # -- internals -------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        self.require_credentials()
        return {"Authorization": f"Bearer {self.credential('secret')}", "Accept": "application/json"}

    def resume(self, job_id: str, request: ConversionRequest) -> None:
        """A job another process submitted: its outputs are named after the journaled source."""
        with self._lock:
            self._jobs.setdefault(job_id, _JobState(id=job_id, stem=Path(request.source.name).stem or "result"))

    def _state(self, job_id: str) -> _JobState:
        with self._lock:
            state = self._jobs.get(job_id)
            if state is None:  # a job submitted elsewhere: follow it all the same
                state = self._jobs[job_id] = _JobState(id=job_id, stem=job_id[:8])
            return state

    def _post_idempotent(self, path: str, params: dict[str, str], request: ConversionRequest) -> requests.Response:
        """POST the conversion; repeat it (same JobId) after a network failure or a throttling 503/429."""
        for attempt in range(1, self.submit_attempts + 1):
            try:
                with request.source.open() as stream:
                    files = {"File": (request.source.name, stream, media_type(request.source.format))}
                    return self.http.request("POST", path, data=params, files=files, headers=self._headers())
            except AuthenticationError:
                raise
            except ProviderError as exc:
                # The JobId makes the POST idempotent: whatever the service did, sending it again is safe.
                retriable = exc.status_code is None or exc.status_code in (429, 502, 503, 504)
                if not retriable or attempt == self.submit_attempts:
                    raise
                wait = self.http.retry.sleep_for(attempt)
                reason = f"a {exc.status_code}" if exc.status_code else "a dropped connection or a timeout"
                report(RetryNote(attempt, self.submit_attempts - 1, f"{reason} (same JobId {params['JobId']})", wait))
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _poll_answer(self, state: _JobState, response: requests.Response) -> JobSnapshot:
        code = response.status_code
        if code in (401, 403):
            raise self.http.error_for(response)
        try:
            status = protocol.from_poll_status(code)
        except ValueError:
            raise self.http.error_for(response) from None
        if status is None:  # 503: another poll is open (or throttled); the job state is unknown
            return JobSnapshot(status=None, retry_after=max(self.poll_interval, _retry_after(response)))
        if status == JobStatus.COMPLETED:
            return self._completed(state, _json_body(response, self.label))
        if status == JobStatus.PROCESSING:
            return JobSnapshot(status=JobStatus.PROCESSING)
        if status == JobStatus.EXPIRED:
            if state.deleted:
                return JobSnapshot(status=JobStatus.DELETED, message=f"Job {state.id} was deleted at {self.label}.")
            for output in state.outputs or []:
                output._opener = gone_opener(output.name, "the job expired or was deleted")
            return JobSnapshot(
                status=JobStatus.EXPIRED,
                message=(f"{self.label} no longer has job {state.id}: it was deleted, or its results passed "
                         f"the {self.retention_text()} retention window."),
            )
        message, error_code = self.parse_error(response)
        detail = f"{message} (code {error_code})" if error_code not in (None, "") else message
        return JobSnapshot(status=JobStatus.FAILED, message=f"{self.label} could not convert: {detail}",
                           errors=[self.http.mask(detail)])

    def _completed(self, state: _JobState, body: Any) -> JobSnapshot:
        files = body.get("Files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not files:
            message = f"{self.label} finished job {state.id} without any file"
            return JobSnapshot(status=JobStatus.FAILED, message=message, errors=[message])
        cost = body.get("ConversionCost")
        state.outputs = [self._output(state, item, cost) for item in files]
        return JobSnapshot(status=JobStatus.COMPLETED, outputs=list(state.outputs),
                           message=f"Done: {len(files)} file(s).")

    def _output(self, state: _JobState, item: dict, cost: Any) -> Output:
        if not isinstance(item, dict):
            raise ProviderError(f"{self.label} sent a malformed Files entry for job {state.id}")
        output = new_output(str(item.get("FileName") or ""), f"{state.stem}.{item.get('FileExt') or 'bin'}",
                            size=item.get("FileSize"), metadata={"file_id": item.get("FileId"), "conversion_cost": cost})
        name = output.name
        if item.get("FileData"):
            path = self._decode_inline(state, name, item["FileData"])
            output.size = path.stat().st_size
            output._opener = file_opener(path, name, "the job was deleted")
        elif item.get("Url"):
            url = str(item["Url"])
            output.metadata["url"] = url
            output._opener = lambda: self._download(url, output)
        else:
            output._opener = gone_opener(name, f"{self.label} gave neither a Url nor FileData")
        return output

    def _decode_inline(self, state: _JobState, name: str, data: str) -> Path:
        folder = self.cache / state.id
        folder.mkdir(exist_ok=True)
        path = folder / name
        try:
            path.write_bytes(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError, TypeError):
            raise ProviderError(f"{self.label} sent FileData for {name} that is not valid base64") from None
        return path

    def _download(self, url: str, output: Output) -> IO[bytes]:
        """Stream a result ``Url`` into an anonymous temp file (credentials only to the API's own host)."""
        headers = self._headers() if _same_origin(url, self.base_url) else {}
        headers.pop("Accept", None)
        return self.download_output(output, lambda sink: self.http.download(url, sink, headers=headers))

    def _webhook_called(self, job_id: str) -> None:
        with self._lock:
            state = self._jobs.get(job_id)
        if state is None:
            return
        state.hooked.set()
        self.tell(job_id, None)  # "come and look": the tracker polls it now


# -- request building ----------------------------------------------------------------------

def _parameters(request: ConversionRequest) -> dict[str, str]:
    """Converter parameters for ``request``: generic option names mapped, ConvertAPI names passed through."""
    if request.task != "convert":
        raise InvalidOptions(f"ConvertAPI runs conversions only, not {request.task}")
    params: dict[str, str] = {}
    for option, value in request.options.items():
        name = OPTION_PARAMETERS.get(option, option)
        if not protocol.PARAMETER_NAME.match(str(name)):
            raise InvalidOptions(f"{option!r} is not a ConvertAPI parameter name")
        if name.lower() in protocol.RESERVED_PARAMETERS:
            raise InvalidOptions(f"ConvertAPI parameter {name!r} is set by docconvert_nb itself")
        params[name] = _flag(value) if isinstance(value, bool) else str(value)
    return params


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _json_body(response: requests.Response, label: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(f"{label} sent a non-JSON answer (HTTP {response.status_code})") from None


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


__all__ = ["ConvertAPI", "JOB_RETENTION", "OPTION_PARAMETERS"]

"""online-convert.com API v2 (now API2Convert): jobs with uploads, polled status, counted downloads.

The protocol (documented at https://apiv2.online-convert.com/docs/ and
https://www.api2convert.com/docs/) is summed up in
:mod:`docconvert_nb.protocols.onlineconvert`: ``POST /jobs`` creates a job
with its own token and file server, the input is uploaded there, ``PATCH
/jobs/{id}`` starts it, ``GET /jobs/{id}`` reports ``status.code`` and the
outputs with their MD5 ``checksum``. Outputs can be downloaded about ten
times each, for 24 hours.

Every download is streamed to disk and its MD5 compared with the announced
checksum; a refused download is reported as :class:`OutputUnavailable`
saying whether the output expired, was deleted or used up its downloads.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import IO, Any, Iterable

from ..errors import DocconvertError, InvalidOptions, JobNotFound, OutputUnavailable, ProviderError
from ..fileformats import IMAGE_FORMATS, media_type
from ..outputs import Output
from ..protocols import onlineconvert as protocol
from ..protocols.onlineconvert import DOWNLOAD_LIMIT, RETENTION
from ..status import Availability, JobStatus
from .base import Capability, ConversionRequest, JobSnapshot
from .cloud import CloudProvider, Credential
from .retry import MAX_RETRY_AFTER, RetryNote, report

log = logging.getLogger(__name__)


_IMAGE_TARGETS = sorted(IMAGE_FORMATS) + ["pdf"]
_OFFICE_SOURCES = ("docx", "doc", "odt", "rtf", "xlsx", "xls", "ods", "pptx", "ppt", "odp", "html", "txt")
_VALID_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class _JobInfo:
    token: str
    server: str
    source_name: str


class OnlineConvert(CloudProvider):
    """online-convert.com / API2Convert API v2.

    ``OnlineConvert(api_key, *, download_encoding, base_url, simulator,
    poll_interval, timeout, cache_dir)``: see :class:`CloudProvider`.
    The API key comes from ``api_key=`` or ``ONLINE_CONVERT_API_KEY``;
    ``base_url`` (or ``ONLINE_CONVERT_BASE_URL``) chooses the endpoint (the
    legacy ``https://api2.online-convert.com`` by default; the current one is
    ``https://api.api2convert.com/v2``). ``download_encoding="base64"``
    fetches outputs with ``?encoding=base64`` and decodes them on the fly.
    ``poll_interval`` is the first delay between status checks (×1.5, up to
    5 s, as the official SDK does).
    """

    name = "onlineconvert"
    label = "online-convert.com"
    can_cancel = True
    retention_seconds = RETENTION
    default_base_url = protocol.DEFAULT_BASE_URL
    env_prefix = "ONLINE_CONVERT"
    credential_fields = (Credential("api_key", ("ONLINE_CONVERT_API_KEY",)),)
    credentials_named = "an API key"
    max_poll_delay = 5.0  # the official SDK's back-off: 1 s, ×1.5 each time, at most 5 s

    def __init__(self, *credentials: str | None, download_encoding: str = "binary", **options: Any):
        if download_encoding not in ("binary", "base64"):
            raise ValueError("download_encoding must be 'binary' or 'base64'")
        super().__init__(*credentials, **options)
        self.download_encoding = download_encoding
        self._jobs: dict[str, _JobInfo] = {}

    # -- description -----------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        caps = {Capability("convert", src, dst) for src in IMAGE_FORMATS for dst in _IMAGE_TARGETS if src != dst}
        caps |= {Capability("convert", "pdf", dst) for dst in sorted(IMAGE_FORMATS - {"gif", "webp", "bmp"})}
        caps |= {Capability("convert", src, "pdf") for src in _OFFICE_SOURCES}
        caps.add(Capability("convert", "djvu", "pdf"))
        caps |= {Capability("ocr", src, dst) for src in sorted(IMAGE_FORMATS) + ["pdf"] for dst in ("txt", "pdf")
                 if (src, dst) != ("pdf", "pdf")}
        return sorted(caps, key=lambda c: (c.task, c.source, c.target))

    def validate(self, request: ConversionRequest) -> None:
        _conversion_options(request)

    # -- job verbs -----------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        self.require_credentials()
        spec = {
            "conversion": [{"target": request.target, "options": _conversion_options(request)}],
            "process": False,
        }
        job = self._create(spec)
        job_id, token, server = job.get("id"), job.get("token"), job.get("server")
        if not job_id or not token or not server:
            raise ProviderError(f"{self.label} created a job without an id, token or server")
        self.http.add_secret(token)
        with self._lock:
            self._jobs[job_id] = _JobInfo(token=token, server=server.rstrip("/"), source_name=request.source.name)
        try:
            self._upload(job_id, request)
            # Setting "process" again changes nothing once it is set, so the PATCH may be resent.
            self._resending(lambda: self.http.request("PATCH", f"/jobs/{job_id}", json={"process": True},
                                                      headers=self._key_headers(), expected=(200, 201, 202)),
                            lambda exc: True, "starting the job")
        except BaseException:
            self._discard(job_id)
            raise
        return job_id

    def fetch_status(self, job_id: str) -> JobSnapshot:
        try:
            job = self.http.json("GET", f"/jobs/{job_id}", headers=self._read_headers(job_id))
        except ProviderError as exc:
            if exc.status_code == 404:
                return self._not_found(job_id)
            raise
        return self._snapshot(job_id, job)

    def delete(self, job_id: str) -> None:
        try:
            self.http.request("DELETE", f"/jobs/{job_id}", headers=self._key_headers(), expected=(200, 202, 204))
        except ProviderError as exc:
            if exc.status_code != 404:  # already gone is what we wanted
                raise
        with self._lock:
            self._jobs.pop(job_id, None)

    def cancel(self, job_id: str) -> None:
        """online-convert cancels a running job by deleting it."""
        self.delete(job_id)

    # -- submission steps ------------------------------------------------------------
    def _create(self, spec: dict) -> dict:
        """POST /jobs. Sent again only after a 429, which means nothing was created."""
        for attempt in range(3):
            response = self.http.request(
                "POST", "/jobs", json=spec, headers=self._key_headers(), expected=(200, 201, 402, 429)
            )
            if response.status_code == 402:
                raise ProviderError(self.http.mask(
                    f"{self.label} refused the job: the account's conversion quota is used up "
                    f"({_message(response)})"), status_code=402,
                )
            if response.status_code == 429:
                wait = _retry_after(response)
                if attempt == 2 or wait is None or wait > MAX_RETRY_AFTER:
                    hint = f"; it asks to retry after {wait:g} s" if wait is not None else ""
                    raise ProviderError(self.http.mask(
                        f"{self.label} has too many conversions running for this account ({_message(response)}){hint}"
                    ), status_code=429)
                log.info("%s is busy (429); creating the job again in %.1f s", self.label, wait)
                time.sleep(wait)
                continue
            try:
                return response.json()
            except ValueError:
                raise ProviderError(f"{self.label} answered the job creation with no JSON") from None
        raise AssertionError("unreachable")

    def _upload(self, job_id: str, request: ConversionRequest) -> None:
        """Upload the input; never twice: a second input would be a second conversion.

        After a gateway's 502/503 (the upload did not reach the file server)
        it is sent again. After a dropped connection, a timeout or a 504 its
        fate is unknown: the job's own input list says whether it arrived.
        """
        info = self._jobs[job_id]
        headers = {protocol.TOKEN_HEADERS[0]: info.token, "X-Oc-Upload-Uuid": uuid.uuid4().hex}

        def send() -> None:
            with request.source.open() as stream:
                files = {"file": (request.source.name, stream, media_type(request.source.format))}
                self.http.request("POST", f"{info.server}/upload-file/{job_id}", files=files, headers=headers,
                                  expected=(200, 201))

        def may_resend(exc: ProviderError) -> bool | None:
            if exc.status_code in (502, 503):
                return True
            if self._inputs(job_id):
                return None  # it arrived: nothing to send again
            raise exc  # it did not arrive, or we cannot tell: do not risk a second input

        self._resending(send, may_resend, "uploading the input")

    def _inputs(self, job_id: str) -> list:
        try:
            job = self.http.json("GET", f"/jobs/{job_id}", headers=self._read_headers(job_id))
        except DocconvertError:
            return []
        return list(job.get("input") or []) if isinstance(job, dict) else []

    def _resending(self, send, may_resend, doing: str) -> None:
        """``send()``; after a transient failure ask ``may_resend(error)``: True sends again, None is done."""
        attempt = 0
        while True:
            try:
                send()
                return
            except ProviderError as exc:
                attempt += 1
                if exc.status_code not in (None, 502, 503, 504) or attempt > self.http.retry.budget:
                    raise
                verdict = may_resend(exc)
                if verdict is None:
                    return
                wait = self.http.retry.sleep_for(attempt)
                reason = f"a {exc.status_code}" if exc.status_code else "a dropped connection or a timeout"
                report(RetryNote(attempt, self.http.retry.budget, f"{reason} while {doing}", wait))
                time.sleep(wait)

    def _discard(self, job_id: str) -> None:
        """Delete a job whose submission broke half-way, so it does not linger at the service."""
        try:
            self.delete(job_id)
        except DocconvertError:
            log.debug("could not delete half-submitted job %s", job_id)
        with self._lock:
            self._jobs.pop(job_id, None)

    # -- status --------------------------------------------------------------------------
    def _snapshot(self, job_id: str, job: dict) -> JobSnapshot:
        status_info = job.get("status") or {}
        code = str(status_info.get("code") or "")
        status = protocol.from_job_status(code)
        errors = [protocol.describe_problem(e) for e in job.get("errors") or []]
        warnings = [protocol.describe_problem(w) for w in job.get("warnings") or []]
        message = str(status_info.get("info") or "")
        outputs = None
        if status == JobStatus.COMPLETED:
            outputs = [self._output(job_id, item) for item in job.get("output") or []]
            if outputs and all(o.availability == Availability.DELETED for o in outputs):
                status, message = JobStatus.DELETED, "The job's outputs were deleted at online-convert.com."
            elif outputs and all(not o.available for o in outputs) and any(
                o.availability == Availability.EXPIRED for o in outputs
            ):
                status = JobStatus.EXPIRED
                message = f"The outputs expired: {self.label} keeps them {self.retention_text()}."
            elif not outputs:
                status, message = JobStatus.FAILED, message or "The job completed without any output."
                errors = errors or [message]
        elif status == JobStatus.FAILED and not errors:
            errors = [message or "the conversion failed"]
        return JobSnapshot(status=status, message=message, outputs=outputs, errors=errors, warnings=warnings)

    def _output(self, job_id: str, item: dict) -> Output:
        name = str(item.get("filename") or "") or _name_from_uri(item.get("uri", "")) or f"{item.get('id', 'output')}"
        try:
            availability = protocol.from_output_status(str(item.get("status") or "enabled"))
        except ValueError:
            availability = Availability.AVAILABLE
        output = Output(
            name=name,
            content_type=str(item.get("content_type") or "application/octet-stream"),
            size=item.get("size"),
            checksum=item.get("checksum") or None,
            availability=availability,
            metadata={"output_id": item.get("id"), "created_at": item.get("created_at")},
            downloads=item.get("downloads_counter"),
            download_limit=DOWNLOAD_LIMIT,
        )
        output._opener = lambda: self._download(job_id, str(item.get("id") or ""), str(item.get("uri") or ""), output)
        return output

    def _not_found(self, job_id: str) -> JobSnapshot:
        with self._lock:
            known = self._jobs.pop(job_id, None)
        if known is None:
            raise JobNotFound(f"{self.label} has no job {job_id}")
        return JobSnapshot(
            status=JobStatus.EXPIRED,
            message=f"{self.label} no longer has job {job_id}: it was deleted or passed the {self.retention_text()} window.",
        )

    # -- downloads ------------------------------------------------------------------------
    def _download(self, job_id: str, output_id: str, uri: str, output: Output) -> IO[bytes]:
        """Fetch one output into an anonymous temp file, verify its MD5, and return it open at 0."""
        if not uri:
            raise OutputUnavailable(f"{output.name}: {self.label} gave no download address")

        def send(sink: IO[bytes]) -> tuple[int, str]:
            if self.download_encoding != "base64":
                return self.http.download(uri, sink)
            decoder = _Base64Sink(sink)
            self.http.download(uri, decoder, params={"encoding": "base64"})
            return decoder.finish()

        stream = self.download_output(output, send, refused=lambda exc: self._unavailable(job_id, output_id, output, exc))
        if output.downloads is not None:
            output.downloads += 1
        return stream

    def _unavailable(self, job_id: str, output_id: str, output: Output, exc: ProviderError) -> OutputUnavailable:
        """Why a download was refused, from the output's own status at the service."""
        status = None
        try:
            job = self.http.json("GET", f"/jobs/{job_id}", headers=self._read_headers(job_id))
            for item in job.get("output") or []:
                if str(item.get("id")) == output_id:
                    status = str(item.get("status") or "")
                    output.downloads = item.get("downloads_counter", output.downloads)
        except DocconvertError:
            pass
        reasons = {
            "overuse": (Availability.LIMIT_REACHED,
                        f"it was downloaded {output.downloads if output.downloads is not None else 'too many'} times; "
                        f"{self.label} allows {DOWNLOAD_LIMIT} downloads per output"),
            "expired": (Availability.EXPIRED,
                        f"it expired: {self.label} keeps outputs {self.retention_text()}"),
            "disabled": (Availability.DELETED, "it was deleted at the service"),
        }
        if status in reasons:
            output.availability, reason = reasons[status]
        elif exc.status_code == 410:
            output.availability, reason = Availability.EXPIRED, "it is gone (expired or deleted)"
        elif exc.status_code == 403:
            output.availability, reason = Availability.LIMIT_REACHED, "the service refused the download (download limit?)"
        else:
            reason = "the service no longer has it"
            output.availability = Availability.DELETED
        return OutputUnavailable(f"{output.name} cannot be downloaded: {reason} (HTTP {exc.status_code})")

    # -- headers ------------------------------------------------------------------------
    def _key_headers(self) -> dict[str, str]:
        self.require_credentials()
        return {protocol.API_KEY_HEADERS[0]: self.credential("api_key")}

    def _read_headers(self, job_id: str) -> dict[str, str]:
        if self.configured:
            return self._key_headers()
        info = self._jobs.get(job_id)
        if info is None:
            raise self.missing_credentials()
        return {protocol.TOKEN_HEADERS[0]: info.token}


class _Base64Sink:
    """A write-only stream that base64-decodes what it is given into ``sink``, computing the MD5."""

    def __init__(self, sink: IO[bytes]):
        self.sink = sink
        self.pending = b""
        self.size = 0
        self.digest = hashlib.md5()

    def write(self, chunk: bytes) -> int:
        data = self.pending + b"".join(chunk.split())  # ignore line breaks
        whole = len(data) - len(data) % 4
        self.pending = data[whole:]
        if whole:
            self._emit(data[:whole])
        return len(chunk)

    def finish(self) -> tuple[int, str]:
        if self.pending:
            raise ProviderError("online-convert.com sent a base64 download whose length is not a multiple of 4")
        return self.size, self.digest.hexdigest()

    def _emit(self, data: bytes) -> None:
        try:
            decoded = base64.b64decode(data, validate=True)
        except ValueError:
            raise ProviderError("online-convert.com sent a base64 download that is not valid base64") from None
        self.sink.write(decoded)
        self.digest.update(decoded)
        self.size += len(decoded)


def _conversion_options(request: ConversionRequest) -> dict[str, Any]:
    """The conversion's ``options``: OCR jobs ask for ``ocr`` and a ``language``; others pass through."""
    options = dict(request.options)
    for name in options:
        if not _VALID_OPTION_NAME.match(str(name)):
            raise InvalidOptions(f"{name!r} is not a valid online-convert option name")
    if request.task == "ocr":
        lang = options.pop("lang", "eng")
        options = {"ocr": True, "language": str(lang), **options}
    elif "lang" in options:
        raise InvalidOptions("'lang' is an OCR option; use dc.ocr(...) to read the text of a document")
    return options


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason
    return (protocol.error_message(body) or str(body))[:300]


def _retry_after(response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _name_from_uri(uri: str) -> str:
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(uri).path.rsplit("/", 1)[-1]) if uri else ""
    return name if name and name not in (".", "..") else ""


__all__ = ["DOWNLOAD_LIMIT", "OnlineConvert"]

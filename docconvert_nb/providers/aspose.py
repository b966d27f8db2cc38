"""Aspose.OCR Cloud v5: table recognition, OCR and DjVu→PDF as queued tasks.

The protocol (documented at https://docs.aspose.cloud/ocr/ and
https://reference.aspose.cloud/ocr/) is summed up in
:mod:`docconvert_nb.protocols.aspose`: an OAuth token, ``POST
/v5.0/ocr/{Task}`` with the input as base64 in JSON answers a task GUID,
``GET /v5.0/ocr/{Task}?id=`` answers its ``OCRResponse`` with the results in
base64, ``DELETE`` drops it; results stay 24 h.

Large payloads never sit in memory twice: the request body is base64-encoded
chunk by chunk into a temporary file that is streamed to the server, and a
result is decoded chunk by chunk into a file in a private cache folder, from
which the job's outputs are read.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import DocconvertError, InvalidOptions, ProviderError
from ..fileformats import IMAGE_FORMATS, extension, media_type
from ..outputs import Output
from ..protocols import aspose as protocol
from ..protocols.aspose import LANGUAGES
from ..status import JobStatus
from ._streaming import Base64JsonSink, DecodedFile, StreamingJsonError
from .base import Capability, ConversionRequest, JobSnapshot
from .cloud import CloudProvider, file_opener

log = logging.getLogger(__name__)

API_PREFIX = protocol.API_PREFIX
RETENTION = protocol.RETENTION
SOURCE_IMAGES = protocol.SOURCE_IMAGES & IMAGE_FORMATS

#: Base64 is encoded/decoded in slices of this many bytes (a multiple of 3 and of 4).
_CHUNK = 3 * 4 * 262144  # 3 MiB


@dataclass
class _Task:
    """What this adapter remembers about a task it submitted."""

    family: str
    stem: str
    results: list[tuple[str, str, Path]] | None = None  # (name, format, cached file) once decoded
    warnings: list[str] = field(default_factory=list)


class Aspose(CloudProvider):
    """Aspose.OCR Cloud v5.

    ``Aspose(client_id, client_secret, *, base_url, simulator, poll_interval,
    timeout, cache_dir)``: see :class:`CloudProvider`.
    Credentials come from the arguments or from ``ASPOSE_CLIENT_ID`` and
    ``ASPOSE_CLIENT_SECRET``; ``base_url`` (or ``ASPOSE_BASE_URL``) points it
    at another endpoint, such as the local simulator. ``poll_interval`` is
    the first delay between status checks (growing ×1.5 up to 10 s): the
    service suggests fetching again "in a couple of seconds".

    Tasks: ``tables`` (image → csv/xlsx, RecognizeTable), ``ocr`` (image →
    txt/pdf/hocr, RecognizeImage; pdf → txt, RecognizePdf), ``convert``
    (djvu → pdf, DjVu2PDF). Options: ``lang`` (Tesseract code, e.g.
    ``"eng"``), ``rotate``, ``skew_correct``, ``binarize``,
    ``contrast_correct``, ``upsample``, ``spell_check``, ``dsr_mode``,
    ``dsr_confidence``, ``result_type``/``result_type_table`` (raw Aspose
    values such as ``"CsvAndExcel"``).
    """

    name = "aspose"
    label = "Aspose.OCR Cloud"
    can_cancel = True
    retention_seconds = RETENTION
    token_path = protocol.TOKEN_PATH
    default_base_url = protocol.DEFAULT_BASE_URL
    env_prefix = "ASPOSE"
    error_shape = protocol.problem_message
    default_poll_interval = 2.0

    def __init__(self, *credentials: str | None, **options: Any):
        super().__init__(*credentials, **options)
        self._tasks: dict[str, _Task] = {}

    # -- description --------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        caps = [Capability("tables", src, dst) for src in SOURCE_IMAGES for dst in ("csv", "xlsx")]
        caps += [Capability("ocr", src, dst) for src in SOURCE_IMAGES for dst in protocol.OCR_RESULT_TYPES]
        caps.append(Capability("ocr", "pdf", "txt"))
        caps.append(Capability("convert", "djvu", "pdf"))
        return sorted(caps, key=lambda c: (c.task, c.source, c.target))

    def validate(self, request: ConversionRequest) -> None:
        _settings(request)  # raises InvalidOptions for unknown names or values

    # -- job verbs ----------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        oauth = self.oauth()
        family = _family(request)
        settings = _settings(request)
        body_path = self._write_body(request, settings)
        try:
            def send():
                with body_path.open("rb") as body:
                    return self.http.request(
                        "POST", f"{API_PREFIX}/{family}", data=body, auth=oauth, expected=(200, 201),
                        headers={"Content-Type": "application/json", "Accept": "text/plain"},
                    )

            response = oauth.call(send)
        finally:
            body_path.unlink(missing_ok=True)
        task_id = _task_id(response.text)
        stem = Path(request.source.name).stem or "result"
        with self._lock:
            self._tasks[task_id] = _Task(family=family, stem=stem)
        log.debug("Aspose task %s submitted to %s", task_id, family)
        return task_id

    def fetch_status(self, job_id: str) -> JobSnapshot:
        task = self._tasks.get(job_id)
        if task is not None and task.results is not None:
            # Already decoded: the cheap status call is enough to notice expiry or deletion.
            document = self._get_json(protocol.TASK_STATUS_ENDPOINT, job_id)
            _drop_decoded(document)
            if document.get("taskStatus") == "NotExist":
                return self._gone(job_id, document)
            return JobSnapshot(status=JobStatus.COMPLETED, outputs=self._outputs(task), warnings=list(task.warnings))
        if task is None:
            task = self._recover(job_id)
            if task is None:
                return self._gone(job_id, {})
        return self._fetch(job_id, task)

    def resume(self, job_id: str, request: ConversionRequest) -> None:
        """A task another process submitted: its endpoint and output names come from the request."""
        try:
            family = _family(request)
        except DocconvertError:
            return  # not a request this adapter would have sent: let the status call find the family
        with self._lock:
            self._tasks.setdefault(job_id, _Task(family=family, stem=Path(request.source.name).stem or "result"))

    def delete(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        family = task.family if task else protocol.RECOGNIZE_IMAGE
        self.call("DELETE", f"{API_PREFIX}/{family}", params={"id": job_id}, expected=(200, 204))
        self._forget(job_id)

    def cancel(self, job_id: str) -> None:
        """Aspose has one verb for both: DELETE drops a pending task and its results."""
        self.delete(job_id)

    # -- internals ------------------------------------------------------------------
    def _write_body(self, request: ConversionRequest, settings: dict[str, Any]) -> Path:
        """The JSON body in a private temp file, the input base64-encoded slice by slice."""
        fd, name = tempfile.mkstemp(prefix="body-", suffix=".json", dir=self.cache)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, request.source.open() as source:
                out.write(b'{"image": "')
                while chunk := source.read(_CHUNK):
                    out.write(base64.b64encode(chunk))
                out.write(b'", "settings": ')
                out.write(json.dumps(settings).encode())
                out.write(b"}")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _get_json(self, family: str, job_id: str) -> dict[str, Any]:
        """GET an OCRResponse; each result's base64 ``data`` is decoded to a file as the body arrives.

        A 200 MB result never sits in memory (neither as JSON text nor decoded):
        the caller gets :class:`DecodedFile` objects in place of the strings and
        must pass the document to :func:`_drop_decoded` when done with it.
        """
        oauth = self.oauth()

        def send():
            sink = Base64JsonSink({"data"}, self.cache)
            try:
                self.http.download(
                    f"{API_PREFIX}/{family}", sink, params={"id": job_id}, auth=oauth,
                    headers={"Accept": "application/json"},
                )
                return sink.finish()
            except StreamingJsonError:
                raise ProviderError(f"{self.label} sent a non-JSON answer for task {job_id}") from None
            except BaseException:
                sink.discard()
                raise

        document = oauth.call(send)
        if not isinstance(document, dict):
            raise ProviderError(f"{self.label} sent an unexpected answer for task {job_id}")
        return document

    def _fetch(self, job_id: str, task: _Task) -> JobSnapshot:
        document = self._get_json(task.family, job_id)
        try:
            return self._read_answer(job_id, task, document)
        finally:
            _drop_decoded(document)

    def _read_answer(self, job_id: str, task: _Task, document: dict[str, Any]) -> JobSnapshot:
        state = document.get("taskStatus")
        try:
            status = protocol.from_task_status(state)
        except ValueError:
            raise ProviderError(f"{self.label} reported an unknown taskStatus {state!r} for task {job_id}") from None
        messages, warnings = protocol.error_lists(document)
        if status == JobStatus.EXPIRED:
            return self._gone(job_id, document)
        if status == JobStatus.FAILED:
            detail = "; ".join(messages) or f"responseStatusCode {document.get('responseStatusCode')}"
            return JobSnapshot(
                status=status, message=f"Aspose could not process the document: {detail}",
                errors=messages or [detail], warnings=warnings,
            )
        if status != JobStatus.COMPLETED:
            return JobSnapshot(status=status, warnings=warnings)
        results = document.get("results") or []
        if not results:
            detail = "; ".join(messages) or "the task completed without any result"
            return JobSnapshot(status=JobStatus.FAILED, message=detail, errors=[detail], warnings=warnings)
        task.results = self._decode_results(job_id, task, results)
        task.warnings = warnings
        return JobSnapshot(
            status=JobStatus.COMPLETED, outputs=self._outputs(task), errors=messages, warnings=warnings,
            message=f"Done: {len(task.results)} output(s).",
        )

    def _decode_results(self, job_id: str, task: _Task, results: list) -> list[tuple[str, str, Path]]:
        folder = self.cache / job_id
        folder.mkdir(exist_ok=True)
        decoded, used = [], set()
        for index, item in enumerate(results):
            kind = str((item or {}).get("type") or "")
            fmt = protocol.result_format(kind) or "bin"
            name = f"{task.stem}.{extension(fmt) if fmt != 'bin' else 'bin'}"
            if name in used:
                name = f"{task.stem}-{index + 1}.{name.rsplit('.', 1)[1]}"
            used.add(name)
            path = folder / name
            data = (item or {}).get("data")
            if not isinstance(data, DecodedFile):
                raise ProviderError(f"{self.label} sent a result that is not base64 text (task {job_id})")
            os.replace(data.path, path)
            decoded.append((name, fmt, path))
        return decoded

    def _outputs(self, task: _Task) -> list[Output]:
        outputs = []
        for name, fmt, path in task.results or []:
            outputs.append(Output(
                name=name,
                content_type=media_type(fmt) if fmt != "bin" else "application/octet-stream",
                size=path.stat().st_size if path.exists() else None,
                metadata={"aspose_task": task.family},
                _opener=file_opener(path, name, "the task was deleted or expired"),
            ))
        return outputs

    def _gone(self, job_id: str, document: dict) -> JobSnapshot:
        self._forget(job_id)
        code = document.get("responseStatusCode") or "TaskNotFound"
        message = (
            f"Aspose no longer has task {job_id} ({code}): the id is unknown, the task was deleted, "
            f"or its results passed the {self.retention_text()} retention window."
        )
        return JobSnapshot(status=JobStatus.EXPIRED, message=message)

    def _recover(self, job_id: str) -> _Task | None:
        """A task submitted elsewhere (another process): find its family by asking each endpoint."""
        document = self._get_json(protocol.TASK_STATUS_ENDPOINT, job_id)
        _drop_decoded(document)
        if document.get("taskStatus") in (None, "NotExist"):
            return None
        for family in protocol.RECOVERABLE_FAMILIES:
            probe = self._get_json(family, job_id)
            _drop_decoded(probe)
            if probe.get("taskStatus") not in (None, "NotExist"):
                task = _Task(family=family, stem=job_id[:8])
                with self._lock:
                    self._tasks[job_id] = task
                return task
        return None

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._tasks.pop(job_id, None)
        shutil.rmtree(self.cache / job_id, ignore_errors=True)


# -- request building -----------------------------------------------------------------

def _family(request: ConversionRequest) -> str:
    if request.task == "tables":
        return protocol.RECOGNIZE_TABLE
    if request.task == "ocr":
        return protocol.RECOGNIZE_PDF if request.source.format == "pdf" else protocol.RECOGNIZE_IMAGE
    if request.task == "convert" and request.source.format == "djvu" and request.target == "pdf":
        return protocol.DJVU_TO_PDF
    raise DocconvertError(f"Aspose.OCR Cloud cannot {request.describe()}")


def _settings(request: ConversionRequest) -> dict[str, Any]:
    """The ``settings`` object for ``request``; unknown options raise InvalidOptions."""
    options = dict(request.options)
    unknown = sorted(set(options) - set(protocol.SETTING_OPTIONS))
    if unknown:
        raise InvalidOptions(
            f"Aspose.OCR Cloud does not know the option(s) {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(sorted(protocol.SETTING_OPTIONS))}"
        )
    settings: dict[str, Any] = {}
    lang = options.pop("lang", None)
    if lang is not None:
        codes = [c for c in str(lang).split("+") if c]
        if len(codes) != 1:
            raise InvalidOptions("Aspose.OCR Cloud reads one language per task; pass a single lang such as 'eng'")
        code = codes[0]
        name = LANGUAGES.get(code) or LANGUAGES.get(protocol.language_code(code) or "")
        if name is None:
            raise InvalidOptions(
                f"Aspose.OCR Cloud has no language {code!r}; known: {', '.join(sorted(LANGUAGES))}"
            )
        settings["language"] = name
    for option, value in options.items():
        if option in protocol.BOOL_OPTIONS and not isinstance(value, bool):
            raise InvalidOptions(f"option {option!r} takes True or False, not {value!r}")
        if option == "rotate" and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidOptions(f"option 'rotate' takes an angle in degrees (int), not {value!r}")
        settings[protocol.SETTING_OPTIONS[option]] = value
    if request.task == "tables":
        settings.setdefault("resultTypeTable", protocol.TABLE_RESULT_TYPES.get(request.target, "Csv"))
    elif request.task == "ocr":
        settings.setdefault("resultType", protocol.OCR_RESULT_TYPES.get(request.target, "Text"))
    return settings


def _task_id(text: str) -> str:
    """The bare GUID of a submit answer (a JSON-quoted one is accepted too)."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not protocol.TASK_ID.match(value):
        raise ProviderError(f"Aspose.OCR Cloud answered the submission with no task id (got {value[:60]!r})")
    return value


# -- results --------------------------------------------------------------------------

def _drop_decoded(document: Any) -> None:
    """Remove the files of an answer's decoded results that were not kept as outputs."""
    results = document.get("results") if isinstance(document, dict) else None
    for item in results if isinstance(results, list) else ():
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, DecodedFile):
            data.path.unlink(missing_ok=True)


__all__ = ["Aspose", "LANGUAGES"]

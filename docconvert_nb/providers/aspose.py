"""Aspose.OCR Cloud v5: table recognition, OCR and DjVu→PDF as queued tasks.

Protocol (``../shared/protocols.md`` §1): an OAuth client-credentials token
from ``/connect/token``; ``POST /v5.0/ocr/{Task}`` with the whole input as
base64 in JSON answers the bare task GUID; ``GET /v5.0/ocr/{Task}?id=``
answers an ``OCRResponse`` whose ``taskStatus`` is Pending, Processing,
Completed, Error or NotExist and whose ``results[].data`` are the artefacts
in base64; ``DELETE`` drops the task. Results stay 24 h.

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
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable

from ..errors import (
    AuthenticationError,
    DocconvertError,
    InvalidOptions,
    OutputUnavailable,
    ProviderError,
)
from ..fileformats import IMAGE_FORMATS, extension, media_type
from ..outputs import Output
from ..status import JobStatus, from_aspose
from ._oauth import ClientCredentials
from .base import Capability, ConversionRequest, JobSnapshot
from .cloud import CloudProvider
from .http import HttpClient, default_error_parser

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.aspose.cloud"
API_PREFIX = "/v5.0/ocr"
RETENTION = 24 * 3600.0

#: Image formats the recognition endpoints take.
SOURCE_IMAGES = frozenset({"png", "jpeg", "tiff", "bmp", "gif"}) & IMAGE_FORMATS

#: Tesseract language codes (what ``dc.ocr(lang=...)`` takes) → Aspose ``Language`` enum values.
LANGUAGES = {
    "eng": "English", "deu": "German", "fra": "French", "ita": "Italian", "spa": "Spanish",
    "por": "Portuguese", "pol": "Polish", "slv": "Slovene", "slk": "Slovak", "nld": "Netherlands",
    "lit": "Lithuanian", "lav": "Latvian", "dan": "Danish", "nor": "Norwegian", "fin": "Finnish",
    "srp": "Serbian", "hrv": "Croatian", "ces": "Czech", "swe": "Swedish", "est": "Estonian",
    "ron": "Romanian", "chi_sim": "Chinese", "rus": "Russian", "ara": "Arabic", "hin": "Hindi",
    "ukr": "Ukrainan",  # sic: the service's spelling
    "ben": "Bengali", "bod": "Tibetan", "tha": "Thai", "urd": "Urdu", "tur": "Turkish",
    "kor": "Korean", "ind": "Indonesian", "heb": "Hebrew", "jav": "Javanese",
}

#: ``resultTypeTable`` per target, and the target each ``results[].type`` stands for.
TABLE_RESULT_TYPES = {"csv": "Csv", "xlsx": "Excel", "txt": "Text"}
OCR_RESULT_TYPES = {"txt": "Text", "pdf": "Pdf", "hocr": "Hocr"}
RESULT_FORMATS = {
    "text": "txt", "txt": "txt", "pdf": "pdf", "csv": "csv", "excel": "xlsx", "xlsx": "xlsx", "xls": "xlsx",
    "hocr": "hocr", "imagepng": "png", "png": "png", "json": "json", "wavfile": "wav",
}

#: Options a caller may pass, and the ``settings`` key each becomes.
SETTING_OPTIONS = {
    "lang": "language",
    "rotate": "Rotate",
    "skew_correct": "makeSkewCorrect",
    "binarize": "makeBinarization",
    "contrast_correct": "makeContrastCorrection",
    "upsample": "makeUpsampling",
    "spell_check": "makeSpellCheck",
    "dsr_mode": "dsrMode",
    "dsr_confidence": "dsrConfidence",
    "result_type": "resultType",
    "result_type_table": "resultTypeTable",
}
_BOOL_OPTIONS = {"skew_correct", "binarize", "contrast_correct", "upsample", "spell_check"}

_WHITESPACE = re.compile(r"\s")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
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

    Credentials come from the arguments or from ``ASPOSE_CLIENT_ID`` and
    ``ASPOSE_CLIENT_SECRET``; ``base_url`` (or ``ASPOSE_BASE_URL``) points it
    at another endpoint, such as the local simulator. ``poll_interval`` is
    the first delay between status checks (growing ×1.5 up to 10 s).

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

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        base_url: str | None = None,
        simulator: bool = False,
        poll_interval: float = 2.0,
        timeout: tuple[float, float] = (5.0, 120.0),
        cache_dir: str | os.PathLike | None = None,
    ):
        super().__init__(
            (base_url or os.environ.get("ASPOSE_BASE_URL") or DEFAULT_BASE_URL),
            simulator=simulator,
            cache_dir=cache_dir,
        )
        self.client_id = client_id or os.environ.get("ASPOSE_CLIENT_ID") or None
        secret = client_secret or os.environ.get("ASPOSE_CLIENT_SECRET") or None
        self.poll_interval = poll_interval
        self.http = HttpClient(
            self.base_url, secrets=[secret] if secret else [], timeout=timeout,
            error_parser=_problem_details, provider_label=self.label,
        )
        self._oauth = (
            ClientCredentials(self.http, "/connect/token", self.client_id, secret)
            if self.client_id and secret else None
        )
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self.watch_for_simulator(self.http)

    # -- description --------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return self._oauth is not None

    def capabilities(self) -> Iterable[Capability]:
        caps = [Capability("tables", src, dst) for src in SOURCE_IMAGES for dst in ("csv", "xlsx")]
        caps += [Capability("ocr", src, dst) for src in SOURCE_IMAGES for dst in OCR_RESULT_TYPES]
        caps.append(Capability("ocr", "pdf", "txt"))
        caps.append(Capability("convert", "djvu", "pdf"))
        return sorted(caps, key=lambda c: (c.task, c.source, c.target))

    def check(self, request: ConversionRequest) -> None:
        super().check(request)
        _settings(request)  # raises InvalidOptions for unknown names or values
        if not self.configured:
            raise _missing_credentials()

    # -- job verbs ----------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        if self._oauth is None:
            raise _missing_credentials()
        family = _family(request)
        settings = _settings(request)
        body_path = self._write_body(request, settings)
        try:
            def send():
                with body_path.open("rb") as body:
                    return self.http.request(
                        "POST", f"{API_PREFIX}/{family}", data=body, auth=self._oauth, expected=(200, 201),
                        headers={"Content-Type": "application/json", "Accept": "text/plain"},
                    )

            response = self._oauth.call(send)
        finally:
            body_path.unlink(missing_ok=True)
        task_id = _task_id(response.text)
        stem = Path(request.source.name).stem or "result"
        with self._lock:
            self._tasks[task_id] = _Task(family=family, stem=stem)
        log.debug("Aspose task %s submitted to %s", task_id, family)
        return task_id

    def status(self, job_id: str) -> JobSnapshot:
        task = self._tasks.get(job_id)
        if task is not None and task.results is not None:
            # Already decoded: the cheap status call is enough to notice expiry or deletion.
            document = self._get_json("Utilities/GetTaskStatus", job_id)
            state = document.get("taskStatus")
            if state == "NotExist":
                return self._gone(job_id, document)
            return JobSnapshot(status=JobStatus.COMPLETED, outputs=self._outputs(task), warnings=list(task.warnings))
        if task is None:
            task = self._recover(job_id)
            if task is None:
                return self._gone(job_id, {})
        return self._fetch(job_id, task)

    def delete(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        family = task.family if task else "RecognizeImage"
        self._oauth_required()
        self._oauth.call(lambda: self.http.request(
            "DELETE", f"{API_PREFIX}/{family}", params={"id": job_id}, auth=self._oauth, expected=(200, 204)
        ))
        self._forget(job_id)

    def cancel(self, job_id: str) -> None:
        """Aspose has one verb for both: DELETE drops a pending task and its results."""
        self.delete(job_id)

    def poll_delay(self, attempt: int) -> float:
        """Aspose suggests fetching again "in a couple of seconds": 2 s, growing ×1.5 to 10 s."""
        return min(10.0, self.poll_interval * 1.5**attempt)

    def close(self) -> None:
        self.http.close()
        self.remove_cache()

    # -- internals ------------------------------------------------------------------
    def _oauth_required(self) -> None:
        if self._oauth is None:
            raise _missing_credentials()

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
        """GET an OCRResponse, streamed to a spooled file first so the body is parsed from one copy."""
        self._oauth_required()

        def send():
            with tempfile.SpooledTemporaryFile(max_size=1 << 20, dir=self.cache) as spool:
                self.http.download(
                    f"{API_PREFIX}/{family}", spool, params={"id": job_id}, auth=self._oauth,
                    headers={"Accept": "application/json"},
                )
                spool.seek(0)
                try:
                    return json.load(spool)
                except ValueError:
                    raise ProviderError(f"{self.label} sent a non-JSON answer for task {job_id}") from None

        document = self._oauth.call(send)
        if not isinstance(document, dict):
            raise ProviderError(f"{self.label} sent an unexpected answer for task {job_id}")
        return document

    def _fetch(self, job_id: str, task: _Task) -> JobSnapshot:
        document = self._get_json(task.family, job_id)
        state = document.get("taskStatus")
        try:
            status = from_aspose(state)
        except ValueError:
            raise ProviderError(f"{self.label} reported an unknown taskStatus {state!r} for task {job_id}") from None
        messages, warnings = _error_lists(document)
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
            fmt = RESULT_FORMATS.get(kind.lower(), "bin")
            name = f"{task.stem}.{extension(fmt) if fmt != 'bin' else 'bin'}"
            if name in used:
                name = f"{task.stem}-{index + 1}.{name.rsplit('.', 1)[1]}"
            used.add(name)
            path = folder / name
            data = (item or {}).get("data") or ""
            if not isinstance(data, str):
                raise ProviderError(f"{self.label} sent a result that is not base64 text (task {job_id})")
            _decode_to_file(data, path)
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
                _opener=_file_opener(path, name),
            ))
        return outputs

    def _gone(self, job_id: str, document: dict) -> JobSnapshot:
        self._forget(job_id)
        code = document.get("responseStatusCode") or "TaskNotFound"
        message = (
            f"Aspose no longer has task {job_id} ({code}): the id is unknown, the task was deleted, "
            f"or its results passed the {RETENTION / 3600:g} h retention window."
        )
        return JobSnapshot(status=JobStatus.EXPIRED, message=message)

    def _recover(self, job_id: str) -> _Task | None:
        """A task submitted elsewhere (another process): find its family by asking each endpoint."""
        document = self._get_json("Utilities/GetTaskStatus", job_id)
        if document.get("taskStatus") in (None, "NotExist"):
            return None
        for family in ("RecognizeTable", "RecognizeImage", "RecognizePdf", "DjVu2PDF"):
            probe = self._get_json(family, job_id)
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

    def __repr__(self) -> str:
        extra = " (simulator)" if self.is_simulator else ""
        state = "" if self.configured else ", not configured"
        return f"<Aspose {self.base_url}{extra}{state}>"


# -- request building -----------------------------------------------------------------

def _family(request: ConversionRequest) -> str:
    if request.task == "tables":
        return "RecognizeTable"
    if request.task == "ocr":
        return "RecognizePdf" if request.source.format == "pdf" else "RecognizeImage"
    if request.task == "convert" and request.source.format == "djvu" and request.target == "pdf":
        return "DjVu2PDF"
    raise DocconvertError(f"Aspose.OCR Cloud cannot {request.describe()}")


def _settings(request: ConversionRequest) -> dict[str, Any]:
    """The ``settings`` object for ``request``; unknown options raise InvalidOptions."""
    options = dict(request.options)
    unknown = sorted(set(options) - set(SETTING_OPTIONS))
    if unknown:
        raise InvalidOptions(
            f"Aspose.OCR Cloud does not know the option(s) {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(sorted(SETTING_OPTIONS))}"
        )
    settings: dict[str, Any] = {}
    lang = options.pop("lang", None)
    if lang is not None:
        codes = [c for c in str(lang).split("+") if c]
        if len(codes) != 1:
            raise InvalidOptions("Aspose.OCR Cloud reads one language per task; pass a single lang such as 'eng'")
        code = codes[0]
        name = LANGUAGES.get(code) or next((v for v in LANGUAGES.values() if v.lower() == code.lower()), None)
        if name is None:
            raise InvalidOptions(
                f"Aspose.OCR Cloud has no language {code!r}; known: {', '.join(sorted(LANGUAGES))}"
            )
        settings["language"] = name
    for option, value in options.items():
        if option in _BOOL_OPTIONS and not isinstance(value, bool):
            raise InvalidOptions(f"option {option!r} takes True or False, not {value!r}")
        if option == "rotate" and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidOptions(f"option 'rotate' takes an angle in degrees (int), not {value!r}")
        settings[SETTING_OPTIONS[option]] = value
    if request.task == "tables":
        settings.setdefault("resultTypeTable", TABLE_RESULT_TYPES.get(request.target, "Csv"))
    elif request.task == "ocr":
        settings.setdefault("resultType", OCR_RESULT_TYPES.get(request.target, "Text"))
    return settings


def _task_id(text: str) -> str:
    """The bare GUID of a submit answer (a JSON-quoted one is accepted too)."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _GUID.match(value):
        raise ProviderError(f"Aspose.OCR Cloud answered the submission with no task id (got {value[:60]!r})")
    return value


def _error_lists(document: dict) -> tuple[list[str], list[str]]:
    error = document.get("error") or {}
    if not isinstance(error, dict):
        return [str(error)], []
    messages = [str(m) for m in error.get("messages") or [] if m]
    warnings = [str(w) for w in error.get("warnings") or [] if w]
    return messages, warnings


def _problem_details(response) -> tuple[str, Any]:
    """Aspose errors: RFC 7807 ``{"title", "detail", "status"}`` or OAuth ``{"error"}``."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        return ": ".join(parts), body.get("type")
    return default_error_parser(response)


def _missing_credentials() -> AuthenticationError:
    return AuthenticationError(
        "Aspose.OCR Cloud needs credentials: pass client_id= and client_secret= to dc.providers.Aspose(...), "
        "or set ASPOSE_CLIENT_ID and ASPOSE_CLIENT_SECRET"
    )


# -- results --------------------------------------------------------------------------

def _decode_to_file(data: str, path: Path) -> None:
    """Decode base64 ``data`` into ``path`` slice by slice (never a second full copy in memory)."""
    tmp = path.with_name(path.name + ".part")
    step = _CHUNK // 3 * 4  # base64 characters per slice: a multiple of 4
    try:
        with tmp.open("wb") as out:
            if _WHITESPACE.search(data):
                data = "".join(data.split())  # line-wrapped base64: rare; worth one copy
            for start in range(0, len(data), step):
                out.write(base64.b64decode(data[start:start + step], validate=True))
        os.replace(tmp, path)
    except (ValueError, base64.binascii.Error):
        tmp.unlink(missing_ok=True)
        raise ProviderError(f"Aspose.OCR Cloud sent a result that is not valid base64 ({path.name})") from None


def _file_opener(path: Path, name: str):
    def open_result() -> IO[bytes]:
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise OutputUnavailable(f"{name} is no longer available: the task was deleted or expired") from None

    return open_result


__all__ = ["Aspose", "LANGUAGES"]

"""A local ConvertAPI v2 (https://docs.convertapi.com/), converting for real with the engine.

Routes::

    POST|GET /convert/{from}/to/{to}         sync; Async=true → {"JobId"}; JobId= → semi-async
    POST     /async/convert/{from}/to/{to}   current async API (client JobId: 32 [a-z0-9])
    GET      /job/{id}    /async/job/{id}    202 converting, 200 result, 404 unknown/expired,
                                             503 while another poll of the job is open, 500 failed
    DELETE   /job/{id}    /async/job/{id}    200 deleted, 404 unknown
    POST     /upload                         raw body + Content-Disposition (filename*= too), multipart, ?url=
    GET|DELETE /d/{FileId}[/{name}]          stored files (uploads and results), 3 h
    GET      /user                           account facts

Credentials: ``Authorization: Bearer <secret or token>``, or ``Secret=`` /
``Token=`` parameters; 401 with ``Code`` 4013 (none), 4010 (bad secret),
4011 (bad token). Job polls and deletes need none: the JobId is the
capability, as in the service's async examples. Parameters are merged from the
query, an urlencoded or multipart body, JSON ``{"Parameters": [...]}``
and an octet-stream body named by ``Content-Disposition``; names and
boolean values in any letter case.

Faithfulness knobs: ``poll_hold`` holds every poll after a job's first for
that many seconds (the service's "delay of 5 seconds for the second poll";
0 by default, 5 with ``faithful=True``); webhooks are called on loopback
URLs only. Test hooks: :meth:`delay_answers` (the POST's work is done but
its answer comes late: a dropped connection for a client with a shorter
read timeout), ``faults`` (inherited) for forced 500/503 answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote

import requests
from flask import Flask, Response, jsonify, request

from ..errors import DocconvertError, UnknownFormat
from ..fileformats import SNIFF_BYTES, detect, normalize
from ..protocols import convertapi as protocol
from ..protocols.convertapi import FILE_RETENTION, JOB_RETENTION
from ._common import bearer_token, file_response, is_loopback_url
from .base import Simulator

CONVERSIONS_TOTAL = 1500
_FILE_ID = re.compile(r"^[0-9a-f]{32}$")


class ApiFailure(Exception):
    """An error answer: HTTP status, ConvertAPI ``Code`` and ``Message``."""

    def __init__(self, http_status: int, code: int, message: str, invalid: dict | None = None):
        super().__init__(message)
        self.http_status, self.code, self.message, self.invalid = http_status, code, message, invalid


@dataclass
class StoredFile:
    """An upload or a stored result, served by ``/d/{FileId}``."""

    id: str
    name: str
    created_at: float
    data: bytes | None = None
    engine_output: tuple[str, str] | None = None  # (engine job id, output name)
    deleted: bool = False


@dataclass
class ConvertJob:
    """Server-side state of one conversion (``sim.jobs[id]``)."""

    id: str
    created_at: float
    source_name: str
    store_file: bool
    api: str = "legacy"  # or "current" (/async routes)
    engine_id: str | None = None
    failure: tuple[int, str] | None = None  # (Code, Message) decided before the engine ran
    webhook: str = ""
    webhook_sent: bool = False
    result: dict | None = None
    deleted: bool = False
    poll_open: bool = False
    polls: int = 0
    submissions: int = 1
    file_ids: list[str] = field(default_factory=list)


class ConvertAPISimulator(Simulator):
    """ConvertAPI on loopback.

    Extra options: ``poll_hold`` (seconds a second or later poll of a job is
    held, default 0), ``faithful=True`` (``poll_hold=5``, as the service),
    ``conversion_timeout`` (seconds a synchronous request waits, default 300).
    """

    name = "convertapi"
    label = "ConvertAPI"

    def __init__(self, *, poll_hold: float | None = None, faithful: bool = False,
                 conversion_timeout: float = 300.0, **options):
        self.poll_hold = (protocol.DOCUMENTED_POLL_DELAY if faithful else 0.0) if poll_hold is None else poll_hold
        self.conversion_timeout = conversion_timeout
        self.files: dict[str, StoredFile] = {}
        #: Every webhook call made: (url, job id, HTTP status or error name).
        self.webhooks_sent: list[tuple[str, str, Any]] = []
        self._answer_delays: list[list] = []  # [seconds, remaining]
        super().__init__(**options)

    def new_credentials(self) -> dict[str, str]:
        return {"secret": secrets.token_hex(8), "token": secrets.token_urlsafe(12)}

    # -- test hooks --------------------------------------------------------------------
    def delay_answers(self, seconds: float, *, times: int = 1) -> None:
        """Do the next ``times`` conversion POSTs' work at once but hold their answers ``seconds``."""
        with self.lock:
            self._answer_delays.append([seconds, times])

    def conversions(self) -> int:
        """How many conversions the engine was asked to run (``conversions_started``)."""
        return self.conversions_started

    # -- the app --------------------------------------------------------------------------
    def add_routes(self, app: Flask) -> None:
        app.add_url_rule("/convert/<src>/to/<dst>", "convert", self._convert, methods=["GET", "POST"])
        app.add_url_rule("/async/convert/<src>/to/<dst>", "convert_async", self._convert_current, methods=["POST"])
        app.add_url_rule("/job/<job_id>", "job", self._job, methods=["GET", "DELETE"])
        app.add_url_rule("/async/job/<job_id>", "job_async", self._job, methods=["GET", "DELETE"])
        app.add_url_rule("/upload", "upload", self._upload, methods=["POST"])
        app.add_url_rule("/d/<file_id>", "file", self._file, methods=["GET", "DELETE"])
        app.add_url_rule("/d/<file_id>/<path:name>", "file_named", self._file, methods=["GET", "DELETE"])
        app.add_url_rule("/user", "user", self._user, methods=["GET"])

        @app.errorhandler(ApiFailure)
        def failure(exc: ApiFailure):
            return _error(exc.http_status, exc.code, exc.message, exc.invalid)

    def expire_for(self, request) -> str | None:
        if request.method != "GET":
            return None
        parts = request.path.strip("/").split("/")
        with self.lock:
            if parts[-2:-1] == ["job"]:
                job = self.jobs.get(parts[-1])
            elif parts[:1] == ["d"] and len(parts) >= 2:
                job = next((j for j in self.jobs.values() if parts[1] in j.file_ids), None)
            else:
                job = None
            if job is None or job.deleted:
                return None
            self._purge(job)
            return job.id

    def error_response(self, status: int, message: str) -> Response:
        return _error(status, protocol.CODE_NOT_FOUND if status == 404 else protocol.CODE_NOT_ALLOWED, message)

    # -- parameters and credentials ----------------------------------------------------------
    def _parameters(self) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        """(lower-case name → value, lower-case name → (file name, bytes)) from every place ConvertAPI reads."""
        values: dict[str, Any] = {k.lower(): v for k, v in request.args.items()}
        files: dict[str, tuple[str, bytes]] = {}
        mimetype = request.mimetype
        if mimetype == "application/json":
            body = request.get_json(force=True, silent=True)
            if not isinstance(body, dict):
                raise ApiFailure(400, protocol.CODE_BAD_JSON, "The JSON body cannot be parsed")
            for item in body.get("Parameters") or body.get("parameters") or []:
                if not isinstance(item, dict) or not item.get("Name"):
                    raise ApiFailure(400, protocol.CODE_BAD_JSON, "Each JSON parameter needs a Name")
                key = str(item["Name"]).lower()
                if "FileValue" in item:
                    values[key] = _file_value(item["FileValue"])
                elif "FileValues" in item:
                    for index, value in enumerate(item["FileValues"] or []):
                        values[f"{key}[{index}]"] = _file_value(value)
                else:
                    values[key] = item.get("Value")
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values.update({k.lower(): v for k, v in request.form.items()})
            for key, upload in request.files.items():
                files[key.lower()] = (upload.filename or key, upload.read())
        else:
            data = request.get_data(cache=False)
            if data:
                name = _disposition_filename(request.headers.get("Content-Disposition", ""))
                if not name:
                    raise ApiFailure(400, protocol.CODE_NO_FILE, "A raw file body needs a Content-Disposition with a filename")
                files["file"] = (name, data)
        return values, files

    def _authorize(self, values: dict[str, Any]) -> None:
        offered = bearer_token(request)
        if offered is not None:
            if offered in (self._credentials["secret"], self._credentials["token"]):
                return
            raise ApiFailure(401, protocol.CODE_BAD_SECRET, "The secret or token is invalid")
        if values.get("secret"):
            if secrets.compare_digest(str(values["secret"]), self._credentials["secret"]):
                return
            raise ApiFailure(401, protocol.CODE_BAD_SECRET, "The secret is invalid")
        if values.get("token"):
            if secrets.compare_digest(str(values["token"]), self._credentials["token"]):
                return
            raise ApiFailure(401, protocol.CODE_BAD_TOKEN, "The token is invalid")
        raise ApiFailure(401, protocol.CODE_NO_CREDENTIALS, "User credentials not set, secret or token must be passed.")

    # -- conversions ----------------------------------------------------------------------
    def _convert_current(self, src: str, dst: str):
        return self._convert(src, dst, api="current")

    def _convert(self, src: str, dst: str, api: str = "legacy"):
        values, files = self._parameters()
        self._authorize(values)
        asynchronous = api == "current" or _true(values.get("async"))
        job_id = str(values.get("jobid") or "")
        if job_id:
            if api == "current" and not protocol.CURRENT_JOB_ID.match(job_id):
                raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, "JobId must be 32 lower-case letters and digits",
                                 {"JobId": ["invalid format"]})
            if api == "legacy" and not protocol.LEGACY_JOB_ID.match(job_id):
                raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, "JobId must be a UUID (RFC 4122)", {"JobId": ["invalid format"]})
        webhook = str(values.get("webhook") or "")
        if webhook and not is_loopback_url(webhook):
            raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, "The simulator calls webhooks on loopback addresses only",
                             {"WebHook": ["not a loopback URL"]})
        job = self._repeated(job_id)
        if job is None:
            source = self._input_file(values, files)  # outside the lock: it may fetch a URL from this server
            with self.lock:
                job = self._repeated(job_id) or self._start(
                    job_id or _new_job_id(api), api, src, dst, values, source, webhook)
        if webhook:
            self.notify_in_background()
        self._hold_answer()
        if asynchronous:
            return jsonify(JobId=job.id)
        return self._sync_answer(job)

    def _repeated(self, job_id: str) -> ConvertJob | None:
        """The live job a repeated submission names (counted), or None."""
        if not job_id:
            return None
        with self.lock:
            job = self._live_job(job_id)
            if job is not None:
                job.submissions += 1  # the same submission again: no second conversion
            return job

    def _start(self, job_id: str, api: str, src: str, dst: str, values: dict, source: tuple[str, bytes],
               webhook: str) -> ConvertJob:
        """Register the job and hand the conversion to the engine (called under the lock)."""
        source_format, target = normalize(src), normalize(dst)
        converter = self.engine.registry.find("convert", source_format, target)
        if converter is None:
            raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, f"Converter {src} to {dst} is not supported")
        name, data = source
        job = ConvertJob(id=job_id, created_at=self.clock(), source_name=name,
                         store_file=_true(values.get("storefile")), api=api, webhook=webhook)
        try:
            actual = detect(data[:SNIFF_BYTES], name, whole=data)
        except UnknownFormat:
            actual = None
        if actual != source_format:
            job.failure = (protocol.CODE_DAMAGED_FILE, f"The file is damaged or is not a {src} file")
        else:
            options = {option: values[param] for param, option in protocol.PARAMETER_OPTIONS.items() if param in values}
            try:
                job.engine_id = self.start_conversion("convert", source_format, target, data, name, options)
            except DocconvertError as exc:
                raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, f"Parameter validation error: {exc}") from None
        self.jobs[job.id] = job
        return job

    def _input_file(self, values: dict, files: dict) -> tuple[str, bytes]:
        if "file" in files:
            return files["file"]
        value = values.get("file")
        if isinstance(value, tuple):  # JSON FileValue with inline data
            return value
        if isinstance(value, dict):  # JSON FileValue by Id or Url
            value = value.get("Id") or value.get("Url") or ""
        if not value:
            raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, "Parameter validation error: File is required", {"File": ["required"]})
        value = str(value)
        if value.startswith(("http://", "https://")):
            return self._fetch_remote(value)
        stored = self._live_file(value)
        if stored is None or stored.data is None:
            raise ApiFailure(500, protocol.CODE_BAD_FILE_ID, f"Invalid File id {value}")
        return stored.name, stored.data

    def _fetch_remote(self, url: str) -> tuple[str, bytes]:
        if not is_loopback_url(url):
            raise ApiFailure(500, protocol.CODE_REMOTE_FILE, "The simulator downloads remote files from loopback addresses only")
        try:
            answer = requests.get(url, timeout=10)
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise ApiFailure(500, protocol.CODE_REMOTE_FILE, f"The remote file cannot be downloaded: {type(exc).__name__}") from None
        name = _disposition_filename(answer.headers.get("Content-Disposition", "")) or url.rsplit("/", 1)[-1]
        return name or "remote", answer.content

    def _hold_answer(self) -> None:
        with self.lock:
            rule = next((r for r in self._answer_delays if r[1] > 0), None)
            if rule is not None:
                rule[1] -= 1
        if rule is not None:
            time.sleep(rule[0])

    def _sync_answer(self, job: ConvertJob):
        deadline = time.monotonic() + self.conversion_timeout
        while True:
            state = self._state(job, staged=False)
            if state != "processing":
                break
            if time.monotonic() > deadline:
                return _error(500, protocol.CODE_TIMEOUT, "Conversion timeout")
            time.sleep(0.02)
        if state == "failed":
            code, message = self._failure(job)
            return _error(500, code, message)
        result = self._result(job)
        if "application/octet-stream" in request.headers.get("Accept", "") and len(result["Files"]) == 1:
            stored = result["Files"][0]
            return file_response(self._file_bytes(job, stored), stored["FileName"])
        return jsonify(result)

    # -- job state --------------------------------------------------------------------------
    def _live_job(self, job_id: str) -> ConvertJob | None:
        job = self.jobs.get(job_id)
        if job is None or job.deleted:
            return None
        if self.older_than(job.created_at, JOB_RETENTION):
            self._purge(job)
            return None
        return job

    def _state(self, job: ConvertJob, *, staged: bool = True) -> str:
        """'processing', 'completed' or 'failed' now (``staged``: on the simulator clock's durations)."""
        outcome = "failed" if job.failure is not None else self.engine_outcome([job.engine_id])
        stage = self.stage(job.created_at, outcome) if staged else outcome
        return "processing" if stage in ("queued", "processing") else stage

    def _failure(self, job: ConvertJob) -> tuple[int, str]:
        if job.failure is not None:
            return job.failure
        message = "; ".join(self.engine_failure([job.engine_id])) or "Conversion failed"
        if "password" in message.lower():
            return protocol.CODE_PASSWORD_PROTECTED, f"The file is password protected: {message}"
        return protocol.CODE_CONVERSION_FAILED, f"Conversion failed: {message}"

    def _result(self, job: ConvertJob) -> dict:
        """The result body, made once (stored files keep their ids across polls)."""
        with self.lock:
            if job.result is not None:
                return job.result
            record = self.engine.get(job.engine_id)
            files = []
            for output in record.outputs:
                entry = {"FileName": output.name, "FileExt": output.name.rsplit(".", 1)[-1].lower(),
                         "FileSize": output.size}
                if job.store_file:
                    stored = StoredFile(id=uuid.uuid4().hex, name=output.name, created_at=self.clock(),
                                        engine_output=(job.engine_id, output.name))
                    self.files[stored.id] = stored
                    job.file_ids.append(stored.id)
                    entry["FileId"] = stored.id
                    entry["Url"] = f"{self.base_url}/d/{stored.id}/{quote(output.name)}"
                else:
                    data = self.engine.output_path(job.engine_id, output.name).read_bytes()
                    entry["FileData"] = base64.b64encode(data).decode("ascii")
                files.append(entry)
            job.result = {"ConversionCost": 1, "Files": files}
            return job.result

    def _file_bytes(self, job: ConvertJob, entry: dict) -> bytes:
        if "FileData" in entry:
            return base64.b64decode(entry["FileData"])
        return self.engine.output_path(job.engine_id, entry["FileName"]).read_bytes()

    def _purge(self, job: ConvertJob) -> None:
        job.deleted = True
        for file_id in job.file_ids:
            if file_id in self.files:
                self.files[file_id].deleted = True
        if job.engine_id is not None:
            self.discard([job.engine_id])

    # -- GET / DELETE /job/{id} ------------------------------------------------------------------
    def _job(self, job_id: str):
        with self.lock:
            job = self._live_job(job_id)
            if job is None:
                return _error(404, protocol.CODE_NOT_FOUND, f"Job {job_id} not found: the JobId is invalid or the result expired")
            if request.method == "DELETE":
                self._purge(job)
                return jsonify(JobId=job_id, Deleted=True)
            if job.poll_open:
                return Response(b"", status=503, headers={"Retry-After": "5"})
            job.poll_open = True
            job.polls += 1
            hold = self.poll_hold if job.polls > 1 else 0.0
        try:
            if hold:
                time.sleep(hold)
            state = self._state(job)
            if state == "processing":
                return Response(b"", status=202)
            if state == "failed":
                code, message = self._failure(job)
                return _error(500, code, message)
            return jsonify(self._result(job))
        finally:
            job.poll_open = False

    # -- uploads and stored files ----------------------------------------------------------------
    def _upload(self):
        values, files = self._parameters()
        self._authorize(values)
        if files:
            if len(files) != 1:
                raise ApiFailure(400, protocol.CODE_INVALID_PARAMETERS, "Upload exactly one file")
            name, data = next(iter(files.values()))
        elif values.get("url"):
            name, data = self._fetch_remote(str(values["url"]))
        else:
            raise ApiFailure(400, protocol.CODE_NO_FILE, "No file: send the bytes with a Content-Disposition, or one multipart file")
        name = str(values.get("filename") or name)
        stored = StoredFile(id=uuid.uuid4().hex, name=name, created_at=self.clock(), data=data)
        with self.lock:
            self.files[stored.id] = stored
        if "text/plain" in request.headers.get("Accept", ""):
            return Response(stored.id, content_type="text/plain")
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return jsonify(FileId=stored.id, FileName=name, FileExt=ext)

    def _live_file(self, file_id: str) -> StoredFile | None:
        if not _FILE_ID.match(file_id):
            return None
        stored = self.files.get(file_id)
        if stored is None or stored.deleted:
            return None
        if self.older_than(stored.created_at, FILE_RETENTION):
            stored.deleted = True
            stored.data = None
            return None
        return stored

    def _file(self, file_id: str, name: str | None = None):
        with self.lock:
            stored = self._live_file(file_id)
            if stored is None:
                return _error(404, protocol.CODE_NOT_FOUND, f"File {file_id} not found or expired")
            if request.method == "DELETE":
                stored.deleted = True
                stored.data = None
                return jsonify(FileId=file_id, Deleted=True)
        if stored.data is not None:
            data = stored.data
        else:
            try:
                data = self.engine.output_path(*stored.engine_output).read_bytes()
            except (DocconvertError, OSError):
                return _error(404, protocol.CODE_NOT_FOUND, f"File {file_id} not found or expired")
        disposition = "inline" if request.args.get("download", "").lower() == "inline" else "attachment"
        return file_response(data, stored.name, disposition=disposition)

    def _user(self):
        values, _ = self._parameters()
        self._authorize(values)
        return jsonify(Active=True, FullName="docconvert_nb simulator", Email="simulator@localhost",
                       ApiKey=0, SecondsLeft=86400, ConversionsTotal=CONVERSIONS_TOTAL,
                       ConversionsConsumed=self.conversions())

    # -- webhooks ---------------------------------------------------------------------------------
    def deliver_notifications(self, session: requests.Session) -> None:
        for job in list(self.jobs.values()):
            if not job.webhook or job.webhook_sent or job.deleted:
                continue
            try:
                finished = self._state(job) != "processing"
            except DocconvertError:
                finished = True
            if finished:
                job.webhook_sent = True
                self._call_webhook(session, job)

    def _call_webhook(self, session: requests.Session, job: ConvertJob) -> None:
        try:
            if job.api == "current":
                answer = session.post(job.webhook, json={"JobId": job.id}, timeout=5)
            else:
                answer = session.get(job.webhook, params={"JobId": job.id}, timeout=5)
            self.webhooks_sent.append((job.webhook, job.id, answer.status_code))
        except requests.RequestException as exc:
            self.webhooks_sent.append((job.webhook, job.id, type(exc).__name__))


def _new_job_id(api: str) -> str:
    return uuid.uuid4().hex if api == "current" else str(uuid.uuid4())


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def _file_value(value: Any) -> Any:
    """A JSON ``FileValue``: inline ``{"Name", "Data"}`` → (name, bytes); ``{"Id"}``/``{"Url"}`` kept as is."""
    if not isinstance(value, dict):
        raise ApiFailure(400, protocol.CODE_BAD_JSON, "FileValue must be an object")
    if value.get("Data") is not None:
        try:
            data = base64.b64decode(value["Data"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ApiFailure(400, protocol.CODE_BAD_BASE64, "FileValue Data is not valid base64") from None
        return (str(value.get("Name") or "file"), data)
    return value


def _disposition_filename(header: str) -> str:
    """The file name of a Content-Disposition header, RFC 5987 ``filename*=UTF-8''...`` included."""
    if not header:
        return ""
    message = Message()
    message["Content-Disposition"] = header
    name = message.get_filename() or ""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _error(status: int, code: int, message: str, invalid: dict | None = None) -> Response:
    return Response(json.dumps(protocol.error_body(code, message, invalid)), status=status,
                    content_type="application/json")


__all__ = ["ConvertAPISimulator", "ConvertJob", "StoredFile"]

"""A local online-convert.com / API2Convert API v2 (https://apiv2.online-convert.com/docs/), with real work by the engine.

Routes, under ``/v2`` and the legacy un-prefixed root alike::

    POST   /jobs                              create (conversion targets, process flag, callback)
    GET    /jobs/{id}   PATCH /jobs/{id}      status; {"process": true} starts the job
    DELETE /jobs/{id}                         cancel / delete (outputs become "disabled")
    GET    /jobs/{id}/output                  the outputs
    POST   /jobs/{id}/conversions             add a conversion
    GET    /statuses, /conversions            public vocabularies
    POST   /v2/dl/web1/upload-file/{id}       the job's file server: multipart "file"
    GET    /v2/dl/web1/download-file/{output id}/{name}[?encoding=base64]

Rules kept: API key in ``X-Oc-Api-Key`` or ``X-Api2convert-Api-Key``; job
token (32 hex) in ``X-Oc-Token`` or ``X-Api2convert-Token``; status
incomplete → ready → queued → processing → completed/failed on the
simulator clock; outputs with their MD5 ``checksum``; ``downloads_counter``;
``overuse`` after 10 downloads (403), ``expired`` after 24 h (410); optional
limits answering 402 (credits per 24 h) and 429 with ``Retry-After``
(concurrent jobs); callbacks POSTed to loopback URLs only.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from ..errors import DocconvertError
from ..fileformats import SNIFF_BYTES, detect, media_type, normalize
from ..protocols import onlineconvert as protocol
from ..protocols.onlineconvert import DOWNLOAD_LIMIT, RETENTION
from ._common import file_response, is_loopback_url, iso_utc, new_guid
from .base import Simulator


@dataclass
class OCInput:
    id: str
    filename: str
    content_type: str
    data: bytes | None
    size: int
    created_at: float


@dataclass
class OCOutput:
    id: str
    conversion_id: str
    input_id: str
    engine_job: str
    filename: str
    content_type: str
    size: int
    checksum: str
    created_at: float
    downloads: int = 0
    #: Test hook: serve bytes that do not match ``checksum``.
    corrupt: bool = False


@dataclass
class OCJob:
    """Server-side state of one job (``sim.jobs[id]``)."""

    id: str
    token: str
    created_at: float
    conversions: list[dict[str, Any]]
    process: bool = False
    callback: str = ""
    notify_status: bool = False
    fail_on_conversion_error: bool = True
    inputs: list[OCInput] = field(default_factory=list)
    started_at: float | None = None
    modified_at: float = 0.0
    engine_jobs: list[tuple[str, str, str]] = field(default_factory=list)  # (conversion id, input id, engine id)
    start_errors: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[OCOutput] | None = None
    deleted: bool = False
    #: The status code the job had when it was deleted ("canceled" if it was still running).
    code_at_deletion: str = ""
    last_notified: str = ""


class OnlineConvertSimulator(Simulator):
    """online-convert.com on loopback.

    Extra options: ``credits=N`` (jobs allowed per 24 h before 402),
    ``max_concurrent=N`` (running jobs before 429), ``retry_after`` (seconds
    announced with a 429, default 1).
    """

    name = "onlineconvert"
    label = "online-convert.com"

    def __init__(self, *, credits: int | None = None, max_concurrent: int | None = None,
                 retry_after: float = 1.0, **options):
        self.credits = credits
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        #: Every callback delivery: (url, status code or error text, job status code).
        self.callbacks_sent: list[tuple[str, Any, str]] = []
        super().__init__(**options)

    def new_credentials(self) -> dict[str, str]:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return {"api_key": "".join(secrets.choice(alphabet) for _ in range(32))}

    @property
    def provider_base_url(self) -> str:
        return f"{self.base_url}/v2"

    # -- test hooks ------------------------------------------------------------------
    def corrupt_output(self, job_id: str, index: int = 0) -> None:
        """Make output ``index`` of a completed job serve bytes that do not match its checksum."""
        job = self.jobs[job_id]
        self._refresh(job)
        if not job.outputs:
            raise ValueError(f"job {job_id} has no outputs yet")
        job.outputs[index].corrupt = True

    # -- the app --------------------------------------------------------------------
    def add_routes(self, app: Flask) -> None:
        for prefix, tag in (("/v2", "v2"), ("", "legacy")):
            app.add_url_rule(f"{prefix}/jobs", f"create_{tag}", self._create_job, methods=["POST"])
            app.add_url_rule(f"{prefix}/jobs", f"list_{tag}", self._list_jobs, methods=["GET"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>", f"get_{tag}", self._get_job, methods=["GET"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>", f"patch_{tag}", self._patch_job, methods=["PATCH"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>", f"delete_{tag}", self._delete_job, methods=["DELETE"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>/output", f"output_{tag}", self._list_outputs, methods=["GET"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>/conversions", f"conv_{tag}", self._add_conversion,
                             methods=["POST"])
            app.add_url_rule(f"{prefix}/jobs/<job_id>/input", f"input_{tag}", self._add_input, methods=["POST"])
            app.add_url_rule(f"{prefix}/statuses", f"statuses_{tag}", self._statuses, methods=["GET"])
            app.add_url_rule(f"{prefix}/conversions", f"conversions_{tag}", self._conversions, methods=["GET"])
        app.add_url_rule("/v2/dl/<server>/upload-file/<job_id>", "upload", self._upload, methods=["POST"])
        app.add_url_rule("/v2/dl/<server>/download-file/<output_id>/<path:filename>", "download", self._download,
                         methods=["GET"])

    def expire_for(self, request) -> str | None:
        """Age a completed job's outputs past the retention (a running job does not expire)."""
        if request.method != "GET":
            return None
        parts = request.path.strip("/").split("/")
        if "download-file" in parts:
            found = self._find_output(parts[parts.index("download-file") + 1])
            job = found[0] if found else None
        elif "jobs" in parts and len(parts) > parts.index("jobs") + 1:
            job = self.jobs.get(parts[parts.index("jobs") + 1])
        else:
            job = None
        if job is None or job.deleted or self._refresh(job) != "completed" or not job.outputs:
            return None
        with self.lock:
            for output in job.outputs:
                output.created_at = min(output.created_at, self.clock() - RETENTION - 1)
        return job.id

    def error_response(self, status: int, message: str) -> Response:
        return _error(status, message)

    @property
    def server(self) -> str:
        return f"{self.base_url}/v2/dl/{protocol.FILE_SERVER}"

    # -- auth -------------------------------------------------------------------------
    def _key_ok(self) -> bool:
        key = _header(protocol.API_KEY_HEADERS)
        return bool(key) and secrets.compare_digest(key, self._credentials["api_key"])

    @staticmethod
    def _token_ok(job: OCJob) -> bool:
        token = _header(protocol.TOKEN_HEADERS)
        return bool(token) and secrets.compare_digest(token, job.token)

    def _job_for(self, job_id: str, *, token_allowed: bool) -> OCJob | Response:
        """The job, or the error answer (401 bad key, 404 unknown job)."""
        job = self.jobs.get(job_id)
        if job is not None and token_allowed and self._token_ok(job):
            return job
        if not self._key_ok():
            return _error(401, "Invalid api key")
        if job is None:
            return _error(404, f"Job {job_id} not found")
        return job

    # -- jobs -----------------------------------------------------------------------------
    def _create_job(self):
        if not self._key_ok():
            return _error(401, "Invalid api key")
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON job description")
        conversions = body.get("conversion") or []
        if not isinstance(conversions, list) or not all(isinstance(c, dict) and c.get("target") for c in conversions):
            return _error(422, "Each conversion needs a target")
        if body.get("input"):
            return _error(422, "The simulator takes inputs by upload only (create the job, then upload the file)")
        problem = self._check_callback(body)
        if problem:
            return problem
        refusal = self._check_limits()
        if refusal:
            return refusal
        now = self.clock()
        job = OCJob(
            id=new_guid(), token=secrets.token_hex(16), created_at=now, modified_at=now,
            conversions=[_conversion(c) for c in conversions],
            process=bool(body.get("process", False)),
            callback=str(body.get("callback") or ""),
            notify_status=bool(body.get("notify_status", False)),
            fail_on_conversion_error=bool(body.get("fail_on_conversion_error", True)),
        )
        with self.lock:
            self.jobs[job.id] = job
        if job.callback:
            self.notify_in_background()
        return jsonify(self._job_json(job)), 201

    def _list_jobs(self):
        if not self._key_ok():
            return _error(401, "Invalid api key")
        jobs = [self._job_json(j) for j in list(self.jobs.values()) if not j.deleted]
        response = jsonify(jobs[:50])
        response.headers["X-Count"] = str(len(jobs))
        return response

    def _get_job(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        return jsonify(self._job_json(job))

    def _patch_job(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object")
        problem = self._check_callback(body)
        if problem:
            return problem
        if "callback" in body:
            job.callback = str(body.get("callback") or "")
        if "notify_status" in body:
            job.notify_status = bool(body["notify_status"])
        if body.get("process"):
            job.process = True
            self._start_if_ready(job)
        job.modified_at = self.clock()
        if job.callback:
            self.notify_in_background()
        return jsonify(self._job_json(job))

    def _delete_job(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        self._refresh(job)
        if not job.deleted:
            code = self._status_code(job)
            job.code_at_deletion = code if code in ("completed", "failed") else "canceled"
            job.deleted = True
            job.modified_at = self.clock()
            self.discard([engine_id for _, _, engine_id in job.engine_jobs])
        return jsonify(self._job_json(job))

    def _list_outputs(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        return jsonify(self._job_json(job)["output"])

    def _add_conversion(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not body.get("target"):
            return _error(422, "A conversion needs a target")
        if job.started_at is not None:
            return _error(422, "The job has already started")
        conversion = _conversion(body)
        job.conversions.append(conversion)
        return jsonify(conversion), 201

    def _add_input(self, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        return _error(422, "The simulator takes inputs by upload only: POST the file to the job's server")

    def _statuses(self):
        return jsonify([{"code": code, "info": info} for code, info, _state in protocol.STATUSES])

    def _conversions(self):
        targets = sorted({dst for conv, _src, dst in self.engine.registry.pairs() if conv.task == "convert"})
        wanted = request.args.get("target")
        rows = [{"category": _category(t), "target": t, "options": {}} for t in targets if wanted in (None, t)]
        return jsonify(rows)

    # -- the file server --------------------------------------------------------------
    def _upload(self, server: str, job_id: str):
        job = self._job_for(job_id, token_allowed=True)
        if isinstance(job, Response):
            return job
        if job.deleted:
            return _error(404, f"Job {job_id} not found")
        if job.started_at is not None:
            return _error(422, "The job is already processing; it takes no more inputs")
        upload = request.files.get("file")
        if upload is None:
            return _error(400, "No file: send the document as the multipart field 'file'")
        data = upload.read()
        now = self.clock()
        item = OCInput(
            id=new_guid(), filename=upload.filename or "upload", data=data, size=len(data), created_at=now,
            content_type=upload.mimetype or "application/octet-stream",
        )
        job.inputs.append(item)
        job.modified_at = now
        self._start_if_ready(job)
        return jsonify(_input_json(item)), 201

    def _download(self, server: str, output_id: str, filename: str):
        found = self._find_output(output_id)
        if found is None:
            return _error(404, "File not found")
        job, output = found
        status = self._output_status(job, output)
        if status == "disabled":
            return _error(410, "The file was deleted")
        if status == "expired":
            return _error(410, f"The file has expired: files are available for {RETENTION / 3600:g} h")
        if status == "overuse":
            return _error(403, f"The file was already downloaded {output.downloads} times; "
                               f"the limit is {DOWNLOAD_LIMIT}")
        encoding = request.args.get("encoding")
        if encoding not in (None, "", "base64"):
            return _error(400, "Only the base64 encoding is supported")
        data = self.engine.output_path(output.engine_job, output.filename).read_bytes()
        if output.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF]) if data else b"\x00"
        with self.lock:
            output.downloads += 1
        if encoding == "base64":
            return file_response(base64.b64encode(data), output.filename, content_type="text/plain; charset=us-ascii")
        return file_response(data, output.filename, content_type=output.content_type)

    def _find_output(self, output_id: str) -> tuple[OCJob, OCOutput] | None:
        for job in list(self.jobs.values()):
            self._refresh(job)
            for output in job.outputs or []:
                if output.id == output_id:
                    return job, output
        return None

    # -- the state machine -------------------------------------------------------------
    def _start_if_ready(self, job: OCJob) -> None:
        with self.lock:
            if job.started_at is not None or not job.process or not job.inputs or not job.conversions:
                return
            started, errors = [], []
            for conversion in job.conversions:
                for item in job.inputs:
                    try:
                        started.append((conversion["id"], item.id, self._engine_submit(conversion, item)))
                    except DocconvertError as exc:
                        errors.append({
                            "source": "conversion", "id_source": conversion["id"],
                            "code": protocol.CODE_CONVERSION_FAILED, "message": str(exc), "details": {},
                        })
            # Readers do not take the lock: they must never see a started job without its conversions.
            job.engine_jobs, job.start_errors = started, errors
            job.started_at = self.clock()
            for item in job.inputs:
                item.data = None  # the engine has its own copy now

    def _engine_submit(self, conversion: dict[str, Any], item: OCInput) -> str:
        data = item.data or b""
        fmt = detect(data[:SNIFF_BYTES], item.filename, whole=data)
        target = normalize(str(conversion["target"]))
        options = dict(conversion.get("options") or {})
        task = "ocr" if options.pop("ocr", False) else "convert"
        if task == "ocr":
            language = options.pop("language", "eng")
            options["lang"] = "+".join(language) if isinstance(language, list) else str(language)
        return self.start_conversion(task, fmt, target, data, item.filename, options)

    def _status_code(self, job: OCJob) -> str:
        if job.deleted:
            return job.code_at_deletion
        if job.started_at is None:
            if not job.inputs or not job.conversions:
                return "incomplete"
            return "ready"
        engine_ids = [engine_id for _, _, engine_id in job.engine_jobs]
        overall = self.engine_outcome(engine_ids)
        if overall not in ("queued", "processing"):  # some conversions may have failed: the job decides
            records = [self.engine.get(engine_id) for engine_id in engine_ids]
            succeeded = [r for r in records if r.status == "completed" and r.outputs]
            failed = bool(job.start_errors) or len(succeeded) < len(records)
            if not succeeded or (failed and job.fail_on_conversion_error):
                overall = "failed"
            else:
                overall = "completed"
        return self.stage(job.started_at, overall)

    def _refresh(self, job: OCJob) -> str:
        """Bring the job up to date on the clock; returns its status code."""
        code = self._status_code(job)
        if code == "completed" and job.outputs is None:
            self._make_outputs(job)
        return code

    def _make_outputs(self, job: OCJob) -> None:
        ready_at = (job.started_at or job.created_at) + self.durations["queued"] + self.durations["processing"]
        outputs = []
        for conversion_id, input_id, engine_id in job.engine_jobs:
            record = self.engine.get(engine_id)
            if record.status != "completed":
                continue
            for out in record.outputs:
                outputs.append(OCOutput(
                    id=new_guid(), conversion_id=conversion_id, input_id=input_id, engine_job=engine_id,
                    filename=out.name, content_type=out.content_type, size=out.size, checksum=out.md5,
                    created_at=max(record.finished_at or ready_at, ready_at),
                ))
        with self.lock:
            if job.outputs is None:
                job.outputs = outputs

    def _output_status(self, job: OCJob, output: OCOutput) -> str:
        if job.deleted:
            return "disabled"
        if self.older_than(output.created_at, RETENTION):
            return "expired"
        if output.downloads >= DOWNLOAD_LIMIT:
            return "overuse"
        return "enabled"

    def _errors(self, job: OCJob, code: str) -> tuple[list[dict], list[dict]]:
        if code not in ("completed", "failed"):
            return [], []
        problems = list(job.start_errors)
        warnings = []
        for conversion_id, _input_id, engine_id in job.engine_jobs:
            record = self.engine.get(engine_id)
            for text in record.errors or ([record.message] if record.status != "completed" else []):
                problems.append({"source": "conversion", "id_source": conversion_id,
                                 "code": protocol.CODE_CONVERSION_FAILED, "message": text, "details": {}})
            if record.status == "completed" and not record.outputs:
                problems.append({"source": "conversion", "id_source": conversion_id,
                                 "code": protocol.CODE_CONVERSION_FAILED,
                                 "message": "; ".join(record.warnings) or "no output was produced", "details": {}})
            for text in record.warnings:
                warnings.append({"source": "conversion", "id_source": conversion_id, "code": 0,
                                 "message": text, "details": {}})
        if code == "completed":  # errors that did not fail the job are reported as warnings
            return [], warnings + problems
        return problems, warnings

    def _job_json(self, job: OCJob) -> dict[str, Any]:
        code = self._refresh(job)
        errors, warnings = self._errors(job, code)
        outputs = []
        if code == "completed" or (job.deleted and job.outputs):
            for output in job.outputs or []:
                outputs.append({
                    "id": output.id,
                    "source": {"conversion": output.conversion_id, "input": [output.input_id]},
                    "uri": f"{self.server}/download-file/{output.id}/{output.filename}",
                    "filename": output.filename,
                    "size": output.size,
                    "status": self._output_status(job, output),
                    "content_type": output.content_type,
                    "downloads_counter": output.downloads,
                    "checksum": output.checksum,
                    "created_at": iso_utc(output.created_at, zone=False),
                })
        return {
            "id": job.id,
            "token": job.token,
            "type": "job",
            "status": {"code": code, "info": protocol.STATUS_INFO[code]},
            "errors": errors,
            "warnings": warnings,
            "process": job.process,
            "fail_on_input_error": True,
            "fail_on_conversion_error": job.fail_on_conversion_error,
            "conversion": job.conversions,
            "input": [_input_json(item) for item in job.inputs],
            "output": outputs,
            "callback": job.callback,
            "notify_status": job.notify_status,
            "server": self.server,
            "spent": 0,
            "created_at": iso_utc(job.created_at, zone=False),
            "modified_at": iso_utc(job.modified_at, zone=False),
        }

    # -- limits ------------------------------------------------------------------------
    def _check_limits(self) -> Response | None:
        now = self.clock()
        jobs = list(self.jobs.values())
        if self.credits is not None:
            recent = sum(1 for j in jobs if now - j.created_at < RETENTION)
            if recent >= self.credits:
                return _error(402, f"Your {self.credits} conversion credits for the last 24 hours are used up")
        if self.max_concurrent is not None:
            running = sum(1 for j in jobs if not j.deleted and self._status_code(j) in protocol.RUNNING_CODES)
            if running >= self.max_concurrent:
                response = _error(429, f"Too many concurrent conversions (limit {self.max_concurrent})")
                response.headers["Retry-After"] = f"{self.retry_after:g}"
                return response
        return None

    @staticmethod
    def _check_callback(body: dict) -> Response | None:
        url = body.get("callback")
        if url and not is_loopback_url(str(url)):
            return _error(422, "The simulator only calls back loopback URLs (http://127.0.0.1:...)")
        return None

    # -- callbacks -------------------------------------------------------------------
    def deliver_notifications(self, session: requests.Session) -> None:
        for job in list(self.jobs.values()):
            if not job.callback or job.deleted:
                continue
            try:
                document = self._job_json(job)
            except DocconvertError:
                continue
            code = document["status"]["code"]
            terminal = code in ("completed", "failed", "canceled")
            if code == job.last_notified or not (terminal or job.notify_status):
                continue
            job.last_notified = code
            self._post_callback(session, job.callback, document, code)

    def _post_callback(self, session: requests.Session, url: str, document: dict, code: str) -> None:
        for attempt in range(3):  # the service retries 5xx and timeouts; 4xx is final
            try:
                answer = session.post(url, json=document, timeout=3 if attempt == 0 else 10)
            except requests.RequestException as exc:
                self.callbacks_sent.append((url, type(exc).__name__, code))
                continue
            self.callbacks_sent.append((url, answer.status_code, code))
            if answer.status_code < 500:
                return


def _conversion(spec: dict[str, Any]) -> dict[str, Any]:
    target = str(spec.get("target"))
    return {
        "id": new_guid(),
        "category": str(spec.get("category") or _category(target)),
        "target": target,
        "options": dict(spec.get("options") or {}),
        "metadata": {},
    }


def _category(target: str) -> str:
    fmt = normalize(target)
    if fmt in ("png", "jpeg", "tiff", "bmp", "gif", "webp"):
        return "image"
    if fmt in ("mp3", "wav", "ogg"):
        return "audio"
    return "document"


def _input_json(item: OCInput) -> dict[str, Any]:
    return {
        "id": item.id, "type": "upload", "source": item.filename, "filename": item.filename,
        "size": item.size, "status": "ready", "content_type": item.content_type or media_type("txt"),
        "created_at": iso_utc(item.created_at, zone=False),
    }


def _error(status: int, message: str) -> Response:
    response = jsonify(protocol.error_body(message))
    response.status_code = status
    return response


def _header(names: tuple[str, ...]) -> str | None:
    """The first of ``names`` the request carries."""
    return next((request.headers[name] for name in names if request.headers.get(name)), None)


__all__ = ["OCJob", "OCOutput", "OnlineConvertSimulator"]

"""A local Aspose.OCR Cloud v5 (https://docs.aspose.cloud/ocr/), with real work by the engine.

Routes (matched case-insensitively, as the service does)::

    POST   /connect/token                     OAuth client credentials (urlencoded or multipart)
    POST   /v5.0/ocr/{Task}                   JSON {"image": base64, "settings": {...}} → text/plain GUID
    GET    /v5.0/ocr/{Task}?id=               OCRResponse (camelCase), results base64
    DELETE /v5.0/ocr/{Task}?id=               drops the task
    GET    /v5.0/ocr/Utilities/GetTaskStatus?id=

Tasks: RecognizeTable (engine task "tables"), RecognizeImage and its
unauthenticated RecognizeImageTrial (task "ocr"), RecognizePdf (task "ocr"
from PDF) and DjVu2PDF (convert djvu → pdf). A task whose work the engine
cannot do ends in ``taskStatus: "Error"`` with the reason in
``error.messages``. Every status, result type and response code it sends is
a value of the official SDK's enums (see :mod:`docconvert_nb.protocols.aspose`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from ..errors import DocconvertError
from ..fileformats import SNIFF_BYTES, detect, extension
from ..protocols import aspose as protocol
from ._common import new_guid
from .base import Simulator

#: Canonical spelling of every task family, by lower-case name.
FAMILIES = {name.lower(): name for name in protocol.FAMILIES}
OTHER_FAMILIES = {name.lower(): name for name in protocol.OTHER_FAMILIES}
#: Stage → ``taskStatus``.
TASK_STATUS_WORDS = {"queued": "Pending", "processing": "Processing", "completed": "Completed", "failed": "Error"}


@dataclass
class AsposeTask:
    """Server-side state of one task (``sim.jobs[id]``)."""

    id: str
    family: str
    submitted_at: float
    engine_jobs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trial: bool = False
    deleted: bool = False


class AsposeSimulator(Simulator):
    """Aspose.OCR Cloud on loopback. ``sim.tokens`` is its identity server (``.revoke_all()``)."""

    name = "aspose"
    label = "Aspose.OCR Cloud"

    oauth = True

    def new_credentials(self) -> dict[str, str]:
        return {"client_id": f"sim-{secrets.token_hex(4)}", "client_secret": secrets.token_hex(16)}

    # -- the app ------------------------------------------------------------------------
    def add_routes(self, app: Flask) -> None:
        @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        @app.route("/<path:path>", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        def dispatch(path: str):
            return self._dispatch(path.strip("/").lower())

    def error_response(self, status: int, message: str) -> Response:
        return _problem(status, message, message)

    def expire_for(self, request) -> str | None:
        task = self.jobs.get(request.args.get("id", "")) if request.method == "GET" else None
        if task is None or task.deleted:
            return None
        self._purge(task)
        return task.id

    def _dispatch(self, path: str):
        if path == "connect/token":
            if request.method != "POST":
                return _problem(405, "Method Not Allowed", "use POST")
            return self.tokens.token_endpoint(request)
        match = re.fullmatch(r"v5\.0/ocr/(.+)", path)
        if not match:
            return _problem(404, "Not Found", f"no route /{path}")
        route = match.group(1)
        if route == protocol.TASK_STATUS_ENDPOINT.lower():
            if request.method != "GET":
                return _problem(405, "Method Not Allowed", "use GET")
            if not self.tokens.authorized(request):
                return _unauthorized()
            return self._answer(request.args.get("id", ""), family=None, with_results=False)
        family = FAMILIES.get(route)
        if family is None:
            if route in OTHER_FAMILIES:
                return _problem(501, "Not Implemented", f"the simulator does not implement {OTHER_FAMILIES[route]}")
            return _problem(404, "Not Found", f"no route /{path}")
        trial = family.endswith("Trial")
        if not trial and not self.tokens.authorized(request):
            return _unauthorized()
        if request.method == "POST":
            return self._submit(family)
        if request.method == "GET":
            return self._answer(request.args.get("id", ""), family=family, with_results=True)
        if request.method == "DELETE":
            return self._delete(request.args.get("id", ""))
        return _problem(405, "Method Not Allowed", f"{request.method} is not allowed on {family}")

    # -- POST: queue a task -------------------------------------------------------------
    def _submit(self, family: str):
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _problem(400, "Bad Request", "the body must be a JSON object with 'image' and 'settings'")
        body = {str(k).lower(): v for k, v in body.items()}
        image = body.get("image")
        if not isinstance(image, str) or not image:
            return _problem(400, "Bad Request", "'image' is required: the whole file as a base64 string")
        try:
            data = base64.b64decode(image, validate=True)
        except (binascii.Error, ValueError):
            return _problem(400, "Bad Request", "'image' is not valid base64")
        raw_settings = body.get("settings") or {}
        if not isinstance(raw_settings, dict):
            return _problem(400, "Bad Request", "'settings' must be an object")
        settings = {str(k).lower(): v for k, v in raw_settings.items()}

        task = AsposeTask(id=new_guid(), family=family, submitted_at=self.clock(), trial=family.endswith("Trial"))
        try:
            self._start_engine_jobs(task, data, settings)
        except DocconvertError as exc:  # the engine cannot do it: the task fails, as a queued task would
            task.errors.append(str(exc))
        with self.lock:
            self.jobs[task.id] = task
        return self._task_id_response(task.id)

    def _start_engine_jobs(self, task: AsposeTask, data: bytes, settings: dict[str, Any]) -> None:
        fmt = detect(data[:SNIFF_BYTES], None, whole=data)
        lang = self._language(settings)
        if task.family == protocol.RECOGNIZE_TABLE:
            wanted = settings.get("resulttypetable") or "Text"
            targets = _targets(protocol.TABLE_RESULT_TARGETS, wanted, "resultTypeTable")
            plans = [("ocr" if t == "txt" else "tables", t) for t in targets]
        elif task.family == protocol.DJVU_TO_PDF:
            if fmt != "djvu":
                raise DocconvertError(f"DjVu2PDF needs a DjVu document; this is {fmt}")
            plans = [("convert", "pdf")]
        else:
            targets = _targets(protocol.RESULT_TYPE_TARGETS, settings.get("resulttype") or "Text", "resultType")
            if task.family == protocol.RECOGNIZE_PDF and fmt != "pdf":
                raise DocconvertError(f"RecognizePdf needs a PDF document; this is {fmt}")
            plans = [("ocr", t) for t in targets]
        for engine_task, target in plans:
            try:
                engine_id = self.start_conversion(engine_task, fmt, target, data, f"{task.id}.{extension(fmt)}",
                                                  {"lang": lang})
            except DocconvertError as exc:
                raise DocconvertError(f"{task.family}: {exc}") from None
            task.engine_jobs.append(engine_id)

    @staticmethod
    def _language(settings: dict[str, Any]) -> str:
        name = settings.get("language")
        if not name:
            return "eng"
        code = protocol.language_code(name)
        if code is None:
            raise DocconvertError(f"language {name!r} is not an Aspose language")
        return code

    def _task_id_response(self, task_id: str) -> Response:
        accept = request.headers.get("Accept", "")
        if "application/json" in accept and "text/plain" not in accept:
            return Response(f'"{task_id}"', content_type="application/json; charset=utf-8")
        return Response(task_id, content_type="text/plain; charset=utf-8")

    # -- GET: the OCRResponse -------------------------------------------------------------
    def _answer(self, task_id: str, *, family: str | None, with_results: bool):
        task = self._live_task(task_id)
        if task is None or (family is not None and family != task.family):
            return _json({"id": task_id or None, "taskStatus": "NotExist",
                          "responseStatusCode": protocol.RESPONSE_STATUS_CODES["NotExist"], "results": None,
                          "error": None})
        state, messages, warnings, outputs = self._state(task)
        document: dict[str, Any] = {"id": task.id, "taskStatus": state, "results": None, "error": None,
                                    "responseStatusCode": protocol.RESPONSE_STATUS_CODES[state]}
        if state == "Error":
            document["error"] = {"messages": messages or ["the task failed"], "warnings": warnings}
        elif state == "Completed":
            if warnings:
                document["error"] = {"messages": [], "warnings": warnings}
            if with_results:
                document["results"] = [self._result(task, engine_id, name) for engine_id, name in outputs]
            else:
                document["results"] = []
        return _json(document)

    def _live_task(self, task_id: str) -> AsposeTask | None:
        with self.lock:
            task = self.jobs.get(task_id)
        if task is None or task.deleted:
            return None
        if self.older_than(task.submitted_at, protocol.RETENTION):
            self._purge(task)
            return None
        return task

    def _state(self, task: AsposeTask) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
        """(taskStatus, error messages, warnings, [(engine job, output name)]) now, on the clock."""
        if task.errors:
            return self.stage(task.submitted_at, "failed", TASK_STATUS_WORDS), task.errors, [], []
        state = self.stage(task.submitted_at, self.engine_outcome(task.engine_jobs), TASK_STATUS_WORDS)
        if state in ("Pending", "Processing"):
            return state, [], [], []
        records = [self.engine.get(job_id) for job_id in task.engine_jobs]
        warnings = [w for r in records for w in r.warnings]
        if state == "Error":
            return state, self.engine_failure(task.engine_jobs) or warnings or ["nothing was recognized"], warnings, []
        return state, [], warnings, [(r.id, o.name) for r in records for o in r.outputs]

    def _result(self, task: AsposeTask, engine_id: str, name: str) -> dict[str, str]:
        path = self.engine.output_path(engine_id, name)
        fmt = name.rsplit(".", 1)[-1].lower()
        kind = protocol.RESULT_TYPE_NAMES.get(fmt, "Other")
        data = path.read_bytes()
        if task.trial and kind == "Text":
            data = _mask_every_tenth_word(data)
        return {"type": kind, "data": base64.b64encode(data).decode("ascii")}

    # -- DELETE -------------------------------------------------------------------------
    def _delete(self, task_id: str):
        with self.lock:
            task = self.jobs.get(task_id)
        if task is not None and not task.deleted:
            self._purge(task)
        return Response(b"", status=200)

    def _purge(self, task: AsposeTask) -> None:
        task.deleted = True
        self.discard(task.engine_jobs)

    # -- helpers for tests ----------------------------------------------------------------
    def task(self, task_id: str) -> AsposeTask:
        """The server-side record of a task (KeyError if unknown)."""
        return self.jobs[task_id]


def _json(document: dict) -> Response:
    response = jsonify(document)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


def _problem(status: int, title: str, detail: str) -> Response:
    """An RFC 7807 ProblemDetails answer, the shape the SDK models for errors."""
    response = jsonify(protocol.problem(status, title, detail, request.path))
    response.status_code = status
    response.headers["Content-Type"] = "application/problem+json; charset=utf-8"
    return response


def _unauthorized() -> Response:
    response = _problem(401, "Unauthorized", "a valid bearer token is required: get one from /connect/token")
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _targets(table: dict[str, tuple[str, ...]], wanted: str, setting: str) -> tuple[str, ...]:
    if wanted not in table:
        raise DocconvertError(f"{setting} {wanted!r} is not one of {', '.join(table)}")
    return table[wanted]


_WORD = re.compile(rb"\S+")


def _mask_every_tenth_word(data: bytes) -> bytes:
    """The trial endpoint's limitation: every tenth word replaced by asterisks."""
    count = 0

    def mask(match: re.Match) -> bytes:
        nonlocal count
        count += 1
        return b"*" * len(match.group(0)) if count % 10 == 0 else match.group(0)

    return _WORD.sub(mask, data)


__all__ = ["AsposeSimulator", "AsposeTask"]

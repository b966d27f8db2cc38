"""A local Aspose.OCR Cloud v5: the wire protocol of ``protocols.md`` §1, with real work by the engine.

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
a value of the official SDK's enums.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from ..documents import ConversionRequest, Source
from ..errors import DocconvertError
from ..fileformats import SNIFF_BYTES, detect, extension
from ..providers.aspose import LANGUAGES
from ._common import TokenIssuer, mark_as_simulator, new_guid
from .base import Simulator

RETENTION = 24 * 3600.0

#: Canonical spelling of every task family, by lower-case name.
FAMILIES = {name.lower(): name for name in (
    "RecognizeTable", "RecognizeImage", "RecognizeImageTrial", "RecognizePdf", "DjVu2PDF",
)}
#: Families recognised by the real service that this simulator does not implement.
OTHER_FAMILIES = {name.lower(): name for name in (
    "RecognizeReceipt", "RecognizeRegions", "RecognizeLabel", "RecognizeAndParseInvoice", "DetectRegions",
    "IdentifyFont", "BinarizeImage", "DeskewImage", "DewarpImage", "UpscaleImage", "ConvertTextToSpeech",
    "ConvertTextToSpeechTrial",
)}

#: ``resultType`` → engine targets (one results entry each).
RESULT_TYPE_TARGETS = {
    "Text": ["txt"], "Pdf": ["pdf"], "TextAndPdf": ["txt", "pdf"], "Hocr": ["hocr"],
    "TextAndHocr": ["txt", "hocr"], "PdfAndHocr": ["pdf", "hocr"], "TextAndPdfAndHocr": ["txt", "pdf", "hocr"],
    "ImagePNG": ["png"], "JSON": ["json"],
}
#: ``resultTypeTable`` → engine targets ("Text" is the table's text, read by OCR).
TABLE_RESULT_TARGETS = {"Text": ["txt"], "Excel": ["xlsx"], "Csv": ["csv"], "CsvAndExcel": ["csv", "xlsx"]}
#: Engine output format → ``results[].type``.
RESULT_TYPE_NAMES = {"txt": "Text", "pdf": "Pdf", "csv": "Csv", "xlsx": "Excel", "hocr": "Hocr",
                     "png": "ImagePNG", "json": "JSON"}
TESSERACT_CODES = {name.lower(): code for code, name in LANGUAGES.items()}


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

    def __init__(self, **options):
        self._credentials = {
            "client_id": f"sim-{secrets.token_hex(4)}",
            "client_secret": secrets.token_hex(16),
        }
        super().__init__(**options)

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self._credentials)

    def make_provider(self):
        from ..providers.aspose import Aspose

        return Aspose(
            self._credentials["client_id"], self._credentials["client_secret"],
            base_url=self.base_url, simulator=True, poll_interval=0.2,
        )

    # -- the app ------------------------------------------------------------------------
    def create_app(self) -> Flask:
        self.tokens = TokenIssuer(self.clock, {self._credentials["client_id"]: self._credentials["client_secret"]})
        app = Flask(f"docconvert-sim-{self.name}")
        app.url_map.strict_slashes = False
        mark_as_simulator(app, self.name)

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        @app.route("/<path:path>", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        def dispatch(path: str):
            return self._dispatch(path.strip("/").lower())

        return app

    def _dispatch(self, path: str):
        if path == "connect/token":
            if request.method != "POST":
                return _problem(405, "Method Not Allowed", "use POST")
            return self.tokens.token_endpoint(request)
        match = re.fullmatch(r"v5\.0/ocr/(.+)", path)
        if not match:
            return _problem(404, "Not Found", f"no route /{path}")
        route = match.group(1)
        if route == "utilities/gettaskstatus":
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
        source = Source(name=f"{task.id}.{extension(fmt)}", format=fmt, data=data)
        lang = self._language(settings)
        if task.family == "RecognizeTable":
            wanted = settings.get("resulttypetable") or "Text"
            if wanted not in TABLE_RESULT_TARGETS:
                raise DocconvertError(f"resultTypeTable {wanted!r} is not one of {', '.join(TABLE_RESULT_TARGETS)}")
            plans = [("ocr" if t == "txt" else "tables", t) for t in TABLE_RESULT_TARGETS[wanted]]
        elif task.family == "DjVu2PDF":
            if fmt != "djvu":
                raise DocconvertError(f"DjVu2PDF needs a DjVu document; this is {fmt}")
            plans = [("convert", "pdf")]
        else:
            wanted = settings.get("resulttype") or "Text"
            if wanted not in RESULT_TYPE_TARGETS:
                raise DocconvertError(f"resultType {wanted!r} is not one of {', '.join(RESULT_TYPE_TARGETS)}")
            if task.family == "RecognizePdf" and fmt != "pdf":
                raise DocconvertError(f"RecognizePdf needs a PDF document; this is {fmt}")
            plans = [("ocr", t) for t in RESULT_TYPE_TARGETS[wanted]]
        for engine_task, target in plans:
            converter = self.engine.registry.find(engine_task, fmt, target)
            if converter is None:
                raise DocconvertError(
                    f"{task.family} cannot turn {fmt} into {target}: the simulator's engine has no "
                    f"{engine_task} converter for it (is its tool installed? see dc.doctor())"
                )
            known = {option.name for option in converter.options}
            options = {"lang": lang} if "lang" in known else {}
            request_ = ConversionRequest(source, target, engine_task, options)
            task.engine_jobs.append(self.engine.submit(request_))

    @staticmethod
    def _language(settings: dict[str, Any]) -> str:
        name = settings.get("language")
        if not name:
            return "eng"
        code = TESSERACT_CODES.get(str(name).lower())
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
            return _json({"id": task_id or None, "taskStatus": "NotExist", "responseStatusCode": "TaskNotFound",
                          "results": None, "error": None})
        state, messages, warnings, outputs = self._state(task)
        document: dict[str, Any] = {"id": task.id, "taskStatus": state, "results": None, "error": None}
        if state in ("Pending", "Processing"):
            document["responseStatusCode"] = "NotReady"
        elif state == "Error":
            document["responseStatusCode"] = "Error"
            document["error"] = {"messages": messages or ["the task failed"], "warnings": warnings}
        else:
            document["responseStatusCode"] = "Ok"
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
        if self.clock() - task.submitted_at > RETENTION:
            self._purge(task)
            return None
        return task

    def _state(self, task: AsposeTask) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
        """(taskStatus, error messages, warnings, [(engine job, output name)]) now, on the clock."""
        if task.errors:
            stage = self.stage(task.submitted_at, "failed")
            return ({"queued": "Pending", "processing": "Processing"}.get(stage, "Error"), task.errors, [], [])
        records = [self.engine.get(job_id) for job_id in task.engine_jobs]
        statuses = [r.status for r in records]
        if any(s in ("failed", "canceled", "expired", "deleted") for s in statuses) and all(
            s not in ("queued", "processing") for s in statuses
        ):
            overall = "failed"
        elif all(s == "completed" for s in statuses):
            overall = "completed"
        elif any(s == "processing" for s in statuses) or any(s == "completed" for s in statuses):
            overall = "processing"
        else:
            overall = "queued"
        stage = self.stage(task.submitted_at, overall)
        warnings = [w for r in records for w in r.warnings]
        if stage == "queued":
            return "Pending", [], [], []
        if stage == "processing":
            return "Processing", [], [], []
        if stage == "failed":
            messages = [e for r in records for e in r.errors] or [r.message for r in records if r.status != "completed"]
            return "Error", messages, warnings, []
        outputs = [(r.id, o.name) for r in records for o in r.outputs]
        if not outputs:
            return "Error", warnings or ["nothing was recognized"], [], []
        return "Completed", [], warnings, outputs

    def _result(self, task: AsposeTask, engine_id: str, name: str) -> dict[str, str]:
        path = self.engine.output_path(engine_id, name)
        fmt = name.rsplit(".", 1)[-1].lower()
        kind = RESULT_TYPE_NAMES.get(fmt, "Other")
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
        for job_id in task.engine_jobs:
            try:
                self.engine.delete(job_id)
            except DocconvertError:
                pass

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
    body = {
        "type": f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Type"] = "application/problem+json; charset=utf-8"
    return response


def _unauthorized() -> Response:
    response = _problem(401, "Unauthorized", "a valid bearer token is required: get one from /connect/token")
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


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

"""A local GroupDocs.Conversion Cloud v2 (https://docs.groupdocs.cloud/conversion/), converting with the engine.

Routes::

    POST   /connect/token                                  OAuth client credentials
    PUT|POST /v2.0/conversion/storage/file/{path}          upload (multipart "file")
    GET    /v2.0/conversion/storage/file/{path}            download (Content-Disposition filename=)
    DELETE /v2.0/conversion/storage/file/{path}
    PUT    /v2.0/conversion/storage/file/copy|move/{path}?destPath=
    GET    /v2.0/conversion/storage/exist/{path}           {"exists", "isFolder"}
    GET    /v2.0/conversion/storage/folder/{path}          {"value": [...]}
    GET    /v2.0/conversion/storage/disc                   {"usedSize", "totalSize"}
    POST   /v2.0/conversion/async                          ConvertSettings (PascalCase or camelCase) → "guid"
    PUT    /v2.0/conversion/async?format=                  direct conversion of a multipart "file"
    GET    /v2.0/conversion/async?id=                      OperationResult (camelCase)
    GET    /v2.0/conversion/async/result?id=               the direct conversion's file
    GET    /v2.0/conversion/formats[?format=]              [{"sourceFormat", "targetFormats"}]

Storage paths arrive percent-encoded as one segment (``in%2Freport.docx``);
routing uses the raw request target, so ``%2F`` and ``/`` are told apart
(``storage/file/copy%2Fa`` is a file, ``storage/file/copy/a`` the copy verb).
Every answer is camelCase, the only casing the official SDK parses;
statuses are exactly Created, Started, Finished, Failed (Canceled is never
reached: the service has no cancel call). On finishing, a ConvertAndSave
operation writes ``OutputPath/<stem>.<format>`` into the simulated storage.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from flask import Flask, Response, jsonify, request

from ..errors import DocconvertError, UnknownFormat
from ..fileformats import SNIFF_BYTES, detect, extension, normalize
from ..protocols import groupdocs as protocol
from ._common import file_response, iso_utc, new_guid
from .base import Simulator

API_PREFIX = protocol.API_PREFIX + "/"
#: Stage → ``OperationResult.status`` (Canceled is never reached: the service has no cancel call).
STATUS_WORDS = {"queued": "Created", "processing": "Started", "completed": "Finished", "failed": "Failed"}


@dataclass
class StoredObject:
    data: bytes
    modified: float


@dataclass
class Operation:
    """Server-side state of one async operation (``sim.jobs[id]``)."""

    id: str
    method: str  # "ConvertAndSave" or "Convert"
    created_at: float
    source_name: str
    target: str
    output_path: str = ""
    engine_id: str | None = None
    failure: str | None = None
    results: list[dict[str, Any]] | None = None
    finished_at: float | None = None


class GroupDocsSimulator(Simulator):
    """GroupDocs.Conversion Cloud on loopback. ``sim.storage`` maps paths to stored files."""

    name = "groupdocs"
    label = "GroupDocs.Conversion Cloud"

    oauth = True

    def __init__(self, **options):
        self.storage: dict[str, StoredObject] = {}
        super().__init__(**options)

    def new_credentials(self) -> dict[str, str]:
        return {"client_id": f"sim-{secrets.token_hex(4)}", "client_secret": secrets.token_hex(16)}

    # -- the app -----------------------------------------------------------------------------
    def add_routes(self, app: Flask) -> None:
        app.add_url_rule("/v2.0/<path:rest>", "api", self._dispatch, methods=["GET", "POST", "PUT", "DELETE"])

    def expire_for(self, request) -> str | None:
        if request.method != "GET":
            return None
        route = _raw_route(request.environ) or ""
        with self.lock:
            if route == "async":
                operation = self.jobs.get(request.args.get("id", ""))
            elif route.startswith("storage/file/"):
                path = _clean(unquote(route[len("storage/file/"):]))
                operation = next((o for o in self.jobs.values()
                                  if any(r.get("path") == path for r in o.results or [])), None)
            else:
                operation = None
            if operation is None:
                return None
            del self.jobs[operation.id]  # the service forgets the operation and its result files
            for result in operation.results or []:
                self.storage.pop(result.get("path") or "", None)
            self.discard([operation.engine_id] if operation.engine_id else [])
            return operation.id

    def error_response(self, status: int, message: str) -> Response:
        return _error(status, "NotFound" if status == 404 else "MethodNotAllowed", message)

    def _dispatch(self, rest: str):
        if not self.tokens.authorized(request):
            response = _error(401, "Unauthorized", "Authorization has been denied for this request.")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        route = _raw_route(request.environ)
        if route is None:
            return _error(404, "NotFound", "no such route")
        method = request.method
        for verb in ("copy", "move"):
            prefix = f"storage/file/{verb}/"
            if route.startswith(prefix) and method == "PUT":
                return self._copy(unquote(route[len(prefix):]), move=verb == "move")
        if route.startswith("storage/file/"):
            path = _clean(unquote(route[len("storage/file/"):]))
            return {"GET": self._download, "PUT": self._upload, "POST": self._upload,
                    "DELETE": self._delete_file}[method](path)
        if route.startswith("storage/exist/") and method == "GET":
            return self._exists(_clean(unquote(route[len("storage/exist/"):])))
        if (route == "storage/folder" or route.startswith("storage/folder/")) and method == "GET":
            return self._list(_clean(unquote(route[len("storage/folder"):])))
        if route == "storage/disc" and method == "GET":
            used = sum(len(o.data) for o in self.storage.values())
            return jsonify(usedSize=used, totalSize=protocol.STORAGE_TOTAL)
        if route == "async":
            handler = {"POST": self._start_and_save, "PUT": self._start_direct, "GET": self._status}.get(method)
            return handler() if handler else _error(405, "MethodNotAllowed", f"{method} is not allowed here")
        if route == "async/result" and method == "GET":
            return self._direct_result()
        if route == "formats" and method == "GET":
            return self._formats()
        return _error(404, "NotFound", f"no route {method} {API_PREFIX}{route}")

    # -- storage --------------------------------------------------------------------------------
    def _upload(self, path: str):
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None or not path:
            return _error(400, "BadRequest", "send the file as the multipart field 'file' to a storage path")
        with self.lock:
            self.storage[path] = StoredObject(upload.read(), self.clock())
        return jsonify(uploaded=[path.rsplit("/", 1)[-1]], errors=[])

    def _download(self, path: str):
        stored = self.storage.get(path)
        if stored is None:
            return _error(404, "FileNotFound", f"Can't find file located at '{path}'.")
        return file_response(stored.data, path.rsplit("/", 1)[-1])

    def _delete_file(self, path: str):
        with self.lock:
            if self.storage.pop(path, None) is None:
                return _error(404, "FileNotFound", f"Can't find file located at '{path}'.")
        return Response(b"", status=200)

    def _copy(self, source: str, *, move: bool):
        source, target = _clean(source), _clean(request.args.get("destPath", ""))
        with self.lock:
            stored = self.storage.get(source)
            if stored is None:
                return _error(404, "FileNotFound", f"Can't find file located at '{source}'.")
            if not target:
                return _error(400, "BadRequest", "destPath is required")
            self.storage[target] = StoredObject(stored.data, self.clock())
            if move:
                del self.storage[source]
        return Response(b"", status=200)

    def _exists(self, path: str):
        is_file = path in self.storage
        is_folder = not is_file and any(key.startswith(path + "/") for key in self.storage)
        return jsonify(exists=is_file or is_folder, isFolder=is_folder)

    def _list(self, folder: str):
        prefix = f"{folder}/" if folder else ""
        entries: dict[str, dict[str, Any]] = {}
        for key, stored in sorted(self.storage.items()):
            if not key.startswith(prefix):
                continue
            head, _, tail = key[len(prefix):].partition("/")
            if tail:
                entries.setdefault(head, {"name": head, "isFolder": True, "modifiedDate": None, "size": 0,
                                          "path": f"/{prefix}{head}"})
            else:
                entries[head] = {"name": head, "isFolder": False, "modifiedDate": iso_utc(stored.modified),
                                 "size": len(stored.data), "path": f"/{key}"}
        return jsonify(value=list(entries.values()))

    # -- operations -----------------------------------------------------------------------------
    def _start_and_save(self):
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "the body must be a JSON ConvertSettings object")
        settings = _lower_keys(body)
        file_path = _clean(str(settings.get("filepath") or ""))
        target = str(settings.get("format") or "")
        if not target:
            return _error(400, "BadRequest", "Format is required")
        stored = self.storage.get(file_path) if file_path else None
        if stored is None:
            return _error(404, "FileNotFound", f"Can't find file located at '{file_path}'.")
        operation = Operation(id=new_guid(), method="ConvertAndSave", created_at=self.clock(),
                              source_name=file_path.rsplit("/", 1)[-1], target=target,
                              output_path=_clean(str(settings.get("outputpath") or "")))
        self._begin(operation, stored.data, protocol.options_from_settings(settings))
        return Response(json.dumps(operation.id), content_type="application/json; charset=utf-8")

    def _start_direct(self):
        target = request.args.get("format") or ""
        upload = request.files.get("file")
        if not target or upload is None:
            return _error(400, "BadRequest", "send ?format= and the document as the multipart field 'file'")
        settings = {"convertoptions": {"frompage": request.args.get("fromPage"),
                                       "pagescount": request.args.get("pagesCount")}}
        operation = Operation(id=new_guid(), method="Convert", created_at=self.clock(),
                              source_name=upload.filename or "document", target=target)
        self._begin(operation, upload.read(), protocol.options_from_settings(settings))
        return Response(json.dumps(operation.id), content_type="application/json; charset=utf-8")

    def _begin(self, operation: Operation, data: bytes, options: dict[str, Any]) -> None:
        target = normalize(operation.target)
        try:
            fmt = detect(data[:SNIFF_BYTES], operation.source_name, whole=data)
        except UnknownFormat:
            operation.failure = f"The format of {operation.source_name} is not supported or the file is damaged"
        else:
            try:
                operation.engine_id = self.start_conversion("convert", fmt, target, data, operation.source_name, options)
            except DocconvertError as exc:
                operation.failure = (f"Conversion from {fmt} to {operation.target} is not supported"
                                     if self.engine.registry.find("convert", fmt, target) is None else str(exc))
        with self.lock:
            self.jobs[operation.id] = operation

    def _stage(self, operation: Operation) -> str:
        """The operation's ``status`` now, on the clock."""
        outcome = "failed" if operation.failure is not None else self.engine_outcome([operation.engine_id])
        return self.stage(operation.created_at, outcome, STATUS_WORDS)

    def _status(self):
        operation = self.jobs.get(request.args.get("id", ""))
        if operation is None:
            return _error(404, "OperationNotFound", f"Operation '{request.args.get('id', '')}' was not found.")
        status = self._stage(operation)
        created = operation.created_at
        started = created + self.durations["queued"]
        document: dict[str, Any] = {
            "id": operation.id, "method": operation.method, "status": status,
            "created": iso_utc(created), "started": iso_utc(started) if status != "Created" else None,
            "failed": None, "canceled": None, "finished": None, "result": None, "error": None,
        }
        if status in ("Finished", "Failed"):
            ended = self._ended_at(operation)
            document["finished" if status == "Finished" else "failed"] = iso_utc(ended)
        if status == "Finished":
            document["result"] = self._results(operation)
        elif status == "Failed":
            document["error"] = self._failure(operation)
        return jsonify(document)

    def _ended_at(self, operation: Operation) -> float:
        earliest = operation.created_at + self.durations["queued"] + self.durations["processing"]
        finished = self.engine.get(operation.engine_id).finished_at if operation.engine_id else None
        return max(earliest, finished or earliest)

    def _failure(self, operation: Operation) -> str:
        if operation.failure is not None:
            return operation.failure
        return "; ".join(self.engine_failure([operation.engine_id])) or "the conversion failed"

    def _results(self, operation: Operation) -> list[dict[str, Any]]:
        """The result list, made (and, for ConvertAndSave, written to storage) the first time."""
        with self.lock:
            if operation.results is not None:
                return operation.results
            record = self.engine.get(operation.engine_id)
            stem = operation.source_name.rsplit(".", 1)[0]
            results = []
            for output in record.outputs:
                name = output.name if len(record.outputs) > 1 else f"{stem}.{extension(operation.target)}"
                data = self.engine.output_path(operation.engine_id, output.name).read_bytes()
                if operation.method == "ConvertAndSave":
                    path = f"{operation.output_path}/{name}" if operation.output_path else name
                    self.storage[path] = StoredObject(data, self.clock())
                    url = f"{self.base_url}{API_PREFIX}storage/file/{path}"
                else:
                    path, url = None, f"{self.base_url}{API_PREFIX}async/result?id={operation.id}"
                results.append({"name": name, "size": len(data), "path": path, "url": url})
            operation.results = results
            return results

    def _direct_result(self):
        operation = self.jobs.get(request.args.get("id", ""))
        if operation is None or operation.method != "Convert":
            return _error(404, "OperationNotFound", f"Operation '{request.args.get('id', '')}' was not found.")
        if self._stage(operation) != "Finished":
            return _error(404, "ResultNotFound", "The operation has no result (not finished, or failed).")
        results = self._results(operation)
        record = self.engine.get(operation.engine_id)
        files = [(r["name"], self.engine.output_path(operation.engine_id, o.name).read_bytes())
                 for r, o in zip(results, record.outputs)]
        if len(files) == 1:
            return file_response(files[0][1], files[0][0])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(name, data)
        stem = operation.source_name.rsplit(".", 1)[0]
        return file_response(buffer.getvalue(), f"{stem}.zip")

    def _formats(self):
        wanted = request.args.get("format")
        wanted = normalize(wanted) if wanted else None
        targets: dict[str, set[str]] = {}
        for converter, source, target in self.engine.registry.pairs():
            if converter.task == "convert":
                targets.setdefault(source, set()).add(target)
        rows = [{"sourceFormat": extension(source), "targetFormats": sorted(extension(t) for t in found)}
                for source, found in sorted(targets.items()) if wanted in (None, source)]
        return jsonify(rows)


def _raw_route(environ: dict) -> str | None:
    """The part of the raw request target after ``/v2.0/conversion/``, still percent-encoded."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    path = raw.split("?", 1)[0]
    if "://" in path:  # an absolute-form target
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    script = environ.get("SCRIPT_NAME", "")
    if script and path.startswith(script):
        path = path[len(script):]
    if not path.startswith(API_PREFIX):
        return None
    return path[len(API_PREFIX):].rstrip("/")


def _clean(path: str) -> str:
    return "/".join(part for part in path.replace("\\", "/").split("/") if part and part != ".")


def _lower_keys(value: Any) -> Any:
    """Settings with every key lower-cased, so PascalCase and camelCase requests read alike."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def _error(status: int, code: str, message: str) -> Response:
    body = protocol.error_body(code, message, request_id=new_guid())
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


__all__ = ["GroupDocsSimulator", "Operation", "StoredObject"]

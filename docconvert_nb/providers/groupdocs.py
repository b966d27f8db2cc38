"""GroupDocs.Conversion Cloud v2: upload to storage, start an async operation, poll it, download.

The protocol (documented at https://docs.groupdocs.cloud/conversion/ and
https://reference.groupdocs.cloud/conversion/) is summed up in
:mod:`docconvert_nb.protocols.groupdocs`: an OAuth token; the input goes to
the service's file storage; ``POST /v2.0/conversion/async`` with
``ConvertSettings`` answers an operation id; ``GET
/v2.0/conversion/async?id=`` reports the operation, whose ``result[]`` names
the converted files in storage. The supported pairs come from ``GET
/v2.0/conversion/formats``.

Each job gets its own storage folder (``docconvert/<hex>/``) holding the
input and an ``out/`` folder; deleting the job deletes those files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Iterable

from ..errors import DocconvertError, InvalidOptions, OutputUnavailable, ProviderError
from ..fileformats import IMAGE_FORMATS, OFFICE_FORMATS, extension, media_type, normalize
from ..outputs import Output
from ..protocols import groupdocs as protocol
from ..status import JobStatus
from .base import Capability, ConversionRequest, JobSnapshot
from .cloud import CloudProvider, gone_opener, new_output

log = logging.getLogger(__name__)

API = protocol.API_PREFIX
DEFAULT_FOLDER = "docconvert"

#: Pairs assumed when the formats endpoint cannot be asked (no credentials yet).
_FALLBACK_PAIRS = (
    [(src, "pdf") for src in sorted(OFFICE_FORMATS | IMAGE_FORMATS | {"txt"})]
    + [("pdf", dst) for dst in ("png", "jpeg", "tiff", "bmp", "gif", "webp", "docx", "html", "txt")]
    + [(src, dst) for src in sorted(IMAGE_FORMATS) for dst in sorted(IMAGE_FORMATS) if src != dst]
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass
class _Operation:
    """What the adapter knows about one operation."""

    id: str
    folder: str | None = None
    input_path: str | None = None
    result_paths: list[str] = field(default_factory=list)
    outputs: list[Output] | None = None
    deleted: bool = False


class GroupDocs(CloudProvider):
    """GroupDocs.Conversion Cloud v2 (https://products.groupdocs.cloud/conversion/).

    ``GroupDocs(client_id, client_secret, *, storage_name, folder, base_url,
    simulator, poll_interval, timeout, cache_dir)``: see :class:`CloudProvider`.
    Credentials come from the arguments or from ``GROUPDOCS_CLIENT_ID`` and
    ``GROUPDOCS_CLIENT_SECRET``; ``base_url`` (or ``GROUPDOCS_BASE_URL``)
    points it elsewhere, e.g. at the local simulator or a self-hosted
    container. ``storage_name`` picks a storage other than the default;
    ``folder`` is where job folders go. ``poll_interval`` is the first delay
    between status checks (the official examples poll every second),
    growing ×1.5 up to 10 s.

    Options: ``pages`` (``"3"``, ``"2-5"`` or ``"1,3,4"``), ``dpi``,
    ``password`` (of the input document).
    """

    name = "groupdocs"
    label = "GroupDocs.Conversion Cloud"
    can_cancel = False
    default_base_url, env_prefix = protocol.DEFAULT_BASE_URL, "GROUPDOCS"
    token_path, error_shape = protocol.TOKEN_PATH, protocol.error_message

    def __init__(self, *credentials: str | None, storage_name: str | None = None, folder: str = DEFAULT_FOLDER,
                 **options: Any):
        super().__init__(*credentials, **options)
        self.storage_name = storage_name
        self.folder = folder.strip("/") or DEFAULT_FOLDER
        self._operations: dict[str, _Operation] = {}
        self._formats: list[tuple[str, str]] | None = None
        self._service_names: dict[str, str] = {}

    # -- description ---------------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        """The service's conversion pairs (asked once from its formats endpoint), or a built-in list."""
        pairs = self.supported_formats() if self.configured else None
        return sorted({Capability("convert", src, dst) for src, dst in (pairs or _FALLBACK_PAIRS)},
                      key=lambda c: (c.task, c.source, c.target))

    def supported_formats(self) -> list[tuple[str, str]] | None:
        """(source, target) pairs from ``GET /v2.0/conversion/formats``; None if it cannot be asked."""
        with self._lock:
            if self._formats is not None:
                return self._formats
        try:
            body = self.call("GET", f"{API}/formats").json()
        except (DocconvertError, ValueError) as exc:
            log.info("GroupDocs formats endpoint unavailable (%s); using the built-in list", exc)
            return None
        pairs, names = [], {}
        for entry in body if isinstance(body, list) else []:
            source = str((entry or {}).get("sourceFormat") or "")
            if not source:
                continue
            names.setdefault(normalize(source), source)
            for target in (entry or {}).get("targetFormats") or []:
                names.setdefault(normalize(str(target)), str(target))
                pairs.append((normalize(source), normalize(str(target))))
        with self._lock:
            self._formats, self._service_names = sorted(set(pairs)), names
        return self._formats

    def validate(self, request: ConversionRequest) -> None:
        _convert_settings(request)

    # -- job verbs ---------------------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        self.require_credentials()
        folder = f"{self.folder}/{uuid.uuid4().hex}"
        input_path = f"{folder}/{_storage_name(request.source.name, request.source.format)}"
        self._upload(input_path, request)
        settings = {"FilePath": input_path, "Format": self._service_name(request.target),
                    "OutputPath": f"{folder}/out", **_convert_settings(request)}
        if self.storage_name:
            settings["StorageName"] = self.storage_name
        try:
            response = self.call("POST", f"{API}/async", json=settings, headers={"Accept": "application/json"})
            operation_id = _operation_id(response.text)
        except BaseException:
            self._delete_file(input_path)  # do not leave the upload behind
            raise
        with self._lock:
            self._operations[operation_id] = _Operation(id=operation_id, folder=folder, input_path=input_path)
        return operation_id

    def fetch_status(self, job_id: str) -> JobSnapshot:
        operation = self._operation(job_id)
        if operation.deleted:
            return JobSnapshot(status=JobStatus.DELETED, message=f"Operation {job_id} was deleted.")
        response = self.call("GET", f"{API}/async", params={"id": job_id}, expected=(200, 404))
        if response.status_code == 404:
            return JobSnapshot(status=JobStatus.EXPIRED,
                               message=f"{self.label} no longer knows operation {job_id}.")
        try:
            body = response.json()
            status = protocol.from_operation_status(body["status"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(f"{self.label} sent an operation result without a known status for {job_id}") from None
        times = {"started_at": _timestamp(body.get("started")),
                 "finished_at": _timestamp(body.get("finished") or body.get("failed") or body.get("canceled"))}
        if status == JobStatus.FAILED:
            error = str(body.get("error") or "the conversion failed")
            return JobSnapshot(status=status, message=f"{self.label}: {error}", errors=[error], **times)
        if status != JobStatus.COMPLETED:
            return JobSnapshot(status=status, **times)
        results = body.get("result") or []
        if not results:
            message = f"{self.label} finished operation {job_id} without any file"
            return JobSnapshot(status=JobStatus.FAILED, message=message, errors=[message], **times)
        operation.outputs = [self._output(operation, item) for item in results]
        operation.result_paths = [o.metadata["storage_path"] for o in operation.outputs if o.metadata["storage_path"]]
        return JobSnapshot(status=status, outputs=list(operation.outputs), message=f"Done: {len(results)} file(s).",
                           **times)

    def delete(self, job_id: str) -> None:
        """Delete the job's input and converted files from storage."""
        operation = self._operation(job_id)
        if not operation.result_paths and operation.outputs is None:
            try:
                self.status(job_id)  # learn the result paths first
            except DocconvertError:
                pass
        for path in [operation.input_path, *operation.result_paths]:
            if path:
                self._delete_file(path)
        operation.deleted = True
        for output in operation.outputs or []:
            output._opener = gone_opener(output.name, "the job was deleted")

    # -- storage -----------------------------------------------------------------------------
    def storage_url(self, path: str) -> str:
        """The storage file endpoint for ``path`` (one segment, ``/`` encoded as the SDK does)."""
        return protocol.storage_file_path(path)

    def _upload(self, path: str, request: ConversionRequest) -> None:
        oauth = self.oauth()

        def send():
            # The file is read again for every attempt: a renewed token resends the whole PUT.
            # (PUT is idempotent, so the session may also resend it after a network failure.)
            with request.source.open() as stream:
                files = {"file": (path.rsplit("/", 1)[-1], stream, media_type(request.source.format))}
                return self.http.request("PUT", self.storage_url(path), files=files, params=self._storage_params(),
                                         auth=oauth)

        response = oauth.call(send)
        try:
            body = response.json()
        except ValueError:
            body = {}
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            detail = "; ".join(str((e or {}).get("message") or e) for e in errors)
            raise ProviderError(f"{self.label} refused the upload of {path}: {detail}")

    def _delete_file(self, path: str) -> None:
        try:
            self.call("DELETE", self.storage_url(path), params=self._storage_params(), expected=(200, 204, 404))
        except DocconvertError as exc:
            log.warning("could not delete %s from %s storage: %s", path, self.label, exc)

    def _storage_params(self) -> dict[str, str]:
        return {"storageName": self.storage_name} if self.storage_name else {}

    def _output(self, operation: _Operation, item: dict) -> Output:
        if not isinstance(item, dict):
            raise ProviderError(f"{self.label} sent a malformed result entry for operation {operation.id}")
        path = str(item.get("path") or "")
        raw_name = str(item.get("name") or path.rsplit("/", 1)[-1] or "result")
        output = new_output(raw_name.rsplit("/", 1)[-1], f"result-{operation.id[:8]}", size=item.get("size"),
                            metadata={"storage_path": path or None, "url": item.get("url")})
        if path:
            output._opener = lambda: self._download(path, output)
        else:  # a direct conversion ("Convert" method): the result comes from /async/result
            output._opener = lambda: self._download_result(operation.id, output)
        return output

    def _download(self, path: str, output: Output) -> IO[bytes]:
        return self._fetch(self.storage_url(path), output, params=self._storage_params())

    def _download_result(self, operation_id: str, output: Output) -> IO[bytes]:
        return self._fetch(f"{API}/async/result", output, params={"id": operation_id})

    def _fetch(self, url: str, output: Output, **kwargs) -> IO[bytes]:
        oauth = self.oauth()

        def send(sink: IO[bytes]) -> tuple[int, str]:
            def attempt():
                sink.seek(0)
                sink.truncate()  # a retry after a 401 starts the file over
                return self.http.download(url, sink, auth=oauth, **kwargs)

            return oauth.call(attempt)

        def refused(exc: ProviderError) -> Exception | None:
            if exc.status_code == 403:
                return None  # a refusal, not an absence: report the service's own error
            return OutputUnavailable(f"{output.name} cannot be downloaded: it is no longer in storage")

        return self.download_output(output, send, refused=refused)

    # -- internals -----------------------------------------------------------------------------
    def _operation(self, job_id: str) -> _Operation:
        with self._lock:
            operation = self._operations.get(job_id)
            if operation is None:  # submitted elsewhere: follow it all the same
                operation = self._operations[job_id] = _Operation(id=job_id)
            return operation

    def _service_name(self, fmt: str) -> str:
        return self._service_names.get(fmt) or extension(fmt)


# -- helpers -----------------------------------------------------------------------------------

def _convert_settings(request: ConversionRequest) -> dict[str, Any]:
    """``ConvertOptions``/``LoadOptions`` from the job's options; unknown names raise InvalidOptions."""
    if request.task != "convert":
        raise InvalidOptions(f"GroupDocs.Conversion Cloud runs conversions only, not {request.task}")
    options = dict(request.options)
    unknown = sorted(set(options) - protocol.OPTIONS)
    if unknown:
        raise InvalidOptions(f"GroupDocs.Conversion Cloud does not know the option(s) {', '.join(map(repr, unknown))}; "
                             f"valid options: {', '.join(sorted(protocol.OPTIONS))}")
    settings: dict[str, Any] = {}
    convert: dict[str, Any] = {}
    if "pages" in options:
        pages = protocol.pages_to_convert_options(options["pages"])
        if pages is None:
            raise InvalidOptions(f"option 'pages' takes '3', '2-5' or '1,3,4', not {options['pages']!r}")
        convert.update(pages)
    if "dpi" in options:
        dpi = options["dpi"]
        low, high = protocol.DPI_RANGE
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not low <= dpi <= high:
            raise InvalidOptions(f"option 'dpi' takes a number from {low} to {high}, not {dpi!r}")
        convert["Dpi"] = int(dpi)
    if convert:
        settings["ConvertOptions"] = convert
    if options.get("password"):
        settings["LoadOptions"] = {"Password": str(options["password"])}
    return settings


def _storage_name(name: str, fmt: str) -> str:
    """A plain storage file name: the basename, odd characters replaced, the extension kept."""
    base = _SAFE_NAME.sub("_", os.path.basename(name.replace("\\", "/"))).strip(" .") or "document"
    return base if "." in base else f"{base}.{extension(fmt)}"


def _operation_id(text: str) -> str:
    """The operation id of a start answer: a JSON string (documented) or bare text."""
    try:
        value = json.loads(text)
    except ValueError:
        value = text.strip()
    if not isinstance(value, str) or not protocol.OPERATION_ID.match(value.strip()):
        raise ProviderError(f"GroupDocs.Conversion Cloud answered the conversion start with no operation id "
                            f"(got {str(value)[:60]!r})")
    return value.strip()


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


__all__ = ["GroupDocs"]

"""GroupDocs.Conversion Cloud v2: the protocol facts the adapter and the simulator share.

Public documentation: https://docs.groupdocs.cloud/conversion/ and the API
reference https://reference.groupdocs.cloud/conversion/; the official Python
SDK is ``groupdocs-conversion-cloud``
(https://github.com/groupdocs-conversion-cloud/groupdocs-conversion-cloud-python).

* Authentication: OAuth 2 client credentials at ``POST /connect/token``.
* The input goes to the service's file storage: ``PUT
  /v2.0/conversion/storage/file/{path}`` (multipart ``file``; the path is
  percent-encoded as one segment, ``/`` included, as the SDK does).
* ``POST /v2.0/conversion/async`` with PascalCase ``ConvertSettings``
  (``FilePath``, ``Format``, ``OutputPath``, ``ConvertOptions``,
  ``LoadOptions``) answers the operation id as a JSON string; ``GET
  /v2.0/conversion/async?id=`` answers a camelCase ``OperationResult`` whose
  ``status`` is Created, Started, Failed, Canceled or Finished and whose
  ``result[]`` names the converted files in storage.
* ``GET /v2.0/conversion/formats`` lists the supported pairs. Errors are
  ``{"requestId", "error": {"code", "message", ...}}``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ..status import JobStatus
from . import GUID_PATTERN, OAUTH_TOKEN_PATH

DEFAULT_BASE_URL = "https://api.groupdocs.cloud"
API_PREFIX = "/v2.0/conversion"
TOKEN_PATH = OAUTH_TOKEN_PATH
#: Total storage the simulated account has (bytes).
STORAGE_TOTAL = 10 * 1024**3

#: ``OperationResult.status`` → our state, in the SDK enum's order (it accepts the index too: "4" = Finished).
OPERATION_STATUS = {
    "Created": JobStatus.QUEUED,
    "Started": JobStatus.PROCESSING,
    "Failed": JobStatus.FAILED,
    "Canceled": JobStatus.CANCELED,
    "Finished": JobStatus.COMPLETED,
}
_STATUS_ORDER = list(OPERATION_STATUS)

#: Options the adapter maps onto ``ConvertOptions``/``LoadOptions``.
OPTIONS = frozenset({"pages", "dpi", "password"})
DPI_RANGE = (10, 2400)

OPERATION_ID = re.compile(GUID_PATTERN)


def from_operation_status(status: str | int) -> JobStatus:
    """``OperationResult.status``, by name or by enum index → our state; ValueError if unknown."""
    text = str(status)
    if text.isdigit() and int(text) < len(_STATUS_ORDER):
        text = _STATUS_ORDER[int(text)]
    try:
        return OPERATION_STATUS[text]
    except KeyError:
        raise ValueError(f"unknown GroupDocs status {status!r}") from None


def storage_file_path(path: str) -> str:
    """The storage file endpoint for ``path``: one segment, ``/`` encoded as the SDK does."""
    return f"{API_PREFIX}/storage/file/{quote(path, safe='')}"


def pages_to_convert_options(value: Any) -> dict[str, Any] | None:
    """``"3"``, ``"2-5"`` or ``"1,3,4"`` → ``ConvertOptions`` page fields; None if the text is none of those."""
    text = str(value).replace(" ", "")
    if re.fullmatch(r"\d+", text):
        return {"FromPage": int(text), "PagesCount": 1}
    match = re.fullmatch(r"(\d+)-(\d+)", text)
    if match and int(match.group(1)) <= int(match.group(2)):
        first, last = int(match.group(1)), int(match.group(2))
        return {"FromPage": first, "PagesCount": last - first + 1}
    if re.fullmatch(r"\d+(,\d+)+", text):
        return {"Pages": [int(p) for p in text.split(",")]}
    return None


def options_from_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Generic options from ``ConvertSettings`` whose keys are lower-cased (the reverse of the adapter's mapping)."""
    convert = settings.get("convertoptions") or {}
    load = settings.get("loadoptions") or {}
    options: dict[str, Any] = {}
    pages = convert.get("pages")
    first, count = convert.get("frompage"), convert.get("pagescount")
    if pages:
        options["pages"] = ",".join(str(int(p)) for p in pages)
    elif first:
        first = int(first)
        options["pages"] = f"{first}-{first + int(count) - 1}" if count else f"{first}-"
    if convert.get("dpi"):
        options["dpi"] = int(convert["dpi"])
    if load.get("password"):
        options["password"] = str(load["password"])
    return options


def error_body(code: str, message: str, *, request_id: str = "") -> dict[str, Any]:
    """The service's error answer."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"requestId": request_id, "error": {"code": code, "message": message, "description": message,
                                                "dateTime": now, "innerError": None}}


def error_message(body: Any) -> tuple[str, Any] | None:
    """(message, code) of an error answer; None if ``body`` is not one."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return str(error.get("message") or error.get("code") or "error"), error.get("code")
    return None

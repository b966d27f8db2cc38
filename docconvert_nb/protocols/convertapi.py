"""ConvertAPI v2: the protocol facts the adapter and the simulator share.

Public documentation: https://docs.convertapi.com/ and the async guide
https://docs.convertapi.com/docs/async-conversion; the official Python
library is ``convertapi`` (https://github.com/ConvertAPI/convertapi-python).

* ``POST /convert/{from}/to/{to}`` with the file as a multipart part
  converts synchronously; with ``Async=true`` it answers ``{"JobId"}`` at
  once. A ``JobId`` chosen by the client makes the submission idempotent.
  The current API spells the same ``POST /async/convert/{from}/to/{to}``.
* ``GET /job/{JobId}``: the HTTP status is the state — 200 done (the body is
  the result: ``Files[]`` with ``FileName``, ``FileSize`` and a ``Url``, or
  base64 ``FileData``), 202 converting, 404 unknown or expired, 503 another
  poll of this job is open, other 5xx failed.
* ``DELETE /job/{JobId}`` drops the results; the service drops them itself
  after 2 hours (uploaded and stored files after 3). With ``WebHook=<url>``
  it calls ``GET <url>?JobId=...`` (current API: ``POST`` with JSON) when the
  job finishes. Errors are ``{"Code", "Message", "InvalidParameters"}``.
"""

from __future__ import annotations

import re
from typing import Any

from ..status import JobStatus

DEFAULT_BASE_URL = "https://v2.convertapi.com"
#: Jobs (and their results) are deleted at the latest this long after creation (seconds).
JOB_RETENTION = 2 * 3600.0
#: Uploaded and stored files live this long (seconds).
FILE_RETENTION = 3 * 3600.0
#: The documented delay the service imposes between two polls of one job (seconds).
DOCUMENTED_POLL_DELAY = 5.0

#: Our format names → the names ConvertAPI uses in converter paths.
PATH_NAMES = {"jpeg": "jpg"}

#: Generic option names → ConvertAPI parameters (names are case-insensitive at the service).
OPTION_PARAMETERS = {
    "pages": "PageRange",
    "dpi": "ImageResolution",
    "password": "Password",
    "timeout": "Timeout",
    "quality": "JpgQuality",
}
#: Lower-case parameter → generic option name (how the simulator reads them).
PARAMETER_OPTIONS = {parameter.lower(): option for option, parameter in OPTION_PARAMETERS.items()}
#: Parameters the client library sets itself (lower case).
RESERVED_PARAMETERS = frozenset({"async", "jobid", "webhook", "storefile", "file", "files", "secret", "token",
                                 "apikey", "url"})
PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

#: Client-made job ids: a UUID 4 for the legacy routes, 32 lower-case letters and digits for the current ones.
LEGACY_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
CURRENT_JOB_ID = re.compile(r"^[a-z0-9]{32}$")

#: ``Code`` values this project meets (the HTTP status is ``Code // 10`` for 4xxx, 500 for 5xxx).
CODE_INVALID_PARAMETERS = 4000
CODE_NO_FILE = 4001
CODE_BAD_JSON = 4002
CODE_BAD_BASE64 = 4005
CODE_BAD_SECRET = 4010
CODE_BAD_TOKEN = 4011
CODE_NO_CREDENTIALS = 4013
CODE_NOT_FOUND = 4040
CODE_NOT_ALLOWED = 4050
CODE_TIMEOUT = 5000
CODE_CONVERSION_FAILED = 5001
CODE_DAMAGED_FILE = 5002
CODE_PASSWORD_PROTECTED = 5003
CODE_REMOTE_FILE = 5007
CODE_BAD_FILE_ID = 5009


def path_name(fmt: str) -> str:
    """A format as it appears in a converter path (``jpeg`` → ``jpg``)."""
    return PATH_NAMES.get(fmt, fmt)


def from_poll_status(status_code: int) -> JobStatus | None:
    """``GET /job/{id}``: the HTTP status is the state.

    200 done, 202 in progress, 404 unknown or expired, other 5xx failed.
    503 means "another poll is open": it says nothing about the job, so it
    maps to ``None`` (keep the current state, poll again later).
    """
    if status_code == 200:
        return JobStatus.COMPLETED
    if status_code == 202:
        return JobStatus.PROCESSING
    if status_code == 404:
        return JobStatus.EXPIRED
    if status_code == 503:
        return None
    if 500 <= status_code < 600:
        return JobStatus.FAILED
    raise ValueError(f"unexpected ConvertAPI job poll status {status_code}")


def error_body(code: int, message: str, invalid: dict | None = None) -> dict[str, Any]:
    """The service's error answer."""
    body: dict[str, Any] = {"Code": code, "Message": message}
    if invalid:
        body["InvalidParameters"] = invalid
    return body


def error_message(body: Any) -> tuple[str, Any] | None:
    """(message, Code) of an error answer; None if ``body`` is not one."""
    if isinstance(body, dict) and ("Message" in body or "Code" in body):
        message = str(body.get("Message") or "no message")
        invalid = body.get("InvalidParameters")
        if invalid:
            message += f" (invalid parameters: {invalid})"
        return message, body.get("Code")
    return None

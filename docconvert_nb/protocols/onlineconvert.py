"""online-convert.com API v2 (now API2Convert): the protocol facts the adapter and the simulator share.

Public documentation: https://apiv2.online-convert.com/docs/ (API v2) and
https://www.api2convert.com/docs/ (the current name of the same API).

* ``POST /jobs`` (``X-Oc-Api-Key``) with ``conversion[]`` targets and
  ``"process": false`` answers the job with its own ``token`` and file
  ``server``; the input goes to ``{server}/upload-file/{id}`` (multipart
  ``file``, ``X-Oc-Token``); ``PATCH /jobs/{id}`` with ``{"process": true}``
  starts it.
* ``GET /jobs/{id}`` reports ``status.code`` and, when done, ``output[]``
  with ``uri``, ``size``, ``checksum`` (MD5), ``downloads_counter`` and a
  per-output ``status`` (enabled, disabled, expired, overuse).
* Outputs can be downloaded about ten times each, for 24 hours. 402 means
  the account's credits are used up, 429 (with ``Retry-After``) too many
  concurrent jobs. Errors are ``{"message": ...}``.
"""

from __future__ import annotations

from typing import Any

from ..status import Availability, JobStatus

DEFAULT_BASE_URL = "https://api2.online-convert.com"
#: How long outputs stay downloadable (seconds).
RETENTION = 24 * 3600.0
#: Downloads allowed per output ("typically 10").
DOWNLOAD_LIMIT = 10
#: Where the simulator's file server lives under its base URL.
FILE_SERVER = "web1"

API_KEY_HEADERS = ("X-Oc-Api-Key", "X-Api2convert-Api-Key")
TOKEN_HEADERS = ("X-Oc-Token", "X-Api2convert-Token")

#: Every ``status.code``: (code, the service's description, our state), in the order a job moves.
STATUSES = (
    ("incomplete", "The job is missing an input or a conversion.", JobStatus.SUBMITTING),
    ("ready", "The job is complete and waits to be started.", JobStatus.SUBMITTING),
    ("created", "The job was created.", JobStatus.QUEUED),
    ("pending", "The job waits for its input.", JobStatus.QUEUED),
    ("downloading", "The input is being downloaded.", JobStatus.QUEUED),
    ("queued", "The job waits for a converter.", JobStatus.QUEUED),
    ("processing", "The file is being converted.", JobStatus.PROCESSING),
    ("completed", "The file has been successfully converted.", JobStatus.COMPLETED),
    ("failed", "The conversion failed.", JobStatus.FAILED),
    ("canceled", "The job was canceled.", JobStatus.CANCELED),
)
JOB_STATUS = {code: state for code, _info, state in STATUSES}
STATUS_INFO = {code: info for code, info, _state in STATUSES}
#: Codes of a job that is not over yet (counted against the concurrency limit).
RUNNING_CODES = frozenset(code for code, state in JOB_STATUS.items() if not state.is_terminal)

#: ``output[].status`` → whether the output can still be downloaded.
OUTPUT_STATUS = {
    "enabled": Availability.AVAILABLE,
    "disabled": Availability.DELETED,
    "expired": Availability.EXPIRED,
    "overuse": Availability.LIMIT_REACHED,
}

#: Error codes in ``errors[]`` (clients switch on the code).
CODE_INPUT_INVALID = 1002
CODE_CONVERSION_FAILED = 5001


def from_job_status(code: str) -> JobStatus:
    """``status.code`` → our state; unknown codes count as still running (as the official SDK does)."""
    return JOB_STATUS.get(code, JobStatus.PROCESSING)


def from_output_status(status: str) -> Availability:
    """``output[].status`` (enabled/disabled/expired/overuse) → availability; ValueError if unknown."""
    try:
        return OUTPUT_STATUS[status]
    except KeyError:
        raise ValueError(f"unknown online-convert output status {status!r}") from None


def error_body(message: str) -> dict[str, Any]:
    """The service's error answer."""
    return {"message": message}


def error_message(body: Any) -> str | None:
    """The message of an error answer, None if ``body`` has none."""
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return None


def describe_problem(item: Any) -> str:
    """One ``errors[]``/``warnings[]`` entry as text: its message and code."""
    if not isinstance(item, dict):
        return str(item)
    message = str(item.get("message") or "unknown problem")
    code = item.get("code")
    return f"{message} (code {code})" if code is not None else message

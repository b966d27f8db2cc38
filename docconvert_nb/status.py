"""The job state machine, and how each provider's vocabulary maps onto it.

Every provider speaks its own dialect (Aspose ``taskStatus``, ConvertAPI HTTP
status codes, GroupDocs ``status``, online-convert ``status.code``). They all
land on :class:`JobStatus`, so a job looks the same whoever runs it.

Lifecycle::

    SUBMITTING -> QUEUED -> PROCESSING -> COMPLETED | FAILED | CANCELED
                                              \\-> EXPIRED | DELETED  (results gone)

A finished job never goes back to a running state and never changes its
outcome (a late "Processing" from a provider cannot revive a completed job,
and a failed job never turns completed). The only way out of COMPLETED,
FAILED or CANCELED is into EXPIRED or DELETED, which say the results are gone;
those two are final.
"""

from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):
    SUBMITTING = "submitting"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    DELETED = "deleted"

    def __str__(self) -> str:  # "completed", not "JobStatus.COMPLETED"
        return self.value

    @property
    def is_terminal(self) -> bool:
        """True once the work is over, whatever its outcome."""
        return self not in _ACTIVE

    @property
    def is_gone(self) -> bool:
        """True when the job's results no longer exist at the provider."""
        return self in (JobStatus.EXPIRED, JobStatus.DELETED)

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    def can_become(self, new: "JobStatus") -> bool:
        """Whether the state machine allows moving from this state to ``new``."""
        if new == self:
            return True
        if self.is_gone:
            return False
        if self.is_terminal:
            return new.is_gone
        return _ORDER[new] >= _ORDER[self]


_ACTIVE = frozenset({JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.PROCESSING})
_ORDER = {s: i for i, s in enumerate(JobStatus)}
_DESCRIPTIONS = {
    JobStatus.SUBMITTING: "Sending the document to the provider.",
    JobStatus.QUEUED: "Waiting in the provider's queue.",
    JobStatus.PROCESSING: "The provider is converting the document.",
    JobStatus.COMPLETED: "Done; the outputs can be downloaded.",
    JobStatus.FAILED: "The conversion failed; see the error messages.",
    JobStatus.CANCELED: "The job was canceled before it finished.",
    JobStatus.EXPIRED: "The results are gone: the provider's retention window has passed.",
    JobStatus.DELETED: "The job and its results were deleted.",
}


class Availability(str, Enum):
    """Whether one output can still be downloaded."""

    AVAILABLE = "available"
    EXPIRED = "expired"
    LIMIT_REACHED = "limit_reached"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


# --- provider vocabularies -------------------------------------------------

ASPOSE_TASK_STATUS = {
    "Pending": JobStatus.QUEUED,
    "Processing": JobStatus.PROCESSING,
    "Completed": JobStatus.COMPLETED,
    "Error": JobStatus.FAILED,
    "NotExist": JobStatus.EXPIRED,
}

GROUPDOCS_STATUS = {
    "Created": JobStatus.QUEUED,
    "Started": JobStatus.PROCESSING,
    "Failed": JobStatus.FAILED,
    "Canceled": JobStatus.CANCELED,
    "Finished": JobStatus.COMPLETED,
}
# The SDK accepts an enum index too ("4" -> "Finished"), in this order.
_GROUPDOCS_ORDER = ["Created", "Started", "Failed", "Canceled", "Finished"]

ONLINECONVERT_JOB_STATUS = {
    "incomplete": JobStatus.SUBMITTING,
    "ready": JobStatus.SUBMITTING,
    "created": JobStatus.QUEUED,
    "pending": JobStatus.QUEUED,
    "downloading": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "processing": JobStatus.PROCESSING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "canceled": JobStatus.CANCELED,
}

ONLINECONVERT_OUTPUT_STATUS = {
    "enabled": Availability.AVAILABLE,
    "disabled": Availability.DELETED,
    "expired": Availability.EXPIRED,
    "overuse": Availability.LIMIT_REACHED,
}


def from_aspose(task_status: str) -> JobStatus:
    """Aspose.OCR ``taskStatus`` (Pending/Processing/Completed/Error/NotExist)."""
    try:
        return ASPOSE_TASK_STATUS[task_status]
    except KeyError:
        raise ValueError(f"unknown Aspose taskStatus {task_status!r}") from None


def from_groupdocs(status: str | int) -> JobStatus:
    """GroupDocs ``OperationResult.status``, by name or by enum index."""
    text = str(status)
    if text.isdigit() and int(text) < len(_GROUPDOCS_ORDER):
        text = _GROUPDOCS_ORDER[int(text)]
    try:
        return GROUPDOCS_STATUS[text]
    except KeyError:
        raise ValueError(f"unknown GroupDocs status {status!r}") from None


def from_onlineconvert(code: str) -> JobStatus:
    """online-convert ``status.code``; unknown codes count as still running (as the SDK does)."""
    return ONLINECONVERT_JOB_STATUS.get(code, JobStatus.PROCESSING)


def from_onlineconvert_output(status: str) -> Availability:
    """online-convert ``output[].status`` (enabled/disabled/expired/overuse)."""
    try:
        return ONLINECONVERT_OUTPUT_STATUS[status]
    except KeyError:
        raise ValueError(f"unknown online-convert output status {status!r}") from None


def from_convertapi_http(status_code: int) -> JobStatus | None:
    """ConvertAPI ``GET /job/{id}``: the HTTP status is the state.

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

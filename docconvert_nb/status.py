"""The job state machine every provider reports on.

Every service speaks its own dialect (Aspose ``taskStatus``, ConvertAPI HTTP
status codes, GroupDocs ``status``, online-convert ``status.code``); each
service's module in :mod:`docconvert_nb.protocols` maps it onto
:class:`JobStatus`, so a job looks the same whoever runs it.

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

"""What every provider implements: submit, status, outputs, delete.

A provider turns a :class:`ConversionRequest` into a job id at the service
and reports that job's state as a :class:`JobSnapshot`. It knows nothing of
notebooks or of the :class:`~docconvert_nb.jobs.Job` objects users hold; the
job model and its tracker call it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ClassVar, Iterable

from ..documents import ConversionRequest, Source
from ..errors import ProviderError, UnsupportedConversion
from ..outputs import Output
from ..status import JobStatus

#: The three kinds of work a provider can be asked for.
TASKS = ("convert", "ocr", "tables")


@dataclass(frozen=True)
class Capability:
    task: str
    source: str
    target: str


@dataclass
class JobSnapshot:
    """A provider's word on one job at one moment.

    ``status=None`` means "no news" (e.g. ConvertAPI's 503 for a concurrent
    poll): the job keeps the state it had. ``outputs=None`` leaves the job's
    outputs as they were; a list replaces them.
    """

    status: JobStatus | None
    message: str = ""
    outputs: list[Output] | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: float | None = None
    retry_after: float | None = None
    #: A remark on the way that changes no state, e.g. "retrying after a 502 (2 of 5)":
    #: for the job's card and its history.
    note: str | None = None
    #: Facts about where the job runs, for the job card (e.g. Dask: ``{"worker": "tcp://10.0.0.7:40113"}``).
    details: dict[str, Any] = field(default_factory=dict)


#: Called by providers that push updates: ``callback(job_id, snapshot)``.
UpdateCallback = Callable[[str, JobSnapshot], None]


class Provider(ABC):
    """A conversion service. Subclasses implement the four job verbs."""

    #: Short name used in ``provider="..."``.
    name: ClassVar[str] = ""
    #: Human name shown in reprs and widgets.
    label: ClassVar[str] = ""
    #: Whether :meth:`cancel` can stop a running job.
    can_cancel: ClassVar[bool] = False
    #: Retention of results at the service, in seconds (None if unknown).
    retention_seconds: ClassVar[float | None] = None

    @property
    def is_simulator(self) -> bool:
        """True when the endpoint is a local simulator of the service."""
        return False

    @property
    def configured(self) -> bool:
        """True when credentials (where needed) are present."""
        return True

    # -- what it can do ------------------------------------------------------
    @abstractmethod
    def capabilities(self) -> Iterable[Capability]:
        """Every (task, source format, target format) the provider handles."""

    def supports(self, task: str, source: str, target: str) -> bool:
        return any(c.task == task and c.source == source and c.target == target for c in self.capabilities())

    def check(self, request: ConversionRequest) -> None:
        """Raise a clear error if ``request`` cannot run here (called before submitting)."""
        if not self.supports(request.task, request.source.format, request.target):
            targets = sorted({c.target for c in self.capabilities() if c.task == request.task and c.source == request.source.format})
            hint = f"; from {request.source.format} it can make: {', '.join(targets)}" if targets else ""
            raise UnsupportedConversion(
                f"{self.label or self.name} cannot {request.task} {request.source.format} to {request.target}{hint}"
            )

    # -- the job verbs -------------------------------------------------------
    @abstractmethod
    def submit(self, request: ConversionRequest) -> str:
        """Start the job and return its id at the provider. May block (uploads)."""

    @abstractmethod
    def status(self, job_id: str) -> JobSnapshot:
        """The job's current state, with outputs once completed."""

    @abstractmethod
    def delete(self, job_id: str) -> None:
        """Delete the job and its results at the provider."""

    def cancel(self, job_id: str) -> None:
        raise ProviderError(f"{self.label or self.name} cannot cancel a running job")

    def resume(self, job_id: str, request: ConversionRequest) -> None:
        """Take up a job another process submitted as ``request`` (``dc.reattach()`` calls it).

        Adapters that keep facts about their jobs in memory (which endpoint,
        what to name the outputs) rebuild them here from the journaled
        request; ``request.source`` has the name and format but no content.
        """

    # -- how to follow a job ------------------------------------------------
    def subscribe(self, callback: UpdateCallback) -> bool:
        """Register for pushed updates; return True if this provider pushes them.

        Providers that push (the embedded engine, webhooks) are polled only
        rarely, as a safety net.
        """
        return False

    def poll_delay(self, attempt: int) -> float:
        """Seconds to wait before poll number ``attempt`` (0-based): 1 s growing ×1.5 to 10 s."""
        return min(10.0, 1.0 * 1.5**attempt)

    def describe(self) -> dict[str, Any]:
        """Facts for listings and reprs. Never contains secrets."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "configured": self.configured,
            "simulator": self.is_simulator,
        }

    def close(self) -> None:
        """Release sockets, processes and threads the provider holds."""

    def __repr__(self) -> str:
        extra = " (simulator)" if self.is_simulator else ""
        return f"<{type(self).__name__} {self.name!r}{extra}>"


__all__ = ["TASKS", "Capability", "ConversionRequest", "JobSnapshot", "Provider", "Source", "UpdateCallback"]

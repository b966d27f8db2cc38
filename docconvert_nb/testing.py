"""Test helpers for code that uses docconvert_nb: a provider whose jobs do what the test says.

:class:`ScriptedProvider` is a real provider — jobs are submitted through
``dc.convert(..., provider=scripted)`` and followed by the tracker like any
other — but nothing happens to them until the test reports it::

    import docconvert_nb as dc
    from docconvert_nb.testing import ScriptedProvider, pdf_output

    scripted = ScriptedProvider()
    job = dc.convert(b"%PDF-1.4 ...", to="png", provider=scripted, name="a.pdf")
    scripted.start(job, progress=0.5)       # the job is processing, half done
    scripted.complete(job, pdf_output("a.png"))
    assert job.wait(timeout=1).ok

Each report is pushed the way the embedded engine pushes its own, and has been
applied to the job (outputs saved, views told) when the call returns.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from .documents import ConversionRequest
from .errors import DocconvertError, ProviderError
from .outputs import Output
from .providers.base import Capability, JobSnapshot, Provider, UpdateCallback
from .status import JobStatus

if TYPE_CHECKING:  # the job model sits above providers; only its type is named here
    from .jobs import Job


class ScriptedProvider(Provider):
    """A provider that reports exactly what the test tells it, and records what it was asked.

    ``submitted``, ``canceled`` and ``deleted`` list the requests and job ids
    it received. ``submit_error`` makes every submission fail with that
    message; ``can_cancel=False`` makes it a provider that cannot stop jobs.
    It accepts any task, source and target format.
    """

    name = "scripted"
    label = "Scripted service"

    def __init__(self, *, can_cancel: bool = True, submit_error: str | None = None,
                 delete_delay: float = 0.0, name: str | None = None, label: str | None = None):
        self.can_cancel = can_cancel
        self.submit_error = submit_error
        self.delete_delay = delete_delay
        if name:
            self.name = name
        if label:
            self.label = label
        self.submitted: list[ConversionRequest] = []
        self.canceled: list[str] = []
        self.deleted: list[str] = []
        self._ids = itertools.count(1)
        self._push: UpdateCallback | None = None
        self._lock = threading.Lock()

    # -- the provider interface --------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        return [Capability("convert", "png", "pdf")]

    def supports(self, task: str, source: str, target: str) -> bool:
        return True

    def submit(self, request: ConversionRequest) -> str:
        if self.submit_error:
            raise ProviderError(self.submit_error)
        with self._lock:
            self.submitted.append(request)
            return f"job-{next(self._ids):04d}"

    def status(self, job_id: str) -> JobSnapshot:
        return JobSnapshot(status=None)  # no news: only the test's reports move a job

    def subscribe(self, callback: UpdateCallback) -> bool:
        self._push = callback
        return True

    def poll_delay(self, attempt: int) -> float:
        return 3600.0

    def delete(self, job_id: str) -> None:
        if self.delete_delay:
            time.sleep(self.delete_delay)
        self.deleted.append(job_id)

    def cancel(self, job_id: str) -> None:
        if not self.can_cancel:
            super().cancel(job_id)
        self.canceled.append(job_id)

    # -- what a test says ----------------------------------------------------------------------
    def report(self, job: "Job", status: JobStatus | None, *, message: str = "", outputs: list[Output] | None = None,
               errors: Iterable[str] = (), warnings: Iterable[str] = (), progress: float | None = None,
               started_at: datetime | None = None, finished_at: datetime | None = None,
               note: str | None = None, details: dict | None = None, timeout: float = 10.0) -> "Job":
        """Push one report for ``job`` (waiting up to ``timeout`` s for its submission); returns the job."""
        job_id = self.wait_submitted(job, timeout).id
        snapshot = JobSnapshot(status=status, message=message, outputs=outputs, errors=list(errors),
                               warnings=list(warnings), progress=progress, started_at=started_at,
                               finished_at=finished_at, note=note, details=dict(details or {}))
        if self._push is None:
            raise DocconvertError("this provider's jobs are not followed by a tracker")
        self._push(job_id, snapshot)
        return job

    def start(self, job: "Job", *, progress: float | None = None, message: str = "") -> "Job":
        """Report the job processing (``progress`` from 0 to 1, if known)."""
        return self.report(job, JobStatus.PROCESSING, progress=progress, message=message)

    def complete(self, job: "Job", *outputs: Output, warnings: Iterable[str] = ()) -> "Job":
        """Report the job processing, then completed with ``outputs`` (default: one small PDF)."""
        if job.status in (JobStatus.SUBMITTING, JobStatus.QUEUED):
            self.start(job)
        return self.report(job, JobStatus.COMPLETED, outputs=list(outputs or [pdf_output()]), warnings=warnings)

    def fail(self, job: "Job", *errors: str, message: str = "failed") -> "Job":
        """Report the job failed with ``errors`` (default: one)."""
        return self.report(job, JobStatus.FAILED, message=message, errors=list(errors or ["page 1 is damaged"]))

    def expire(self, job: "Job") -> "Job":
        """Report the job's results gone past the retention window."""
        return self.report(job, JobStatus.EXPIRED, message="The results have expired.")

    @staticmethod
    def wait_submitted(job: "Job", timeout: float = 10.0) -> "Job":
        """Return ``job`` once the tracker has submitted it (it has an id), or raise."""
        deadline = time.monotonic() + timeout
        while job.id is None:  # the tracker submits on its own thread
            if job.status.is_terminal or time.monotonic() > deadline:
                raise DocconvertError(f"the job for {job.source_name} was never submitted ({job.status})")
            time.sleep(0.001)
        return job


def pdf_output(name: str = "scan.pdf", data: bytes = b"%PDF-1.4 scripted\n", **metadata) -> Output:
    """An in-memory output, as a provider reports one (``metadata``: pages=, tables=...)."""
    return memory_output(name, data, "application/pdf", **metadata)


def memory_output(name: str, data: bytes, content_type: str = "application/octet-stream", **metadata) -> Output:
    """An output whose bytes are ``data``."""
    return Output(name=name, content_type=content_type, size=len(data), metadata=metadata,
                  _opener=lambda: io.BytesIO(data))


__all__ = ["ScriptedProvider", "memory_output", "pdf_output"]

"""The result cache: the same work asked for again completes at once from the earlier result.

Two jobs do the same work when they send the same bytes (sha256) to the same
provider (same kind, same endpoint) for the same task, target and options.
When a job is submitted, the tracker looks in the journal
(:mod:`docconvert_nb.journaling`) for an earlier completed job with that cache
key, still inside the provider's retention window, and asks the provider
about that job by its id. Only if the provider says it is still completed with
its outputs (for the embedded engine: and the files are still in its store)
does the new job complete from it, marked ``job.cached``, without sending
anything. Otherwise the job is submitted as usual.

So the cache serves only from providers that answer a status call by id for
a job submitted by an earlier process or instance (the embedded engine, whose
store outlives the kernel, and the cloud adapters, which ask the service).
Jobs with secret-looking options are never cached (see
:func:`docconvert_nb.journaling.cache_key`), and ``cache=False`` on
``dc.convert``/``ocr``/``recognize_tables``/``convert_many``/``submit``
opts a call out. A cached job shares the earlier job's results at the
provider: deleting either deletes them for both.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import journaling as _journal
from .providers.base import JobSnapshot, Provider
from .status import JobStatus

if TYPE_CHECKING:
    from .jobs import Job

log = logging.getLogger(__name__)


@dataclass
class Hit:
    """An earlier job whose result a new job can take."""

    row: dict[str, Any]
    snapshot: JobSnapshot

    @property
    def provider_id(self) -> str:
        return self.row["provider_id"]


def lookup(job: "Job") -> Hit | None:
    """The earlier completed result ``job`` can complete from, or None. Never raises."""
    try:
        return _lookup(job)
    except Exception:  # the cache is an optimisation: any trouble means "submit as usual"
        log.debug("result cache lookup failed for %s", job.source_name, exc_info=True)
        return None


def _lookup(job: "Job") -> Hit | None:
    journal = _journal.current()
    if journal is None or job.source_sha256 is None:
        return None
    key = _journal.cache_key(job.provider, job.task, job.target, job.source_sha256, job.request.options)
    if key is None:
        return None
    if journal.has_pending(key):
        journal.flush(1.0)  # a result this process just had: in the file before we look
    for row in journal.completed_like(key):
        if row["key"] == job.journal_key or not _within_retention(job.provider, row):
            continue
        try:
            snapshot = job.provider.status(row["provider_id"])
        except Exception as exc:  # gone, unreachable, not ours: not a result we can offer
            log.debug("cached job %s of %s cannot be served: %s", row["provider_id"], job.provider.name, exc)
            continue
        if snapshot.status is not None and snapshot.status.is_gone:
            journal.update_status(row["key"], snapshot.status.value, snapshot.message or snapshot.status.description)
            continue
        if snapshot.status != JobStatus.COMPLETED or not snapshot.outputs:
            continue
        if _reads_locally(job.provider) and not all(_readable(out) for out in snapshot.outputs):
            continue
        return Hit(row, _as_result_of(job, row, snapshot))
    return None


def retention_seconds(provider: Provider) -> float | None:
    """How long the provider keeps results (the embedded engine's own setting when it has one)."""
    engine = getattr(provider, "engine", None)
    retention = getattr(engine, "retention", None)
    return retention if isinstance(retention, (int, float)) else provider.retention_seconds


def _within_retention(provider: Provider, row: dict[str, Any]) -> bool:
    retention = retention_seconds(provider)
    submitted = _journal.parse_time(row.get("submitted_at"))
    if retention is None or submitted is None:
        return True  # the provider's answer by id decides
    return time.time() - submitted.timestamp() < retention


def _reads_locally(provider: Provider) -> bool:
    """The embedded engine: its outputs are files in the store, cheap to check one by one."""
    return getattr(provider, "engine", None) is not None


def _readable(output) -> bool:
    try:
        with output.open() as stream:
            stream.read(1)
        return True
    except Exception:
        return False


def _as_result_of(job: "Job", row: dict[str, Any], snapshot: JobSnapshot) -> JobSnapshot:
    """The earlier job's final report, told as this job's: outputs named after this source."""
    old_stem, new_stem = Path(row["source_name"] or "").stem, Path(job.source_name).stem
    outputs = [_renamed(out, old_stem, new_stem) for out in snapshot.outputs or []]
    submitted = _journal.parse_time(row.get("submitted_at"))
    when = f" submitted {submitted.astimezone().strftime('%Y-%m-%d %H:%M')}" if submitted else ""
    retention = retention_seconds(job.provider)
    until = ""
    if submitted and retention is not None and retention != float("inf"):
        expiry = datetime.fromtimestamp(submitted.timestamp() + retention).astimezone()
        until = f"; the provider keeps the results until {expiry.strftime('%Y-%m-%d %H:%M')}"
    message = (
        f"Completed at once from the cache: the same document, task, target and options as "
        f"{row['source_name']}{when} (job {row['provider_id']}){until}."
    )
    return JobSnapshot(status=JobStatus.COMPLETED, message=message, outputs=outputs,
                       warnings=list(snapshot.warnings), progress=1.0)


def _renamed(output, old_stem: str, new_stem: str):
    if old_stem and new_stem and old_stem != new_stem and output.name.startswith(old_stem):
        return dataclasses.replace(output, name=new_stem + output.name[len(old_stem):])
    return output


__all__ = ["Hit", "lookup", "retention_seconds"]

"""The engine's per-user job store: one folder per job, with retention.

Layout under the root (``$DOCCONVERT_NB_HOME`` or ``~/.cache/docconvert_nb``)::

    jobs/<job id>/meta.json     the job record (no option values that look secret)
    jobs/<job id>/input/<name>  the engine's own copy of the input
    jobs/<job id>/output/<name> the produced files

When a job expires or is deleted its files go and ``meta.json`` stays as a
tombstone, so asking about it answers "expired"/"deleted" rather than "never
heard of it". Tombstones are swept after a week.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..status import JobStatus

TOMBSTONE_SECONDS = 7 * 24 * 3600


def default_root() -> Path:
    env = os.environ.get("DOCCONVERT_NB_HOME")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "docconvert_nb"


@dataclass
class OutputRecord:
    name: str
    content_type: str
    size: int
    md5: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobRecord:
    """Everything the engine knows about one job. Times are the engine clock's seconds."""

    id: str
    task: str
    source_name: str
    source_format: str
    target: str
    options: dict[str, Any]
    submitted_at: float
    status: str = JobStatus.QUEUED.value
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outputs: list[OutputRecord] = field(default_factory=list)
    progress: float | None = None
    pid: int = field(default_factory=os.getpid)

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "JobRecord":
        data = dict(data)
        data["outputs"] = [OutputRecord(**o) for o in data.get("outputs", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class JobStore:
    """Files of the engine's jobs on disk."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.jobs_dir = self.root / "jobs"

    def _private_jobs_dir(self) -> Path:
        """The jobs folder, created private (0700): it holds copies of every input and output."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.jobs_dir.stat().st_mode & 0o077:
            os.chmod(self.jobs_dir, 0o700)  # a store made by an older version
        return self.jobs_dir

    def job_dir(self, job_id: str) -> Path:
        if not job_id or "/" in job_id or job_id.startswith("."):
            raise ValueError(f"invalid job id {job_id!r}")
        return self.jobs_dir / job_id

    def input_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "input"

    def output_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "output"

    def create(self, job_id: str) -> None:
        """Make the job's folders, private to the user (0700; files in them are 0600)."""
        self._private_jobs_dir()
        self.job_dir(job_id).mkdir(mode=0o700)
        self.input_dir(job_id).mkdir(mode=0o700)
        self.output_dir(job_id).mkdir(mode=0o700)

    def scratch_dir(self, job_id: str) -> Path:
        """A private temporary folder for one conversion run (caller removes it)."""
        return Path(tempfile.mkdtemp(prefix="work-", dir=self.job_dir(job_id)))

    def save(self, record: JobRecord) -> None:
        path = self.job_dir(record.id) / "meta.json"
        if not path.parent.exists():
            self._private_jobs_dir()
            path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(record), indent=1))
        os.replace(tmp, path)

    def load(self, job_id: str) -> JobRecord | None:
        try:
            path = self.job_dir(job_id) / "meta.json"
        except ValueError:
            return None
        try:
            return JobRecord.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def ids(self) -> list[str]:
        if not self.jobs_dir.exists():
            return []
        return sorted(p.name for p in self.jobs_dir.iterdir() if (p / "meta.json").exists())

    def purge_files(self, job_id: str) -> None:
        """Remove a job's input and outputs, keeping its meta.json as a tombstone."""
        job_dir = self.job_dir(job_id)
        if not job_dir.exists():
            return
        for child in job_dir.iterdir():
            if child.name == "meta.json":
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

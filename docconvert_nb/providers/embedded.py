"""The embedded engine as a provider: the default, no account, no network."""

from __future__ import annotations

from typing import Iterable

from ..engine import DEFAULT_RETENTION, Engine
from ..errors import JobNotFound, OutputUnavailable
from ..outputs import Output
from ..status import JobStatus
from ..util import utc_time
from .base import Capability, ConversionRequest, JobSnapshot, Provider, UpdateCallback


class EmbeddedProvider(Provider):
    """Runs jobs on this machine with :class:`~docconvert_nb.engine.Engine`.

    Pass an existing ``engine``, or keyword arguments to build one
    (``root=``, ``workers=``, ``retention=``, ``clock=``...).
    """

    name = "embedded"
    label = "Embedded engine"
    can_cancel = True
    retention_seconds = DEFAULT_RETENTION

    def __init__(self, engine: Engine | None = None, **engine_options):
        self.engine = engine or Engine(**engine_options)

    def capabilities(self) -> Iterable[Capability]:
        return [Capability(conv.task, src, dst) for conv, src, dst in self.engine.registry.pairs()]

    def supports(self, task: str, source: str, target: str) -> bool:
        return self.engine.registry.find(task, source, target) is not None

    def check(self, request: ConversionRequest) -> None:
        conv = self.engine.converter_for(request.task, request.source.format, request.target)
        conv.validate(request.options)

    def submit(self, request: ConversionRequest) -> str:
        return self.engine.submit(request)

    def status(self, job_id: str) -> JobSnapshot:
        record = self.engine.get(job_id)
        outputs = [
            Output(
                name=o.name,
                content_type=o.content_type,
                size=o.size,
                checksum=o.md5,
                metadata=dict(o.metadata),
                _opener=self._opener(job_id, o.name),
            )
            for o in record.outputs
        ]
        return JobSnapshot(
            status=record.job_status,
            message=record.message,
            outputs=outputs,
            errors=list(record.errors),
            warnings=list(record.warnings),
            started_at=utc_time(record.started_at),
            finished_at=utc_time(record.finished_at),
            progress=record.progress,
        )

    def _opener(self, job_id: str, name: str):
        def open_output():
            try:
                return self.engine.output_path(job_id, name).open("rb")
            except (JobNotFound, FileNotFoundError) as exc:
                raise OutputUnavailable(f"{name} is no longer available: {exc}") from None

        return open_output

    def delete(self, job_id: str) -> None:
        self.engine.delete(job_id)

    def cancel(self, job_id: str) -> None:
        self.engine.cancel(job_id)

    def subscribe(self, callback: UpdateCallback) -> bool:
        def forward(job_id: str) -> None:
            try:
                snapshot = self.status(job_id)
            except JobNotFound:
                return
            callback(job_id, snapshot)

        self.engine.subscribe(forward)
        return True

    def poll_delay(self, attempt: int) -> float:
        return 5.0  # the engine pushes every change; polling is only a safety net

    def describe(self) -> dict:
        info = super().describe()
        info.update(store=str(self.engine.store.root), workers=self.engine.workers)
        return info

    def close(self) -> None:
        self.engine.shutdown(wait=False)


__all__ = ["EmbeddedProvider", "JobStatus"]

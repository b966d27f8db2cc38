"""The embedded engine: a local job queue that converts for real.

It speaks the same job model as the cloud services: ``submit`` returns a job
id at once, the work runs on a bounded worker pool, results stay in the
per-user store for the retention window (24 h by default, as Aspose.OCR Cloud keeps its results)
and can be deleted earlier. Listeners hear about every change immediately.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from PIL import Image

from ..documents import ConversionRequest
from ..errors import DocconvertError, InputNotRegular, JobNotFound, UnsupportedConversion
from ..redact import mask_options
from ..status import JobStatus
from . import tools
from .context import ConversionContext
from .registry import REGISTRY, Converter, Registry
from .store import TOMBSTONE_SECONDS, JobRecord, JobStore, OutputRecord

log = logging.getLogger(__name__)

DEFAULT_RETENTION = 24 * 3600.0
#: Largest image the engine opens, in pixels (a decompression-bomb guard).
DEFAULT_MAX_PIXELS = 120_000_000

Listener = Callable[[str], None]


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Engine:
    """A local conversion queue.

    ``root`` is the store folder, ``workers`` the number of jobs converted at
    once, ``retention`` how long results are kept (seconds), ``clock`` the
    time source (tests pass a fake one to jump ahead 24 h).
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        workers: int | None = None,
        retention: float = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        tool_timeout: float = tools.DEFAULT_TIMEOUT,
        tool_memory_mb: int | None = tools.DEFAULT_MEMORY_MB,
        registry: Registry | None = None,
    ):
        self.store = JobStore(root)
        self.workers = workers or _default_workers()
        self.retention = retention
        self.clock = clock
        self.max_pixels = max_pixels
        self.tool_timeout = tool_timeout
        self.tool_memory_mb = tool_memory_mb
        self.registry = registry or load_converters()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="docconvert-engine")
        self._records: dict[str, JobRecord] = {}
        self._futures: dict[str, Future] = {}
        self._cancel_requested: set[str] = set()
        self._cancel_events: dict[str, threading.Event] = {}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._last_sweep = 0.0

    # -- capabilities -------------------------------------------------------------
    def converter_for(self, task: str, source: str, target: str) -> Converter:
        conv = self.registry.find(task, source, target)
        if conv is None:
            targets = sorted({dst for c, src, dst in self.registry.pairs() if c.task == task and src == source})
            hint = f"; from {source} the engine can make: {', '.join(targets)}" if targets else ""
            raise UnsupportedConversion(f"the embedded engine cannot {task} {source} to {target}{hint}")
        return conv

    # -- the job verbs ----------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        """Queue a job and return its id. Bad options or pairs raise here, before queueing."""
        conv = self.converter_for(request.task, request.source.format, request.target)
        options = conv.validate(request.options)
        job_id = str(uuid.uuid4())
        self.store.create(job_id)
        input_name = _input_file_name(request.source.name, request.source.format)
        input_path = self.store.input_dir(job_id) / input_name
        try:
            if request.source.path is not None:
                shutil.copyfile(request.source.path, input_path)
            else:
                input_path.write_bytes(request.source.data)
            os.chmod(input_path, 0o600)
        except OSError as exc:  # the input vanished, turned into a FIFO, or the disk is full
            self.store.remove(job_id)
            raise InputNotRegular(f"cannot copy {request.source.name} into the engine's store: "
                                  f"{exc.strerror or exc}") from None
        record = JobRecord(
            id=job_id,
            task=request.task,
            source_name=request.source.name,
            source_format=request.source.format,
            target=request.target,
            options=_public_options(options),
            submitted_at=self.clock(),
            message=JobStatus.QUEUED.description,
        )
        with self._lock:
            self._records[job_id] = record
            self.store.save(record)
            self._futures[job_id] = self._pool.submit(self._run, job_id, conv, options, input_path)
        self._sweep_if_due()
        self._emit(job_id)
        return job_id

    def get(self, job_id: str) -> JobRecord:
        """The job's record, after applying retention. Raises JobNotFound."""
        with self._lock:
            record = self._records.get(job_id) or self._load(job_id)
            if record is None:
                raise JobNotFound(f"the embedded engine has no job {job_id}")
            self._expire_if_due(record)
            return record

    def delete(self, job_id: str) -> None:
        """Delete the job's files now; a running job is canceled first."""
        with self._lock:
            record = self.get(job_id)
            if record.job_status.is_gone:
                return
            if not record.job_status.is_terminal:
                self._request_cancel(job_id)
            self._set_status(record, JobStatus.DELETED, "Deleted; its files are gone.")
            self.store.purge_files(job_id)
        self._emit(job_id)

    def cancel(self, job_id: str) -> None:
        """Cancel a job: a queued one never starts, a running one has its external tool killed."""
        with self._lock:
            record = self.get(job_id)
            if record.job_status.is_terminal:
                return
            self._request_cancel(job_id)
            self._set_status(record, JobStatus.CANCELED, "Canceled before it finished.")
        self._emit(job_id)

    def output_path(self, job_id: str, name: str) -> Path:
        record = self.get(job_id)
        if record.job_status.is_gone:
            raise JobNotFound(f"job {job_id} is {record.status}; its outputs are gone")
        if name not in {o.name for o in record.outputs}:
            raise JobNotFound(f"job {job_id} has no output {name!r}")
        return self.store.output_dir(job_id) / name

    def jobs(self) -> list[JobRecord]:
        """Every job in the store (this process's and earlier ones'), oldest first."""
        with self._lock:
            for job_id in self.store.ids():
                if job_id not in self._records:
                    self._load(job_id)
            records = list(self._records.values())
        for record in records:
            self._expire_if_due(record)
        return sorted(records, key=lambda r: r.submitted_at)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(job_id)`` after every change of any job."""
        self._listeners.append(listener)

    def sweep(self) -> int:
        """Expire every job past retention and drop old tombstones; returns how many expired."""
        self._last_sweep = self.clock()
        with self._lock:
            for job_id in self.store.ids():
                if job_id not in self._records:
                    self._load(job_id)
            records = list(self._records.values())
        expired = sum(self._expire_if_due(record) for record in records)
        for record in records:
            if record.job_status.is_gone and self.clock() - record.submitted_at > TOMBSTONE_SECONDS:
                with self._lock:
                    self._records.pop(record.id, None)
                self.store.remove(record.id)
        return expired

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # -- internals -----------------------------------------------------------------
    def _run(self, job_id: str, conv: Converter, options: dict, input_path: Path) -> None:
        with self._lock:
            record = self._records[job_id]
            if job_id in self._cancel_requested or record.job_status.is_terminal:
                return
            record.started_at = self.clock()
            self._set_status(record, JobStatus.PROCESSING, f"Converting with {conv.name}.")
            cancel_event = self._cancel_events[job_id] = threading.Event()
        self._emit(job_id)
        workdir = self.store.scratch_dir(job_id)
        ctx = ConversionContext(
            input_path=input_path,
            source_format=record.source_format,
            target=record.target,
            task=record.task,
            options=options,
            workdir=workdir,
            output_dir=self.store.output_dir(job_id),
            source_name=record.source_name,
            max_pixels=self.max_pixels,
            tool_timeout=self.tool_timeout,
            tool_memory_mb=self.tool_memory_mb,
            progress_callback=lambda fraction: self._progress(job_id, fraction),
            cancel_event=cancel_event,
        )
        error = None
        try:
            conv.run(ctx)
            if not ctx.outputs and not ctx.warnings:
                error = f"{conv.name} produced no output"
        except DocconvertError as exc:
            error = str(exc)
        except Image.DecompressionBombError as exc:
            error = f"the image is too large to open safely: {exc}"
        except MemoryError:
            error = "ran out of memory"
        except Exception as exc:  # converters must never take the worker down
            log.exception("converter %s failed on job %s", conv.name, job_id)
            error = _describe_exception(exc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        with self._lock:
            self._cancel_events.pop(job_id, None)
            if job_id in self._cancel_requested or record.job_status.is_terminal:
                if record.job_status.is_gone:  # deleted or expired while it ran
                    self.store.purge_files(job_id)
                return
            record.warnings = list(ctx.warnings)
            if error is None:
                record.outputs = [
                    OutputRecord(o.name, o.content_type, o.size, o.md5, o.metadata) for o in ctx.outputs
                ]
                note = "" if ctx.outputs else f" {ctx.warnings[0]}"
                self._set_status(record, JobStatus.COMPLETED, f"Done: {len(ctx.outputs)} output(s).{note}")
            else:
                for out in ctx.outputs:
                    out.path.unlink(missing_ok=True)
                record.errors.append(error)
                self._set_status(record, JobStatus.FAILED, error)
        self._emit(job_id)

    def _progress(self, job_id: str, fraction: float) -> None:
        with self._lock:
            record = self._records[job_id]
            record.progress = fraction
        self._emit(job_id)

    def _set_status(self, record: JobRecord, status: JobStatus, message: str) -> None:
        record.status = status.value
        record.message = message
        if status.is_terminal and record.finished_at is None:
            record.finished_at = self.clock()
        self.store.save(record)

    def _request_cancel(self, job_id: str) -> None:
        self._cancel_requested.add(job_id)
        event = self._cancel_events.get(job_id)
        if event is not None:  # running: stop its external tool now
            event.set()
        future = self._futures.get(job_id)
        if future is not None:
            future.cancel()

    def _load(self, job_id: str) -> JobRecord | None:
        record = self.store.load(job_id)
        if record is None:
            return None
        if not record.job_status.is_terminal and record.pid != os.getpid() and not _pid_alive(record.pid):
            record.errors.append("interrupted: the process that ran this job exited")
            self._set_status(record, JobStatus.FAILED, record.errors[-1])
        self._records[job_id] = record
        return record

    def _expire_if_due(self, record: JobRecord) -> bool:
        if record.job_status.is_gone or self.clock() - record.submitted_at <= self.retention:
            return False
        with self._lock:
            if not record.job_status.is_terminal:
                self._request_cancel(record.id)
            hours = self.retention / 3600
            record.status = JobStatus.EXPIRED.value
            record.message = f"Expired: results are kept {hours:g} h after submission."
            record.finished_at = record.finished_at or self.clock()
            self.store.save(record)
            self.store.purge_files(record.id)
        self._emit(record.id)
        return True

    def _sweep_if_due(self) -> None:
        if self.clock() - self._last_sweep > 3600:
            threading.Thread(target=self.sweep, daemon=True, name="docconvert-sweep").start()

    def _emit(self, job_id: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(job_id)
            except Exception:
                log.exception("engine listener failed")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _input_file_name(name: str, fmt: str) -> str:
    from ..fileformats import extension

    stem = Path(name).name.rsplit(".", 1)[0] or "input"
    safe = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in stem)[:80] or "input"
    return f"{safe}.{extension(fmt)}"


def _public_options(options: dict) -> dict:
    return {k: v for k, v in mask_options(options).items() if isinstance(v, (str, int, float, bool, type(None)))}


def _describe_exception(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_converters() -> Registry:
    """Import every converter module (each registers itself) and return the registry."""
    from . import converters  # noqa: F401  (registration happens on import)

    return REGISTRY

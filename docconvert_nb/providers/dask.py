"""The embedded engine's converters on a Dask cluster: the same notebook code, many machines.

``DaskProvider(client)`` takes a ``distributed.Client`` or a scheduler
address (``"tcp://scheduler:8786"``); with neither it reads
``$DOCCONVERT_NB_DASK_SCHEDULER``, and without that it starts a
``LocalCluster`` on this machine on first use. Every job is one Dask task
running the same converter the embedded engine would, on a worker::

    from distributed import Client
    from docconvert_nb.providers.dask import DaskProvider

    dask = DaskProvider(Client("tcp://scheduler:8786"), results="/shared/docconvert")
    group = dc.convert_many("/shared/scans/*.png", "pdf", provider=dask)

Data: inputs up to ``inline_limit`` bytes travel inside the task; larger
ones travel by path when they lie under one of ``shared_dirs`` (folders the
workers mount at the same path), else they are staged at ``results`` (a
shared folder or an fsspec URL such as ``s3://bucket/prefix``), else
scattered to a worker. Outputs up to ``inline_limit`` come back as bytes;
larger ones are written by the worker to ``results`` and read from there.

Events, not polling: the worker reports "started" and "progress" as Dask
worker events (``Worker.log_event`` / ``Client.subscribe_topic``), and
completion arrives through ``distributed.as_completed``. Canceling a job
cancels its task (the running converter's external tool is killed). A job
whose worker dies is rescheduled on another by the Dask scheduler
(``distributed.scheduler.allowed-failures`` times, then ``KilledWorker``);
an infrastructure error (shared input unreadable, results location not
writable) is retried ``retries`` times. Only then does the job show failed.

Dask docs: https://distributed.dask.org/en/stable/client.html,
https://distributed.dask.org/en/stable/api.html#distributed.as_completed,
https://distributed.dask.org/en/stable/logging.html#structured-logs,
https://distributed.dask.org/en/stable/killed.html.

This module imports without ``distributed``; using the provider needs the
``dask`` extra: ``pip install "docconvert_nb[dask]"``.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..engine import tools
from ..engine.core import DEFAULT_MAX_PIXELS, _input_file_name, load_converters
from ..engine.registry import REGISTRY, Converter, Registry
from ..errors import DocconvertError, JobNotFound, ProviderError, UnsupportedConversion
from ..outputs import Output
from ..status import JobStatus
from ..util import utc_time
from ._dask_data import RemoteSource, file_opener, location, public_address, remove_url, stage_input, url_opener
from .base import Capability, ConversionRequest, JobSnapshot, Provider, UpdateCallback

log = logging.getLogger(__name__)

#: Environment variable naming the scheduler when no client or address is given.
ENV_SCHEDULER = "DOCCONVERT_NB_DASK_SCHEDULER"
#: Inputs and outputs up to this size travel as bytes through Dask.
DEFAULT_INLINE_LIMIT = 2 * 1024 * 1024
#: Outputs received as bytes up to this size stay in memory; larger ones go to a private cache folder.
MEMORY_OUTPUT_LIMIT = 32 * 1024
#: Most tasks sent in one ``Client.map`` call, and most results fetched in one ``Client.gather``.
SUBMIT_BATCH = 1000
GATHER_BATCH = 32
INSTALL_HINT = 'the Dask provider needs distributed: pip install "docconvert_nb[dask]"'


class DaskUnavailable(ProviderError, ImportError):
    """``distributed`` is not installed (a usage error for the CLI, an ImportError for Python)."""


def _require_distributed() -> None:
    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise DaskUnavailable(INSTALL_HINT)


@dataclass
class _Record:
    """What the client knows of one job (its id is also the Dask key)."""

    id: str
    source_name: str
    submitted_at: float
    status: JobStatus = JobStatus.QUEUED
    message: str = "Waiting for a Dask worker."
    future: Any = None
    scattered: Any = None
    staged_input: str | None = None
    canceled: bool = False
    attempts: int = 0
    worker: str | None = None
    worker_name: str | None = None
    host: str | None = None
    workers_tried: list[str] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    cached: list[Path] = field(default_factory=list)
    result_urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    progress: float | None = None

    @property
    def where(self) -> str:
        """The worker as people read it: ``worker 1 (tcp://10.0.0.7:40113)``."""
        name = self.worker_name
        if name and name != self.worker:
            return f"worker {name} ({self.worker})"
        return self.worker or "an unknown worker"

    def details(self) -> dict[str, Any]:
        info: dict[str, Any] = {"dask_key": self.id, "attempts": self.attempts}
        if self.worker:
            info.update(worker=self.worker, worker_name=self.worker_name, host=self.host)
        if len(self.workers_tried) > 1:
            info["workers_tried"] = list(self.workers_tried)
        return info


class DaskProvider(Provider):
    """Runs the embedded engine's converters as Dask tasks on a cluster's workers.

    ``client``: a ``distributed.Client``, a scheduler address, or None
    (``$DOCCONVERT_NB_DASK_SCHEDULER``, else a LocalCluster started on first
    use). ``results``: a folder every worker and this process share, or an
    fsspec URL, for outputs (and staged inputs) above ``inline_limit``
    bytes. ``shared_dirs``: folders the workers see at the same path, so
    large inputs there travel by path. ``retries``: Dask retries of a task
    whose infrastructure failed. ``resources``: Dask worker resources each
    task needs (e.g. ``{"office": 1}``). ``registry``: the converters
    (default: the embedded engine's).
    """

    name = "dask"
    label = "Dask cluster"
    can_cancel = True
    retention_seconds = None

    def __init__(
        self,
        client: Any = None,
        *,
        results: str | os.PathLike | None = None,
        shared_dirs: Iterable[str | os.PathLike] = (),
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        retries: int = 2,
        resources: dict[str, float] | None = None,
        registry: Registry | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        tool_timeout: float = tools.DEFAULT_TIMEOUT,
        tool_memory_mb: int | None = tools.DEFAULT_MEMORY_MB,
        batch_window: float = 0.02,
    ):
        _require_distributed()
        if client is None:
            client = os.environ.get(ENV_SCHEDULER, "").strip() or None
        self._client_arg = client
        self.results = location(results)
        self.shared_dirs = [Path(d).expanduser().resolve() for d in shared_dirs]
        self.inline_limit = int(inline_limit)
        self.retries = int(retries)
        self.resources = dict(resources) if resources else None
        self.registry = registry or load_converters()
        self.max_pixels = max_pixels
        self.tool_timeout = tool_timeout
        self.tool_memory_mb = tool_memory_mb
        self.batch_window = batch_window
        self._topic = f"docconvert-nb-{uuid.uuid4().hex[:12]}"
        self._records: dict[str, _Record] = {}
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._pending: list[tuple[dict, Any]] = []
        self._listeners: list[UpdateCallback] = []
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._client = None
        self._cluster = None
        self._owns_client = False
        self._completions = None
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._cache: Path | None = None
        self._cleanup = None

    # -- connection ---------------------------------------------------------------------
    @property
    def client(self):
        """The ``distributed.Client``, connected (or its LocalCluster started) on first use."""
        with self._lock:
            if self._closed:
                raise ProviderError("this DaskProvider is closed")
            if self._client is None:
                self._connect()
            return self._client

    def _connect(self) -> None:
        from distributed import Client, LocalCluster, as_completed

        from ._dask_worker import EnginePlugin

        arg = self._client_arg
        try:
            if isinstance(arg, Client):
                client = arg
            elif isinstance(arg, str):
                client = Client(arg, set_as_default=False)
                self._owns_client = True
            else:
                self._cluster = LocalCluster(host="127.0.0.1", processes=True)
                client = Client(self._cluster, set_as_default=False)
                self._owns_client = True
        except OSError as exc:
            raise ProviderError(f"cannot reach the Dask scheduler {public_address(arg)}: {exc}") from None
        client.register_plugin(EnginePlugin(), name=EnginePlugin.name)
        client.subscribe_topic(self._topic, self._events.put)
        self._completions = as_completed(loop=client.loop)
        self._client = client
        for target, name in ((self._send_loop, "submit"), (self._completion_loop, "done"), (self._event_loop, "events")):
            thread = threading.Thread(target=target, daemon=True, name=f"docconvert-dask-{name}")
            thread.start()
            self._threads.append(thread)
        finalizer = weakref.finalize(self, _close_client, client, self._cluster, self._owns_client)
        finalizer.atexit = True

    @property
    def scheduler_address(self) -> str | None:
        if self._client is not None:
            return self._client.scheduler.address
        arg = self._client_arg
        if isinstance(arg, str):
            return arg
        scheduler = getattr(arg, "scheduler", None)
        return getattr(scheduler, "address", None)

    # -- what it can do -------------------------------------------------------------------
    def capabilities(self) -> Iterable[Capability]:
        return [Capability(conv.task, src, dst) for conv, src, dst in self.registry.pairs()]

    def supports(self, task: str, source: str, target: str) -> bool:
        return self.registry.find(task, source, target) is not None

    def _converter(self, request: ConversionRequest) -> Converter:
        conv = self.registry.find(request.task, request.source.format, request.target)
        if conv is None:
            super().check(request)  # raises with the list of targets
            raise UnsupportedConversion(f"the Dask provider cannot {request.describe()}")
        return conv

    def check(self, request: ConversionRequest) -> None:
        self._converter(request).validate(request.options)

    # -- the job verbs ----------------------------------------------------------------------
    def submit(self, request: ConversionRequest) -> str:
        """Queue the task (sent to the scheduler in batches) and return the job id, its Dask key."""
        conv = self._converter(request)
        options = conv.validate(request.options)
        client = self.client
        job_id = f"docconvert-{uuid.uuid4()}"
        source = request.source
        input_name = _input_file_name(source.name, source.format)
        spec: dict[str, Any] = {
            "key": job_id,
            "topic": self._topic,
            # The engine's own converters are looked up on the worker; pickling one per task costs
            # the scheduler and the worker more than a cheap conversion does.
            "converter": None if self.registry is REGISTRY else conv,
            "task": request.task,
            "source_format": source.format,
            "source_name": source.name,
            "input_name": input_name,
            "target": request.target,
            "options": options,
            "inline_limit": self.inline_limit,
            "results": self.results,
            "max_pixels": self.max_pixels,
            "tool_timeout": self.tool_timeout,
            "tool_memory_mb": self.tool_memory_mb,
        }
        record = _Record(id=job_id, source_name=source.name, submitted_at=time.time())
        data: Any = None
        if isinstance(source, RemoteSource):
            spec["input_url"] = source.url
        elif source.size <= self.inline_limit:
            data = source.read_bytes()
        elif source.path is not None and self._shared(source.path):
            spec["input_path"] = str(source.path.resolve())
        elif self.results:
            spec["input_url"] = record.staged_input = stage_input(self.results, job_id, input_name, source)
        else:
            data = record.scattered = client.scatter(source.read_bytes(), hash=False)
        with self._cond:
            self._records[job_id] = record
            self._pending.append((spec, data))
            self._cond.notify_all()
        return job_id

    def status(self, job_id: str) -> JobSnapshot:
        with self._lock:
            record = self._record(job_id)
            return self._snapshot(record)

    def job_details(self, job_id: str) -> dict[str, Any]:
        """Where the job ran: worker address and name, host, attempts (what the job card shows)."""
        with self._lock:
            return self._record(job_id).details()

    def doctor(self) -> dict[str, Any]:
        """Every worker's tool check (``docconvert-nb doctor`` on each): ``{address: DoctorReport}``.

        Workers need the same system tools as the embedded engine; a report
        with ``ok == False`` prints the ``apt-get`` command that installs the rest.
        """
        from ._dask_worker import worker_doctor

        return self.client.run(worker_doctor)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            record = self._record(job_id)
            if record.status.is_terminal:
                return
            record.canceled = True
            future = record.future
            self._finish(record, JobStatus.CANCELED, "Canceled before it finished.")
        if future is not None:
            future.cancel()
        self._release(record)
        self._emit(record)

    def delete(self, job_id: str) -> None:
        with self._lock:
            record = self._record(job_id)
            if record.status.is_gone:
                return
            if not record.status.is_terminal:
                record.canceled = True
                if record.future is not None:
                    record.future.cancel()
            self._finish(record, JobStatus.DELETED, "Deleted; its results are gone.")
            urls, record.result_urls = record.result_urls, []
            cached, record.cached = record.cached, []
        self._release(record)
        for path in cached:
            path.unlink(missing_ok=True)
        if urls:
            self._remove_results(job_id)
        self._emit(record)

    # -- following jobs ----------------------------------------------------------------------
    def subscribe(self, callback: UpdateCallback) -> bool:
        with self._lock:
            self._listeners.append(callback)
        return True

    def poll_delay(self, attempt: int) -> float:
        return 30.0  # every change is pushed; status() answers from memory, so this is only a safety net

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        address = self.scheduler_address
        info.update(
            scheduler=public_address(address) if address else "a LocalCluster, started on first use",
            connected=self._client is not None,
            results=public_address(self.results) if self.results else None,
        )
        if self._client is not None:
            try:
                info["workers"] = len(self._client.scheduler_info().get("workers", {}))
            except Exception:  # describe must not fail because the scheduler is slow
                pass
        return info

    def close(self) -> None:
        """Cancel unfinished jobs, stop following; close the client (and cluster) if this provider made them."""
        with self._cond:
            unfinished = [r for r in self._records.values() if not r.status.is_terminal]
            futures = [r.future for r in unfinished if r.future is not None]
            for record in unfinished:
                record.canceled = True
                record.errors.append("the Dask provider was closed before the job finished")
                self._finish(record, JobStatus.FAILED, record.errors[-1])
            self._pending = []
            self._closed = True
            self._cond.notify_all()
            client, cluster, owned = self._client, self._cluster, self._owns_client
        self._events.put(None)
        for record in unfinished:
            self._emit(record)
        if client is not None and futures:
            try:
                client.cancel(futures)
            except Exception:
                pass
        if client is not None:
            try:
                client.unsubscribe_topic(self._topic)
            except Exception:
                pass
            if owned:
                _close_client(client, cluster, owned)
        if self._cleanup is not None:
            self._cleanup()

    def __repr__(self) -> str:
        return f"<DaskProvider {public_address(self.scheduler_address) or 'LocalCluster (not started)'}>"

    # -- internals: sending ---------------------------------------------------------------------
    def _shared(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(folder) for folder in self.shared_dirs)

    def _send_loop(self) -> None:
        from ._dask_worker import run_job

        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
            time.sleep(self.batch_window)  # let a burst of submissions gather into one graph update
            with self._cond:
                batch, self._pending = self._pending[:SUBMIT_BATCH], self._pending[SUBMIT_BATCH:]
                batch = [(spec, data) for spec, data in batch if not self._records[spec["key"]].canceled]
            if not batch:
                continue
            specs = [spec for spec, _ in batch]
            keys = [spec["key"] for spec in specs]
            try:
                futures = self._client.map(
                    run_job, specs, [data for _, data in batch],
                    key=keys, pure=False, retries=self.retries, resources=self.resources,
                )
            except Exception as exc:
                log.warning("submitting %d task(s) to Dask failed: %s", len(keys), exc)
                for key in keys:
                    self._fail(key, f"could not submit the task to the Dask scheduler: {exc}")
                continue
            late_cancels = []
            with self._cond:
                for future in futures:
                    record = self._records.get(future.key)
                    if record is None or record.canceled:
                        late_cancels.append(future)
                    else:
                        record.future = future
                self._completions.update(futures)
                self._cond.notify_all()
            for future in late_cancels:
                future.cancel()
            # Holding a future keeps its result in worker memory (and makes Dask recompute it if that
            # worker dies): only the records hold them, until the job is final.
            del futures, late_cancels

    # -- internals: receiving --------------------------------------------------------------------
    def _completion_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and self._completions.count() == 0:
                    self._cond.wait()
                if self._closed:
                    return
            try:
                batch = self._completions.next_batch(block=True)
            except StopIteration:
                continue
            try:
                self._completed_batch(batch)
            except Exception:  # never let one bad batch stop the following of every other job
                log.exception("handling finished Dask tasks failed")
            del batch

    def _completed_batch(self, futures: list) -> None:
        finished = [f for f in futures if f.status == "finished"]
        for start in range(0, len(finished), GATHER_BATCH):
            chunk = finished[start:start + GATHER_BATCH]
            try:
                results = self._client.gather(chunk)
            except Exception:
                results = [_result_or_error(f) for f in chunk]
            for future, result in zip(chunk, results):
                if isinstance(result, BaseException):
                    self._errored(future.key, result)
                else:
                    self._completed(future.key, result)
        for future in futures:
            if future.status == "error":
                self._errored(future.key, _exception_of(future))
            elif future.status in ("cancelled", "lost"):
                self._lost(future.key)

    def _completed(self, key: str, result: dict[str, Any]) -> None:
        outputs, cached, urls = [], [], []
        for info in result["outputs"]:
            opener, path = self._keep(key, info)
            if path is not None:
                cached.append(path)
            if "url" in info:
                urls.append(info["url"])
            metadata = dict(info["metadata"])
            metadata.setdefault("worker", result["worker"])
            outputs.append(Output(
                name=info["name"], content_type=info["content_type"], size=info["size"],
                checksum=info["md5"], metadata=metadata, _opener=opener,
            ))
        with self._lock:
            record = self._records.get(key)
            if record is None or record.status.is_terminal:
                stale = True
            else:
                stale = False
                self._placed(record, result)
                record.started_at = record.started_at or result["started_at"]
                record.warnings.extend(w for w in result["warnings"] if w not in record.warnings)
                where = f" on {record.where}"
                if record.attempts > 1:
                    where += f" (attempt {record.attempts}: an earlier worker was lost)"
                if result["status"] == "completed":
                    record.outputs, record.cached, record.result_urls = outputs, cached, urls
                    note = "" if outputs else f" {result['warnings'][0]}" if result["warnings"] else ""
                    self._finish(record, JobStatus.COMPLETED, f"Done{where}: {len(outputs)} output(s).{note}",
                                 result["finished_at"])
                else:
                    record.errors.append(result["error"])
                    self._finish(record, JobStatus.FAILED, f"{result['error']} ({where.strip()})",
                                 result["finished_at"])
        if stale:  # canceled or deleted meanwhile: drop what came back
            for path in cached:
                path.unlink(missing_ok=True)
            if urls:
                self._remove_results(key)
            return
        self._release(record)
        self._emit(record)

    def _errored(self, key: str, exc: BaseException) -> None:
        from distributed.scheduler import KilledWorker

        if isinstance(exc, KilledWorker):
            message = (f"its Dask worker died each time it ran ({_first_line(exc)}); "
                       "the document may crash or exhaust the worker")
        else:
            retried = f" (after {self.retries} retries)" if self.retries else ""
            message = f"{_first_line(exc) or type(exc).__name__}{retried}"
        self._fail(key, message)

    def _lost(self, key: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is None or record.canceled or record.status.is_terminal:
                return
        self._fail(key, "the Dask scheduler dropped the task (was the cluster restarted or the client closed?)")

    def _fail(self, key: str, message: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is None or record.status.is_terminal:
                return
            record.errors.append(message)
            self._finish(record, JobStatus.FAILED, message)
        self._release(record)
        self._emit(record)

    def _event_loop(self) -> None:
        while True:
            event = self._events.get()
            if event is None or self._closed:
                return
            try:
                _, message = event
                self._worker_event(message)
            except Exception:
                log.exception("handling a Dask worker event failed")

    def _worker_event(self, message: dict[str, Any]) -> None:
        with self._lock:
            record = self._records.get(message.get("key"))
            if record is None or record.status.is_terminal:
                return
            if message.get("event") == "started":
                previous = record.where
                self._placed(record, message, count=True)
                record.started_at = record.started_at or message.get("at")
                record.status = JobStatus.PROCESSING
                record.progress = None
                if record.attempts > 1:
                    record.message = f"Running again on {record.where} (attempt {record.attempts}): {previous} was lost."
                else:
                    record.message = f"Converting on {record.where}."
            elif message.get("event") == "progress":
                record.progress = message.get("fraction")
            else:
                return
        self._emit(record)

    # -- internals: records ----------------------------------------------------------------------
    def _record(self, job_id: str) -> _Record:
        record = self._records.get(job_id)
        if record is None:
            raise JobNotFound(f"the Dask provider has no job {job_id}")
        return record

    def _placed(self, record: _Record, info: dict[str, Any], count: bool = False) -> None:
        address = info.get("worker")
        if count or not record.attempts:
            record.attempts += 1
        if address and (not record.workers_tried or record.workers_tried[-1] != address):
            record.workers_tried.append(address)
        record.worker, record.worker_name, record.host = address, info.get("worker_name"), info.get("host")

    def _finish(self, record: _Record, status: JobStatus, message: str, at: float | None = None) -> None:
        record.status = status
        record.message = message
        record.finished_at = record.finished_at or at or time.time()

    def _release(self, record: _Record) -> None:
        """Let Dask forget the task and its data; remove a staged input."""
        with self._lock:
            record.future = record.scattered = None
            staged, record.staged_input = record.staged_input, None
        if staged:
            remove_url(staged.rsplit("/", 1)[0])

    def _snapshot(self, record: _Record) -> JobSnapshot:
        return JobSnapshot(
            status=record.status,
            message=record.message,
            outputs=list(record.outputs),
            errors=list(record.errors),
            warnings=list(record.warnings),
            started_at=utc_time(record.started_at),
            finished_at=utc_time(record.finished_at),
            progress=record.progress,
            details=record.details(),
        )

    def _emit(self, record: _Record) -> None:
        with self._lock:
            snapshot = self._snapshot(record)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(record.id, snapshot)
            except Exception:
                log.exception("Dask provider listener failed")

    # -- internals: outputs ----------------------------------------------------------------------
    def _keep(self, key: str, info: dict[str, Any]):
        """An opener for one output, and the cache file holding it (if any)."""
        if "url" in info:
            return url_opener(info["name"], info["url"]), None
        data: bytes = info["data"]
        if len(data) <= MEMORY_OUTPUT_LIMIT:
            return (lambda: io.BytesIO(data)), None
        folder = self._cache_dir() / key
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / info["name"]
        path.write_bytes(data)
        return file_opener(info["name"], path), path

    def _cache_dir(self) -> Path:
        with self._lock:
            if self._cache is None:
                self._cache = Path(tempfile.mkdtemp(prefix="docconvert-dask-"))
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._cache, True)
            return self._cache

    def _remove_results(self, key: str) -> None:
        remove_url(f"{self.results.rstrip('/')}/{key}")



def use_scheduler(address: str | None) -> None:
    """Make ``provider="dask"`` use the scheduler at ``address`` (None: back to the environment's).

    Sets ``$DOCCONVERT_NB_DASK_SCHEDULER`` for this process and forgets the
    ``"dask"`` provider made from the old value, closing it.
    """
    from . import _instances, _lock

    if address:
        os.environ[ENV_SCHEDULER] = address
    else:
        os.environ.pop(ENV_SCHEDULER, None)
    with _lock:
        old = _instances.pop("dask", None)
    if old is not None:
        old.close()


def _result_or_error(future):
    try:
        return future.result()
    except BaseException as exc:  # noqa: BLE001 - the job reports it
        return exc


def _exception_of(future) -> BaseException:
    try:
        return future.exception() or DocconvertError("the task failed without an error")
    except BaseException as exc:  # noqa: BLE001
        return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _close_client(client, cluster, owned: bool) -> None:
    if not owned:
        return
    try:
        client.close()
    except Exception:
        pass
    if cluster is not None:
        try:
            cluster.close()
        except Exception:
            pass


__all__ = ["DEFAULT_INLINE_LIMIT", "ENV_SCHEDULER", "DaskProvider", "DaskUnavailable", "RemoteSource", "use_scheduler"]

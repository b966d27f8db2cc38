"""What runs on a Dask worker: one embedded-engine converter per task.

Imported on the workers (Dask pickles :func:`run_job` by reference), and on
the client by :mod:`docconvert_nb.providers.dask` once ``distributed`` is
known to be installed. A task gets a plain-data spec (converter, validated
options, where the input is, where large outputs go) and returns a
plain-data result; the worker it ran on reports "started" and "progress" as
Dask worker events (``Worker.log_event``), which the client receives
through ``Client.subscribe_topic``.

Bad input is a result (status ``failed``, a human message), never an
exception: retrying it elsewhere cannot help. An exception means the
infrastructure failed (the shared input could not be read, the results
location could not be written), and Dask's ``retries=`` runs the task again.

Docs: https://distributed.dask.org/en/stable/logging.html#structured-logs
(worker events), https://distributed.dask.org/en/stable/plugins.html
(worker plugins).
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker
from PIL import Image

from ..errors import DocconvertError

log = logging.getLogger(__name__)

#: Seconds between two progress events of one job.
PROGRESS_INTERVAL = 0.5
#: How often the worker looks whether a running job was canceled.
CANCEL_CHECK_INTERVAL = 0.2


class InfrastructureError(RuntimeError):
    """The task could not read its input or store its outputs; Dask may retry it."""


def run_job(spec: dict[str, Any], data: bytes | None = None) -> dict[str, Any]:
    """Convert one document on this worker and return a plain-data result."""
    from ..engine.context import ConversionContext

    worker = get_worker()
    key, topic = spec["key"], spec["topic"]
    where = {"worker": worker.address, "worker_name": str(worker.name), "host": socket.gethostname()}
    started_at = time.time()
    worker.log_event(topic, {"key": key, "event": "started", "at": started_at, **where})
    conv = spec["converter"] or _engine_converter(spec)
    cancel_event = _CANCEL_WATCH.watch(worker, key)
    # The worker's local directory is where a cluster puts scratch (--local-directory, a fast local disk).
    scratch = Path(tempfile.mkdtemp(prefix="docconvert-", dir=_scratch_root(worker)))
    try:
        input_path = _materialize_input(spec, data, scratch)
        (scratch / "work").mkdir()
        (scratch / "out").mkdir()
        last_progress = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last_progress[0] >= PROGRESS_INTERVAL or fraction >= 1.0:
                last_progress[0] = now
                worker.log_event(topic, {"key": key, "event": "progress", "fraction": float(fraction)})

        ctx = ConversionContext(
            input_path=input_path,
            source_format=spec["source_format"],
            target=spec["target"],
            task=spec["task"],
            options=spec["options"],
            workdir=scratch / "work",
            output_dir=scratch / "out",
            source_name=spec["source_name"],
            max_pixels=spec["max_pixels"],
            tool_timeout=spec["tool_timeout"],
            tool_memory_mb=spec["tool_memory_mb"],
            progress_callback=progress,
            cancel_event=cancel_event,
        )
        error = _convert(conv, ctx)
        result: dict[str, Any] = {
            "key": key,
            "warnings": list(ctx.warnings),
            "started_at": started_at,
            **where,
        }
        if error is not None:
            result.update(status="failed", error=error, outputs=[])
        else:
            outputs = [_deliver(spec, out, result["warnings"]) for out in ctx.outputs]
            result.update(status="completed", outputs=outputs)
        result["finished_at"] = time.time()
        return result
    finally:
        _CANCEL_WATCH.forget(key)
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_root(worker) -> str | None:
    folder = getattr(worker, "local_directory", None)
    return folder if folder and Path(folder).is_dir() else None


def _engine_converter(spec: dict[str, Any]):
    from ..engine.core import load_converters

    conv = load_converters().find(spec["task"], spec["source_format"], spec["target"])
    if conv is None:  # the worker runs another version of docconvert_nb than the client
        raise DocconvertError(
            f"this worker's docconvert_nb cannot {spec['task']} {spec['source_format']} to {spec['target']}; "
            "install the same version on the workers as in the notebook"
        )
    return conv


def _convert(conv, ctx) -> str | None:
    """Run the converter; the error message for the user, or None on success (as the engine does)."""
    try:
        conv.run(ctx)
        if not ctx.outputs and not ctx.warnings:
            return f"{conv.name} produced no output"
    except DocconvertError as exc:
        return str(exc)
    except Image.DecompressionBombError as exc:
        return f"the image is too large to open safely: {exc}"
    except MemoryError:
        return "ran out of memory"
    except Exception as exc:  # a converter bug fails the job, not the worker
        log.exception("converter %s failed", conv.name)
        text = str(exc).strip()
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return None


def _materialize_input(spec: dict[str, Any], data: bytes | None, scratch: Path) -> Path:
    """A private copy of the input in ``scratch`` (converters may assume they own it)."""
    target = scratch / spec["input_name"]  # never "work" or "out": input names have an extension
    try:
        if data is not None:
            target.write_bytes(data)
        elif spec.get("input_path"):
            shutil.copyfile(spec["input_path"], target)
        else:
            import fsspec

            with fsspec.open(spec["input_url"], "rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    except OSError as exc:
        where = spec.get("input_path") or spec.get("input_url") or "the task"
        raise InfrastructureError(f"worker cannot read the input {where}: {exc}") from exc
    return target


def _deliver(spec: dict[str, Any], out, warnings: list[str]) -> dict[str, Any]:
    """One produced file as bytes (small) or stored at the results location (large)."""
    info = {
        "name": out.name,
        "content_type": out.content_type,
        "size": out.size,
        "md5": out.md5,
        "metadata": dict(out.metadata),
    }
    location = spec.get("results")
    if out.size <= spec["inline_limit"] or not location:
        if out.size > spec["inline_limit"]:
            warnings.append(
                f"{out.name} ({out.size} bytes) came back in memory: give DaskProvider(results=...) a shared "
                "folder or an fsspec URL for outputs this large"
            )
        info["data"] = out.path.read_bytes()
        return info
    import fsspec

    url = f"{location.rstrip('/')}/{spec['key']}/{out.name}"
    try:
        fs, path = fsspec.core.url_to_fs(url)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(out.path), path)
    except OSError as exc:
        raise InfrastructureError(f"worker cannot write {out.name} to the results location: {exc}") from exc
    info["url"] = url
    return info


class _CancelWatch:
    """One thread per worker process that sets a running job's cancel event when Dask cancels its task.

    Dask cannot interrupt a running task; the converter's external tools
    (Tesseract, LibreOffice) watch this event and are killed when it is set.
    """

    def __init__(self):
        self._events: dict[str, tuple[Any, threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, worker, key: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._events[key] = (worker, event)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="docconvert-cancel-watch")
                self._thread.start()
        return event

    def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(CANCEL_CHECK_INTERVAL)
            with self._lock:
                if not self._events:
                    self._thread = None
                    return
                watched = list(self._events.items())
            for key, (worker, event) in watched:
                task = worker.state.tasks.get(key)
                if task is None or task.state in ("cancelled", "released", "forgotten"):
                    event.set()


_CANCEL_WATCH = _CancelWatch()


class EnginePlugin(WorkerPlugin):
    """Loads the converters when a worker starts and stops its LibreOffice when it closes.

    Worker processes exit without running ``atexit`` handlers, so the warm
    office the Office converters start would outlive the worker without
    this teardown.
    """

    name = "docconvert-nb-engine"

    def setup(self, worker) -> None:
        from ..engine.core import load_converters

        load_converters()

    def teardown(self, worker) -> None:
        from ..engine import office_server

        office_server.shutdown()


def worker_doctor():
    """This worker's :func:`~docconvert_nb.engine.doctor.doctor` report (run with ``Client.run``)."""
    from ..engine.doctor import doctor

    return doctor()


def office_pids() -> list[int]:
    """Process ids of this worker's warm LibreOffice and its bridge, if they run (tests, diagnostics)."""
    from ..engine import office_server

    server = office_server._server
    if server is None:
        return []
    return [proc.pid for proc in (server._office, server._bridge) if proc is not None and proc.poll() is None]


__all__ = ["EnginePlugin", "InfrastructureError", "run_job"]

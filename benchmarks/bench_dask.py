"""The embedded engine's local pool against a 2-worker Dask LocalCluster on this machine, and 10,000 jobs.

    .venv/bin/python benchmarks/bench_dask.py            # full run (10,000 jobs)
    .venv/bin/python benchmarks/bench_dask.py --jobs 2000

1. Throughput (jobs/s) of the same batches on the local pool (``EmbeddedProvider``,
   2 threads) and on a ``LocalCluster`` of 2 worker processes (1 thread each):
   cheap image conversions (scheduling overhead dominates) and OCR pages
   (the work dominates).
2. Many jobs on the cluster: ``convert_many`` of N cheap conversions followed
   by the tracker and a live group view. Reports the time to submit, the
   time until every job is final (against N no-op Dask tasks: the floor the
   scheduler sets), how many redraws the group view made, and
   the main thread's responsiveness (how late a 10 ms sleep wakes up)
   while the jobs run, against the same probe with nothing running. Run once
   on the LocalCluster (its scheduler shares this process and its GIL) and
   once on a scheduler and workers in processes of their own, as on a real
   cluster.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

import docconvert_nb as dc  # noqa: E402
from docconvert_nb import samples  # noqa: E402
from docconvert_nb.engine import Engine  # noqa: E402
from docconvert_nb.providers.embedded import EmbeddedProvider  # noqa: E402


def png(size=(640, 480), color=(30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def run_batch(provider, documents, to: str, task: str = "convert") -> float:
    """Seconds from submitting ``documents`` until every job is final (all must complete)."""
    start = time.perf_counter()
    group = dc.convert_many(documents, to, task=task, provider=provider)
    group.wait(timeout=3600)
    elapsed = time.perf_counter() - start
    bad = [job for job in group if not job.ok]
    if bad:
        raise SystemExit(f"{len(bad)} job(s) did not complete, e.g. {bad[0]!r}")
    return elapsed


def throughput(local, cluster, work: Path) -> None:
    pages = []
    for i in range(8):
        path = work / f"page{i}.png"
        path.write_bytes(samples.text_page(f"Page {i}. " + samples.SAMPLE_TEXT, width=1200, height=900))
        pages.append(path)
    batches = [
        ("PNG→JPEG 640x480", [png(color=(i % 256, 80, 160)) for i in range(200)], "jpeg", "convert"),
        ("OCR page 1200x900", pages, "txt", "ocr"),
    ]
    print("throughput (jobs/s; higher is better)")
    for name, documents, to, task in batches:
        run_batch(local, documents[:4], to, task)  # warm both: imports, Tesseract data, worker start
        run_batch(cluster, documents[:4], to, task)
        local_s = run_batch(local, documents, to, task)
        dask_s = run_batch(cluster, documents, to, task)
        n = len(documents)
        print(f"  {name:<20} x{n:<4} local pool {n / local_s:8.1f}/s   "
              f"LocalCluster 2 workers {n / dask_s:8.1f}/s   dask/local {local_s / dask_s:5.2f}")


def wakeup_lateness(stop: threading.Event, samples_out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        time.sleep(0.01)
        samples_out.append(time.perf_counter() - start - 0.01)


def describe(lateness: list[float]) -> str:
    ms = sorted(x * 1000 for x in lateness)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"median {statistics.median(ms):6.2f} ms  p99 {p99:6.2f} ms  max {ms[-1]:7.2f} ms  (n={len(ms)})"


def _noop(i):
    return i


def bare_dask(client, n: int) -> float:
    """Seconds for ``n`` no-op tasks through the same cluster: the floor Dask itself sets."""
    start = time.perf_counter()
    futures = client.map(_noop, range(n), key=[f"noop-{i}-{time.monotonic_ns()}" for i in range(n)], pure=False)
    client.gather(futures)
    elapsed = time.perf_counter() - start
    del futures
    return elapsed


def many_jobs(cluster, n: int, with_view: bool = True) -> None:
    idle: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=wakeup_lateness, args=(stop, idle))
    probe.start()
    time.sleep(3)
    stop.set()
    probe.join()

    documents = [png((16, 16), (i % 256, 0, 0)) for i in range(n)]
    busy: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=wakeup_lateness, args=(stop, busy))
    probe.start()
    start = time.perf_counter()
    group = dc.convert_many(documents, "jpeg", provider=cluster, name=f"{n} cheap jobs")
    submitted = time.perf_counter() - start
    view = None
    try:
        from docconvert_nb.notebook.widgets import JobGroupWidget

        view = JobGroupWidget(group) if with_view else None
    except Exception as exc:  # the view is the notebook layer's; measure the rest without it
        print(f"  (no group widget: {exc})")
    summaries = []
    while not group.done:
        t = time.perf_counter()
        group.summary()
        summaries.append(time.perf_counter() - t)
        time.sleep(0.5)
    done = time.perf_counter() - start
    stop.set()
    probe.join()
    completed = len(group.completed)
    floor = bare_dask(cluster.client, n)
    print(f"{n} cheap jobs (PNG 16x16 → JPEG), {'with' if view is not None else 'without'} a live group view")
    print(f"  bare Dask, {n} no-op tasks through Client.map: {floor:6.2f} s ({n / floor:.0f} tasks/s)")
    print(f"  convert_many returned after {submitted:6.2f} s; all final after {done:6.2f} s "
          f"({n / done:.0f} jobs/s); {completed} completed")
    if view is not None:
        print(f"  group view redraws: {view.redraws} for {n} jobs ({n * 3} job changes)")
    print(f"  group.summary(): median {statistics.median(summaries) * 1000:.1f} ms over {len(summaries)} calls")
    print(f"  main-thread wake-up lateness idle:    {describe(idle)}")
    print(f"  main-thread wake-up lateness running: {describe(busy)}")


class ExternalCluster:
    """A scheduler and 2 workers as separate processes on loopback, as on a real cluster
    (a LocalCluster runs its scheduler inside the notebook's process, sharing its GIL)."""

    def __init__(self, work: Path):
        import json
        import subprocess

        work.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = work / "scheduler.json"
        base = [sys.executable, "-m"]
        env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
        self.procs = [subprocess.Popen(
            base + ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard", "--scheduler-file", str(self.scheduler_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        deadline = time.monotonic() + 60
        while not self.scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        for i in range(2):
            self.procs.append(subprocess.Popen(
                base + ["distributed.cli.dask_worker", self.address, "--nworkers", "1", "--nthreads", "1",
                        "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(work / f"w{i}")],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except Exception:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs in the many-jobs run (default 10000)")
    parser.add_argument("--scratch", metavar="DIR", default=None,
                        help="where both the engine's store and the workers' local directory live "
                             "(default: the system temp folder; e.g. /dev/shm to leave the disk out)")
    parser.add_argument("--external-only", action="store_true",
                        help="only the many-jobs run on a scheduler and workers in processes of their own")
    parser.add_argument("--no-view", action="store_true", help="follow the many jobs without a live group view")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from docconvert_nb.providers.dask import DaskProvider

    with tempfile.TemporaryDirectory(prefix="docconvert-bench-dask-", dir=args.scratch) as tmp:
        work = Path(tmp)
        print(f"scratch: {work} (engine store and worker local directories)")
        local = EmbeddedProvider(Engine(work / "store", workers=2))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, local_directory=str(work / "workers")) as lc, \
                Client(lc, set_as_default=False) as client:
            cluster = DaskProvider(client)
            if not args.external_only:
                throughput(local, cluster, work)
                print("-- LocalCluster (scheduler inside this process)")
                many_jobs(cluster, args.jobs, not args.no_view)
            cluster.close()
        local.close()
        external = ExternalCluster(work / "external")
        try:
            with Client(external.address, set_as_default=False) as client:
                client.wait_for_workers(2, timeout=120)
                cluster = DaskProvider(client)
                print("-- scheduler and 2 workers in processes of their own (as on a real cluster)")
                many_jobs(cluster, args.jobs, not args.no_view)
                cluster.close()
        finally:
            external.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tracking 10 to 10,000 jobs: submit overhead, memory and idle CPU per job, and notebook cell latency while they run.

    .venv/bin/python benchmarks/bench_tracker.py [--quick] [--sizes 10,100,1000,10000]

Jobs go to :class:`docconvert_nb.testing.ScriptedProvider` (a real provider
that pushes its reports the way the embedded engine does, doing no work),
so what is measured is the cost of tracking itself. Each size runs in a
fresh process:

* **submit overhead**: ``dc.convert_many([png] * N, provider=scripted)``
  until every job has its provider id, per job; the provider's own
  ``submit`` called N times in a loop (the floor) is given alongside.
* **memory per job**: RSS growth over those N jobs; **idle CPU**: CPU time
  of the whole process over 3 s while the N jobs wait.
  Peer for these three: the hand-written way, ``submit`` then a thread per
  job polling ``status`` every second (run up to 1,000 jobs: 10,000 OS
  threads is not something to do on a shared machine).
* **completion**: the N jobs reported done one after another, per job
  (outputs saved, waits released).
* **embedded engine**: N cheap real jobs (an 8×8 PNG → BMP) end to end,
  against the same conversion done with Pillow in a loop.
* **cell latency** in a real kernel (jupyter_client round trip of
  ``1 + 1``): no jobs (peer) against N jobs shown live in a group widget
  while a thread in the kernel finishes them over 5 s; median and max.
"""

from __future__ import annotations

import gc
import io
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import Report, median, parse_args, python_env, rss_bytes, tiny_png  # noqa: E402

QUICK_RUNS = [["--quick"]]
TIMEOUT = 900
SIZES = [10, 100, 1000, 10000]
THREAD_PEER_MAX = 1000
IDLE_SECONDS = 3.0
ENGINE_MAX = 1000


# -- one size, in its own process -------------------------------------------------------------

def measure_ours(n: int, idle: float) -> dict:
    import docconvert_nb as dc
    from docconvert_nb.testing import ScriptedProvider

    png = tiny_png()
    warm = ScriptedProvider()
    warm_group = dc.convert_many([png] * 10, to="pdf", provider=warm)
    for job in warm_group:
        warm.complete(job)
    warm_group.wait(timeout=60)
    gc.collect()
    scripted = ScriptedProvider()
    before = rss_bytes()
    start = time.perf_counter()
    group = dc.convert_many([png] * n, to="pdf", provider=scripted)
    for job in group:
        scripted.wait_submitted(job, timeout=600)
    submit = (time.perf_counter() - start) / n
    gc.collect()
    memory = (rss_bytes() - before) / n
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    time.sleep(idle)
    idle_cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    start = time.perf_counter()
    for job in group:
        scripted.complete(job)
    group.wait(timeout=600, raise_on_error=True)
    complete = (time.perf_counter() - start) / n
    return {"submit_s": submit, "memory_b": memory, "idle_cpu": idle_cpu, "complete_s": complete}


def measure_floor(n: int) -> dict:
    """The provider's own submit, N times: no job objects, no tracker."""
    import docconvert_nb as dc  # noqa: F401 (same imports loaded as for ours)
    from docconvert_nb.documents import ConversionRequest, Source
    from docconvert_nb.testing import ScriptedProvider

    png = tiny_png()
    scripted = ScriptedProvider()
    start = time.perf_counter()
    for index in range(n):
        scripted.submit(ConversionRequest(Source(name=f"{index}.png", format="png", data=png), "pdf", "convert", {}))
    return {"submit_s": (time.perf_counter() - start) / n}


def measure_threads(n: int, idle: float) -> dict:
    """The hand-written tracker: one thread per job, polling status every second until told to stop."""
    import docconvert_nb as dc  # noqa: F401
    from docconvert_nb.documents import ConversionRequest, Source
    from docconvert_nb.testing import ScriptedProvider

    png = tiny_png()
    scripted = ScriptedProvider()
    stop = threading.Event()

    def follow(job_id: str) -> None:
        while not stop.is_set():
            scripted.status(job_id)
            stop.wait(1.0)

    gc.collect()
    before = rss_bytes()
    threads = []
    start = time.perf_counter()
    for index in range(n):
        job_id = scripted.submit(ConversionRequest(Source(name=f"{index}.png", format="png", data=png), "pdf",
                                                   "convert", {}))
        thread = threading.Thread(target=follow, args=(job_id,), daemon=True)
        thread.start()
        threads.append(thread)
    submit = (time.perf_counter() - start) / n
    time.sleep(1.0)  # every thread has started and polled
    gc.collect()
    memory = (rss_bytes() - before) / n
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    time.sleep(idle)
    idle_cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    stop.set()
    for thread in threads:
        thread.join()
    return {"submit_s": submit, "memory_b": memory, "idle_cpu": idle_cpu}


def measure_engine(n: int) -> dict:
    """N real 8×8 PNG → BMP jobs on the embedded engine, against Pillow in a loop."""
    from PIL import Image

    import docconvert_nb as dc
    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider

    png = tiny_png()
    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
        provider = EmbeddedProvider(Engine(Path(tmp) / "store"))
        dc.convert_many([png] * 5, to="bmp", provider=provider).wait(timeout=60, raise_on_error=True)
        start = time.perf_counter()
        group = dc.convert_many([png] * n, to="bmp", provider=provider)
        group.wait(timeout=900, raise_on_error=True)
        ours = (time.perf_counter() - start) / n
        provider.close()
        start = time.perf_counter()
        for index in range(n):
            out = io.BytesIO()
            Image.open(io.BytesIO(png)).save(out, "BMP")
            (Path(tmp) / f"{index}.bmp").write_bytes(out.getvalue())
        pillow = (time.perf_counter() - start) / n
    return {"ours_s": ours, "pillow_s": pillow}


# -- cell latency in a kernel -------------------------------------------------------------------------

KERNEL_SETUP = '''
import io, threading, time
import docconvert_nb as dc
from docconvert_nb.testing import ScriptedProvider
from PIL import Image
from IPython.display import display
_buf = io.BytesIO(); Image.new("L", (8, 8), 200).save(_buf, "PNG"); PNG = _buf.getvalue()

def start_jobs(n, over):
    """N scripted jobs shown in a live group view, finished by a thread at an even pace over `over` s."""
    provider = ScriptedProvider()
    group = dc.convert_many([PNG] * n, to="pdf", provider=provider, name=f"{n} jobs")
    display(group)
    def finish():
        start = time.monotonic()
        for i, job in enumerate(group):
            provider.complete(job)
            delay = start + over * (i + 1) / n - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    threading.Thread(target=finish, daemon=True).start()
    return group
'''


def cell_latencies(kernel, seconds: float, at_least: int = 20) -> list[float]:
    latencies: list[float] = []
    end = time.monotonic() + seconds
    while len(latencies) < at_least or time.monotonic() < end:
        latencies.append(kernel.execute("1 + 1")["seconds"])
        time.sleep(0.05)
    return latencies


def kernel_latencies(sizes: list[int], over: float) -> dict:
    from tests._jupyterlab import Kernel

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-kernel-") as tmp:
        kernel = Kernel(Path(tmp) / "kernel")
        try:
            assert kernel.execute(KERNEL_SETUP)["status"] == "ok"
            cell_latencies(kernel, 0)  # warm up
            for n in sizes:
                baseline = cell_latencies(kernel, 0)
                submitted = kernel.execute(f"group = start_jobs({n}, {over})", timeout=600)
                if submitted["status"] != "ok":
                    raise RuntimeError(f"start_jobs({n}) failed: {submitted.get('evalue')}")
                loaded = cell_latencies(kernel, over)
                done = kernel.execute("group.wait(timeout=600); print(group.summary())", timeout=900)
                results[str(n)] = {"baseline": baseline, "loaded": loaded, "submit_cell_s": submitted["seconds"],
                                   "final": done["stdout"].strip()}
                kernel.execute("del group; import gc; gc.collect()")
        finally:
            kernel.shutdown()
    return results


# -- the parent ---------------------------------------------------------------------------------------

def child(mode: str, n: int, idle: float) -> dict:
    command = [sys.executable, __file__, "--child", mode, str(n), str(idle)]
    done = subprocess.run(command, env=python_env(), capture_output=True, text=True, timeout=900, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} {n}: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, lambda p: (
        p.add_argument("--sizes", help="comma-separated job counts (default 10,100,1000,10000; quick 10,100)"),
        p.add_argument("--child", nargs=3, help=__import__("argparse").SUPPRESS),
    ))
    if args.child:
        mode, n, idle = args.child[0], int(args.child[1]), float(args.child[2])
        result = {"ours": lambda: measure_ours(n, idle), "floor": lambda: measure_floor(n),
                  "threads": lambda: measure_threads(n, idle), "engine": lambda: measure_engine(n)}[mode]()
        print(json.dumps(result))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10] if args.quick else SIZES)
    idle = 0.3 if args.quick else IDLE_SECONDS
    over = 1.0 if args.quick else 5.0
    report = Report("tracker", quick=args.quick)
    measured: dict[int, dict] = {}
    for n in sizes:
        # alternate which side goes first from one size to the next
        modes = ["floor", "ours", "threads"] if n <= THREAD_PEER_MAX else ["floor", "ours"]
        if sizes.index(n) % 2:
            modes.reverse()
        measured[n] = {mode: child(mode, n, idle) for mode in modes}
        if n <= ENGINE_MAX:
            measured[n]["engine"] = child("engine", n, idle)
        print(f"  {n:>6} jobs: {json.dumps(measured[n])}", flush=True)
    for n in sizes:
        m = measured[n]
        threads = m.get("threads", {})
        report.row(f"{n:,} jobs: submit overhead per job", "thread per job, 1 s poll", threads.get("submit_s"),
                   m["ours"]["submit_s"], unit="s",
                   note=f"provider.submit alone: {m['floor']['submit_s'] * 1e6:.0f} µs")
        report.row(f"{n:,} jobs: memory per job", "thread per job, 1 s poll", threads.get("memory_b"),
                   m["ours"]["memory_b"], unit="B")
        report.row(f"{n:,} jobs: idle CPU (share of one core)", "thread per job, 1 s poll", threads.get("idle_cpu"),
                   m["ours"]["idle_cpu"], unit="cores",
                   note="" if threads else f"peer not run above {THREAD_PEER_MAX:,} jobs")
    for n in sizes:
        if "engine" in measured[n]:
            e = measured[n]["engine"]
            report.row(f"{n:,} cheap engine jobs (8×8 PNG → BMP): seconds per job", "Pillow in a loop",
                       e["pillow_s"], e["ours_s"], unit="s")
    for n in sizes:
        report.row(f"{n:,} jobs: completion reported → applied, per job", "—", None, measured[n]["ours"]["complete_s"],
                   unit="s")
    try:
        latencies = kernel_latencies(sizes, over)
    except Exception as exc:  # no kernel on this machine: say so, keep the other figures
        report.note(f"cell latency not measured: {exc}")
        latencies = {}
    for n, data in latencies.items():
        report.row(f"{int(n):,} jobs finishing over {over:g} s + live widget: cell latency, median",
                   "no jobs", median(data["baseline"]), median(data["loaded"]), unit="s")
        report.row(f"{int(n):,} jobs finishing over {over:g} s + live widget: cell latency, max",
                   "no jobs", max(data["baseline"]), max(data["loaded"]), unit="s")
    report.note("the ScriptedProvider pushes its reports (like the embedded engine), so ours never polls it; "
                "the peer threads poll every second")
    report.details = {"sizes": sizes, "measured": {str(k): v for k, v in measured.items()},
                      "latencies": {n: {"baseline_median": statistics.median(d["baseline"]),
                                        "loaded": d["loaded"], "final": d["final"],
                                        "submit_cell_s": d["submit_cell_s"]} for n, d in latencies.items()}}
    report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())

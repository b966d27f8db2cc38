"""Notebook responsiveness with many jobs, as ratios against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_tracker.py

1. Cell latency in a real kernel (jupyter_client round trip of ``1 + 1``):
   no jobs (baseline) vs 1,000 jobs in flight, polled every 0.2 s by the
   tracker and shown live in a group widget, sampled over 5 s while they
   all complete.
2. Redraws: job changes that reach a group view (what an unthrottled view
   would send, baseline) vs the redraws the throttled widget actually makes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._jupyterlab import SLOW_PROVIDER, Kernel  # noqa: E402

JOBS = 1000
SAMPLES = 20


def cell_latencies(kernel: Kernel, seconds: float = 0.0) -> list[float]:
    """At least SAMPLES round trips of a trivial cell, spread over ``seconds`` of wall time."""
    latencies: list[float] = []
    end = time.monotonic() + seconds
    while len(latencies) < SAMPLES or time.monotonic() < end:
        latencies.append(kernel.execute("1 + 1")["seconds"])
        time.sleep(0.05)
    return latencies


def describe(latencies: list[float]) -> str:
    return (f"median {statistics.median(latencies) * 1000:6.1f} ms   "
            f"max {max(latencies) * 1000:6.1f} ms")


def bench_cell_latency(work: Path) -> None:
    kernel = Kernel(work / "kernel")
    try:
        kernel.execute("import docconvert_nb as dc\n" + SLOW_PROVIDER)
        cell_latencies(kernel)  # warm up
        baseline = cell_latencies(kernel)
        submitted = kernel.execute(
            f"many = dc.convert_many([PNG] * {JOBS}, to='pdf', provider=SlowProvider(2.0), name='many')\nmany")
        assert submitted["status"] == "ok", submitted
        # measured while all 1,000 are polled, through the wave of completions, until the last is done
        loaded = cell_latencies(kernel, seconds=5.0)
        state = kernel.execute("print(many.summary())")["stdout"].strip()
        kernel.execute("many.wait(timeout=300)")
    finally:
        kernel.shutdown()
    print(f"trivial cell, no jobs (baseline)             {describe(baseline)}")
    print(f"trivial cell, {JOBS} jobs in flight + widget   {describe(loaded)}   (over 5 s; then {state})")
    ratio = statistics.median(loaded) / statistics.median(baseline)
    print(f"{'':45}slowdown x{ratio:.2f} (median), worst cell {max(loaded):.3f} s")


def bench_redraws() -> None:
    from docconvert_nb.jobs import JobGroup
    from docconvert_nb.notebook.widgets import JobGroupWidget
    from tests.test_notebook_widgets import ScriptedProvider, complete, scripted_job

    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, job_id=f"j{i}") for i in range(JOBS)])
    changes = 0

    def count(_group, _job):
        nonlocal changes
        changes += 1

    group.on_change(count)
    widget = JobGroupWidget(group)
    start = time.perf_counter()
    for job in group:
        complete(job)
    seconds = time.perf_counter() - start
    deadline = time.monotonic() + 5
    while widget.bar.value != JOBS and time.monotonic() < deadline:
        time.sleep(0.05)
    redraws = widget.redraws
    print(f"group view updates for {JOBS} jobs finishing    baseline {changes:6d} changes   "
          f"docconvert_nb {redraws:4d} redraws   ratio {changes / redraws:6.0f}x   "
          f"({seconds:.2f} s of changes; final state shown: {widget.bar.value == JOBS})")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        bench_cell_latency(Path(tmp))
    bench_redraws()
    return 0


if __name__ == "__main__":
    sys.exit(main())

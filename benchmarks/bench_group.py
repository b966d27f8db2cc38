"""A group of 10,000 jobs under a live view: what one redraw costs, and how fast jobs still finish.

    .venv/bin/python benchmarks/bench_group.py [--quick] [--jobs 10000]

Jobs go to :class:`docconvert_nb.testing.ScriptedProvider` (a real provider
that pushes its reports the way the embedded engine and Dask do, doing no
work), so what is measured is the cost of following the group. The group is
put in a mixed state first (a quarter completed, some failed, some
processing with a progress, the rest queued), then:

* ``group.counts()`` of a group a view follows; peer: counting by scanning
  every job, ``Counter(job.status.value for job in group)`` (what the group
  did before it kept a tally).
* ``JobGroupWidget.refresh()`` (one redraw: counts, bar, header, one page of
  20 rows) and the static card ``html.group_html(group)``; peer: the same
  call for a group of 20 jobs in the same mix. A ratio near 1 means the
  redraw no longer grows with the number of jobs.
* **finish rate**: every job reported completed by one thread, as fast as it
  can, with a ``JobGroupWidget`` open (ours) against no view at all (peer),
  until ``group.wait()`` returns; and the main thread's **wake-up delay**
  meanwhile (a 5 ms sleep loop: how late each wake-up is, p99), which is
  what a kernel's main thread feels while a view redraws.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import Report, interleave, median, parse_args, percentile, tiny_png  # noqa: E402

QUICK_RUNS = [["--quick"]]
TIMEOUT = 900
JOBS = 10_000
PAGE = 20
TICK = 0.005


def submitted_group(n: int):
    """``n`` scripted jobs, every one submitted (has its provider id)."""
    import docconvert_nb as dc
    from docconvert_nb.testing import ScriptedProvider

    scripted = ScriptedProvider()
    group = dc.convert_many([tiny_png()] * n, to="pdf", provider=scripted)
    for job in group:
        scripted.wait_submitted(job, timeout=600)
    return scripted, group


def settle(group, predicate, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(group):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the group never reached the state wanted: {group!r}")
        time.sleep(0.01)


def mixed_group(n: int):
    """A group a quarter completed, a tenth failed, a third processing (with progress), the rest queued."""
    from docconvert_nb.status import JobStatus

    scripted, group = submitted_group(n)
    for index, job in enumerate(group):
        share = index % 60
        if share < 15:
            scripted.complete(job)
        elif share < 21:
            scripted.fail(job)
        elif share < 41:
            scripted.start(job, progress=(index % 10) / 10)
    completed = sum(1 for index in range(n) if index % 60 < 15)
    failed = sum(1 for index in range(n) if 15 <= index % 60 < 21)
    settle(group, lambda g: sum(j.status == JobStatus.COMPLETED for j in g) == completed
           and sum(j.status == JobStatus.FAILED for j in g) == failed)
    return scripted, group


def quiet(timeout: float = 120.0) -> None:
    """Wait until this process is idle (the journal has written the rows of every job so far),
    so its background threads do not take the GIL from what is timed next."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = time.process_time()
        time.sleep(0.25)
        if time.process_time() - before < 0.025:
            return


def time_calls(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def redraw_costs(n: int, repeat: int) -> dict[str, dict[str, list[float]]]:
    from docconvert_nb.notebook import html
    from docconvert_nb.notebook.widgets import JobGroupWidget

    _, big = mixed_group(n)
    _, small = mixed_group(PAGE)
    views = {"big": JobGroupWidget(big), "small": JobGroupWidget(small)}
    quiet()
    groups = {"big": big, "small": small}
    samples: dict[str, dict[str, list[float]]] = {}
    for name in ("big", "small"):
        group, view = groups[name], views[name]
        samples[name] = {
            "counts": time_calls(group.counts, repeat),
            "scan": time_calls(lambda g=group: Counter(job.status.value for job in g), repeat),
            "refresh": time_calls(view.refresh, repeat),
            "card": time_calls(lambda g=group: html.group_html(g), repeat),
        }
    for view in views.values():
        view.close()
    return samples


def finish_run(n: int, with_view: bool) -> dict[str, float]:
    """Finish ``n`` submitted jobs from one thread; the rate and the main thread's wake-up delays."""
    from docconvert_nb.notebook.widgets import JobGroupWidget

    scripted, group = submitted_group(n)
    view = JobGroupWidget(group) if with_view else None
    gc.collect()
    quiet()
    lateness: list[float] = []

    def finish() -> None:
        for job in group:
            scripted.complete(job)

    start = time.perf_counter()
    worker = threading.Thread(target=finish, name="bench-finisher", daemon=True)
    worker.start()
    while not group.finished_all:
        before = time.perf_counter()
        time.sleep(TICK)
        lateness.append(time.perf_counter() - before - TICK)
    group.wait(timeout=600)
    seconds = time.perf_counter() - start
    worker.join()
    redraws = view.redraws if view else 0
    if view is not None:
        view.close()
    return {"rate": n / seconds, "p99": percentile(lateness, 0.99), "median": median(lateness), "redraws": redraws}


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv,
                      extra=lambda p: p.add_argument("--jobs", type=int, default=None, help=f"jobs (default {JOBS})"))
    n = args.jobs or (300 if args.quick else JOBS)
    report = Report("group", quick=args.quick)
    repeat = 3 if args.quick else 15
    costs = redraw_costs(n, repeat)
    big, small = costs["big"], costs["small"]
    report.row(f"counts() of {n:,} jobs", "scan of every job", median(big["scan"]), median(big["counts"]), unit="s")
    report.row(f"refresh() of {n:,} jobs", f"refresh() of {PAGE} jobs", median(small["refresh"]),
               median(big["refresh"]), unit="s")
    report.row(f"static card of {n:,} jobs", f"static card of {PAGE} jobs", median(small["card"]),
               median(big["card"]), unit="s")

    runs: dict[str, list[dict]] = {"no view": [], "widget open": []}
    candidates = {name: (lambda name=name: runs[name].append(finish_run(n, name == "widget open")))
                  for name in runs}
    interleave(candidates, rounds=1 if args.quick else 4)
    rate = {name: median([r["rate"] for r in results]) for name, results in runs.items()}
    p99 = {name: median([r["p99"] for r in results]) for name, results in runs.items()}
    report.row(f"finish rate, {n:,} jobs", "no view open", rate["no view"], rate["widget open"],
               unit="jobs/s", higher_is_better=True)
    report.row("main thread wake-up delay p99", "no view open", p99["no view"], p99["widget open"], unit="s")
    report.note(f"redraws during a finish run with the widget open: "
                f"{median([r['redraws'] for r in runs['widget open']]):.0f}")
    report.details = {"redraw_costs": costs, "finish_runs": runs}
    report.finish()


if __name__ == "__main__":
    main()

"""What the job journal costs a job, as a ratio against the journal turned off in the same run.

    .venv/bin/python benchmarks/bench_journal.py [jobs]

Submits ``jobs`` jobs to a scripted provider (no conversion work at all, so
the journal's share is as large as it can be), reports each one processing
then completed, and waits for all of them: first with the journal off
(baseline), then on. Also reports how long the background writer took to
have everything in the file after the last job finished.
"""

from __future__ import annotations

import sys
import tempfile
import time

import docconvert_nb as dc
from docconvert_nb import journaling
from docconvert_nb.testing import ScriptedProvider, pdf_output


def run(jobs: int) -> float:
    scripted = ScriptedProvider()
    started = time.perf_counter()
    submitted = [dc.convert(b"%PDF-1.4 x", to="png", provider=scripted, name=f"{n}.pdf") for n in range(jobs)]
    for job in submitted:
        scripted.start(job, progress=0.5)
        scripted.complete(job, pdf_output(f"{job.number}.png"))
    dc.JobGroup(submitted).wait(120)
    return time.perf_counter() - started


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as home:
        journaling.set_journal(False)
        run(50)  # warm up imports and threads
        baseline = run(jobs)
        journaling.set_journal(True, path=f"{home}/journal.sqlite3")
        with_journal = run(jobs)
        started = time.perf_counter()
        journaling.flush(60)
        drain = time.perf_counter() - started
        rows = len(journaling.current().rows())
    print(f"{jobs} jobs: journal off {baseline:.2f} s, on {with_journal:.2f} s "
          f"(x{with_journal / baseline:.2f}); writer caught up {drain * 1000:.0f} ms later; {rows} rows")


if __name__ == "__main__":
    main()

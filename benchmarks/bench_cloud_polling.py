"""How the cloud adapters follow jobs, against the services' own sample loops (poll every 1 s).

    .venv/bin/python benchmarks/bench_cloud_polling.py            # jobs of 0.2, 1, 5, 20 and 60 s
    .venv/bin/python benchmarks/bench_cloud_polling.py --quick    # 0.2, 1 and 5 s only

For each of the four simulated services and each job duration, it runs
``JOBS`` jobs through a Job (the tracker, with the adapter's defaults: back-off
polls, ConvertAPI's webhook on loopback) and as many through the vendors'
sample loop (``while not done: sleep(1); get status``), and prints per job:

* status requests: GETs naming the job that reached the simulator;
* finish-to-known: seconds from the simulator finishing the job to the
  client knowing it.

Last, against a ConvertAPI simulator that holds every poll after a job's
first for 5 s (as the service does), it counts the 503 "another poll of this
job is open" answers: the adapter (one poll per job at a time, the
documented 5 s apart) against two naive 1 s loops on the same job.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

import docconvert_nb as dc  # noqa: E402
from docconvert_nb.documents import ConversionRequest, Source  # noqa: E402
from tests.test_fault_storm import _fast_engine, _png  # noqa: E402

SERVICES = ("aspose", "onlineconvert", "convertapi", "groupdocs")
JOBS = 3


def _request(name: str, index: int) -> ConversionRequest:
    source = Source(name=f"b{index}.png", format="png", data=_png(index))
    if name == "aspose":
        return ConversionRequest(source, "txt", "ocr", {"lang": "eng"})
    return ConversionRequest(source, "pdf", "convert", {})


def _finished_at(name: str, sim, job_id: str) -> float:
    """When the simulator finished the job, on its clock (real time here)."""
    record = sim.jobs[job_id]
    begun = {"aspose": "submitted_at", "onlineconvert": "started_at"}.get(name, "created_at")
    return getattr(record, begun) + sim.durations["queued"] + sim.durations["processing"]


def _status_requests(sim, job_id: str) -> int:
    return sum(1 for r in list(sim.requests_seen) if r.method == "GET" and (job_id in r.path or job_id in r.query))


def _through_jobs(name: str, sim, provider) -> list[tuple[int, float]]:
    rows, lock = [], threading.Lock()

    def follow(job):
        job.wait(timeout=600)
        known = time.time()
        with lock:
            rows.append((_status_requests(sim, job.id), known - _finished_at(name, sim, job.id)))

    jobs = []
    for i in range(JOBS):
        request = _request(name, i)
        if request.task == "ocr":
            jobs.append(dc.ocr(request.source.data, provider=provider, name=request.source.name))
        else:
            jobs.append(dc.convert(request.source.data, "pdf", provider=provider, name=request.source.name))
    threads = [threading.Thread(target=follow, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rows


def _sample_loop(name: str, sim, provider) -> list[tuple[int, float]]:
    rows, lock = [], threading.Lock()

    def loop(index):
        job_id = provider.submit(_request(name, index))
        while True:
            time.sleep(1.0)
            snapshot = provider.status(job_id)
            if snapshot.status is not None and snapshot.status.is_terminal:
                break
        known = time.time()
        with lock:
            rows.append((_status_requests(sim, job_id), known - _finished_at(name, sim, job_id)))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(JOBS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rows


def measure(name: str, duration: float, work: Path) -> dict[str, list[tuple[int, float]]]:
    with dc.simulate(name, engine=_fast_engine(work / f"{name}-{duration}"), durations={"processing": duration}) as sim:
        adapter = dc.providers.provider_class(name)(**sim.credentials, base_url=sim.provider_base_url)
        options = {"poll_interval": 1.0, **({"webhook": False} if name == "convertapi" else {})}
        loop_client = dc.providers.provider_class(name)(**sim.credentials, base_url=sim.provider_base_url, **options)
        try:
            return {"jobs": _through_jobs(name, sim, adapter), "1 s loop": _sample_loop(name, sim, loop_client)}
        finally:
            adapter.close()
            loop_client.close()


def concurrent_poll_503s(work: Path) -> tuple[int, int]:
    """(503s the adapter received, 503s two naive 1 s loops on one job received)."""
    with dc.simulate("convertapi", engine=_fast_engine(work / "faithful"), faithful=True,
                     durations={"processing": 12.0}) as sim:
        adapter = dc.providers.ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, webhook=False)
        job = dc.convert(_png(1), "pdf", provider=adapter, name="held.png")
        job.wait(timeout=120)
        ours = sum(1 for r in sim.requests_seen if r.path == f"/job/{job.id}" and r.status == 503)
        adapter.close()

        naive = dc.providers.ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, webhook=False)
        job_id = naive.submit(_request("convertapi", 2))
        answers: list[int] = []

        def poll():
            for _ in range(12):
                answers.append(requests.get(f"{sim.base_url}/job/{job_id}", timeout=30).status_code)
                if answers[-1] == 200:
                    return
                time.sleep(1.0)

        threads = [threading.Thread(target=poll) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        naive.close()
        return ours, answers.count(503)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="jobs of 0.2, 1 and 5 s only")
    args = parser.parse_args()
    durations = (0.2, 1.0, 5.0) if args.quick else (0.2, 1.0, 5.0, 20.0, 60.0)
    results: dict[tuple[str, float], dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)

        def run(name, duration):
            results[(name, duration)] = measure(name, duration, work)

        threads = [threading.Thread(target=run, args=(n, d)) for n in SERVICES for d in durations]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        held_ours, held_naive = concurrent_poll_503s(work)

    print(f"{'service':14} {'job':>6}  {'status requests/job':>24}  {'finish-to-known (s)':>26}")
    print(f"{'':14} {'':>6}  {'Job':>11} {'1 s loop':>12}  {'Job':>12} {'1 s loop':>13}")
    for name in SERVICES:
        for duration in durations:
            row = results[(name, duration)]
            ours, loop = row["jobs"], row["1 s loop"]
            print(f"{name:14} {duration:5.1f}s  {statistics.mean(r for r, _ in ours):11.1f} "
                  f"{statistics.mean(r for r, _ in loop):12.1f}  {statistics.mean(d for _, d in ours):12.2f} "
                  f"{statistics.mean(d for _, d in loop):13.2f}")
    print(f"\nConvertAPI with polls held 5 s: 503 'another poll is open' received by the adapter: {held_ours}; "
          f"by two 1 s loops on one job: {held_naive}")


if __name__ == "__main__":
    main()

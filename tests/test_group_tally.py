"""A followed group's aggregates are kept from its jobs' changes: they must match a fresh count exactly."""

import random
import sys
import threading
from collections import Counter

import pytest

from docconvert_nb.documents import ConversionRequest, Source
from docconvert_nb.jobs import Job, JobGroup
from docconvert_nb.notebook import html
from docconvert_nb.providers.base import JobSnapshot
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes

S = JobStatus
# Paths a job may take; the last state of each is where it ends.
PATHS = [
    [S.QUEUED, S.PROCESSING, S.COMPLETED],
    [S.QUEUED, S.PROCESSING, S.COMPLETED, S.DELETED],
    [S.QUEUED, S.COMPLETED, S.EXPIRED],
    [S.PROCESSING, S.FAILED],
    [S.QUEUED, S.CANCELED],
    [S.QUEUED, S.PROCESSING],  # still running at the end
    [S.FAILED, S.DELETED],
]


def untracked_jobs(n: int, provider=None) -> list[Job]:
    """Jobs no tracker moves: the test moves them itself, from its own threads."""
    provider = provider or ScriptedProvider()
    request = ConversionRequest(Source.from_input(image_bytes()), "pdf")
    jobs = [Job(request, provider) for _ in range(n)]
    for number, job in enumerate(jobs):
        job._set_id(f"job-{number}")
    return jobs


def report(job: Job, status: JobStatus, progress: float | None = None) -> None:
    outputs = [pdf_output()] if status is S.COMPLETED else None
    job._apply(JobSnapshot(status=status, progress=progress, outputs=outputs,
                           errors=["broken"] if status is S.FAILED else []))


def fresh_facts(group: JobGroup) -> dict:
    """What the group did before it kept a tally: a scan of every job."""
    jobs = group.jobs
    running = [job for job in jobs if not job.status.is_terminal]
    return {
        "counts": Counter(job.status.value for job in jobs),
        "finished": sum(job.status.is_terminal for job in jobs),
        "completed": [job for job in jobs if job.status is S.COMPLETED],
        "failed": [job for job in jobs if job.status in (S.FAILED, S.CANCELED)],
        "final_elapsed": max((job.elapsed for job in jobs if job.finished_at), default=0.0),
        "progress": None if any(job.progress is None for job in running)
        else sum(min(max(job.progress, 0.0), 1.0) for job in running),
        "cancelable": sum(1 for job in running if job.id and job.provider.can_cancel),
    }


def assert_exact(group: JobGroup) -> None:
    expected = fresh_facts(group)
    assert group.counts() == expected["counts"]
    assert group.finished == expected["finished"]
    assert group.done == (expected["finished"] == len(group))
    assert group.completed == expected["completed"]
    assert group.failed == expected["failed"]
    facts = group._summary_facts()
    assert facts["cancelable"] == expected["cancelable"]
    if expected["progress"] is None:
        assert facts["running_progress"] is None
    else:
        assert facts["running_progress"] == pytest.approx(expected["progress"], abs=1e-9)
    if expected["finished"] == len(group):
        assert group.elapsed == pytest.approx(expected["final_elapsed"], abs=1e-9)
    else:
        assert group.elapsed >= expected["final_elapsed"]
    assert group._tally is not None  # followed: the answers came from the tally, not from a scan
    once = JobGroup(group.jobs)._summary_facts(failures=5)  # nobody follows this one: counted in one pass
    followed = group._summary_facts(failures=5)
    assert once.pop("elapsed") == pytest.approx(followed.pop("elapsed"), abs=0.5)
    assert once.pop("running_progress") == pytest.approx(followed.pop("running_progress"))
    assert once == followed and once["failures"] == expected["failed"][:5]


def move_concurrently(jobs: list[Job], threads: int, seed: int) -> None:
    """Each job takes a random path; many jobs move at once on ``threads`` threads, then
    every job's last report arrives again from another thread (a tracker and a waiting user)."""
    rng = random.Random(seed)
    paths = [[(job, status, rng.random()) for status in rng.choice(PATHS)] for job in jobs]

    def run(parts: list[list[list]]) -> None:
        barrier = threading.Barrier(len(parts))

        def worker(part: list[list]) -> None:
            barrier.wait()
            try:
                for path in part:  # a job's steps stay on one thread, so they arrive in order
                    for job, status, progress in path:
                        report(job, status, progress if status is S.PROCESSING else None)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=worker, args=(part,)) for part in parts]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        assert not errors, errors

    errors: list[BaseException] = []
    run([paths[i::threads] for i in range(threads)])
    run([[[path[-1]] for path in paths[(i + 1) % threads::threads]] for i in range(threads)])


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    """Switch threads every few bytecodes, so that races between trackers show up in a short test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_counts_stay_exact_under_concurrent_changes_from_several_threads():
    jobs = untracked_jobs(600)
    group = JobGroup(jobs)
    seen = []
    stop = group.on_change(lambda _group, job: seen.append(job))
    move_concurrently(jobs, threads=6, seed=21)
    assert seen
    assert_exact(group)
    counts = group.counts()
    assert counts["deleted"] and counts["expired"] and counts["completed"] and counts["processing"]
    stop()
    assert group._tally is None  # nobody listens: the group no longer follows its jobs


def test_a_listener_added_while_jobs_change_still_sees_exact_counts():
    jobs = untracked_jobs(600)
    group = JobGroup(jobs)
    mover = threading.Thread(target=move_concurrently, args=(jobs, 4, 7))
    mover.start()
    stops = [group.on_change(lambda _group, _job: None)]  # subscribes and builds while the jobs move
    mover.join()
    assert_exact(group)
    finals = [job for job in jobs if job.status in (S.COMPLETED, S.FAILED)]
    deleters = [threading.Thread(target=lambda part=finals[i::4]: [report(job, S.DELETED) for job in part])
                for i in range(4)]  # deleted after completed or failed, from several threads at once
    for thread in deleters:
        thread.start()
    for thread in deleters:
        thread.join()
    assert_exact(group)
    assert not group.counts()["completed"] and not group.counts()["failed"]
    stops.append(group.on_change(lambda _group, _job: None))
    for stop in stops:
        stop()


def test_a_group_without_listeners_counts_afresh_and_a_job_twice_counts_twice():
    jobs = untracked_jobs(3)
    report(jobs[0], S.COMPLETED)
    group = JobGroup([jobs[0], jobs[1], jobs[0], jobs[2]])
    assert group._tally is None
    assert group.counts() == Counter({"completed": 2, "queued": 2})
    stop = group.on_change(lambda _group, _job: None)
    report(jobs[0], S.DELETED)
    report(jobs[1], S.FAILED)
    assert group.counts() == Counter({"deleted": 2, "failed": 1, "queued": 1})
    assert group.failed == [jobs[1]] and group.finished == 3
    assert group.jobs_in([S.DELETED, "queued"]) == [jobs[0], jobs[0], jobs[2]]
    stop()


def test_a_group_is_finished_only_once_every_jobs_done_callbacks_ran():
    jobs = untracked_jobs(3)
    group = JobGroup(jobs)
    seen_inside = []
    jobs[2].add_done_callback(lambda _job: seen_inside.append(group.finished_all))
    group.add_done_callback(lambda _group: seen_inside.append(("group", group.finished_all)))
    for job in jobs[:2]:
        report(job, S.COMPLETED)
    assert not group.finished_all
    report(jobs[2], S.FAILED)
    # jobs[2]'s own callback ran before the group's counted it: the group was not finished yet
    assert seen_inside == [False, ("group", True)]
    assert group.finished_all
    assert JobGroup([]).finished_all


def test_the_group_card_draws_failures_and_positions_from_the_tally():
    jobs = untracked_jobs(30)
    group = JobGroup(jobs)
    stop = group.on_change(lambda _group, _job: None)
    for job in jobs[5:25]:
        report(job, S.FAILED)
    report(jobs[27], S.CANCELED)
    view, rows = html.group_view(group, jobs[20:22])
    assert [row["position"] for row in rows] == [21, 22]
    assert [f["position"] for f in view["failures"]] == list(range(6, 6 + len(view["failures"])))
    assert len(view["failures"]) + view["failures_more"] == 21
    assert view["counts"] == dict(group.counts()) and view["finished"] == 21
    stop()


def test_the_group_widget_pages_a_filter_from_the_tally():
    from docconvert_nb.notebook.widgets import JobGroupWidget

    jobs = untracked_jobs(70)
    group = JobGroup(jobs)
    widget = JobGroupWidget(group, page_size=20)
    done = [job for number, job in enumerate(jobs) if number % 3 == 0]  # 24 jobs: pages of 20 and 4
    for job in done:
        report(job, S.COMPLETED)
    report(jobs[3], S.DELETED)  # completed, then deleted: no longer under "completed"
    widget.show.value = "completed"
    widget.go_to(5)  # clamped to the last page
    assert widget.page == 1 and widget.page_label.value == "21–23 of 23"
    shown = [value for _label, value in widget.open_job.options if value >= 0]
    assert shown == [number for number in range(0, 70, 3) if number != 3][20:]
    widget.show.value = "gone"
    assert widget.page_label.value == "1–1 of 1"
    widget.close()

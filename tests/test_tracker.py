"""The tracker: polled providers get back-off and never overlapping checks."""

import threading
import time

import pytest

import docconvert_nb as dc
from docconvert_nb.documents import ConversionRequest, Source
from docconvert_nb.errors import AuthenticationError, ProviderError
from docconvert_nb.jobs import Job
from docconvert_nb.providers.base import Capability, JobSnapshot, Provider
from docconvert_nb.status import JobStatus
from docconvert_nb.tracker import Tracker

from .helpers import image_bytes


class ScriptedProvider(Provider):
    """Answers status checks from a script; records when and how often it was asked."""

    name = "scripted"
    label = "Scripted"

    def __init__(self, script, delay=0.01, check_time=0.0):
        self.script = list(script)
        self.delay = delay
        self.check_time = check_time
        self.calls: list[tuple[float, float]] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def capabilities(self):
        return [Capability("convert", "png", "pdf")]

    def submit(self, request):
        return "job-1"

    def status(self, job_id):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        start = time.monotonic()
        time.sleep(self.check_time)
        with self.lock:
            self.active -= 1
            self.calls.append((start, time.monotonic()))
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step

    def delete(self, job_id):
        pass

    def poll_delay(self, attempt):
        return self.delay


def _job(provider):
    return Job(ConversionRequest(Source.from_input(image_bytes()), "pdf"), provider)


def test_polls_until_terminal_then_stops():
    provider = ScriptedProvider(
        [JobSnapshot(JobStatus.QUEUED), JobSnapshot(JobStatus.PROCESSING), JobSnapshot(JobStatus.COMPLETED)]
    )
    tracker = Tracker()
    job = tracker.track(_job(provider))
    job.wait(timeout=10)
    time.sleep(0.1)
    assert len(provider.calls) == 3
    tracker.shutdown()


def test_no_news_keeps_the_state_and_retry_after_is_honoured():
    provider = ScriptedProvider(
        [JobSnapshot(JobStatus.PROCESSING), JobSnapshot(None, retry_after=0.3), JobSnapshot(JobStatus.COMPLETED)]
    )
    tracker = Tracker()
    job = tracker.track(_job(provider))
    job.wait(timeout=10)
    (_, end_second), (start_third, _) = provider.calls[1], provider.calls[2]
    assert start_third - end_second >= 0.29
    tracker.shutdown()


def test_checks_of_one_job_never_overlap_even_with_manual_refresh():
    provider = ScriptedProvider([JobSnapshot(JobStatus.PROCESSING)] * 6 + [JobSnapshot(JobStatus.COMPLETED)], check_time=0.05, delay=0)
    tracker = Tracker(io_workers=4)
    job = tracker.track(_job(provider))
    threads = [threading.Thread(target=job.refresh) for _ in range(3)]
    for t in threads:
        t.start()
    job.wait(timeout=10)
    for t in threads:
        t.join()
    assert provider.max_active == 1
    tracker.shutdown()


def test_transient_errors_are_retried_then_the_job_fails():
    provider = ScriptedProvider([ProviderError("flaky")] * 3 + [JobSnapshot(JobStatus.COMPLETED)])
    tracker = Tracker()
    assert tracker.track(_job(provider)).wait(timeout=10).ok
    always_down = ScriptedProvider([ProviderError("down")])
    job = tracker.track(_job(always_down))
    with pytest.raises(dc.JobFailed, match="status checks failed 8 times"):
        job.wait(timeout=10)
    tracker.shutdown()


def test_an_auth_error_fails_at_once():
    provider = ScriptedProvider([AuthenticationError("token expired")])
    tracker = Tracker()
    job = tracker.track(_job(provider))
    with pytest.raises(dc.JobFailed, match="token expired"):
        job.wait(timeout=10)
    assert len(provider.calls) == 1
    tracker.shutdown()


def test_a_submission_error_fails_the_job_with_its_message():
    class Refusing(ScriptedProvider):
        def submit(self, request):
            raise ProviderError("quota exhausted")

    tracker = Tracker()
    job = tracker.track(_job(Refusing([])))
    with pytest.raises(dc.JobFailed, match="quota exhausted"):
        job.wait(timeout=10)
    tracker.shutdown()


def test_a_thousand_polled_jobs_share_one_scheduler_thread():
    provider = ScriptedProvider([JobSnapshot(JobStatus.COMPLETED)], delay=0)
    tracker = Tracker()
    before = threading.active_count()
    jobs = [tracker.track(_job(provider)) for _ in range(1000)]
    for job in jobs:
        job.wait(timeout=30)
    assert threading.active_count() - before <= 1 + 4  # scheduler + I/O pool
    tracker.shutdown()

"""The one background tracker of a process.

It submits jobs and keeps them current: a single scheduler thread holds a
heap of due status checks, and a small I/O pool runs the submissions and the
checks, so a thousand jobs cost a thousand heap entries, not a thousand
threads. Providers that push updates (the embedded engine, webhooks) call
back as soon as something changes; polled providers are checked with the
back-off their own ``poll_delay`` gives, and never twice at once per job.

Every job it follows is recorded in the journal (:mod:`docconvert_nb.journaling`).
Before sending a document it hashes it and asks the result cache
(:mod:`docconvert_nb.cache`) whether an identical job's result can be reused;
:meth:`Tracker.follow` picks up a job already running at a provider (by id).
"""

from __future__ import annotations

import atexit
import dataclasses
import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import cache as _cache
from . import journaling as _journal
from .errors import AuthenticationError, DocconvertError, JobNotFound
from .jobs import Job
from .providers.base import JobSnapshot, Provider
from .status import JobStatus

log = logging.getLogger(__name__)

#: Consecutive failed status checks after which a job is marked failed.
MAX_POLL_FAILURES = 8


class Tracker:
    """Submits jobs and schedules their status checks."""

    def __init__(self, io_workers: int = 4):
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._pool = ThreadPoolExecutor(io_workers, thread_name_prefix="docconvert-io")
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._attempts: dict[int, int] = {}
        self._failures: dict[int, int] = {}
        #: (provider, job id) → the jobs showing it (a cached job shares its earlier job's id).
        self._by_provider_id: dict[tuple[int, str], list[Job]] = {}
        self._pushing: dict[int, bool] = {}
        #: Every job this process created, oldest first.
        self.jobs: list[Job] = []

    # -- public ------------------------------------------------------------------
    def track(self, job: Job, *, cache: bool = True) -> Job:
        """Submit ``job`` in the background and follow it until it is final.

        With ``cache=True`` an earlier identical job's result, if the provider
        still has it, completes the job at once instead (see :mod:`docconvert_nb.cache`).
        """
        self._ensure_thread()
        self.adopt(job)
        self._pool.submit(self._submit, job, cache)
        return job

    def follow(self, job: Job, job_id: str) -> Job:
        """Follow a job already submitted (by an earlier process, say) by its id at ``job.provider``."""
        self._ensure_thread()
        self.adopt(job)
        self._pool.submit(self._follow, job, job_id)
        return job

    def adopt(self, job: Job) -> Job:
        """List ``job`` among this process's jobs and record it in the journal (no submission)."""
        with self._cond:
            self.jobs.append(job)
        _journal.watch(job)
        return job

    def poke(self, job: Job) -> None:
        """Check ``job`` as soon as possible (e.g. a webhook said it finished)."""
        self._schedule(job, 0.0)

    def active(self) -> list[Job]:
        return [job for job in self.jobs if not job.status.is_terminal]

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- submission --------------------------------------------------------------
    def _submit(self, job: Job, cache: bool = True) -> None:
        provider = job.provider
        if _journal.is_enabled():
            job.source_sha256 = _journal.source_sha256(job.request.source)
            if cache:
                hit = _cache.lookup(job)
                if hit is not None:
                    self._complete_from(job, hit)
                    return
        pushes = self._subscribe(provider)
        try:
            job_id = provider.submit(job.request)
        except DocconvertError as exc:
            job._fail(str(exc))
            return
        except Exception as exc:  # a provider bug must end the job, not the pool
            log.exception("submitting job to %s failed", provider.name)
            job._fail(f"submission failed: {type(exc).__name__}: {exc}")
            return
        self._register(job, job_id)
        job._set_id(job_id)
        # A pushing provider may have finished before we knew the id: look once now.
        self._schedule(job, 0.0 if pushes else provider.poll_delay(0))

    def _follow(self, job: Job, job_id: str) -> None:
        self._subscribe(job.provider)
        self._register(job, job_id)
        job._set_id(job_id)
        self._schedule(job, 0.0)

    def _complete_from(self, job: Job, hit: "_cache.Hit") -> None:
        """Finish ``job`` with an earlier job's result; it then follows that job's later changes."""
        self._subscribe(job.provider)
        self._register(job, hit.provider_id)
        job.cached = True
        job._set_id(hit.provider_id)
        job._apply(hit.snapshot)

    def _register(self, job: Job, job_id: str) -> None:
        with self._cond:
            self._by_provider_id.setdefault((id(job.provider), job_id), []).append(job)

    def _subscribe(self, provider: Provider) -> bool:
        key = id(provider)
        with self._cond:
            if key in self._pushing:
                return self._pushing[key]
            self._pushing[key] = False
        pushes = provider.subscribe(lambda job_id, snap: self._pushed(provider, job_id, snap))
        with self._cond:
            self._pushing[key] = pushes
        return pushes

    def _pushed(self, provider: Provider, job_id: str, snapshot: JobSnapshot | None) -> None:
        with self._cond:
            jobs = list(self._by_provider_id.get((id(provider), job_id), ()))
        for job in jobs:
            if snapshot is None:  # "something changed, come and look"
                self.poke(job)
            elif job.cached:
                job._apply(_for_cached(snapshot))
            else:
                job._apply(snapshot)

    # -- polling -------------------------------------------------------------------
    def _schedule(self, job: Job, delay: float) -> None:
        self._ensure_thread()
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))
            self._cond.notify()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="docconvert-tracker", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._heap)
            if not job.status.is_terminal:
                try:
                    self._pool.submit(self._poll, job)
                except RuntimeError:  # pool shut down at exit
                    return

    def _poll(self, job: Job) -> None:
        if job.status.is_terminal:
            return
        key = id(job)
        if not job._poll_lock.acquire(blocking=False):
            # Someone (a manual refresh()) is checking this job right now: look again later.
            self._schedule(job, max(0.05, job.provider.poll_delay(self._attempts.get(key, 0))))
            return
        retry_after = None
        try:
            snapshot = job.provider.status(job.id)
        except (AuthenticationError, JobNotFound) as exc:
            job._poll_lock.release()
            job._fail(str(exc))
            return
        except Exception as exc:
            job._poll_lock.release()
            failures = self._count(self._failures, key)
            if failures >= MAX_POLL_FAILURES:
                job._fail(f"status checks failed {failures} times in a row; last error: {exc}")
                return
            log.warning("status check of job %s failed (%s); retrying", job.id, exc)
        else:
            job._poll_lock.release()
            with self._cond:
                self._failures.pop(key, None)
            job._apply(snapshot)
            retry_after = snapshot.retry_after
        if job.status.is_terminal:
            self._forget(job)
            return
        attempt = self._count(self._attempts, key)
        delay = job.provider.poll_delay(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self._schedule(job, delay)

    def _count(self, counter: dict[int, int], key: int) -> int:
        """Add one to ``counter[key]`` (several pool threads update these) and return it."""
        with self._cond:
            counter[key] = counter.get(key, 0) + 1
            return counter[key]

    def _forget(self, job: Job) -> None:
        with self._cond:
            self._attempts.pop(id(job), None)
            self._failures.pop(id(job), None)


def _for_cached(snapshot: JobSnapshot) -> JobSnapshot:
    """A pushed report about a shared result, as a cached job takes it: the result's state
    (deleted, expired...), not its output names or its words about the original job."""
    if snapshot.status is not None and snapshot.status.is_gone:
        return dataclasses.replace(snapshot, outputs=None)
    return dataclasses.replace(snapshot, outputs=None, message="")


_tracker: Tracker | None = None
_tracker_lock = threading.Lock()


def get_tracker() -> Tracker:
    """The process-wide tracker, started on first use."""
    global _tracker
    with _tracker_lock:
        if _tracker is None:
            _tracker = Tracker()
            atexit.register(_tracker.shutdown)
        return _tracker


def tracked_jobs() -> list[Job]:
    """Every job this process has created (oldest first)."""
    return list(get_tracker().jobs)


__all__ = ["Tracker", "get_tracker", "tracked_jobs", "JobStatus"]

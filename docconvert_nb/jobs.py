"""Job and JobGroup: what a user holds while a provider works.

A :class:`Job` is a live view of one job at one provider. The process-wide
tracker (:mod:`docconvert_nb.tracker`) submits it and keeps its state current,
so a job moves on by itself while the user runs other cells; ``wait()`` and
``await`` block until it is final.

A job finishes in exactly one place: the thread that sees its final report
saves the outputs (``save_to``), then runs the callbacks given to
:meth:`Job.add_done_callback`, once each, like
:meth:`concurrent.futures.Future.add_done_callback`. ``wait()``, ``await``,
groups, the notebook views, the magics and the command line all build on
that one primitive, so none of them sees a job "done" before its files exist.

Nothing here knows about widgets: the notebook layer subscribes with
:meth:`Job.on_change` and :meth:`Job.add_done_callback` and renders through
the hook set with :func:`set_renderer`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import DocconvertError, JobExpired, JobFailed, JobTimeout
from .outputs import Output, result_helper
from .providers.base import ConversionRequest, JobSnapshot, Provider
from .redact import mask_options
from .status import Availability, JobStatus
from .util import format_seconds

log = logging.getLogger(__name__)

ChangeCallback = Callable[["Job"], None]
#: Events kept in ``Job.history`` (the oldest are dropped beyond this).
HISTORY_LIMIT = 200
DoneCallback = Callable[["Job"], None]

_renderer: Callable[..., dict] | None = None


def set_renderer(renderer: Callable[..., dict] | None) -> None:
    """Install the function that builds a Job's/JobGroup's display mimebundle.

    The notebook layer installs one (live widget + HTML + text); without it
    jobs display as text.
    """
    global _renderer
    _renderer = renderer


_wait_reporter: Callable[[Any], Any] | None = None


def set_wait_reporter(reporter: Callable[[Any], Any] | None) -> None:
    """Install what shows progress while ``wait()`` blocks: ``reporter(job_or_group)`` returns a
    context manager entered for the wait (the notebook layer installs a terminal one)."""
    global _wait_reporter
    _wait_reporter = reporter


def _reporting(obj):
    return _wait_reporter(obj) if _wait_reporter is not None else contextlib.nullcontext()


def _now() -> datetime:
    return datetime.now(timezone.utc)


#: Files saved through ``save_to`` in this process, and the job (number) that saved each.
_saved_by: dict[Path, int] = {}
_saved_lock = threading.Lock()


def _claim_save_name(directory: Path, name: str, job_number: int) -> str:
    """``name``, or ``stem-2.ext``... if another job of this process already saved that file.

    Re-running a conversion replaces its own earlier output, but two inputs of
    one batch (``a.png`` and ``a.jpg`` both → ``a.pdf``) never overwrite each other.
    """
    stem, suffix = _split_name(name)
    candidate, n = name, 2
    with _saved_lock:
        while _saved_by.get((directory / candidate).resolve(), job_number) != job_number:
            candidate, n = f"{stem}-{n}{suffix}", n + 1
        _saved_by[(directory / candidate).resolve()] = job_number
    return candidate


def _split_name(name: str) -> tuple[str, str]:
    for double in (".hocr.html",):
        if name.lower().endswith(double):
            return name[: -len(double)], name[-len(double):]
    path = Path(name)
    return path.stem, path.suffix


#: Unique to this process (one random draw: uuid4 per job costs more than the job's bookkeeping).
_PROCESS_KEY = uuid.uuid4().hex


class Job:
    """One conversion job at one provider.

    Attributes are snapshots of the provider's last report: ``status``
    (:class:`~docconvert_nb.status.JobStatus`), ``outputs``, ``errors``,
    ``warnings``, ``message``, and the timestamps ``submitted_at``,
    ``started_at``, ``finished_at``. ``id`` is the provider's job id (None
    while the document is still being sent).
    """

    _counter = itertools.count(1)

    def __init__(self, request: ConversionRequest, provider: Provider, *, save_to: Path | None = None):
        self.request = request
        self.provider = provider
        self.save_to = save_to
        self.number = next(Job._counter)
        self.id: str | None = None
        self.status = JobStatus.SUBMITTING
        self.message = JobStatus.SUBMITTING.description
        self.submitted_at = _now()
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.outputs: list[Output] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.progress: float | None = None
        #: What happened to the job, oldest first: ``(time, event)``, e.g. state changes and
        #: the provider's notes on the way ("retrying after a 502 (2 of 5)").
        self.history: list[tuple[datetime, str]] = [(self.submitted_at, f"{self.status}: {self.message}")]
        self.saved: list[Path] = []
        #: Where the job runs, as the provider tells it (Dask: worker, host, attempts).
        self.details: dict[str, Any] = {}
        #: True when the job completed at once from an earlier identical job's result (see ``cache=``).
        self.cached = False
        #: sha256 of the source's bytes, once the tracker has read them (the journal and cache use it).
        self.source_sha256: str | None = None
        #: This job's row in the journal (:mod:`docconvert_nb.journaling`); a reattached job keeps it.
        self.journal_key = f"{_PROCESS_KEY}-{self.number}"
        #: Increases with every change; views compare it to skip redundant redraws.
        self.version = 0
        self._lock = threading.RLock()
        self._poll_lock = threading.Lock()
        #: Set by the one thread that sees the job turn final; it saves, then runs the done callbacks.
        self._finishing = False
        #: True once the done callbacks have been run (later ones run at once).
        self._finished = False
        self._callbacks: list[ChangeCallback] = []
        self._done_callbacks: list[DoneCallback] = []
        #: Called after every change, before the ``on_change`` callbacks, by what keeps a record
        #: of the job (the journal, :func:`docconvert_nb.journaling.watch`); views use ``on_change``.
        self.recorder: ChangeCallback | None = None

    # -- description ---------------------------------------------------------
    @property
    def source_name(self) -> str:
        return self.request.source.name

    @property
    def source_format(self) -> str:
        return self.request.source.format

    @property
    def target(self) -> str:
        return self.request.target

    @property
    def task(self) -> str:
        return self.request.task

    @property
    def options(self) -> dict[str, Any]:
        """The options given at submission, with secret values masked."""
        return mask_options(self.request.options)

    @property
    def elapsed(self) -> float:
        """Seconds from submission to the end (or to now, while running)."""
        end = self.finished_at or _now()
        return max(0.0, (end - self.submitted_at).total_seconds())

    @property
    def done(self) -> bool:
        return self.status.is_terminal

    @property
    def ok(self) -> bool:
        return self.status == JobStatus.COMPLETED

    # -- state changes -------------------------------------------------------
    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(job)`` after every change; returns a function that unsubscribes.

        Callbacks run on the tracker's threads; they must be quick and must
        not block. An exception in one is logged and ignored.
        """
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def add_done_callback(self, callback: DoneCallback) -> None:
        """Call ``callback(job)`` once, when the job is final and its outputs are saved.

        If that has already happened, the callback runs at once in the calling
        thread; otherwise it runs on the thread that finishes the job, after
        ``save_to`` has written every file and before ``wait()`` returns.
        Callbacks run in the order they were added; an exception in one is
        logged and ignored, like :meth:`concurrent.futures.Future.add_done_callback`.
        """
        with self._lock:
            if not self._finished:
                self._done_callbacks.append(callback)
                return
        _run_done_callback(callback, self)

    @property
    def finished(self) -> bool:
        """True once the job is final, its outputs saved and its done callbacks run."""
        return self._finished

    def _apply(self, snapshot: JobSnapshot) -> bool:
        """Merge a provider snapshot; returns whether anything changed."""
        with self._lock:
            before = self._state_key()
            new = snapshot.status
            if snapshot.note:  # a remark on the way: in the history, and the message while it is news
                self._remember(snapshot.note)
                if new is None and not self.status.is_terminal:
                    self.message = snapshot.note
            if new is not None and new != self.status:
                if self.status.can_become(new):
                    self.status = new
                    self.message = snapshot.message or new.description
                    self._remember(f"{new}: {self.message}")
                else:
                    log.debug("job %s: ignoring %s after %s", self.id, new, self.status)
            elif snapshot.message and new is not None:
                self.message = snapshot.message
            if snapshot.outputs is not None and not self.status.is_gone:
                self.outputs = _merge_outputs(self.outputs, snapshot.outputs)
            for err in snapshot.errors:
                if err not in self.errors:
                    self.errors.append(err)
            for warning in snapshot.warnings:
                if warning not in self.warnings:
                    self.warnings.append(warning)
            if snapshot.progress is not None:
                self.progress = snapshot.progress
            if snapshot.details:
                self.details.update(snapshot.details)
            if snapshot.started_at and not self.started_at:
                self.started_at = self._local_time(snapshot.started_at)
            if self.status == JobStatus.PROCESSING and not self.started_at:
                self.started_at = _now()
            if self.status.is_terminal and not self.finished_at:
                self.finished_at = self._local_time(snapshot.finished_at or _now())
            if self.status.is_gone:
                for out in self.outputs:
                    out.availability = (
                        Availability.DELETED if self.status == JobStatus.DELETED else Availability.EXPIRED
                    )
            changed = self._state_key() != before
            if changed:
                self.version += 1
            # The tracker and a waiting user may both apply the final report; exactly one
            # of them saves the outputs, and wait() returns only once they are on disk.
            finish_here = self.status.is_terminal and not self._finishing
            self._finishing |= finish_here
        try:
            if finish_here and self.status == JobStatus.COMPLETED and self.save_to:
                self._save_outputs()
            if changed:
                self._notify()
        finally:
            if finish_here:  # even if saving broke: no one else will, and wait() must not hang
                self._run_done_callbacks()
        return changed

    def _run_done_callbacks(self) -> None:
        with self._lock:
            self._finished = True
            callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            _run_done_callback(callback, self)

    def _remember(self, event: str) -> None:
        if not self.history or self.history[-1][1] != event:
            self.history.append((_now(), event))
            del self.history[:-HISTORY_LIMIT]

    def _local_time(self, moment: datetime) -> datetime:
        """A provider's timestamp kept between submission and now, so a skewed service clock
        cannot make ``elapsed`` negative or longer than the job has existed."""
        return min(max(moment, self.submitted_at), _now())

    def _state_key(self):
        return (
            self.status,
            self.message,
            len(self.outputs),
            tuple(o.availability for o in self.outputs),
            len(self.errors),
            len(self.warnings),
            len(self.history),
            tuple(sorted(self.details.items(), key=lambda item: item[0])),
            self.progress,
            self.id,
        )

    def _set_id(self, job_id: str) -> None:
        with self._lock:
            self.id = job_id
            if self.status == JobStatus.SUBMITTING:
                self.status = JobStatus.QUEUED
                self.message = JobStatus.QUEUED.description
                self._remember(f"{self.status}: {self.message} (id {job_id})")
            self.version += 1
        self._notify()

    def _fail(self, message: str) -> None:
        self._apply(JobSnapshot(status=JobStatus.FAILED, message=message, errors=[message]))

    def _notify(self) -> None:
        for callback in [self.recorder, *self._callbacks] if self.recorder else list(self._callbacks):
            try:
                callback(self)
            except Exception:  # a broken view must not break tracking
                log.exception("on_change callback failed for job %s", self.id)

    def _save_outputs(self) -> None:
        for out in self.outputs:
            name = _claim_save_name(self.save_to, out.name, self.number)
            try:
                self.saved.append(out.save(self.save_to, name, overwrite=True))
            except Exception as exc:
                with self._lock:
                    self.warnings.append(f"could not save {out.name} to {self.save_to}: {exc}")
                continue
            if name != out.name:
                with self._lock:
                    self.warnings.append(f"saved {out.name} as {name}: another job already saved a {out.name} there")

    # -- verbs ---------------------------------------------------------------
    def refresh(self) -> "Job":
        """Ask the provider for the current state now (the tracker also does this by itself).

        A provider with a rate rule of its own may answer "no news" without
        asking the service: ConvertAPI allows one status poll per job every
        5 seconds, so a refresh sooner than that leaves the job as it was.
        """
        if self.id is None:
            return self
        with self._poll_lock:  # never two status calls for one job at once
            snapshot = self.provider.status(self.id)
        self._apply(snapshot)
        return self

    def wait(self, timeout: float | None = None) -> "Job":
        """Block until the job is final; return it, or raise if it did not complete.

        Raises :class:`JobFailed` (failed or canceled), :class:`JobExpired`
        (results gone) or :class:`JobTimeout` (still running after ``timeout``
        seconds — the job itself goes on). Works in scripts and inside a
        running notebook kernel alike; an interrupt (Ctrl-C) leaves the job
        tracked.
        """
        _block_until_finished(self, timeout)
        return self.raise_for_status()

    async def wait_async(self, timeout: float | None = None) -> "Job":
        """``await job.wait_async(timeout)``: like :meth:`wait`, without blocking the event loop.

        ``await job`` is the same without a timeout.
        """
        _check_timeout(timeout)
        try:
            await asyncio.wait_for(_until_finished(self), timeout)
        except asyncio.TimeoutError:
            raise self._timeout(timeout) from None
        return self.raise_for_status()

    def _timeout(self, timeout: float | None) -> JobTimeout:
        return JobTimeout(
            f"job {self.id or '(submitting)'} still {self.status} after {timeout:g} s; it keeps running", self
        )

    def raise_for_status(self) -> "Job":
        """Raise the typed error matching a failed/canceled/gone job; return self otherwise."""
        who = f"job {self.id}" if self.id else f"the job for {self.source_name}"
        if self.status in (JobStatus.FAILED, JobStatus.CANCELED):
            detail = "; ".join(self.errors) or self.message
            raise JobFailed(f"{who} {self.status}: {detail}", self, self.errors)
        if self.status.is_gone:
            raise JobExpired(f"{who} {self.status}: {self.message}", self)
        return self

    def __await__(self):
        return self.wait_async().__await__()

    def cancel(self) -> "Job":
        """Stop the job at the provider, if the provider can."""
        if self.status.is_terminal:
            return self
        if self.id is None:
            raise DocconvertError("the job is still being submitted; cancel it once it has an id")
        self.provider.cancel(self.id)
        self._apply(JobSnapshot(status=JobStatus.CANCELED, message="Canceled by the user."))
        return self

    def delete(self) -> "Job":
        """Delete the job and its results at the provider."""
        if self.status.is_gone:
            return self
        if self.id is not None:
            self.provider.delete(self.id)
        self._apply(JobSnapshot(status=JobStatus.DELETED, message="Deleted by the user."))
        return self

    # -- results ---------------------------------------------------------------
    def output(self, index_or_name: int | str = 0) -> Output:
        """One output, by position or by name."""
        if isinstance(index_or_name, int):
            return self.outputs[index_or_name]
        for out in self.outputs:
            if out.name == index_or_name:
                return out
        raise KeyError(f"no output named {index_or_name!r}; outputs: {[o.name for o in self.outputs]}")

    def save(self, directory: str | Path = ".", *, overwrite: bool = False,
             outputs: Iterable[Output] | None = None) -> list[Path]:
        """Save every output (or only ``outputs``) into ``directory``; returns the written paths.

        The job's views then link to the saved files.
        """
        chosen = self.outputs if outputs is None else list(outputs)
        paths = [out.save(directory, overwrite=overwrite) for out in chosen]
        with self._lock:
            self.saved.extend(path for path in paths if path not in self.saved)
            self.version += 1
        self._notify()
        return paths

    def to_dataframe(self, **options):
        """The job's recognized table(s) as pandas DataFrame(s) (see :func:`docconvert_nb.to_dataframe`)."""
        return result_helper("to_dataframe")(self, **options)

    def preview(self, **options):
        """A displayable preview of the job's outputs (see :func:`docconvert_nb.preview`)."""
        return result_helper("preview")(self, **options)

    # -- snapshots for views ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data describing the job now (what reprs and widgets show). No secrets."""
        with self._lock:
            return {
                "number": self.number,
                "id": self.id,
                "provider": self.provider.label or self.provider.name,
                "provider_name": self.provider.name,
                "simulator": self.provider.is_simulator,
                "task": self.task,
                "source": self.source_name,
                "source_format": self.source_format,
                "target": self.target,
                "options": self.options,
                "status": self.status.value,
                "message": self.message,
                "terminal": self.status.is_terminal,
                "elapsed": self.elapsed,
                "submitted_at": self.submitted_at.isoformat(timespec="seconds"),
                "finished_at": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None,
                "outputs": [o.to_dict() for o in self.outputs],
                "errors": list(self.errors),
                "warnings": list(self.warnings),
                "progress": self.progress,
                "details": dict(self.details),
                "history": [(moment.isoformat(timespec="seconds"), event) for moment, event in self.history],
                "cached": self.cached,
            }

    def __repr__(self) -> str:
        n = len(self.outputs)
        outs = f", {n} output{'s' if n != 1 else ''}" if n else ""
        err = f": {self.errors[-1]}" if self.errors and self.status == JobStatus.FAILED else ""
        ident = self.id or ("(not submitted)" if self.status.is_terminal else "(submitting)")
        return (
            f"<Job {ident} {self.provider.name}: {self.source_name} → {self.target} "
            f"{self.status} after {format_seconds(self.elapsed)}{outs}{err}>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        if _renderer is not None:
            return _renderer(self, include=include, exclude=exclude)
        return {"text/plain": repr(self)}


def _merge_outputs(current: list[Output], reported: Iterable[Output]) -> list[Output]:
    """The reported outputs, reusing the Output objects already handed out for the same names,
    so that an ``out = job.outputs[0]`` taken earlier sees later changes (deleted, expired...)."""
    known = {out.name: out for out in current}
    merged = []
    for out in reported:
        existing = known.pop(out.name, None)
        if existing is not None and existing is not out:
            existing.update_from(out)
            out = existing
        merged.append(out)
    return merged


_FAILED_STATES = (JobStatus.FAILED, JobStatus.CANCELED)
# A group's tally keys its states by value (plain strings hash in C; the enum's hash is Python code).
_ACTIVE_VALUES = frozenset(status.value for status in JobStatus if not status.is_terminal)
_STATUS_VALUES = tuple(status.value for status in JobStatus)


def _job_facts(job: Job) -> tuple:
    """What a group aggregates of one job: status value, final elapsed (None while running),
    running, progress while running (clamped; None if unknown), cancelable."""
    status = job.status._value_
    finished_at = job.finished_at
    elapsed = None if finished_at is None else max(0.0, (finished_at - job.submitted_at).total_seconds())
    if status not in _ACTIVE_VALUES:
        return status, elapsed, False, None, False
    progress = job.progress
    if progress is not None:
        progress = min(max(progress, 0.0), 1.0)
    return status, elapsed, True, progress, bool(job.id) and bool(job.provider.can_cancel)


class _GroupTally:
    """A group's aggregates, kept per job so a change costs O(log n) and a question O(1).

    Built from the jobs in one pass; :meth:`update` re-reads one job and moves
    its contribution, so it is idempotent and calls may come in any order: the
    last call after a job's last change leaves the tally exact. Not thread-safe
    by itself (the group holds its lock around every use).
    """

    def __init__(self, jobs: list[Job], *, follow: bool = True):
        self.jobs = jobs
        self.places: dict[Job, list[int]] = {}
        self.facts: dict[Job, tuple] | None = {}
        #: Jobs in each state, by status value.
        self.counts: dict[str, int] = dict.fromkeys(_STATUS_VALUES, 0)
        #: Positions (0-based, ascending) of the jobs in each state, by status value.
        self.positions: dict[str, list[int]] = {value: [] for value in _STATUS_VALUES}
        self.final_elapsed = 0.0
        #: (submitted_at, position, job) of the jobs not final when seen; finished ones leave lazily.
        self.unfinished: list[tuple[datetime, int, Job]] = []
        self.progress_sum = 0.0
        self.running = 0
        self.running_unknown = 0
        self.cancelable = 0
        if follow:
            self._count_to_follow(jobs)
        else:
            self._count_once(jobs)

    def _count_to_follow(self, jobs: list[Job]) -> None:
        """One pass that also keeps what :meth:`update` needs: each job's facts and places."""
        places, facts_of, unfinished = self.places, self.facts, []
        for index, job in enumerate(jobs):
            facts = facts_of.get(job)
            if facts is None:
                facts = facts_of[job] = _job_facts(job)
                places[job] = [index]
                if facts[1] is None:
                    unfinished.append((job.submitted_at, index, job))
            else:  # the same job twice in one group counts twice, as it always did
                places[job].append(index)
            self._add(index, facts)
        heapq.heapify(unfinished)
        self.unfinished = unfinished

    def _count_once(self, jobs: list[Job]) -> None:
        """One pass for one question (a group nobody follows): no per-job memory, no updates after."""
        self.facts = None
        earliest = None
        for index, job in enumerate(jobs):
            facts = _job_facts(job)
            if facts[1] is None and (earliest is None or job.submitted_at < earliest):
                earliest = job.submitted_at
            self._add(index, facts)
        self.unfinished = [] if earliest is None else [(earliest, 0, None)]

    def _add(self, index: int, facts: tuple) -> None:
        """Count one job at ``index`` whose facts are ``(status, elapsed, running, progress, cancelable)``."""
        status, elapsed, is_running, progress, can_cancel = facts
        self.counts[status] += 1
        self.positions[status].append(index)
        if elapsed is not None and elapsed > self.final_elapsed:
            self.final_elapsed = elapsed
        if is_running:
            self.running += 1
            if progress is None:
                self.running_unknown += 1
            else:
                self.progress_sum += progress
            self.cancelable += can_cancel

    def _move(self, facts: tuple, places: list[int], sign: int) -> None:
        """Add (sign 1) or take away (sign -1) one job's facts at ``places``."""
        status, elapsed, running, progress, cancelable = facts
        count = sign * len(places)
        self.counts[status] += count
        positions = self.positions[status]
        for index in places:
            if sign > 0:
                bisect.insort(positions, index)
            else:
                del positions[bisect.bisect_left(positions, index)]
        if elapsed is not None and elapsed > self.final_elapsed:  # a final elapsed never changes
            self.final_elapsed = elapsed
        if running:
            self.running += count
            if progress is None:
                self.running_unknown += count
            else:
                self.progress_sum += count * progress
        if cancelable:
            self.cancelable += count

    def update(self, job: Job) -> None:
        old = self.facts.get(job) if self.facts is not None else None
        if old is None:  # not one of ours (or a one-question count)
            return
        new = _job_facts(job)
        if new == old:
            return
        places = self.places[job]
        self._move(old, places, -1)
        self._move(new, places, 1)
        self.facts[job] = new
        if old[1] is not None and new[1] is None:  # finished_at is set once; defensive all the same
            heapq.heappush(self.unfinished, (job.submitted_at, places[0], job))
        if not self.running:
            self.progress_sum = 0.0  # no float drift left behind once nothing runs

    # -- questions -------------------------------------------------------------------------
    def status_counts(self) -> Counter:
        return Counter({value: n for value, n in self.counts.items() if n})

    def finished(self) -> int:
        return len(self.jobs) - self.running

    def elapsed(self) -> float:
        heap = self.unfinished
        while heap and self.facts is not None and self.facts[heap[0][2]][1] is not None:
            heapq.heappop(heap)
        if not heap:
            return self.final_elapsed
        return max(self.final_elapsed, (_now() - heap[0][0]).total_seconds(), 0.0)

    def running_progress(self) -> float | None:
        if self.running_unknown:
            return None
        return self.progress_sum if self.running else 0.0

    def indices(self, states: Iterable[JobStatus]) -> list[int]:
        """Positions of the jobs in any of ``states``, ascending."""
        lists = [self.positions[status._value_] for status in states]
        if len(lists) == 1:
            return list(lists[0])
        return sorted(index for part in lists for index in part)  # sorted runs: a linear merge in C

    def first_indices(self, states: Iterable[JobStatus], limit: int) -> tuple[list[int], int]:
        """The first ``limit`` positions in ``states`` and how many there are in all."""
        lists = [self.positions[status._value_] for status in states]
        total = sum(len(part) for part in lists)
        first = list(itertools.islice(heapq.merge(*(part[:limit] for part in lists)), limit))
        return first, total


class JobGroup(Sequence[Job]):
    """Many jobs followed as one: aggregate progress, one view, one wait.

    While anything listens (:meth:`on_change`, as every live view does), the
    group keeps its aggregates (``counts()``, ``finished``, ``failed``,
    ``completed``, ``elapsed``...) up to date from its jobs' changes, so asking
    costs O(1) whatever the number of jobs; with no listener it counts afresh
    on each question. ``jobs`` is not meant to be changed after construction.
    """

    def __init__(self, jobs: Iterable[Job], name: str | None = None):
        self.jobs: list[Job] = list(jobs)
        self.name = name
        self.created_at = _now()
        self._callbacks: list[Callable[["JobGroup", Job], None]] = []
        self._job_subscriptions: list[Callable[[], None]] = []
        #: Guards the callbacks, the tally and the done-callback counter (held briefly, never while calling out).
        self._lock = threading.Lock()
        #: Serializes starting and stopping the subscriptions to the jobs (may be held while calling out).
        self._follow_lock = threading.Lock()
        #: The live aggregates while the group follows its jobs, else None.
        self._tally: _GroupTally | None = None
        self._done_callbacks: list[Callable[["JobGroup"], None]] | None = None
        self._unfinished = 0
        #: (jobs as listed, {job: position}) for views, built on first need.
        self._places: tuple[list[Job], dict[Job, int]] | None = None

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, index):
        return self.jobs[index]

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def _ask(self, question: Callable[[_GroupTally], Any]) -> Any:
        """``question(tally)`` on the live tally, or on a fresh one when nothing follows the jobs."""
        with self._lock:
            if self._tally is not None:
                return question(self._tally)
        return question(_GroupTally(self.jobs, follow=False))

    def _jobs_at(self, indices: list[int]) -> list[Job]:
        jobs = self.jobs
        return [jobs[index] for index in indices]

    def counts(self) -> Counter:
        """How many jobs are in each state (``Counter`` keyed by status value)."""
        with self._lock:
            if self._tally is not None:
                return self._tally.status_counts()
        return Counter(job.status._value_ for job in self.jobs)  # nobody follows: the plain count is quickest

    @property
    def done(self) -> bool:
        return self.finished == len(self.jobs)

    @property
    def finished(self) -> int:
        return self._ask(_GroupTally.finished)

    @property
    def completed(self) -> list[Job]:
        return self._jobs_at(self._ask(lambda tally: tally.indices((JobStatus.COMPLETED,))))

    @property
    def failed(self) -> list[Job]:
        return self._jobs_at(self._ask(lambda tally: tally.indices(_FAILED_STATES)))

    def jobs_in(self, states: Iterable[JobStatus | str]) -> list[Job]:
        """The jobs in any of ``states``, in the group's order."""
        wanted = tuple(dict.fromkeys(JobStatus(state) for state in states))
        return self._jobs_at(self._ask(lambda tally: tally.indices(wanted)))

    def _page_in(self, states: Iterable[JobStatus], start: int, stop: int) -> tuple[list[Job], int]:
        """Jobs ``start:stop`` of those in ``states`` (group order), and how many are in them in all."""
        wanted = tuple(states)

        def read(tally: _GroupTally) -> tuple[list[int], int]:
            indices = tally.indices(wanted) if len(wanted) > 1 else tally.positions[wanted[0]._value_]
            return indices[start:stop], len(indices)

        indices, total = self._ask(read)
        return self._jobs_at(indices), total

    def _position_finder(self, jobs: Iterable[Job]) -> Callable[[Job], int | None]:
        """``position(job)``: the place (1…n) of each of ``jobs`` in the group (the last one
        if a job is there twice), from a map built once per group, not once per question."""
        places = self._places
        if places is None or len(places[0]) != len(self.jobs):
            places = None
        found = {}
        for job in jobs:
            index = places[1].get(job) if places else None
            if places is None or (index is not None and self.jobs[index] is not job):  # first use, or jobs changed
                listing = list(self.jobs)
                places = self._places = (listing, {member: i for i, member in enumerate(listing)})
                index = places[1].get(job)
            found[job] = None if index is None else index + 1
        return found.get

    def _summary_facts(self, failures: int = 0) -> dict[str, Any]:
        """Every aggregate a view draws, read at one moment (one lock, O(1) while followed);
        with ``failures``, also the first that many failed or canceled jobs and how many in all."""
        def read(tally: _GroupTally) -> dict[str, Any]:
            first, total = tally.first_indices(_FAILED_STATES, failures) if failures else ([], 0)
            return {
                "counts": tally.status_counts(),
                "finished": tally.finished(),
                "elapsed": tally.elapsed(),
                "running_progress": tally.running_progress(),
                "cancelable": tally.cancelable,
                "failures": first,
                "failures_total": total,
            }
        facts = self._ask(read)
        facts["failures"] = self._jobs_at(facts["failures"])
        return facts

    @property
    def outputs(self) -> list[Output]:
        return [out for job in self.jobs for out in job.outputs]

    @property
    def elapsed(self) -> float:
        return self._ask(_GroupTally.elapsed)

    def on_change(self, callback: Callable[["JobGroup", Job], None]) -> Callable[[], None]:
        """Call ``callback(group, job)`` whenever one of the jobs changes."""
        with self._follow_lock:
            with self._lock:
                self._callbacks.append(callback)
            if not self._job_subscriptions:
                self._follow()

        def unsubscribe() -> None:
            with self._follow_lock:
                with self._lock:
                    if callback in self._callbacks:
                        self._callbacks.remove(callback)
                    last = not self._callbacks
                    if last:
                        self._tally = None
                if last:  # nobody listens to the group: stop listening to its jobs
                    for stop in self._job_subscriptions:
                        stop()
                    self._job_subscriptions = []

        return unsubscribe

    def _follow(self) -> None:
        """Subscribe to every job, then build the tally: a change that lands before the build
        is read by it, one after it updates it (every update re-reads the job)."""
        self._job_subscriptions = [job.on_change(self._job_changed) for job in self.jobs]
        tally = _GroupTally(self.jobs)  # outside the lock: tracker threads are not held up meanwhile
        with self._lock:
            for job in self.jobs:  # what changed while it was being built
                tally.update(job)
            self._tally = tally

    def add_done_callback(self, callback: Callable[["JobGroup"], None]) -> None:
        """Call ``callback(group)`` once every job has finished (see :meth:`Job.add_done_callback`).

        Runs at once if they all have; otherwise on the thread that finishes the last one.
        """
        with self._lock:
            first = self._done_callbacks is None
            if first:
                self._done_callbacks = []
                self._unfinished = len(self.jobs)
            if self._unfinished:
                self._done_callbacks.append(callback)
                callback = None
        if first:
            for job in self.jobs:
                job.add_done_callback(self._job_finished)
        if callback is not None:
            _run_done_callback(callback, self)

    def _job_finished(self, _job: Job) -> None:
        with self._lock:
            self._unfinished -= 1
            if self._unfinished:
                return
            callbacks, self._done_callbacks = self._done_callbacks or [], []
        for callback in callbacks:
            _run_done_callback(callback, self)

    @property
    def finished_all(self) -> bool:
        """True once every job has finished (outputs saved, done callbacks run).

        Counted by the group's own done callback on each job (armed on first
        use, O(1) after): true only once that callback has run for every job.
        """
        with self._lock:
            armed = self._done_callbacks is not None
            if armed:
                return not self._unfinished
        if all(job.finished for job in self.jobs):  # cheap when nothing is armed: nothing to wait for
            return True
        self.add_done_callback(_nothing)  # arm the counter: later questions are O(1)
        with self._lock:
            return not self._unfinished

    def _job_changed(self, job: Job) -> None:
        with self._lock:
            if self._tally is not None:
                self._tally.update(job)
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(self, job)
            except Exception:
                log.exception("group on_change callback failed")

    def wait(self, timeout: float | None = None, *, raise_on_error: bool = False) -> "JobGroup":
        """Block until every job is final.

        Failures do not raise unless ``raise_on_error=True`` (then a
        :class:`JobFailed` names every failed job); inspect ``group.failed``.
        """
        _block_until_finished(self, timeout)
        return self._check(raise_on_error)

    async def wait_async(self, timeout: float | None = None, *, raise_on_error: bool = False) -> "JobGroup":
        """``await group.wait_async(raise_on_error=True)``: like :meth:`wait`, without blocking the loop.

        ``await group`` is the same with the defaults (failures do not raise).
        """
        _check_timeout(timeout)
        try:
            await asyncio.wait_for(_until_finished(self), timeout)
        except asyncio.TimeoutError:
            raise self._timeout(timeout) from None
        return self._check(raise_on_error)

    def _timeout(self, timeout: float | None) -> JobTimeout:
        return JobTimeout(f"{len(self) - self.finished} of {len(self)} jobs still running after {timeout:g} s")

    def _check(self, raise_on_error: bool) -> "JobGroup":
        if raise_on_error and self.failed:
            names = ", ".join(job.source_name for job in self.failed)
            raise JobFailed(f"{len(self.failed)} of {len(self)} jobs failed: {names}")
        return self

    def __await__(self):
        return self.wait_async().__await__()

    def save(self, directory: str | Path = ".", *, overwrite: bool = False) -> list[Path]:
        """Save the outputs of every completed job into ``directory``."""
        return [path for job in self.completed for path in job.save(directory, overwrite=overwrite)]

    def delete(self) -> "JobGroup":
        for job in self.jobs:
            if job.status.is_terminal and not job.status.is_gone:
                job.delete()
        return self

    def cancel(self) -> "JobGroup":
        for job in self.jobs:
            if not job.status.is_terminal and job.provider.can_cancel and job.id:
                job.cancel()
        return self

    def retry_failed(self) -> "JobGroup":
        """Submit every failed or canceled job again (same document, provider, options, ``save_to``).

        Returns a new group of the new jobs (empty if none failed); this group
        keeps the failed ones as they ended.
        """
        from .tracker import get_tracker  # the tracker sits on top of the job model

        again = []
        for job in self.failed:
            retry = Job(job.request, job.provider, save_to=job.save_to)
            again.append(get_tracker().track(retry))
        name = f"{self.name} (retry)" if self.name else "retry"
        return JobGroup(again, name=name)

    def to_dataframe(self):
        """One row per job: source, provider, task, target, status, elapsed (s), outputs, message, id.

        The index numbers the jobs from 1, as the group's views do. ``message``
        is the last error of a failed job, else its status message.
        """
        import pandas as pd

        rows = []
        for job in self.jobs:
            with job._lock:
                failed = job.status in (JobStatus.FAILED, JobStatus.CANCELED) and job.errors
                rows.append({
                    "source": job.source_name,
                    "provider": job.provider.name,
                    "task": job.task,
                    "target": job.target,
                    "status": job.status.value,
                    "elapsed": round(job.elapsed, 2),
                    "outputs": [out.name for out in job.outputs],
                    "message": job.errors[-1] if failed else job.message,
                    "id": job.id,
                })
        columns = ["source", "provider", "task", "target", "status", "elapsed", "outputs", "message", "id"]
        frame = pd.DataFrame(rows, columns=columns, index=pd.RangeIndex(1, len(rows) + 1, name="job"))
        return frame

    def summary(self, facts: dict[str, Any] | None = None) -> str:
        """``"3/10 done (7 processing, 3 completed)"``; ``facts`` (counts and finished, as a view
        read them) gives the same moment as the view instead of a new reading."""
        counts = facts["counts"] if facts else self.counts()
        finished = facts["finished"] if facts else self.finished
        parts = [f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        return f"{finished}/{len(self)} done ({', '.join(parts) or 'empty'})"

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        shown = self.jobs if limit is None else self.jobs[:limit]
        facts = self._summary_facts()
        return {
            "name": self.name,
            "total": len(self),
            "finished": facts["finished"],
            "counts": dict(facts["counts"]),
            "elapsed": facts["elapsed"],
            "jobs": [job.to_dict() for job in shown],
            "shown": len(shown),
        }

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<JobGroup{label} {self.summary()}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        if _renderer is not None:
            return _renderer(self, include=include, exclude=exclude)
        return {"text/plain": repr(self)}


def _nothing(_target) -> None:
    """A done callback that only arms a group's finished counter."""


def _run_done_callback(callback, target) -> None:
    try:
        callback(target)
    except Exception:  # a broken view must not break tracking, nor the other callbacks
        log.exception("done callback %r failed for %r", callback, target)


def _block_until_finished(obj: "Job | JobGroup", timeout: float | None) -> None:
    """Block on ``obj``'s done callbacks (progress on a terminal's stderr meanwhile), or raise its timeout."""
    _check_timeout(timeout)
    finished = threading.Event()
    obj.add_done_callback(lambda _obj: finished.set())
    with _reporting(obj):
        if not finished.wait(timeout):
            raise obj._timeout(timeout)


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout >= 0 and timeout == timeout):
        raise DocconvertError(f"timeout must be a number of seconds ≥ 0 or None, not {timeout!r}")


async def _until_finished(obj: "Job | JobGroup") -> None:
    """Await a job's (or group's) done callbacks without blocking the running event loop."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def finished(_obj) -> None:
        try:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))
        except RuntimeError:  # the loop was closed meanwhile: nobody is waiting any more
            pass

    obj.add_done_callback(finished)
    await future

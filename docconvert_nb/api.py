"""The public calls: convert, ocr, recognize_tables, convert_many, formats, journal, reattach.

Each returns at once with a :class:`~docconvert_nb.jobs.Job` (or a
:class:`~docconvert_nb.jobs.JobGroup`) that the tracker submits and follows
in the background. Mistakes in the call itself (missing file, unknown
provider or target format, unsupported pair, bad option, unwritable
``save_to``) raise a typed error right away; a document whose content is
unusable (empty, truncated, not what its name says and nothing we know)
gives a job that has failed with that message, like any other bad input.

Every job is recorded in the journal (:mod:`docconvert_nb.journaling`):
:func:`journal` lists them, :func:`reattach` follows the unfinished ones
again in a new kernel, and the same work asked twice completes from the
earlier result (:mod:`docconvert_nb.cache`; ``cache=False`` opts out).
"""

from __future__ import annotations

import glob
import os
import socket
import warnings
from pathlib import Path
from typing import Any, Iterable

from . import fileformats as _formats
from . import journaling as _journal
from . import providers
from .documents import ConversionRequest, Source, readable_name
from .errors import DocconvertError, UnknownFormat
from .jobs import Job, JobGroup
from .providers.base import Provider
from .status import JobStatus
from .tracker import get_tracker

Document = "str | os.PathLike | bytes"


def convert(
    document,
    to: str,
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    cache: bool = True,
    **options: Any,
) -> Job:
    """Convert a document (path or bytes) to the format ``to``; returns the running Job.

    ``name`` names bytes input (``"scan.png"``); ``save_to`` saves every
    output into that folder once the job completes. ``cache=False`` always
    sends the document, even if the same work was done before (see
    :func:`submit`). Other keyword arguments are converter options
    (``dpi=200``, ``pages="1-3"``...).
    """
    return submit("convert", document, to, provider=provider, name=name, save_to=save_to, options=options,
                  cache=cache)


def ocr(
    document,
    to: str = "txt",
    *,
    lang: str = "eng",
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    cache: bool = True,
    **options: Any,
) -> Job:
    """Recognize the text of an image, PDF or DjVu.

    ``to``: ``"txt"``, ``"hocr"`` (word boxes as HTML), ``"tsv"`` (word boxes
    with confidences) or ``"pdf"`` (searchable PDF). ``lang`` is Tesseract's
    language code(s), e.g. ``"eng+deu"``. ``cache``: see :func:`submit`.
    """
    options = {"lang": lang, **options}
    return submit("ocr", document, to, provider=provider, name=name, save_to=save_to, options=options, cache=cache)


def recognize_tables(
    document,
    to: str = "csv",
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    cache: bool = True,
    **options: Any,
) -> Job:
    """Find the tables in an image or PDF page: one CSV output per table (XLSX: one sheet each).

    ``cache``: see :func:`submit`.
    """
    return submit("tables", document, to, provider=provider, name=name, save_to=save_to, options=options,
                  cache=cache)


def submit(
    task: str,
    document,
    to: str,
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    options: dict[str, Any] | None = None,
    cache: bool = True,
) -> Job:
    """The common path of every call: check now, then submit in the background.

    With ``cache=True`` (the default), a document already sent to the same
    provider for the same task, target and options, whose result the provider
    still keeps, is not sent again: the job completes at once from that result
    and ``job.cached`` is True. Only providers that answer for a job by its id
    can serve from the cache (the embedded engine and the cloud adapters);
    jobs with secret options are never cached. See :mod:`docconvert_nb.cache`.
    """
    chosen = providers.get(provider)
    target = _formats.normalize(to)
    try:
        source = Source.from_input(document, name)
    except UnknownFormat as exc:
        return _failed_job(task, document, target, chosen, exc, name=name)
    request = ConversionRequest(source, target, task, dict(options or {}))
    chosen.check(request)
    job = Job(request, chosen, save_to=_writable_dir(save_to))
    if source.declared_format and source.declared_format != source.format:
        job.warnings.append(
            f"{source.name} is named .{source.declared_format} but its content is {source.format}; "
            f"converting it as {source.format}"
        )
    return get_tracker().track(job, cache=cache)


def convert_many(
    documents: "str | os.PathLike | Iterable",
    to: str,
    *,
    task: str = "convert",
    provider: str | Provider | None = None,
    save_to: str | os.PathLike | None = None,
    name: str | None = None,
    cache: bool = True,
    **options: Any,
) -> JobGroup:
    """Submit many documents at once; returns a JobGroup.

    ``documents`` is a list of paths/bytes, a folder, or a glob pattern
    (``"scans/*.png"``). A document that cannot even be submitted (unknown
    format, unsupported pair) becomes a failed job in the group, so one bad
    file never stops the batch. ``cache``: see :func:`submit`.
    """
    chosen = providers.get(provider)
    save_dir = _writable_dir(save_to)
    jobs = []
    for document in expand(documents):
        source = None
        try:
            source = Source.from_input(document)
            jobs.append(submit(task, source, to, provider=chosen, save_to=save_dir, options=dict(options),
                              cache=cache))
        except (DocconvertError, OSError) as exc:
            jobs.append(_failed_job(task, document, to, chosen, exc, source))
    return JobGroup(jobs, name=name)


def expand(documents) -> list:
    """Paths from a folder, a glob pattern or an iterable (bytes pass through)."""
    if isinstance(documents, (str, os.PathLike)):
        text = os.fspath(documents)
        path = Path(text).expanduser()
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if glob.has_magic(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            return [Path(m) for m in matches if Path(m).is_file()]
        return [path]
    return list(documents)


def _failed_job(task, document, to, provider, exc, source: Source | None = None, name: str | None = None) -> Job:
    """A job that failed before reaching the provider, kept so a batch shows every input."""
    if source is None:
        label = name or ("document" if isinstance(document, (bytes, bytearray, memoryview)) else Path(document).name)
        label = readable_name(label)
        source = Source(name=label, format="unknown", data=b"")
    job = Job(ConversionRequest(source, _formats.normalize(to), task, {}), provider)
    get_tracker().adopt(job)
    job._fail(str(exc) if not isinstance(exc, FileNotFoundError) else f"no such file: {readable_name(str(document))}")
    return job


def _writable_dir(directory) -> Path | None:
    if directory is None:
        return None
    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DocconvertError(f"cannot create the output folder {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise DocconvertError(f"the output folder {path} is not writable")
    return path


def formats(provider: str | Provider | None = None, task: str | None = None):
    """Every conversion the provider offers, as a pandas DataFrame (task, source, target)."""
    import pandas as pd

    chosen = providers.get(provider)
    rows = sorted({(c.task, c.source, c.target) for c in chosen.capabilities() if task in (None, c.task)})
    return pd.DataFrame(rows, columns=["task", "source", "target"])


def jobs() -> list[Job]:
    """Every job created in this process, oldest first."""
    return list(get_tracker().jobs)


def journal(*, unfinished: bool = False):
    """Every job recorded in the journal, this process's and earlier ones', as a pandas DataFrame.

    One row per job, oldest first: ``provider``, ``provider_id`` (the job's
    id at the provider), ``source_name``, ``source_sha256``, ``task``,
    ``target``, ``options`` (secrets masked), ``status``, ``message``,
    ``cached``, ``outputs``, ``saved`` (files written by ``save_to``) and the
    timestamps. ``unfinished=True`` keeps only jobs not final yet (what
    :func:`reattach` picks up). Empty when the journal is turned off
    (``DOCCONVERT_NB_JOURNAL=0`` or ``dc.set_journal(False)``).
    """
    return _journal.frame(unfinished=unfinished)


def reattach(*, provider: str | Provider | None = None, completed: bool = False) -> JobGroup:
    """Follow the journal's unfinished jobs again (after a kernel restart, say); returns them as a JobGroup.

    Cloud jobs are asked about by their id at the provider, configured by its
    name from the environment as ``providers.get(name)`` does; pass
    ``provider=`` (a name, or an instance such as a simulator's
    ``sim.provider``) to reattach only that provider's jobs, through it.
    Embedded jobs are found in the engine's store: finished ones come back
    with their outputs, and one whose process exited while converting comes
    back failed ("interrupted"). Completed jobs save into the ``save_to``
    folder given when they were submitted.

    Jobs this process already follows are returned as they are. Left out, with
    a warning: jobs another live process on this machine follows, jobs whose
    provider is unknown, not configured, or now configured for another
    endpoint than the one the job was sent to. A job whose process exited
    before the provider gave it an id cannot be found again: the journal
    records it failed.

    ``completed=True`` also brings back the completed jobs (not from the cache)
    whose results the provider still keeps, to read their outputs in a new
    kernel; those are not saved again, and the ones whose results are gone
    come back expired or deleted.
    """
    table = _journal.current()
    if table is None:
        return JobGroup([], name="reattached")
    table.flush(2.0)
    only = providers.get(provider) if provider is not None else None
    tracker = get_tracker()
    followed = {job.journal_key: job for job in tracker.jobs}
    jobs: list[Job] = []
    skipped: list[str] = []
    rows = table.unfinished()
    if completed:
        rows += table.rows("status = 'completed' AND cached = 0 AND provider_id IS NOT NULL")
    for row in rows:
        if only is not None and row["provider"] != only.name:
            continue
        if row["key"] in followed:
            jobs.append(followed[row["key"]])
            continue
        finished = row["status"] == "completed"
        if not finished and _followed_elsewhere(row):
            skipped.append(f"{row['source_name']}: process {row['pid']} still follows it")
            continue
        if not row["provider_id"]:
            table.abandon(row["key"], "interrupted: the process that submitted it exited before the provider "
                                      "gave it an id, so it cannot be found again")
            continue
        try:
            chosen = only or providers.get(row["provider"])
        except (DocconvertError, ImportError, ValueError) as exc:
            skipped.append(f"{row['source_name']}: {exc}")
            continue
        reason = _cannot_follow(chosen, row)
        if reason:
            skipped.append(f"{row['source_name']} ({chosen.name} job {row['provider_id']}): {reason}")
            continue
        if not finished and not table.claim(row):
            skipped.append(f"{row['source_name']}: another process reattached it just now")
            continue
        job = _job_from_row(row, chosen, save=not finished)
        chosen.resume(row["provider_id"], job.request)
        jobs.append(tracker.follow(job, row["provider_id"]))
    if skipped:
        warnings.warn(f"not reattached: {'; '.join(skipped)}", stacklevel=2)
    return JobGroup(jobs, name="reattached")


def _followed_elsewhere(row: dict[str, Any]) -> bool:
    """Whether another live process on this machine is following the job now."""
    pid = row.get("pid")
    if not pid or pid == os.getpid() or row.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _cannot_follow(provider: Provider, row: dict[str, Any]) -> str | None:
    if not provider.configured:
        return "the provider has no credentials in this process"
    now = _journal.endpoint(provider)
    if row["endpoint"] and now and row["endpoint"] != now:
        return f"it was sent to {row['endpoint']}, and the provider now points at {now}"
    return None


def _job_from_row(row: dict[str, Any], provider: Provider, *, save: bool = True) -> Job:
    source = Source(name=row["source_name"] or "document", format=row["source_format"] or "unknown", data=b"")
    request = ConversionRequest(source, row["target"], row["task"], dict(row["options"] or {}))
    save_to = Path(row["save_to"]) if row["save_to"] and save else None
    usable = save_to is not None and save_to.is_dir() and os.access(save_to, os.W_OK | os.X_OK)
    job = Job(request, provider, save_to=save_to if usable else None)
    if save_to is not None and not usable:
        job.warnings.append(f"the output folder {save_to} is gone or not writable; outputs are not saved")
    job.journal_key = row["key"]
    job.source_sha256 = row["source_sha256"]
    job.submitted_at = _journal.parse_time(row["submitted_at"]) or job.submitted_at
    job.started_at = _journal.parse_time(row["started_at"])
    job.saved = [Path(path) for path in row["saved"] or []]
    if row["status"] in (JobStatus.QUEUED.value, JobStatus.PROCESSING.value):
        job.status, job.message = JobStatus(row["status"]), row["message"] or JobStatus(row["status"]).description
    return job

"""The public calls: convert, ocr, recognize_tables, convert_many, formats.

Each returns at once with a :class:`~docconvert_nb.jobs.Job` (or a
:class:`~docconvert_nb.jobs.JobGroup`) that the tracker submits and follows
in the background. Mistakes in the call itself (missing file, unknown
provider or target format, unsupported pair, bad option, unwritable
``save_to``) raise a typed error right away; a document whose content is
unusable (empty, truncated, not what its name says and nothing we know)
gives a job that has failed with that message, like any other bad input.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Iterable

from . import fileformats as _formats
from . import providers
from .documents import ConversionRequest, Source, readable_name
from .errors import DocconvertError, UnknownFormat
from .jobs import Job, JobGroup
from .providers.base import Provider
from .tracker import get_tracker

Document = "str | os.PathLike | bytes"


def convert(
    document,
    to: str,
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    **options: Any,
) -> Job:
    """Convert a document (path or bytes) to the format ``to``; returns the running Job.

    ``name`` names bytes input (``"scan.png"``); ``save_to`` saves every
    output into that folder once the job completes. Other keyword arguments
    are converter options (``dpi=200``, ``pages="1-3"``...).
    """
    return submit("convert", document, to, provider=provider, name=name, save_to=save_to, options=options)


def ocr(
    document,
    to: str = "txt",
    *,
    lang: str = "eng",
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    **options: Any,
) -> Job:
    """Recognize the text of an image, PDF or DjVu.

    ``to``: ``"txt"``, ``"hocr"`` (word boxes as HTML), ``"tsv"`` (word boxes
    with confidences) or ``"pdf"`` (searchable PDF). ``lang`` is Tesseract's
    language code(s), e.g. ``"eng+deu"``.
    """
    options = {"lang": lang, **options}
    return submit("ocr", document, to, provider=provider, name=name, save_to=save_to, options=options)


def recognize_tables(
    document,
    to: str = "csv",
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    **options: Any,
) -> Job:
    """Find the tables in an image or PDF page: one CSV output per table (XLSX: one sheet each)."""
    return submit("tables", document, to, provider=provider, name=name, save_to=save_to, options=options)


def submit(
    task: str,
    document,
    to: str,
    *,
    provider: str | Provider | None = None,
    name: str | None = None,
    save_to: str | os.PathLike | None = None,
    options: dict[str, Any] | None = None,
) -> Job:
    """The common path of every call: check now, then submit in the background."""
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
    return get_tracker().track(job)


def convert_many(
    documents: "str | os.PathLike | Iterable",
    to: str,
    *,
    task: str = "convert",
    provider: str | Provider | None = None,
    save_to: str | os.PathLike | None = None,
    name: str | None = None,
    **options: Any,
) -> JobGroup:
    """Submit many documents at once; returns a JobGroup.

    ``documents`` is a list of paths/bytes, a folder, or a glob pattern
    (``"scans/*.png"``). A document that cannot even be submitted (unknown
    format, unsupported pair) becomes a failed job in the group, so one bad
    file never stops the batch.
    """
    chosen = providers.get(provider)
    save_dir = _writable_dir(save_to)
    jobs = []
    for document in expand(documents):
        source = None
        try:
            source = Source.from_input(document)
            jobs.append(submit(task, source, to, provider=chosen, save_to=save_dir, options=dict(options)))
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
    get_tracker().jobs.append(job)
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

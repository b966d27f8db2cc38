"""What the table and preview helpers accept: outputs, jobs, paths, bytes, base64.

Everything is turned into :class:`Document` objects (a name, a format and
the bytes), so the readers and the previews never care where the data came
from. Cloud services hand results back as base64 text (Aspose puts it inside
JSON); such a string is decoded here, so users can pass it on unchanged.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import fileformats
from ..documents import Source
from ..errors import DocconvertError, UnknownFormat
from ..jobs import Job
from ..outputs import Output
from ..status import JobStatus

_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
#: Below this, a string of letters is more likely a word than base64.
_MIN_BASE64 = 8


@dataclass
class Document:
    """One file to read or preview: ``name``, ``format`` (see :mod:`docconvert_nb.fileformats`) and bytes."""

    name: str
    format: str
    data: bytes = field(repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stem(self) -> str:
        """The name without its extension(s): ``scan-p1-t1.csv`` → ``scan-p1-t1``."""
        name = self.name
        for suffix in (".hocr.html", ".hocr"):
            if name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def resolve(obj, *, name: str | None = None, format: str | None = None) -> list[Document]:
    """The documents held by ``obj``.

    ``obj`` is an :class:`~docconvert_nb.outputs.Output`, a completed
    :class:`~docconvert_nb.jobs.Job` (all its outputs), a
    :class:`~docconvert_nb.documents.Source`, a path, bytes, a base64 string
    (or ``data:...;base64,`` URI), or literal CSV text. ``format`` overrides
    detection (``"csv"``, ``"xlsx"``, ``"hocr"``...).
    """
    if isinstance(obj, Document):
        docs = [obj]
    elif isinstance(obj, Job):
        docs = [from_output(out) for out in completed_outputs(obj)]
    elif isinstance(obj, Output):
        docs = [from_output(obj)]
    elif isinstance(obj, Source):
        docs = [Document(obj.name, obj.format, obj.read_bytes())]
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        docs = [from_bytes(bytes(obj), name)]
    elif isinstance(obj, (str, os.PathLike)):
        docs = [from_str_or_path(obj, name)]
    else:
        raise TypeError(
            f"expected an Output, a Job, a path, bytes or a base64 string, not {type(obj).__name__}"
        )
    if format:
        wanted = fileformats.normalize(format)
        for doc in docs:
            doc.format = wanted
    return docs


def completed_outputs(job) -> list:
    """A job's outputs, or a clear error when it has none to read yet."""
    if not job.done:
        raise DocconvertError(
            f"job {job.id or '#' + str(job.number)} is still {job.status}: its outputs are not ready; "
            "call job.wait() first"
        )
    job.raise_for_status()
    if job.status != JobStatus.COMPLETED:  # pragma: no cover - raise_for_status covers the rest
        raise DocconvertError(f"job {job.id} ended as {job.status}")
    if not job.outputs:
        raise DocconvertError(f"job {job.id} completed without outputs")
    return list(job.outputs)


def from_output(output) -> Document:
    data = output.read()
    fmt = fileformats.from_name(output.name) or _format_from_media_type(output.content_type)
    return Document(output.name, refine_format(fmt, data, output.name), data, dict(output.metadata))


def from_bytes(data: bytes, name: str | None = None) -> Document:
    fmt = _detect(data, name)
    if fmt in fileformats.TEXT_FORMATS:
        decoded = decode_base64(data)
        if decoded is not None:
            return Document(name or "document", _detect(decoded, name), decoded)
    return Document(name or "document", fmt, data)


def from_str_or_path(obj, name: str | None = None) -> Document:
    """A path; else base64 (or a data URI); else, when it spans several lines, literal table text."""
    text = os.fspath(obj)
    one_line = "\n" not in text.strip()
    if isinstance(obj, os.PathLike) or (one_line and len(text) < 4096):
        path = Path(text).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long base64 string is "a file name too long"
            is_file = False
        if is_file:
            data = path.read_bytes()
            return Document(name or path.name, _detect(data, path.name), data)
        if isinstance(obj, os.PathLike):
            raise FileNotFoundError(f"no such file: {path}")
    raw = text.encode("utf-8")
    decoded = decode_base64(raw)
    if decoded is not None:
        return Document(name or "document", _detect(decoded, name), decoded)
    if not one_line:  # literal text, e.g. to_dataframe("a;b\n1;2")
        return Document(name or "table.csv", fileformats.from_name(name) or "csv", raw)
    raise FileNotFoundError(f"no such file: {text[:200]!r} (and it is not base64 data either)")


def decode_base64(raw: bytes) -> bytes | None:
    """The decoded bytes if ``raw`` is base64 of a known format or of clean text, else None.

    A short run of letters is also valid base64 ("Name" decodes to junk), so
    the decoded bytes must make sense: a format detection recognises, or
    UTF-8 (or cp1252) text without control characters.
    """
    raw = raw.strip()
    if raw.startswith(b"data:"):
        header, _, payload = raw.partition(b",")
        if b";base64" not in header:
            return None
        raw = payload
    compact = b"".join(raw.split())
    if len(compact) < _MIN_BASE64 or not _BASE64.fullmatch(compact):
        return None
    altchars = b"-_" if (b"-" in compact or b"_" in compact) else None
    try:
        decoded = base64.b64decode(compact + b"=" * (-len(compact) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not decoded:
        return None
    try:
        fmt = fileformats.detect(decoded[: fileformats.SNIFF_BYTES], whole=decoded)
    except UnknownFormat:
        return None
    if fmt not in fileformats.TEXT_FORMATS:
        return decoded
    for encoding in ("utf-8", "cp1252"):  # legacy-encoded CSV is base64'd as often as UTF-8
        try:
            text = decoded.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _CONTROL.search(text) else decoded
    return None


def refine_format(fmt: str | None, data: bytes, name: str | None) -> str:
    """Fix a format guessed from a name or media type by looking at the bytes."""
    if fmt in (None, "octet-stream", "html", "txt", "plain"):
        detected = _detect(data, None if fmt in (None, "octet-stream") else name)
        if detected == "html" and b"ocr_page" in data[: 1 << 16]:
            return "hocr"
        return detected
    return fmt


def _detect(data: bytes, name: str | None) -> str:
    try:
        fmt = fileformats.detect(data[: fileformats.SNIFF_BYTES], name, whole=data)
    except UnknownFormat as exc:
        if not data:
            raise
        # A name saying ".csv" while the bytes are e.g. cp1252 text: trust the bytes' kind.
        if name and fileformats.from_name(name) in fileformats.TEXT_FORMATS:
            return fileformats.from_name(name)
        raise UnknownFormat(str(exc)) from None
    if fmt == "html" and b"ocr_page" in data[: 1 << 16]:
        return "hocr"
    return fmt


def _format_from_media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    for fmt, media in fileformats.MEDIA_TYPES.items():
        if media == base and fmt != "hocr":
            return fmt
    return None

"""Where a Dask job's bytes live when they do not travel inside the task.

Large inputs are staged, and large outputs written, at a *results location*
every worker and the notebook share: a local folder or an fsspec URL
(https://filesystem-spec.readthedocs.io/en/latest/api.html#fsspec.open).
:class:`RemoteSource` is a document that stays where it is, read by URL on
the worker.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..documents import Source
from ..errors import OutputUnavailable, ProviderError

log = logging.getLogger("docconvert_nb.providers.dask")


@dataclass(frozen=True)
class RemoteSource(Source):
    """A document the workers read by fsspec URL (``s3://bucket/scan.png``, ``file:///shared/a.pdf``).

    Only :class:`DaskProvider` uses the URL (the bytes never pass through the
    notebook); other providers read the bytes through :meth:`read_bytes`.
    Build one with :meth:`from_url`, then pass it like a path:
    ``dc.ocr(RemoteSource.from_url("s3://bucket/scan.png"), provider=cluster)``.
    """

    url: str = ""

    @classmethod
    def from_url(cls, url: str, name: str | None = None) -> "RemoteSource":
        """Look at the document's first bytes (and name) to tell its format."""
        import fsspec

        from .. import fileformats as formats

        name = name or url.rstrip("/").rsplit("/", 1)[-1] or "document"
        with fsspec.open(url, "rb") as stream:
            head = stream.read(formats.SNIFF_BYTES)
        by_name = formats.from_name(name)
        if by_name in formats.OFFICE_FORMATS and head.startswith(b"PK"):
            fmt = by_name  # a zip-based Office file: trust the name rather than fetch it all to look inside
        else:
            fmt = formats.detect(head, name)
        return cls(name=name, format=fmt, url=url)

    @property
    def size(self) -> int:
        import fsspec

        fs, path = fsspec.core.url_to_fs(self.url)
        return int(fs.size(path))

    def open(self):
        import fsspec

        return fsspec.open(self.url, "rb").open()

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()


def location(results) -> str | None:
    """A results location as an fsspec URL or an absolute local path."""
    if results is None:
        return None
    text = os.fspath(results)
    if "://" in text:
        return text.rstrip("/")
    return str(Path(text).expanduser().resolve())


def public_address(address) -> str | None:
    """An address or URL without any user:password part."""
    if address is None:
        return None
    text = str(address)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return text


def url_opener(name: str, url: str):
    """An output's opener that reads it from the results location."""
    def open_output():
        import fsspec

        try:
            return fsspec.open(url, "rb").open()
        except (OSError, ValueError) as exc:
            raise OutputUnavailable(f"{name} is no longer available at the results location: {exc}") from None

    return open_output


def file_opener(name: str, path: Path):
    """An output's opener that reads it from this machine's cache file."""
    def open_output():
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise OutputUnavailable(f"{name} is no longer available (deleted)") from None

    return open_output


def stage_input(results: str, job_id: str, input_name: str, source) -> str:
    """Copy a job's input to ``results/_inputs/<job id>/``, where every worker can read it; return its URL."""
    import fsspec

    url = f"{results.rstrip('/')}/_inputs/{job_id}/{input_name}"
    try:
        fs, path = fsspec.core.url_to_fs(url)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, "wb") as sink, source.open() as stream:
            shutil.copyfileobj(stream, sink, 1 << 20)
    except OSError as exc:
        raise ProviderError(f"cannot stage {source.name} at the results location: {exc}") from None
    return url


def remove_url(url: str) -> None:
    """Remove a file or folder at a results location; a failure is logged, not raised."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except Exception as exc:
        log.warning("could not remove %s: %s", public_address(url), exc)

"""The input side of a job: the document, and what to make of it.

Kept apart from providers and jobs so that every layer (engine, providers,
job model) can share these two small types without depending on each other.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import fileformats as formats
from .errors import InputIsFolder, InputNotFound, InputNotRegular


def read_head(path: Path) -> bytes:
    """The first bytes of a regular file, or a typed :class:`InputError`; never blocks.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO
    (which would block ``open`` until a writer comes) or a device is refused, not read.
    """
    shown = readable_name(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputNotFound(f"no such file: {shown}") from None
    except IsADirectoryError:
        raise InputIsFolder(f"{shown} is a folder; pass a file (or use convert_many)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputNotRegular(f"{shown} is a loop of symbolic links") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise InputNotRegular(f"{shown} cannot be read: permission denied") from None
        raise InputNotRegular(f"{shown} cannot be opened: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputIsFolder(f"{shown} is a folder; pass a file (or use convert_many)")
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else (
                "a socket" if stat.S_ISSOCK(info.st_mode) else "a device")
            raise InputNotRegular(f"{shown} is {kind}, not a regular file; save the document to a file first")
        os.set_blocking(fd, True)
        try:
            return os.read(fd, formats.SNIFF_BYTES)
        except OSError as exc:
            raise InputNotRegular(f"{shown} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def readable_name(name: str) -> str:
    """A file name as text that can always be shown and encoded: undecodable bytes become U+FFFD.

    Python keeps the bytes of a non-UTF-8 name as lone surrogates, which cannot be written as
    UTF-8 (in JSON, a widget or a repr printed to a terminal).
    """
    return os.fsencode(name).decode("utf-8", "replace") if _has_surrogates(name) else name


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


@dataclass(frozen=True)
class Source:
    """The input document: a file on disk or bytes in memory, with its format."""

    name: str
    format: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def from_input(cls, document: "str | os.PathLike | bytes | Source", name: str | None = None) -> "Source":
        """Accept a path, bytes or a Source; detect the format from the content.

        A path that cannot be input raises an :class:`~docconvert_nb.errors.InputError`
        (:class:`~docconvert_nb.errors.InputNotFound`, ``InputIsFolder``, ``InputNotRegular``
        for a FIFO, socket, device or symbolic-link loop; never blocking on a FIFO), and
        unrecognisable bytes :class:`~docconvert_nb.errors.UnknownFormat`.
        """
        if isinstance(document, Source):
            return document
        if isinstance(document, (bytes, bytearray, memoryview)):
            data = bytes(document)
            fmt = formats.detect(data[: formats.SNIFF_BYTES], name, whole=data)
            return cls(name=readable_name(name) if name else f"document.{formats.extension(fmt)}", format=fmt, data=data)
        path = Path(document).expanduser()
        head = read_head(path)
        fmt = formats.detect(head, name or path.name, path=path)
        return cls(name=readable_name(name or path.name), format=fmt, path=path)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data) if self.data is not None else self.path.open("rb")

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()

    @property
    def declared_format(self) -> str | None:
        """The format the file name claims, which may differ from the content."""
        return formats.from_name(self.name)


@dataclass(frozen=True)
class ConversionRequest:
    """One unit of work: turn ``source`` into ``target`` by ``task``."""

    source: Source
    target: str
    task: str = "convert"
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.task} {self.source.format} → {self.target}"

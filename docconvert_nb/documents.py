"""The input side of a job: the document, and what to make of it.

Kept apart from providers and jobs so that every layer (engine, providers,
job model) can share these two small types without depending on each other.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import fileformats as formats


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

        Raises ``FileNotFoundError`` for a missing path and
        :class:`~docconvert_nb.errors.UnknownFormat` for unrecognisable bytes.
        """
        if isinstance(document, Source):
            return document
        if isinstance(document, (bytes, bytearray, memoryview)):
            data = bytes(document)
            fmt = formats.detect(data[: formats.SNIFF_BYTES], name, whole=data)
            return cls(name=name or f"document.{formats.extension(fmt)}", format=fmt, data=data)
        path = Path(document).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder; pass a file (or use convert_many)")
        with path.open("rb") as fh:
            head = fh.read(formats.SNIFF_BYTES)
        fmt = formats.detect(head, name or path.name, path=path)
        return cls(name=name or path.name, format=fmt, path=path)

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

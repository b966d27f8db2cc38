"""Job outputs: one produced file, read lazily from wherever the provider keeps it."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Callable

from .errors import DocconvertError, OutputUnavailable
from .fileformats import from_name
from .status import Availability
from .util import format_bytes, safe_filename

#: Opens the output's bytes as a binary stream (the caller closes it).
Opener = Callable[[], IO[bytes]]

#: Readers of results that sit above the job model (``to_dataframe`` from
#: :mod:`docconvert_nb.tables`, ``preview`` from :mod:`docconvert_nb.previews`).
#: The package installs them (see ``docconvert_nb/__init__.py``), so outputs and
#: jobs offer ``.to_dataframe()`` and ``.preview()`` without depending on those layers.
_result_helpers: dict[str, Callable[..., Any]] = {}


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def set_result_helper(name: str, function: Callable[..., Any]) -> None:
    """Install the function behind ``Output.<name>()`` and ``Job.<name>()``."""
    _result_helpers[name] = function


def result_helper(name: str) -> Callable[..., Any]:
    try:
        return _result_helpers[name]
    except KeyError:
        raise DocconvertError(f"{name}() is not available: docconvert_nb.{name} is not installed") from None


@dataclass
class Output:
    """One file a job produced.

    Attributes are a snapshot of what the provider reported. The bytes are
    fetched only when asked for (:meth:`read`, :meth:`open`, :meth:`save`).
    ``metadata`` holds what a user needs next: page count, language, mean OCR
    confidence, tables found.
    """

    name: str
    content_type: str = "application/octet-stream"
    size: int | None = None
    checksum: str | None = None
    checksum_algorithm: str = "md5"
    availability: Availability = Availability.AVAILABLE
    metadata: dict[str, Any] = field(default_factory=dict)
    downloads: int | None = None
    download_limit: int | None = None
    _opener: Opener | None = field(default=None, repr=False, compare=False)

    def update_from(self, newer: "Output") -> None:
        """Take every field of a newer report of the same output, keeping this object (users hold it)."""
        for spec in fields(self):
            setattr(self, spec.name, getattr(newer, spec.name))

    def to_dict(self) -> dict[str, Any]:
        """Plain data describing the output (what reprs and widgets show)."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "availability": self.availability.value,
            "metadata": dict(self.metadata),
        }

    @property
    def format(self) -> str:
        return from_name(self.name) or self.content_type.rsplit("/", 1)[-1]

    @property
    def available(self) -> bool:
        return self.availability == Availability.AVAILABLE

    def open(self) -> IO[bytes]:
        """A binary stream of the output's bytes; close it when done."""
        if not self.available:
            raise OutputUnavailable(_unavailable_message(self))
        if self._opener is None:
            raise OutputUnavailable(f"{self.name}: this output has no data source")
        return self._opener()

    def read(self) -> bytes:
        """The whole output as bytes (fine for text and small files; use save() for big ones)."""
        with self.open() as stream:
            return stream.read()

    def text(self, encoding: str = "utf-8") -> str:
        return self.read().decode(encoding, errors="replace")

    def save(self, directory: str | os.PathLike = ".", name: str | None = None, *, overwrite: bool = False) -> Path:
        """Stream the output into ``directory`` and return the written path.

        The bytes go to a temporary file first and are renamed into place once
        complete, so a failed download never leaves a truncated file behind.
        An existing file is kept unless ``overwrite=True``.
        """
        directory = Path(directory).expanduser()
        target = directory / safe_filename(name or self.name)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".part-", dir=directory)
        except OSError as exc:
            raise DocconvertError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(fd, "wb") as sink, self.open() as source:
                shutil.copyfileobj(source, sink, 1 << 20)
                # mkstemp makes 0600; a saved output is the user's file, so it follows the umask like any other.
                os.chmod(sink.fileno(), 0o666 & ~current_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def verify(self, data: bytes) -> bool:
        """Whether ``data`` matches the announced checksum (True when none was announced)."""
        if not self.checksum:
            return True
        digest = hashlib.new(self.checksum_algorithm, data).hexdigest()
        return digest.lower() == self.checksum.lower()

    def to_dataframe(self, **options):
        """The recognized table(s) in this CSV/XLSX output as pandas DataFrame(s)."""
        return result_helper("to_dataframe")(self, **options)

    def preview(self, **options):
        """Something a notebook displays well for this output (thumbnails, text, boxes...)."""
        return result_helper("preview")(self, **options)

    def __repr__(self) -> str:
        return f"<Output {self.summary()}>"

    def summary(self) -> str:
        size = "?" if self.size is None else format_bytes(self.size)
        state = "" if self.available else f" [{self.availability}]"
        return f"{self.name} ({self.content_type}, {size}){state}"


def _unavailable_message(output: Output) -> str:
    reasons = {
        Availability.EXPIRED: "it has expired (past the provider's retention window)",
        Availability.LIMIT_REACHED: (
            f"its download limit{'' if output.download_limit is None else f' of {output.download_limit}'} is used up"
        ),
        Availability.DELETED: "it was deleted",
    }
    return f"{output.name} cannot be read: {reasons.get(output.availability, output.availability)}"

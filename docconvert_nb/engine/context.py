"""What a converter function gets: its input, options, a private folder, and a way to report."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import fileformats as formats
from ..util import safe_filename
from . import sandbox, tools

#: Longest output stem in UTF-8 bytes: with "-p1234.hocr.html" the name stays far below 255 bytes.
MAX_STEM_BYTES = 150


def _shortened(stem: str) -> str:
    data = stem.encode("utf-8", "replace")
    if len(data) <= MAX_STEM_BYTES:
        return stem
    return data[:MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip() + "…"


@dataclass
class ProducedOutput:
    name: str
    path: Path
    content_type: str
    metadata: dict[str, Any]
    size: int
    md5: str


@dataclass
class ConversionContext:
    """The job a converter works on.

    A converter reads ``input_path`` (a copy the engine owns), may write
    scratch files in ``workdir`` (removed afterwards), and reports results
    with :meth:`add_output` and non-fatal problems with :meth:`warn`. It
    raises an exception to fail the job; the message is shown to the user.
    """

    input_path: Path
    source_format: str
    target: str
    task: str
    options: dict[str, Any]
    workdir: Path
    output_dir: Path
    source_name: str
    max_pixels: int
    tool_timeout: float = tools.DEFAULT_TIMEOUT
    tool_memory_mb: int | None = tools.DEFAULT_MEMORY_MB
    outputs: list[ProducedOutput] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    progress_callback: Any = None
    #: Set when the job is canceled or deleted: tools started through run_tool are killed.
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def stem(self) -> str:
        """The source name without extension, for naming outputs (short enough for any file system)."""
        name = Path(self.source_name).name
        for suffix in (".hocr.html",):
            if name.lower().endswith(suffix):
                return _shortened(name[: -len(suffix)]) or "document"
        return _shortened(Path(name).stem) or "document"

    def output_name(self, suffix: str = "", fmt: str | None = None) -> str:
        """``report.docx`` → ``report.pdf`` (or ``report-p1.png`` with ``suffix='-p1'``)."""
        return f"{self.stem}{suffix}.{formats.extension(fmt or self.target)}"

    def add_output(
        self,
        data: bytes | Path,
        name: str | None = None,
        *,
        fmt: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ProducedOutput:
        """Record one produced file (bytes, or a file in ``workdir`` that is moved)."""
        fmt = fmt or self.target
        name = safe_filename(name or self.output_name(fmt=fmt))
        dest = self.output_dir / name
        if dest.exists():
            raise ValueError(f"converter produced two outputs named {name}")
        if isinstance(data, Path):
            data.replace(dest)
            os.chmod(dest, 0o600)
        else:
            with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                fh.write(data)
        digest = hashlib.md5()
        with dest.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        out = ProducedOutput(
            name=name,
            path=dest,
            content_type=formats.media_type(fmt),
            metadata=dict(metadata or {}),
            size=dest.stat().st_size,
            md5=digest.hexdigest(),
        )
        self.outputs.append(out)
        return out

    def tool_policy(self) -> sandbox.Policy:
        """What a tool run for this job may touch (see :meth:`run_tool`)."""
        reads = [*sandbox.SYSTEM_READ]
        if os.environ.get("TESSDATA_PREFIX"):
            reads.append(os.environ["TESSDATA_PREFIX"])
        return sandbox.Policy(read=reads, read_files=[str(self.input_path), str(self.output_dir)],
                              read_write=[str(self.workdir)], make_socket=[])

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def progress(self, fraction: float) -> None:
        if self.progress_callback is not None:
            self.progress_callback(max(0.0, min(1.0, fraction)))

    def run_tool(self, args, *, timeout: float | None = None, memory_mb: int | None = None, env=None, input=None,
                 confine=None):
        """Run an external tool inside ``workdir`` with the job's limits.

        The tool is confined (where the kernel has Landlock) to reading the system, the job's input
        and outputs, and to its scratch folder, with no network: a document naming other files (an
        indirect DjVu's ``../`` components, say) gets nothing. ``confine`` replaces that policy.
        """
        if confine is None:
            confine = self.tool_policy()
        return tools.run(
            args,
            cwd=self.workdir,
            timeout=timeout or self.tool_timeout,
            memory_mb=memory_mb if memory_mb is not None else self.tool_memory_mb,
            env=env,
            input=input,
            cancel=self.cancel_event,
            confine=confine,
        )

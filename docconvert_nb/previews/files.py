"""A card for outputs nothing here can draw (DOCX, DjVu, ZIP...): name, kind and size."""

from __future__ import annotations

from ..util import format_bytes
from .base import DEFAULT_MAX_BYTES, Preview, Rendered, plain_name, render_template


class FilePreview(Preview):
    """Name, format and size, and a sentence saying why there is no picture."""

    def __init__(self, name: str, fmt: str, size: int, message: str | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        self.name = name
        self.format = fmt
        self.size = size
        self.message = message or f"no preview for {fmt} files; save it (output.save(folder)) and open it"

    def _render(self, scale, *, with_png, palette, keep) -> Rendered:
        details = f"{self.format}, {format_bytes(self.size)}"
        html = render_template("file.html.j2", name=plain_name(self.name), details=details, message=self.message)
        return Rendered(html, f"{plain_name(self.name)} ({details}): {self.message}")

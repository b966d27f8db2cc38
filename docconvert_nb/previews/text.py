"""Text outputs (OCR text, Markdown, JSON, HTML source) with line numbers, bounded."""

from __future__ import annotations

from ..tables.reading import decode_text
from .base import DEFAULT_MAX_BYTES, Preview, Rendered, plain_name, render_template

DEFAULT_LINES = 200
#: Longer lines are cut (OCR of a table can produce one enormous line).
MAX_LINE_CHARS = 400


class TextPreview(Preview):
    """The first ``lines`` lines of a text, numbered; says "shown 200 of 5000 lines" when cut.

    Tesseract separates pages with a form feed; each one starts a new
    numbered line so page breaks stay visible.
    """

    def __init__(self, name: str, text: str, *, lines: int = DEFAULT_LINES, encoding: str = "utf-8",
                 max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        self.name = name
        self.encoding = encoding
        self.all_lines = text.replace("\f", "\n").splitlines()
        self.line_count = len(self.all_lines)
        self.limit = max(1, lines)

    @classmethod
    def from_bytes(cls, name: str, data: bytes, **options) -> "TextPreview":
        text, encoding = decode_text(data)
        return cls(name, text, encoding=encoding, **options)

    def shown_lines(self, keep: int | None = None) -> list[tuple[int, str]]:
        count = min(self.limit, self.line_count if keep is None else keep)
        return [(n, _cut(line)) for n, line in enumerate(self.all_lines[:count], start=1)]

    def _render(self, scale, *, with_png, palette, keep) -> Rendered:
        # "scale" shrinks the number of lines when the text alone is over the budget.
        count = max(1, int(min(self.limit, self.line_count) * min(1.0, scale)))
        lines = self.shown_lines(count)
        title = f"{plain_name(self.name)}: {self.line_count} line{'s' * (self.line_count != 1)}"
        note = f"shown {len(lines)} of {self.line_count} lines" if len(lines) < self.line_count else None
        html = render_template("text.html.j2", title=title, note=note, lines=lines,
                               width=len(str(max(1, len(lines)))))
        width = len(str(max(1, len(lines))))
        body = "\n".join(f"{n:>{width}}  {line}" for n, line in lines)
        text = f"{title}\n{body}" + (f"\n… {note}" if note else "")
        return Rendered(html, text)


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + f" … (+{len(line) - MAX_LINE_CHARS} characters)"

"""Several tables at once (a job with one CSV per table, a workbook with several sheets)."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .base import DEFAULT_MAX_BYTES, Preview, Rendered, render_template

DEFAULT_ROWS = 20
MAX_TABLES = 10
MAX_COLUMNS = 12


def table_html(frame: pd.DataFrame, rows: int = DEFAULT_ROWS) -> str:
    """A DataFrame as bounded HTML (first and last rows, at most MAX_COLUMNS columns)."""
    return frame.to_html(max_rows=rows, max_cols=MAX_COLUMNS, show_dimensions=False, na_rep="", escape=True)


class TablesPreview(Preview):
    """Each table under its name, at most ``rows`` rows each; ``frames`` holds the DataFrames."""

    def __init__(self, frames: dict[str, pd.DataFrame], *, title: str | None = None, rows: int = DEFAULT_ROWS,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        self.frames = frames
        self.title = title
        self.rows = rows

    def _image_count(self) -> int:
        return min(len(self.frames), MAX_TABLES)

    def _render(self, scale, *, with_png, palette, keep) -> Rendered:
        rows = max(2, int(self.rows * min(1.0, scale)))
        limit = min(len(self.frames), MAX_TABLES if keep is None else keep)
        items = list(self.frames.items())[:limit]
        note = f"shown {limit} of {len(self.frames)} tables" if limit < len(self.frames) else None
        tables = [{"name": name, "shape": f"{df.shape[0]} rows × {df.shape[1]} columns",
                   "html": Markup(table_html(df, rows))} for name, df in items]
        html = render_template("tables.html.j2", title=self.title, tables=tables, note=note)
        lines = [self.title] if self.title else []
        for name, df in items:
            with pd.option_context("display.width", 120):
                lines.append(f"{name} ({df.shape[0]} rows × {df.shape[1]} columns)\n{df.to_string(max_rows=6, max_cols=8)}")
        if note:
            lines.append(note)
        return Rendered(html, "\n\n".join(lines))

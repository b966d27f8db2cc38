"""A completed job's source next to its result(s), in one HTML block."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from ..errors import DocconvertError
from ..tables.inputs import Document, completed_outputs, from_output
from .base import DEFAULT_MAX_BYTES, Preview, Rendered, plain_name, render_template
from .frames import DEFAULT_ROWS, table_html
from .pages import DEFAULT_PAGES

#: Share of the byte budget for the source thumbnail; the results share the rest.
SOURCE_SHARE = 0.3
_MARKUP_ALLOWANCE = 4_000


class ComparePreview(Preview):
    """Source thumbnail (left) and result previews (right) of one job.

    ``source`` and ``results`` hold the part previews (a Preview, a
    DataFrame, or an error message string) so tests and users can inspect them.
    """

    def __init__(self, title: str, source_label: str, source, results: list[tuple[str, object]],
                 more: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        self.title = title
        self.source_label = source_label
        self.source = source
        self.results = results
        self.more = more

    def render(self, max_bytes: int | None = None, *, with_png: bool = True) -> Rendered:
        budget = (max_bytes or self.max_bytes) - _MARKUP_ALLOWANCE
        key = (budget, False)
        if key in self._cache:
            return self._cache[key]
        source_budget = int(budget * SOURCE_SHARE)
        result_budget = (budget - source_budget) // max(1, len(self.results))
        source_html, source_text = _part(self.source, source_budget)
        parts, texts = [], [f"{self.title}", f"  source: {self.source_label}: {source_text}"]
        for label, part in self.results:
            html, text = _part(part, result_budget)
            parts.append({"label": label, "html": Markup(html)})
            texts.append(f"  result: {label}: {text}")
        if self.more:
            texts.append(f"  {self.more}")
        html = render_template("compare.html.j2", title=self.title, source_label=self.source_label,
                               source_html=Markup(source_html), results=parts, more=self.more)
        rendered = Rendered(html, "\n".join(texts))
        self._cache[key] = rendered
        return rendered


def _part(part, budget: int) -> tuple[str, str]:
    """HTML and a one-line text of one part, within ``budget`` bytes."""
    if isinstance(part, Preview):
        rendered = part.render(max(budget, 10_000), with_png=False)
        return rendered.html, rendered.text.splitlines()[0] if rendered.text else ""
    if isinstance(part, pd.DataFrame):
        rows = DEFAULT_ROWS
        html = table_html(part, rows)
        while len(html.encode("utf-8")) > budget and rows > 2:
            rows //= 2
            html = table_html(part, rows)
        return html, f"table, {part.shape[0]} rows × {part.shape[1]} columns"
    message = str(part)
    return f'<div style="color: var(--jp-error-color1, #b00);">{Markup.escape(message)}</div>', message


def compare(job, *, pages: int = 1, page: int = 1, lines: int = 40, max_bytes: int = DEFAULT_MAX_BYTES,
            outputs: int = 3) -> ComparePreview:
    """The job's source (first ``pages`` page thumbnails) next to its first ``outputs`` results.

    Word boxes (hOCR/TSV results) are drawn over the source. The job must
    have completed (a clear error says so otherwise).
    """
    from .dispatch import preview_document

    results_out = completed_outputs(job)
    request_source = job.request.source
    source_doc = Document(request_source.name, request_source.format, request_source.read_bytes())
    source = _safely(lambda: preview_document(source_doc, pages=min(pages, DEFAULT_PAGES), page=page,
                                              lines=lines, max_bytes=max_bytes))
    results = []
    for output in results_out[:outputs]:
        results.append((plain_name(output.name), _safely(lambda o=output: preview_document(
            from_output(o), pages=pages, page=page, source=source_doc, lines=lines, max_bytes=max_bytes))))
    more = None
    if len(results_out) > outputs:
        more = f"shown {outputs} of {len(results_out)} outputs; preview(job.outputs[i]) shows any one"
    # No job id here: a heading that is a UUID says nothing (the card above shows the id).
    title = f"{plain_name(request_source.name)}: {job.request.describe()} ({job.status})"
    return ComparePreview(title, plain_name(request_source.name), source, results, more, max_bytes=max_bytes)


def _safely(build):
    """A part's preview, or the reason there is none (one bad part never hides the others)."""
    try:
        return build()
    except (DocconvertError, OSError, ValueError) as exc:
        return f"no preview: {exc}"

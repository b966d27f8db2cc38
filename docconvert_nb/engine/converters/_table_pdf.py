"""Tables of a born-digital PDF page from its own characters (pdfplumber's geometry).

Ruled tables ("lattice") come from the page's drawn lines and rectangles,
through pdfplumber's table finder. Rules are often partial (only around the
header, or only between groups of rows): when a ruled cell holds what are
plainly several rows or several columns of text, the grid inside the ruled
box is rebuilt from how the words line up (text lines make rows, vertical
gaps that no text line crosses make columns, the rules stay boundaries).
Cell text is the PDF's own text, exact.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy

LATTICE = {"vertical_strategy": "lines", "horizontal_strategy": "lines", "snap_tolerance": 3,
           "join_tolerance": 3, "intersection_tolerance": 3}


@dataclass
class PdfTable:
    """Rows of cell texts, merged-cell spans (row, column, rowspan, colspan) and the box in PDF points."""

    rows: list[list[str]]
    bbox: tuple[float, float, float, float]
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    method: str = "lattice"


def page_tables(page) -> list[PdfTable]:
    """Each ruled table of a pdfplumber page (empty when the page has no ruled table)."""
    words = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False, use_text_flow=False)
    found = []
    ruled = page.find_tables(LATTICE)
    for table in ruled:
        inside = [w for w in words if _centre_in(w, table.bbox)]
        if len(inside) < 2:
            continue
        others = [t.bbox for t in ruled if t is not table]
        grown = grow_to_aligned_text(table.bbox, [w for w in words if not any(_centre_in(w, b) for b in others)])
        if any(_overlap(grown, t.bbox) for t in found):
            grown = tuple(table.bbox)
        if grown != tuple(table.bbox):
            xs = sorted({round(c[0], 1) for c in table.cells} | {round(c[2], 1) for c in table.cells})
            ys = sorted({round(c[1], 1) for c in table.cells} | {round(c[3], 1) for c in table.cells})
            inside = [w for w in words if _centre_in(w, grown)]
            result = PdfTable(text_grid(inside, grown, xs, ys), grown, method="lattice+text")
        elif _needs_text_grid(table, inside):
            xs = sorted({round(c[0], 1) for c in table.cells} | {round(c[2], 1) for c in table.cells})
            ys = sorted({round(c[1], 1) for c in table.cells} | {round(c[3], 1) for c in table.cells})
            rows = text_grid(inside, table.bbox, xs, ys)
            result = PdfTable(rows, table.bbox, method="lattice+text")
        else:
            result = _lattice(table)
        _drop_empty(result)
        if len(result.rows) >= 2 and len(result.rows[0]) >= 2:
            found.append(result)
    return found


def grow_to_aligned_text(bbox, words) -> tuple[float, float, float, float]:
    """``bbox`` widened to the text that continues the ruled table's rows and columns beyond its rules.

    Rules often stop short: the row labels on the left, a last column, or a
    header or total line outside the box. Sideways, words on the table's text
    lines within a few text heights are taken in; above and below, a line
    that lies within the box's width and has column-like gaps (so not a
    title or a paragraph) close to the box.
    """
    if not words:
        return tuple(bbox)
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    x0, y0, x1, y1 = bbox
    lines = _lines(words)
    changed = True
    while changed:
        changed = False
        for line in lines:
            centre = statistics.fmean((w["top"] + w["bottom"]) / 2 for w in line)
            if y0 <= centre <= y1:
                for w in line:  # sideways, chained word to word along the line
                    if w["x1"] < x0 and x0 - w["x1"] <= 3 * height and w["x0"] < x0:
                        x0, changed = w["x0"] - 0.5, True
                    elif w["x0"] > x1 and w["x0"] - x1 <= 3 * height:
                        x1, changed = w["x1"] + 0.5, True
                for w in reversed(line):
                    if w["x1"] < x0 and x0 - w["x1"] <= 3 * height:
                        x0, changed = w["x0"] - 0.5, True
            else:
                top, bottom = min(w["top"] for w in line), max(w["bottom"] for w in line)
                near = (0 <= y0 - bottom <= 1.2 * height) or (0 <= top - y1 <= 1.2 * height)
                within = min(w["x0"] for w in line) >= x0 - 1 and max(w["x1"] for w in line) <= x1 + 1
                gaps = sum(1 for a, b in zip(line, line[1:]) if b["x0"] - a["x1"] > 1.5 * height)
                if near and within and gaps >= 1:
                    y0, y1, changed = min(y0, top - 0.5), max(y1, bottom + 0.5), True
    return (x0, y0, x1, y1)


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def _centre_in(word, bbox) -> bool:
    x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _lattice(table) -> PdfTable:
    """pdfplumber's cells; a merged cell is repeated at each position it covers."""
    rows = [[(cell or "").replace("\n", " ").strip() if cell is not None else None for cell in row]
            for row in table.extract()]
    spans = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            if text is None:
                continue
            width = 1
            while c + width < len(row) and row[c + width] is None:
                width += 1
            height = 1
            while r + height < len(rows) and c < len(rows[r + height]) and rows[r + height][c] is None \
                    and all(rows[r + height][c + k] is None for k in range(width) if c + k < len(rows[r + height])):
                height += 1
            if width > 1 or height > 1:
                spans.append((r, c, height, width))
    filled = [[text or "" for text in row] for row in rows]
    for r, c, height, width in spans:
        for dr in range(height):
            for dc in range(width):
                filled[r + dr][c + dc] = filled[r][c]
    return PdfTable(filled, table.bbox, spans)


def _lines(words) -> list[list[dict]]:
    """Words grouped into text lines (top to bottom), each line left to right."""
    if not words:
        return []
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (w["top"] + w["bottom"]) / 2):
        centre = (word["top"] + word["bottom"]) / 2
        if lines:
            last = lines[-1]
            last_centre = statistics.fmean((w["top"] + w["bottom"]) / 2 for w in last)
            if abs(centre - last_centre) <= 0.5 * height:
                last.append(word)
                continue
        lines.append([word])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _needs_text_grid(table, words) -> bool:
    """Whether ruled cells hold several rows (several lines in two cells of a row, its first cell
    included: wrapped header text is not rows) or several columns (a wide gap inside a line)."""
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    for row in table.rows:
        multi = 0
        for cell in row.cells:
            if cell is None:
                continue
            cell_lines = _lines([w for w in words if _centre_in(w, cell)])
            multi += len(cell_lines) >= 2
            for line in cell_lines:  # a wide gap inside one line of a cell: columns with no rule between
                if any(b["x0"] - a["x1"] > 2.0 * height for a, b in zip(line, line[1:])):
                    return True
        first = next((cell for cell in row.cells if cell is not None), None)
        first_lines = _lines([w for w in words if _centre_in(w, first)]) if first is not None else []
        if multi >= 2 and len(first_lines) >= 2:  # row labels too: rows without rules between them
            return True
    return False


def text_grid(words, bbox, rule_xs=(), rule_ys=(), min_gap: float | None = None) -> list[list[str]]:
    """Rows of cell texts inside ``bbox`` from the words' layout.

    Rows are text lines; a line whose first column is empty and that fills
    fewer columns than the line above continues that line's cells (wrapped
    text) when no rule lies between them. Columns are split at vertical rules
    and at gaps at least ``min_gap`` wide (default: the text height) that
    (almost) no text line crosses.
    """
    lines = _lines(words)
    if not lines:
        return []
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    min_gap = height if min_gap is None else min_gap
    x0, x1 = bbox[0], bbox[2]
    step = 0.25
    n = int((x1 - x0) / step) + 2
    cover = numpy.zeros(n, dtype=numpy.int32)
    for line in lines:
        hit = numpy.zeros(n, dtype=bool)
        for w in line:
            hit[max(0, int((w["x0"] - x0) / step)):min(n, int((w["x1"] - x0) / step) + 1)] = True
        cover += hit
    cover = cover.tolist()
    allowed = int(len(lines) * 0.05)
    seps = [x for x in rule_xs if x0 + 1 < x < x1 - 1]
    i = 0
    while i < n:
        if cover[i] <= allowed:
            j = i
            while j < n and cover[j] <= allowed:
                j += 1
            left, right = x0 + i * step, x0 + j * step
            if (right - left) >= min_gap and i > 0 and j < n:
                seps.append((left + right) / 2)
            i = j
        else:
            i += 1
    seps = sorted(seps)
    bounds = [x0] + [s for k, s in enumerate(seps) if k == 0 or s - seps[k - 1] > min_gap / 2] + [x1]
    n_cols = len(bounds) - 1

    def column(word):
        centre = (word["x0"] + word["x1"]) / 2
        left = max(0, next((k for k in range(n_cols) if bounds[k] <= word["x0"] + 0.5 < bounds[k + 1]), 0))
        mid = next((k for k in range(n_cols) if bounds[k] <= centre < bounds[k + 1]), n_cols - 1)
        return min(left, mid)

    rows: list[list[str]] = []
    last_bottom = None
    for line in lines:
        cells = [""] * n_cols
        for w in line:
            c = column(w)
            cells[c] = (cells[c] + " " + w["text"]).strip()
        top = min(w["top"] for w in line)
        ruled_between = last_bottom is not None and any(last_bottom - 1 <= y <= top + 1 for y in rule_ys)
        filled = sum(1 for t in cells if t)
        if (rows and not cells[0] and not ruled_between and filled < sum(1 for t in rows[-1] if t)
                and all(not t or rows[-1][k] for k, t in enumerate(cells))):
            rows[-1] = [(a + " " + b).strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
        last_bottom = max(w["bottom"] for w in line)
    return rows


def _drop_empty(table: PdfTable) -> None:
    """Remove empty rows and columns, keeping the merged-cell spans on the cells they cover."""
    rows = table.rows
    keep_rows = [r for r, row in enumerate(rows) if any(row)]
    keep_cols = [c for c in range(len(rows[0]) if rows else 0) if any(rows[r][c] for r in keep_rows)]
    new_row = {r: k for k, r in enumerate(keep_rows)}
    new_col = {c: k for k, c in enumerate(keep_cols)}
    spans = []
    for r, c, height, width in table.spans:
        rs = [new_row[x] for x in range(r, r + height) if x in new_row]
        cs = [new_col[x] for x in range(c, c + width) if x in new_col]
        if rs and cs and (len(rs) > 1 or len(cs) > 1):
            spans.append((rs[0], cs[0], len(rs), len(cs)))
    table.rows = [[rows[r][c] for c in keep_cols] for r in keep_rows]
    table.spans = spans

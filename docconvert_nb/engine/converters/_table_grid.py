"""Tables from words and ruling lines, whatever they were read from (a PDF's text, OCR of an image).

Ruled tables ("lattice") come as pdfplumber ``Table`` objects: cells found
where the page's rules intersect (rules drawn in the PDF, or ruling lines
found in the image). Rules are often partial (only around the header, or
only between groups of rows, or stopping short of the row labels): when a
ruled cell holds what are plainly several rows or several columns of text,
or text continues the table beyond its rules, the grid is rebuilt from how
the words line up (text lines make rows, vertical gaps that no text line
crosses make columns, the rules stay boundaries).

A word is a dict with ``x0``, ``x1``, ``top``, ``bottom``, ``text`` and
optionally ``conf`` (0–100), in any one unit (PDF points or pixels).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy


@dataclass
class GridTable:
    """Rows of cell texts and confidences, merged-cell spans (row, column, rowspan, colspan), the box."""

    rows: list[list[str]]
    bbox: tuple[float, float, float, float]
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    method: str = "lattice"
    confidence: list[list[float | None]] = field(default_factory=list)


def tables_from_rules(ruled, words) -> list[GridTable]:
    """Each ruled table (pdfplumber ``Table``) filled with ``words``; partial rules completed from the text."""
    found: list[GridTable] = []
    for table in ruled:
        inside = [w for w in words if _centre_in(w, table.bbox)]
        if len(inside) < 2:
            continue
        others = [t.bbox for t in ruled if t is not table]
        grown = grow_to_aligned_text(table.bbox, [w for w in words if not any(_centre_in(w, b) for b in others)])
        if any(_overlap(grown, t.bbox) for t in found):
            grown = tuple(table.bbox)
        xs = sorted({round(c[0], 1) for c in table.cells} | {round(c[2], 1) for c in table.cells})
        ys = sorted({round(c[1], 1) for c in table.cells} | {round(c[3], 1) for c in table.cells})
        taken_in = [w for w in words if _centre_in(w, grown)]
        if len(taken_in) > len(inside):  # text beyond the rules belongs to the table
            result = _from_word_cells(*text_grid(taken_in, grown, xs, ys), grown, "lattice+text")
        elif _needs_text_grid(table, inside):
            result = _from_word_cells(*text_grid(inside, table.bbox, xs, ys), table.bbox, "lattice+text")
        else:
            result = _lattice(table, inside)
        _drop_empty(result)
        if len(result.rows) >= 2 and len(result.rows[0]) >= 2:
            found.append(result)
    return found


def _join(words) -> str:
    return " ".join(w["text"] for line in _lines(words) for w in line).strip()


def _confidence(words) -> float | None:
    values = [w["conf"] for w in words if w.get("conf") is not None]
    return round(statistics.fmean(values), 1) if values else None


def _from_word_cells(cells, spans, bbox, method) -> GridTable:
    """Texts and confidences of cells of words; a merged cell's text repeated where it covers."""
    rows = [[_join(cell) for cell in row] for row in cells]
    confidence = [[_confidence(cell) if cell else None for cell in row] for row in cells]
    for r, c, height, width in spans:
        for dr in range(height):
            for dc in range(width):
                rows[r + dr][c + dc], confidence[r + dr][c + dc] = rows[r][c], confidence[r][c]
    return GridTable(rows, tuple(bbox), list(spans), method=method, confidence=confidence)


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
                for w in line:  # sideways (words outside or across the edge), chained along the line
                    if w["x1"] > x1 + 0.5 and w["x0"] - x1 <= 3 * height:
                        x1, changed = w["x1"] + 0.5, True
                for w in reversed(line):
                    if w["x0"] < x0 - 0.5 and x0 - w["x1"] <= 3 * height:
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


def _lattice(table, words) -> GridTable:
    """The ruled cells, each with the words whose centre it holds; a merged cell repeated where it covers."""
    grid = []
    for row in table.rows:
        grid.append([None if cell is None else [w for w in words if _centre_in(w, cell)] for cell in row.cells])
    spans = []
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            width = 1
            while c + width < len(row) and row[c + width] is None:
                width += 1
            height = 1
            while r + height < len(grid) and all(
                    c + k < len(grid[r + height]) and grid[r + height][c + k] is None for k in range(width)):
                height += 1
            if width > 1 or height > 1:
                spans.append((r, c, height, width))
    for r, c, height, width in spans:
        for dr in range(height):
            for dc in range(width):
                grid[r + dr][c + dc] = grid[r][c]
    result = _from_word_cells([[cell or [] for cell in row] for row in grid], [], table.bbox, "lattice")
    result.spans = spans  # the covered positions already hold the merged cell's words
    return result


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


def _columns_in_line(line, height: float) -> bool:
    """Whether a line of one cell reads as several cells: split at gaps over twice the text height into
    three or more parts, or two with a number among them (not two words of stretched, justified text)."""
    parts = _segments(line, 2.0 * height)
    return len(parts) >= 3 or (len(parts) == 2 and any(ch.isdigit() for part in parts for w in part for ch in w["text"]))


def _needs_text_grid(table, words) -> bool:
    """Whether ruled cells hold several rows or several columns of text.

    Several rows: the first cell of a ruled row and another one hold the
    same number (≥ 2) of text lines (row labels beside their values; wrapped
    text differs from cell to cell). Several columns: two or more lines in
    the table's cells read as several cells (:func:`_columns_in_line`).
    """
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    gapped = 0
    for row in table.rows:
        counts = []
        for cell in row.cells:
            if cell is None:
                continue
            cell_lines = _lines([w for w in words if _centre_in(w, cell)])
            counts.append(len(cell_lines))
            gapped += sum(1 for line in cell_lines if _columns_in_line(line, height))
            if gapped >= 2:
                return True
        if counts and counts[0] >= 2 and counts[0] in counts[1:]:
            return True
    return False


def text_grid(words, bbox, rule_xs=(), rule_ys=(), min_gap: float | None = None):
    """``(rows of cells (the words in each), merged-cell spans)`` inside ``bbox`` from the words' layout.

    Rows are text lines; a line whose first column is empty and that fills
    fewer columns than the line above continues that line's cells (wrapped
    text) when no rule lies between them. Columns are split at vertical rules
    and at gaps at least ``min_gap`` wide (default: the text height) that
    (almost) no text line crosses. Text that runs on over empty columns (a
    group header) is a merged cell, its text in the first column it covers.
    """
    lines = _lines(words)
    if not lines:
        return [], []
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    min_gap = height if min_gap is None else min_gap
    x0, x1 = bbox[0], bbox[2]
    step = 0.25
    n = int((x1 - x0) / step) + 2
    # Column gaps come from the lines with the most cells (the body): a group header or a long
    # label in a line with fewer cells may cross a gap; it then becomes a merged cell.
    counts = [len(_segments(line, min_gap)) for line in lines]
    multi = sorted(k for k in counts if k >= 2)
    body = [line for line, k in zip(lines, counts) if k >= multi[len(multi) // 2]] if multi else lines
    cover = numpy.zeros(n, dtype=numpy.int32)
    for line in body:
        hit = numpy.zeros(n, dtype=bool)
        for w in line:
            hit[max(0, int((w["x0"] - x0) / step)):min(n, int((w["x1"] - x0) / step) + 1)] = True
        cover += hit
    cover = cover.tolist()
    allowed = int(len(body) * 0.05)
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

    rows: list[list[list[dict]]] = []
    last_bottom = None
    for line in lines:
        cells: list[list[dict]] = [[] for _ in range(n_cols)]
        for segment in _segments(line, min_gap):  # a phrase stays in one cell, the column where it starts
            cells[column(segment[0])].extend(segment)
        top = min(w["top"] for w in line)
        ruled_between = last_bottom is not None and any(last_bottom - 1 <= y <= top + 1 for y in rule_ys)
        filled = sum(1 for cell in cells if cell)
        if (rows and not cells[0] and not ruled_between and filled < sum(1 for cell in rows[-1] if cell)
                and all(not cell or rows[-1][k] for k, cell in enumerate(cells))):
            rows[-1] = [a + b for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
        last_bottom = max(w["bottom"] for w in line)
    spans = []
    for r, row in enumerate(rows):  # text running over empty columns to its right is one merged cell
        for c, cell in enumerate(row):
            if not cell:
                continue
            right = max(w["x1"] for w in cell)
            width = 1
            while c + width < n_cols and not row[c + width] and right > bounds[c + width] + min_gap / 2:
                width += 1
            if width > 1:
                spans.append((r, c, 1, width))
    return rows, spans


def _drop_empty(table: GridTable) -> None:
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
    table.confidence = [[table.confidence[r][c] for c in keep_cols] for r in keep_rows]
    table.spans = spans


def _segments(line, height: float) -> list[list[dict]]:
    """A text line split where the gap between words is wider than the text height (column gaps)."""
    parts = [[line[0]]]
    for a, b in zip(line, line[1:]):
        if b["x0"] - a["x1"] > height:
            parts.append([b])
        else:
            parts[-1].append(b)
    return parts


def _to_enclosing_rules(bbox, rules, height: float):
    """``bbox`` extended up and down to the nearest rules as wide as the table, a few lines away at most."""
    x0, y0, x1, y1 = bbox
    wide = [y for rx0, rx1, y in rules if rx0 <= x0 + 0.1 * (x1 - x0) and rx1 >= x1 - 0.1 * (x1 - x0)]
    above = [y for y in wide if y0 - 4 * height <= y < y0]
    below = [y for y in wide if y1 < y <= y1 + 4 * height]
    return (x0, min(above) if above else y0, x1, max(below) if below else y1)


def stream_tables(words, rules=()) -> list[GridTable]:
    """Tables without rules: runs of text lines split into aligned segments, gridded by :func:`text_grid`.

    ``rules`` are horizontal rules ``(x0, x1, y)``: a table's top and bottom
    rules (booktabs style) take the lines between them and the body, such as
    a group header, into the table.

    A line belongs to a table when it has column gaps (wider than the text
    height); a run of such lines (a single-segment line such as a group
    label or wrapped cell may sit inside) is a table when its segments are
    short, like cells, not like the lines of a two-column page layout.
    """
    lines = _lines(words)
    if not lines:
        return []
    height = statistics.median(w["bottom"] - w["top"] for w in words)
    info = []
    for line in lines:
        segments = _segments(line, height)
        info.append((line, len(segments), statistics.median(len(_join(s)) for s in segments)))
    blocks, current, gap_lines = [], [], 0
    last_bottom = None
    for line, n_segments, _ in info:
        top = min(w["top"] for w in line)
        far = last_bottom is not None and top - last_bottom > 2.5 * height
        if n_segments >= 2 and not far:
            current.append(line)
            gap_lines = 0
        elif n_segments >= 2:
            blocks.append(current)
            current, gap_lines = [line], 0
        elif current and gap_lines < 2 and not far:
            current.append(line)
            gap_lines += 1
        else:
            blocks.append(current)
            current, gap_lines = [], 0
        last_bottom = max(w["bottom"] for w in line)
    blocks.append(current)
    found = []
    by_line = {id(line): (n, size) for line, n, size in info}
    for block in blocks:
        while block and by_line[id(block[-1])][0] < 2:  # trailing single-segment lines are text after the table
            block = block[:-1]
        tabular = [by_line[id(line)] for line in block if by_line[id(line)][0] >= 2]
        if len(tabular) < 3:
            continue
        if max(n for n, _ in tabular) < 3 and statistics.median(size for _, size in tabular) > 25:
            continue  # two columns of running text, not a table
        block_words = [w for line in block for w in line]
        bbox = (min(w["x0"] for w in block_words) - 0.5, min(w["top"] for w in block_words) - 0.5,
                max(w["x1"] for w in block_words) + 0.5, max(w["bottom"] for w in block_words) + 0.5)
        bbox = _to_enclosing_rules(bbox, rules, height)
        bbox = grow_to_aligned_text(bbox, words)
        inside = [w for w in words if _centre_in(w, bbox)]
        result = _from_word_cells(*text_grid(inside, bbox), bbox, "stream")
        _drop_empty(result)
        if len(result.rows) >= 2 and result.rows and len(result.rows[0]) >= 2:
            found.append(result)
    return found

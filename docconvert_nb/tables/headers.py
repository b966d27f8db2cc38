"""Which top rows of a table are its header, and the column names they make.

OCR'd tables arrive as a grid of cells with no notion of a header. The
header is found by comparing the top rows with the body: a header row holds
text where the body holds numbers or dates. Multi-row headers (a merged
"Sales" cell over "2023" and "2024") are flattened into ``"Sales / 2023"``.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from .dates import looks_like_date
from .numbers import OCR_DIGITS, is_empty, parse_number

EMPTY, NUMBER, DATE, TEXT = "empty", "number", "date", "text"
#: At most this many rows are taken as header (plus title rows above them).
MAX_HEADER_ROWS = 3
SEPARATOR = " / "


def cell_kind(cell) -> str:
    """``"empty"``, ``"number"``, ``"date"`` or ``"text"`` for one cell."""
    if is_empty(cell):
        return EMPTY
    if isinstance(cell, bool):
        return TEXT
    if isinstance(cell, (int, float)):
        return NUMBER
    if isinstance(cell, (datetime, date)):
        return DATE
    text = str(cell)
    if parse_number(text) is not None:
        return NUMBER
    if looks_like_date(text):
        return DATE
    # A digit misread as a letter ("1O4") still looks like a number in the body.
    if any(ch.isdigit() for ch in text) and parse_number(text.translate(OCR_DIGITS)) is not None:
        return NUMBER
    return TEXT


def body_kinds(kinds: list[list[str]], start: int) -> list[str]:
    """Each column's usual kind of cell from row ``start`` on (text on a tie or when empty)."""
    columns = len(kinds[0]) if kinds else 0
    result = []
    for j in range(columns):
        counts = Counter(row[j] for row in kinds[start:] if row[j] != EMPTY)
        if not counts:
            result.append(EMPTY)
            continue
        (kind, n), *rest = counts.most_common()
        result.append(TEXT if rest and rest[0][1] == n else kind)
    return result


def count_header_rows(grid: list[list]) -> tuple[int, int]:
    """``(title_rows, header_rows)`` at the top of ``grid``.

    Title rows are leading rows with a single filled cell above a real
    header (a table caption OCR kept in the grid). Header rows follow them.
    Without any numeric or date column, the first row is the header when
    its cells are distinct and filled (as pandas would assume).
    """
    if len(grid) < 2:
        return 0, 0
    kinds = [[cell_kind(cell) for cell in row] for row in grid]
    body = body_kinds(kinds, 1)
    typed = [j for j, kind in enumerate(body) if kind in (NUMBER, DATE)]
    labels = [j for j, kind in enumerate(body) if kind == TEXT]

    def filled(i: int) -> list[int]:
        return [j for j, kind in enumerate(kinds[i]) if kind != EMPTY]

    def is_data(i: int) -> bool:
        agree = sum(1 for j in typed if kinds[i][j] == body[j])
        text = sum(1 for j in typed if kinds[i][j] == TEXT)
        return agree > 0 and agree >= text

    titles = 0
    while titles < len(grid) - 2 and len(filled(titles)) == 1 and len(grid[0]) > 1 and not is_data(titles):
        titles += 1
    if not typed:
        first = [str(grid[titles][j]).strip() for j in filled(titles)]
        distinct = len(set(first)) == len(first) == len(grid[titles])
        return titles, (1 if distinct and len(grid) - titles >= 2 else 0)
    header = titles
    limit = min(titles + MAX_HEADER_ROWS, len(grid) - 1)
    while header < limit and not is_data(header):
        header += 1
    # A row of years under merged group headings ("Sales" over "2023 | 2024") reads like
    # data; it belongs to the header when the heading above spans gaps and its label cells are empty.
    while (
        titles < header < limit
        and any(kinds[header - 1][j] == EMPTY for j in typed)
        and labels and all(kinds[header][j] == EMPTY for j in labels)
        and any(kinds[header][j] != EMPTY for j in typed)
    ):
        header += 1
    return titles, header - titles


def flatten_header(rows: list[list], width: int) -> list[str]:
    """Column names from header rows: spans filled rightwards, levels joined with " / ".

    Empty names become ``column_<n>``; duplicates get `` (2)``, `` (3)``...
    """
    filled_rows = []
    for level, row in enumerate(rows):
        texts = [_header_text(cell) for cell in row] + [""] * (width - len(row))
        if level < len(rows) - 1:  # merged cells of upper levels span to the right
            last = ""
            for j, text in enumerate(texts):
                if text:
                    last = text
                elif last and any(_header_text(r[j]) for r in rows[level + 1:] if j < len(r)):
                    texts[j] = last
        filled_rows.append(texts)
    names = []
    for j in range(width):
        parts = []
        for texts in filled_rows:
            if texts[j] and (not parts or parts[-1] != texts[j]):
                parts.append(texts[j])
        names.append(SEPARATOR.join(parts) or f"column_{j + 1}")
    return deduplicate(names)


def deduplicate(names: list[str]) -> list[str]:
    seen: Counter = Counter()
    result = []
    for name in names:
        seen[name] += 1
        result.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return result


def _header_text(cell) -> str:
    if is_empty(cell):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (datetime, date)):
        return cell.strftime("%Y-%m-%d")
    return " ".join(str(cell).split())

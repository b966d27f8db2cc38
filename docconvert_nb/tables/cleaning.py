"""Cleaning a raw table (as OCR or a spreadsheet gave it) into typed columns, with a report.

Each step can be switched off by a keyword argument of :func:`clean_table`;
every change is recorded (column, rule, count, an example) in the returned
:class:`CleaningReport` and in ``df.attrs["docconvert_cleaning"]``.

Rules reported: ``whitespace``, ``empty_rows``, ``empty_columns``,
``title_row``, ``header``, ``null_marker``, ``ocr_confusion``,
``thousands_separator``, ``decimal_comma``, ``currency``, ``percent``,
``negative_parentheses``, ``unicode_minus``, ``to_number``, ``to_date``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime

import pandas as pd

from .dates import convert_dates
from .headers import count_header_rows, deduplicate, flatten_header
from .numbers import convert_column, is_empty

ATTR_CLEANING = "docconvert_cleaning"
ATTR_UNITS = "docconvert_units"
ATTR_TITLE = "docconvert_title"


@dataclass(frozen=True)
class Change:
    """One kind of change applied to a column (``column`` is None for table-wide changes)."""

    column: str | None
    rule: str
    count: int
    example: str = ""


class CleaningReport(list):
    """The list of :class:`Change` records of one cleaning; displays as a table."""

    def to_dataframe(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(change) for change in self], columns=["column", "rule", "count", "example"])

    def for_column(self, column: str) -> list[Change]:
        return [change for change in self if change.column == column]

    def rules(self, column: str | None = None) -> set[str]:
        """The rules applied (to ``column`` only, when given)."""
        return {change.rule for change in self if column is None or change.column == column}

    def __repr__(self) -> str:
        if not self:
            return "CleaningReport(no changes)"
        lines = [f"CleaningReport({len(self)} changes)"]
        for change in self:
            where = change.column if change.column is not None else "(table)"
            lines.append(f"  {where}: {change.rule} ×{change.count}" + (f"  e.g. {change.example}" if change.example else ""))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_dataframe()._repr_html_()


def clean_table(
    df: pd.DataFrame,
    *,
    header: str | int | None = "auto",
    drop_empty: bool = True,
    strip: bool = True,
    numbers: bool = True,
    ocr_fixes: bool = True,
    decimal: str = "auto",
    percent: str = "fraction",
    null_markers: bool = True,
    dates: bool = True,
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Turn a raw grid of cells into a typed table; returns ``(df, report)``.

    - ``header``: ``"auto"`` finds the header rows (several are flattened
      to ``"Sales / 2023"``; a one-cell caption row above becomes
      ``df.attrs["docconvert_title"]``); an int takes that many rows; ``None``
      or 0 takes none (columns ``column_1``...). A frame that already has
      column names keeps them as its first header row.
    - ``drop_empty``: drop rows and columns without any value.
    - ``strip``: trim cells and collapse runs of whitespace (OCR line breaks).
    - ``numbers``: convert columns whose cells all read as numbers:
      thousands separators, a decimal comma decided per column
      (``decimal="auto"``, or force ``"."``/``","``), currency symbols (the
      column's currency goes to ``df.attrs["docconvert_units"]``),
      percentages (``percent="fraction"``: ``12.5%`` → 0.125; ``"number"``:
      → 12.5), negatives as ``(5)``, ``-5``, ``−5`` (U+2212) or ``5-``,
      and null markers (``n/a``, ``—``) when ``null_markers``.
    - ``ocr_fixes``: in otherwise numeric columns read ``O``→0, ``l``/``I``→1, ``S``→5.
    - ``dates``: text columns that one date format reads entirely become
      ``datetime64``; ``dayfirst=None`` reads ``01/02/2024`` day-first when
      the table uses decimal commas (a European table), month-first otherwise.

    Text columns get pandas' string dtype (``str`` in pandas 3).
    """
    report = CleaningReport()
    grid, named = _grid(df)
    if strip:
        grid, changed = _strip(grid)
        if changed:
            report.append(Change(None, "whitespace", changed, "cells trimmed or re-spaced"))
    if drop_empty:
        grid, rows_dropped, columns_dropped = _drop_empty(grid)
        if rows_dropped:
            report.append(Change(None, "empty_rows", rows_dropped))
        if columns_dropped:
            report.append(Change(None, "empty_columns", columns_dropped))
    width = max((len(row) for row in grid), default=0)
    grid = [list(row) + [None] * (width - len(row)) for row in grid]

    titles, header_rows = _header_rows(grid, header, named)
    title = " ".join(str(c) for row in grid[:titles] for c in row if not is_empty(c)) or None
    if titles:
        report.append(Change(None, "title_row", titles, title))
    if header_rows:
        names = flatten_header(grid[titles: titles + header_rows], width)
        report.append(Change(None, "header", header_rows, ", ".join(names[:6]) + (", …" if len(names) > 6 else "")))
    else:
        names = deduplicate([f"column_{j + 1}" for j in range(width)])
    body = grid[titles + header_rows:]
    columns = [[row[j] for row in body] for j in range(width)]

    series: dict[str, pd.Series] = {}
    units: dict[str, str] = {}
    pending_text = []
    comma_table = False
    for name, cells in zip(names, columns):
        converted = (
            convert_column(cells, decimal=decimal, ocr_fixes=ocr_fixes, percent=percent, null_markers=null_markers)
            if numbers else None
        )
        if converted is None:
            pending_text.append((name, cells))
            continue
        series[name] = pd.Series(converted.values, dtype=converted.dtype)
        comma_table = comma_table or converted.decimal == ","
        for rule, count in sorted(converted.changes.items()):
            report.append(Change(name, rule, count, converted.examples.get(rule, "")))
        report.append(Change(name, "to_number", int(series[name].notna().sum()), f"→ {converted.dtype}"))
        if "percent" in converted.changes and percent == "fraction":
            units[name] = "fraction"
        elif "percent" in converted.changes:
            units[name] = "%"
        elif converted.currency:
            units[name] = converted.currency
    for name, cells in pending_text:
        parsed = convert_dates(cells, dayfirst=comma_table if dayfirst is None else dayfirst) if dates else None
        if parsed is not None:
            values, fmt = parsed
            series[name] = values
            report.append(Change(name, "to_date", int(values.notna().sum()), f"format {fmt}"))
        else:
            series[name] = _text_series(cells)

    result = pd.DataFrame({name: series[name].reset_index(drop=True) for name in names}, columns=names)
    result.attrs[ATTR_CLEANING] = [asdict(change) for change in report]
    if units:
        result.attrs[ATTR_UNITS] = units
    if title:
        result.attrs[ATTR_TITLE] = title
    return result, report


def _grid(df: pd.DataFrame) -> tuple[list[list], bool]:
    """The frame's cells as lists (missing → None); named columns become the first row."""
    rows = [[None if is_empty(cell) else cell for cell in row] for row in df.astype(object).itertuples(index=False)]
    named = not isinstance(df.columns, pd.RangeIndex) and not all(isinstance(c, int) for c in df.columns)
    if named:
        rows.insert(0, [None if is_empty(c) else str(c) for c in df.columns])
    return rows, named


def _strip(grid: list[list]) -> tuple[list[list], int]:
    changed = 0
    result = []
    for row in grid:
        new_row = []
        for cell in row:
            if isinstance(cell, str):
                tidy = " ".join(cell.split())
                if tidy != cell:
                    changed += 1
                cell = tidy or None
            new_row.append(cell)
        result.append(new_row)
    return result, changed


def _drop_empty(grid: list[list]) -> tuple[list[list], int, int]:
    rows = [row for row in grid if any(not is_empty(cell) for cell in row)]
    width = max((len(row) for row in rows), default=0)
    keep = [j for j in range(width) if any(j < len(row) and not is_empty(row[j]) for row in rows)]
    return [[row[j] if j < len(row) else None for j in keep] for row in rows], len(grid) - len(rows), width - len(keep)


def _header_rows(grid: list[list], header, named: bool) -> tuple[int, int]:
    if header == "auto":
        titles, rows = count_header_rows(grid)
        return titles, max(rows, 1 if named and grid else 0)
    if header is None or header is False:
        return 0, 1 if named and grid else 0
    if isinstance(header, bool) or not isinstance(header, int) or header < 0:
        raise ValueError(f"header must be 'auto', a number of rows or None, not {header!r}")
    return 0, min(header, len(grid))


def _text_series(cells: list) -> pd.Series:
    values = [None if is_empty(cell) else _as_text(cell) for cell in cells]
    if all(value is None for value in values):
        return pd.Series(values, dtype=object)
    return pd.Series(values)


def _as_text(cell) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)

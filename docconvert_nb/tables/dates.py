"""Date columns: text such as ``2024-03-01``, ``01.03.2024`` or ``Mar 1, 2024`` → datetime64.

A column becomes dates only when one explicit format reads every
non-empty cell: no per-cell guessing, so ``01/02/2024`` never means
January in one row and February in the next.
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime

import pandas as pd

from .numbers import is_empty

#: Formats tried in order; within a family the day-first and month-first
#: variants are both tried and ``dayfirst`` settles a tie.
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d")
DAY_FIRST_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d. %m. %Y",
                     "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M")
MONTH_FIRST_FORMATS = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m/%d/%Y %H:%M")
NAMED_MONTH_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y",
                       "%d-%b-%Y", "%d-%b-%y", "%b %Y", "%B %Y")

_DATE_LIKE = re.compile(r"^(?=.*\d)[\w .,/:\-]{4,40}$")


def looks_like_date(text: str) -> bool:
    """A cheap filter before trying formats: digits and date punctuation."""
    return bool(_DATE_LIKE.match(text.strip())) and any(sep in text for sep in "-/. ")


def convert_dates(cells: list, *, dayfirst: bool | None = None) -> tuple[pd.Series, str] | None:
    """The column as ``datetime64`` and the format used, or None when no format reads every cell.

    ``dayfirst=None`` prefers day-first for an ambiguous ``01/02/2024``
    only if a day-first format is the sole reader, else month-first (the
    US convention, as pandas). Pass ``dayfirst=True`` for European tables.
    Cells a spreadsheet already stored as dates are kept.
    """
    present = [cell for cell in cells if not is_empty(cell)]
    if not present:
        return None
    if all(isinstance(cell, (datetime, date, pd.Timestamp)) for cell in present):
        return pd.Series(pd.to_datetime([None if is_empty(c) else c for c in cells])), "stored as dates"
    if not all(isinstance(cell, str) and looks_like_date(cell) for cell in present):
        return None
    texts = pd.Series([None if is_empty(c) else " ".join(str(c).split()) for c in cells], dtype=object)
    family_order = [ISO_FORMATS, MONTH_FIRST_FORMATS, DAY_FIRST_FORMATS, NAMED_MONTH_FORMATS]
    if dayfirst:
        family_order = [ISO_FORMATS, DAY_FIRST_FORMATS, MONTH_FIRST_FORMATS, NAMED_MONTH_FORMATS]
    for family in family_order:
        for fmt in family:
            parsed = _parse_all(texts, fmt)
            if parsed is not None:
                return parsed, fmt
    return None


def _parse_all(texts: pd.Series, fmt: str) -> pd.Series | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(texts, format=fmt, errors="coerce")
    if parsed[texts.notna()].isna().any():
        return None
    return parsed

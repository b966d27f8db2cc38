"""CSV cells that a spreadsheet would run as formulas, neutralised (CSV injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
taken as a formula by Excel, LibreOffice Calc and Google Sheets when the CSV
is opened, so a scanned or PDF cell ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0``
would run. Following OWASP's rule (https://owasp.org/www-community/attacks/CSV_Injection)
such a cell is prefixed with a single quote, which spreadsheets show as text.
Numbers (``-2``, ``+3.5``, ``-1,234.50``, ``-12 %``) are left alone so they stay numbers.
"""

from __future__ import annotations

import re

#: What marks a formula to a spreadsheet at the start of a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The prefix that makes a spreadsheet read the cell as text.
ESCAPE = "'"
#: Metadata key on CSV outputs written with neutralised cells (read back by ``to_dataframe``).
METADATA_KEY = "formulas_neutralized"

_NUMBER = re.compile(
    r"[+-]\s?(\d{1,3}([,.\u00a0 ]\d{3})+|\d+)([.,]\d+)?([eE][+-]?\d+)?\s?%?"
    r"|[+-]\s?[.,]\d+\s?%?"
)


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would run ``text`` as a formula (signed numbers are not)."""
    return bool(text) and text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text)


def neutralize(text: str) -> str:
    """``text`` made safe for a CSV cell: formula-like text gets a leading ``'``."""
    return ESCAPE + text if is_formula_like(text) else text


def restore(text: str) -> str:
    """The text :func:`neutralize` was given (for reading a neutralised CSV back)."""
    if text.startswith(ESCAPE) and is_formula_like(text[1:]):
        return text[1:]
    return text

"""Numbers as OCR and spreadsheets write them: ``1.234,50 €``, ``(12.5%)``, ``−3``, ``1O4``.

:func:`parse_number` reads one cell and says what it had to undo
(currency, percent, parentheses, unicode minus, separators); the decimal
separator of an ambiguous cell (``1,234``) is left open, because only the
other cells of its column can tell: :func:`convert_column` decides it per
column by a vote of the unambiguous cells.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

#: Currency symbols and ISO codes stripped from numbers (the column's currency is reported).
CURRENCY_SYMBOLS = "$€£¥₹₽₩₪₺₴₦฿₫¢₱"
CURRENCY_CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CNY", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
                  "PLN", "CZK", "HUF", "INR", "RUB", "BRL", "ZAR", "Fr.", "kr")
#: Unicode dashes OCR and typesetting put where a minus belongs.
UNICODE_MINUS = "\u2212\u2012\u2013\u2014\ufe63\uff0d"
#: Characters used to group thousands besides "." and ",": spaces and (Swiss) apostrophes.
GROUP_CHARS = " \u00a0\u202f\u2009'\u2019"
#: Letters OCR reads in place of digits; applied only in columns that are otherwise numeric.
OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})
#: Cells that mean "no value" in a numeric column.
NULL_MARKERS = frozenset({"-", "--", "—", "–", "‒", "−", "n/a", "na", "n.a.", "nan", "null", "none", "?", "…", "..."})

_CURRENCY = re.compile(
    r"^(?:[" + re.escape(CURRENCY_SYMBOLS) + r"]|(?:" + "|".join(re.escape(c) for c in CURRENCY_CODES) + r")(?![A-Za-z]))"
)
_CURRENCY_END = re.compile(
    r"(?:[" + re.escape(CURRENCY_SYMBOLS) + r"]|(?<![A-Za-z])(?:" + "|".join(re.escape(c) for c in CURRENCY_CODES) + r"))$"
)
_CORE = re.compile(r"\d[\d.," + re.escape(GROUP_CHARS) + r"]*")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE][+-]?\d+")


@dataclass(frozen=True)
class Reading:
    """A cell's value under one choice of decimal separator."""

    value: float
    fraction_digits: int = 0
    grouped: bool = False  # thousands separators were used under this reading


@dataclass
class ParsedNumber:
    """One cell read as a number.

    ``readings`` maps a decimal separator (``"."`` or ``","``) to the
    :class:`Reading` under that choice; a cell valid under only one choice
    has one entry. ``vote`` is the separator the cell proves (``None`` when
    it cannot tell, e.g. ``1,234`` or ``42``). ``rules`` names what was undone.
    """

    readings: dict[str, Reading]
    vote: str | None
    rules: set[str] = field(default_factory=set)
    currency: str | None = None
    percent: bool = False
    leading_zero: bool = False


def parse_number(text: str, *, percent: str = "fraction") -> ParsedNumber | None:
    """Read ``text`` as a number, or return None.

    ``percent="fraction"`` turns ``12.5%`` into ``0.125``; ``"number"``
    into ``12.5``.
    """
    s = text.strip()
    if not s:
        return None
    rules: set[str] = set()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
        rules.add("negative_parentheses")
    if s[:1] in UNICODE_MINUS:
        rules.add("unicode_minus")
        s = "-" + s[1:].lstrip()
    currency = None
    is_percent = signed = False
    # Signs, currency and percent come in any order around the digits: "-$5", "$-5", "5 €", "12 %".
    for _ in range(4):
        before = s
        if s[:1] in "+-" and not signed:
            negative ^= s[0] == "-"
            signed = True
            s = s[1:].lstrip()
        match = _CURRENCY.match(s)
        if match:
            currency = match.group(0)
            s = s[match.end():].lstrip()
        match = _CURRENCY_END.search(s)
        if match:
            currency = match.group(0)
            s = s[: match.start()].rstrip()
        if s.endswith("%"):
            is_percent = True
            s = s[:-1].rstrip()
        if len(s) > 1 and s[-1] in "-" + UNICODE_MINUS and s[-2].isdigit():  # accounting: "1,234-"
            negative = not negative
            s = s[:-1].rstrip()
        if s == before:
            break
    if currency:
        rules.add("currency")
    if is_percent:
        rules.add("percent")
    readings, vote = _read_digits(s)
    if not readings:
        return None
    sign = -1.0 if negative else 1.0
    divisor = 100.0 if is_percent and percent == "fraction" else 1.0
    whole = re.split(r"[.," + re.escape(GROUP_CHARS) + "]", s, maxsplit=1)[0]
    return ParsedNumber(
        readings={sep: Reading(sign * r.value / divisor, r.fraction_digits, r.grouped) for sep, r in readings.items()},
        vote=vote,
        rules=rules,
        currency=currency,
        percent=is_percent,
        leading_zero=len(whole) > 1 and whole.startswith("0"),
    )


def _grouped(digits: str, sep: str) -> bool:
    """``1.234.567`` with ``sep="."``: thousands groups of exactly three digits."""
    return re.fullmatch(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+", digits) is not None


def _read_digits(s: str) -> tuple[dict[str, Reading], str | None]:
    """The readings of a bare digit string (no sign, currency or percent) and the separator it proves."""
    if _SCIENTIFIC.fullmatch(s):
        return {".": Reading(float(s), 1)}, "."
    if not _CORE.fullmatch(s) or not s[-1].isdigit():
        return {}, None
    spaced = False
    if any(ch in s for ch in GROUP_CHARS):
        parts = re.split("[" + re.escape(GROUP_CHARS) + "]+", s)
        # "1 234 567,5": the first group has 1-3 digits, the others exactly three (then a decimal part).
        if not re.fullmatch(r"\d{1,3}", parts[0]) or not all(re.fullmatch(r"\d{3}(?:[.,]\d+)?", p) for p in parts[1:]):
            return {}, None
        if any(re.search("[.,]", p) for p in parts[1:-1]):
            return {}, None
        s, spaced = "".join(parts), True
    dots, commas = s.count("."), s.count(",")
    if not dots and not commas:
        reading = Reading(float(s), 0, spaced)
        return {".": reading, ",": reading}, None
    if dots and commas:
        decimal = "." if s.rfind(".") > s.rfind(",") else ","
        group = "," if decimal == "." else "."
        whole, _, frac = s.rpartition(decimal)
        if not _grouped(whole, group) or spaced:
            return {}, None
        return {decimal: Reading(float(whole.replace(group, "") + "." + frac), len(frac), True)}, decimal
    sep = "." if dots else ","
    other = "," if sep == "." else "."
    if s.count(sep) > 1:
        if not _grouped(s, sep) or spaced:
            return {}, None
        # Repeated separators group thousands, so the decimal separator is the other one.
        return {other: Reading(float(s.replace(sep, "")), 0, True)}, other
    whole, _, frac = s.partition(sep)
    if not whole:
        return {}, None
    as_decimal = Reading(float(whole + "." + frac), len(frac), spaced)
    if len(frac) == 3 and 1 <= len(whole) <= 3 and whole != "0" and not spaced:
        # "1,234" / "1.234": thousands or decimals; the column decides.
        return {sep: as_decimal, other: Reading(float(whole + frac), 0, True)}, None
    return {sep: as_decimal}, sep


@dataclass
class NumericColumn:
    """The outcome of converting one column: values, dtype and what was undone."""

    values: list
    dtype: str
    decimal: str
    changes: Counter
    examples: dict[str, str]
    currency: str | None = None


def convert_column(cells: list, *, decimal: str = "auto", ocr_fixes: bool = True,
                   percent: str = "fraction", null_markers: bool = True) -> NumericColumn | None:
    """Convert a column of cells to numbers, or return None when it is not numeric.

    A column is numeric when every non-empty cell reads as a number (after
    null markers such as ``n/a`` and ``—``). OCR letter-for-digit
    confusions (``O``→0, ``l``/``I``→1, ``S``→5) are fixed only when most
    cells read cleanly without them.
    ``decimal="auto"`` decides the separator by a vote of the cells that
    prove one (``1.234,50`` votes ","), "." on a tie. Integers with leading
    zeros (``007``) are identifiers, so such a column stays text.
    Integral columns become ``int64`` (``Int64`` when some cells are
    missing), the others ``float64``.
    """
    parsed: list = []
    raw_text: list[str | None] = []
    failures: list[int] = []
    changes: Counter = Counter()
    examples: dict[str, str] = {}
    for index, cell in enumerate(cells):
        raw_text.append(None)
        if is_empty(cell):
            parsed.append(None)
            continue
        if isinstance(cell, (bool, datetime, date)):
            return None
        if isinstance(cell, (int, float)):
            parsed.append(float(cell))
            continue
        text = str(cell)
        raw_text[index] = text
        if null_markers and text.strip().lower() in NULL_MARKERS:
            parsed.append(None)
            changes["null_marker"] += 1
            examples.setdefault("null_marker", f"{text!r} → NaN")
            continue
        number = parse_number(text, percent=percent)
        parsed.append(number)
        if number is None:
            failures.append(index)
    readable = sum(1 for p in parsed if p is not None)
    if readable == 0:
        return None
    if failures:
        if not ocr_fixes or readable <= len(failures):
            return None
        for index in failures:
            fixed_text = raw_text[index].translate(OCR_DIGITS)
            fixed = parse_number(fixed_text, percent=percent)
            if fixed is None:
                return None
            fixed.rules.add("ocr_confusion")
            parsed[index] = fixed
    if any(isinstance(p, ParsedNumber) and p.leading_zero for p in parsed):
        return None

    if decimal == "auto":
        votes = Counter(p.vote for p in parsed if isinstance(p, ParsedNumber) and p.vote)
        decimal = "," if votes[","] > votes["."] else "."
    values: list = []
    integral = True
    currencies: Counter = Counter()
    for index, p in enumerate(parsed):
        if p is None:
            values.append(math.nan)
            continue
        if isinstance(p, float):
            values.append(p)
            integral = integral and p.is_integer()
            continue
        # A cell proving the other separator ("1.234,5" in a "." column) keeps its own reading.
        sep = decimal if decimal in p.readings else next(iter(p.readings))
        reading = p.readings[sep]
        values.append(reading.value)
        if reading.fraction_digits or p.percent:
            integral = False
        rules = set(p.rules)
        if reading.grouped:
            rules.add("thousands_separator")
        if sep == "," and reading.fraction_digits:
            rules.add("decimal_comma")
        if p.currency:
            currencies[p.currency] += 1
        for rule in rules:
            changes[rule] += 1
            examples.setdefault(rule, f"{raw_text[index]!r} → {_format(reading.value)}")
    if integral:
        dtype = "Int64" if any(math.isnan(v) for v in values) else "int64"
        values = [None if math.isnan(v) else int(v) for v in values]
    else:
        dtype = "float64"
    currency = currencies.most_common(1)[0][0] if currencies else None
    return NumericColumn(values, dtype, decimal, changes, examples, currency)


def is_empty(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    if isinstance(cell, str) and not cell.strip():
        return True
    try:
        import pandas as pd

        return cell is pd.NA or cell is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _format(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)

"""Reading table files into raw grids of cells: CSV (any delimiter, encoding), XLSX, JSON.

The readers keep every cell as written (text, or the value a spreadsheet
stored); deciding headers and dtypes is :mod:`.cleaning`'s job. CSV is read
with the stdlib ``csv`` module rather than ``pandas.read_csv`` because OCR'd
tables are often ragged (a row with one cell more or less), which pandas
rejects.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import DocconvertError

#: Delimiters tried when sniffing, most common first (ties go to the earlier one).
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 60

#: Legacy encodings preferred among the ones charset-normalizer finds about as plausible.
#: On a few short CSV lines its first pick is often an exotic code page (cp775 for
#: French cp1252 text); Windows' Western code page is by far the likeliest.
PREFERRED_ENCODINGS = ("cp1252", "cp1250", "cp1251", "latin_1", "iso8859_15", "cp1253", "cp1254",
                       "cp1257", "mac_roman", "cp850", "cp437")
_CHAOS_MARGIN = 0.05

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class RawTable:
    """Cells as read, plus how they were read (encoding, delimiter, sheet)."""

    name: str
    frame: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode table text; returns ``(text, encoding)``.

    Order: an explicit ``encoding``; a byte-order mark; strict UTF-8; the
    guess of charset-normalizer (with a preference for the common Windows
    code pages when its candidates are about as plausible); cp1252.
    """
    if encoding:
        return data.decode(encoding), encoding
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = guess_encoding(data)
    if guess:
        return data.decode(guess, errors="replace"), guess
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin_1"), "latin_1"


def guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's choice of legacy encoding, nudged towards the common code pages."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - requests depends on it
        return None
    matches = list(from_bytes(data))
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    plausible = [m.encoding for m in matches if m.chaos <= best_chaos + _CHAOS_MARGIN]
    for preferred in PREFERRED_ENCODINGS:
        if preferred in plausible:
            return preferred
    return matches[0].encoding


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of fields.

    ``csv.Sniffer`` picks the separator first; its answer is kept when it
    splits the lines consistently, else every candidate is scored by how
    many rows share the most common field count (quotes are honoured, so
    ``"1,5"`` does not count as two fields).
    """
    sample_lines = [line for line in text.splitlines()[:SNIFF_LINES] if line.strip()]
    if not sample_lines:
        return ","
    sample = "\n".join(sample_lines)
    scores = {delimiter: _consistency(sample, delimiter) for delimiter in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    best = max(DELIMITERS, key=lambda d: (scores[d], -DELIMITERS.index(d)))
    if sniffed in scores and scores[sniffed] >= scores[best]:
        return sniffed
    return best if scores[best][1] > 1 else ","


def looks_tabular(data: bytes) -> bool:
    """Whether plain text splits into a consistent grid of at least two columns (a CSV named .txt)."""
    text, _ = decode_text(data[:65536])
    sample = "\n".join(line for line in text.splitlines()[:SNIFF_LINES] if line.strip())
    share, width = max(_consistency(sample, d) for d in DELIMITERS)
    return width >= 2 and share >= 0.8


def _consistency(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of rows with the modal field count, that count) for ``delimiter``."""
    widths = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
    if not widths:
        return (0.0, 0)
    modal = max(set(widths), key=lambda w: (widths.count(w), w))
    if modal < 2:
        return (0.0, modal)
    return (widths.count(modal) / len(widths), modal)


def read_csv(data: bytes, name: str = "table", *, encoding: str | None = None,
             delimiter: str | None = None) -> RawTable:
    """A CSV/TSV file as a grid of text cells (ragged rows padded with empty cells)."""
    text, used_encoding = decode_text(data, encoding)
    text = text.lstrip("\ufeff")
    delimiter = delimiter or sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DocconvertError(f"{name}: cannot read it as CSV ({exc})") from None
    width = max((len(row) for row in rows), default=0)
    grid = [row + [""] * (width - len(row)) for row in rows]
    frame = pd.DataFrame(grid, dtype=object) if grid else pd.DataFrame()
    return RawTable(name, frame, {"encoding": used_encoding, "delimiter": delimiter})


def read_xlsx(data: bytes, name: str = "workbook") -> list[RawTable]:
    """Every sheet of a workbook that holds any value, in workbook order."""
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise DocconvertError(f"{name}: cannot read the workbook ({type(exc).__name__}: {exc})") from None
    tables = []
    for sheet_name, frame in sheets.items():
        if frame.dropna(how="all").empty:
            continue
        tables.append(RawTable(str(sheet_name), frame.astype(object), {"sheet": str(sheet_name)}))
    return tables


def read_json_tables(data: bytes, name: str = "tables") -> list[RawTable]:
    """The tables of the embedded engine's JSON (``{"tables": [{"cells": [[...]]}, ...]}``)."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocconvertError(f"{name}: not valid JSON ({exc})") from None
    entries = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise DocconvertError(f"{name}: JSON without a 'tables' list; nothing to read as a table")
    tables = []
    for number, entry in enumerate(entries, start=1):
        cells = entry.get("cells") if isinstance(entry, dict) else None
        if not isinstance(cells, list):
            continue
        label = f"page {entry.get('page', '?')} table {entry.get('table', number)}"
        width = max((len(row) for row in cells), default=0)
        grid = [list(row) + [""] * (width - len(row)) for row in cells]
        tables.append(RawTable(label, pd.DataFrame(grid, dtype=object), {"title": entry.get("title")}))
    return tables

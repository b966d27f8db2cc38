"""``to_dataframe``: job results, outputs, files, bytes or base64 → pandas DataFrame(s)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import DocconvertError
from .cleaning import clean_table
from .inputs import Document, resolve
from .reading import RawTable, looks_tabular, read_csv, read_json_tables, read_xlsx

ATTR_SOURCE = "docconvert_source"
#: Formats read as tables (others in a job, e.g. a PDF next to the CSV, are skipped).
TABLE_FORMATS = frozenset({"csv", "tsv", "txt", "xlsx", "json"})
#: Metadata of CSV outputs whose formula-like cells carry a leading ``'`` (table recognition's ``safe_csv``).
FORMULAS_NEUTRALIZED = "formulas_neutralized"


def to_dataframe(
    result,
    *,
    sheet: str | int | None = None,
    as_dict: bool = False,
    clean: bool = True,
    encoding: str | None = None,
    delimiter: str | None = None,
    format: str | None = None,
    name: str | None = None,
    **cleaning: Any,
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The table(s) in ``result`` as pandas DataFrame(s).

    ``result`` is a completed :class:`~docconvert_nb.jobs.Job` (all its
    CSV/XLSX/JSON-table outputs), an :class:`~docconvert_nb.outputs.Output`,
    a path, bytes, a base64 string (as cloud APIs return results) or literal
    CSV text spanning several lines.

    **One table or several.** A single table comes back as a DataFrame.
    Several tables (a job with one CSV per table, a workbook with several
    non-empty sheets) come back as a dict ``name → DataFrame`` in document
    order: keyed by output name without extension (``"scan-p1-t1"``), by
    sheet name for a single workbook, ``"<output>/<sheet>"`` when a job has
    several workbooks. ``as_dict=True`` always returns a dict;
    ``sheet=`` (a name or a 0-based position) picks one table.

    **Reading.** CSV: delimiter sniffed (``,`` ``;`` tab ``|``; or give
    ``delimiter=``), quotes honoured, a BOM or UTF-8 recognised, legacy
    encodings (cp1252, latin-1...) detected with charset-normalizer (or give
    ``encoding=``). XLSX: every non-empty sheet, via openpyxl. ``format=``
    overrides detection. How each table was read is in
    ``df.attrs["docconvert_source"]``.

    **Cleaning** (``clean=False`` returns the raw cells, all text, columns
    numbered): header detection, empty rows/columns, whitespace, OCR digit
    confusions, number formats, percentages, negatives, dates. Each step is
    a keyword argument passed to :func:`~docconvert_nb.tables.clean_table`
    (``header=``, ``drop_empty=``, ``strip=``, ``numbers=``, ``ocr_fixes=``,
    ``decimal=``, ``percent=``, ``null_markers=``, ``dates=``, ``dayfirst=``);
    what changed is in ``df.attrs["docconvert_cleaning"]``.
    """
    documents = resolve(result, name=name, format=format)
    raw_tables = _read_all(documents, encoding=encoding, delimiter=delimiter)
    if not raw_tables:
        kinds = ", ".join(sorted({doc.format for doc in documents})) or "nothing"
        raise DocconvertError(f"no table to read: the result holds {kinds}, not CSV, XLSX or JSON tables")
    frames: dict[str, pd.DataFrame] = {}
    for key, raw in raw_tables:
        frame = clean_table(raw.frame, **cleaning)[0] if clean else raw.frame.reset_index(drop=True)
        frame.attrs[ATTR_SOURCE] = {"name": raw.name, **{k: v for k, v in raw.info.items() if v is not None}}
        frames[key] = frame
    if sheet is not None:
        return _pick(frames, sheet)
    if len(frames) == 1 and not as_dict:
        return next(iter(frames.values()))
    return frames


def _read_all(documents: list[Document], *, encoding, delimiter) -> list[tuple[str, RawTable]]:
    per_document = []
    for doc in documents:
        if doc.format not in TABLE_FORMATS or (doc.format == "txt" and not looks_tabular(doc.data)):
            continue
        if doc.format == "xlsx":
            tables = read_xlsx(doc.data, doc.name)
        elif doc.format == "json":
            tables = read_json_tables(doc.data, doc.name)
        else:
            tables = [read_csv(doc.data, doc.name, encoding=encoding,
                               delimiter=delimiter or ("\t" if doc.format == "tsv" else None))]
            if doc.metadata.get(FORMULAS_NEUTRALIZED):
                _restore_formulas(tables)
        per_document.append((doc, tables))
    single_document = len(per_document) == 1
    keyed = []
    for doc, tables in per_document:
        for table in tables:
            if doc.format in ("xlsx", "json"):
                key = table.name if single_document else f"{doc.stem}/{table.name}"
            else:
                key = doc.stem
            keyed.append((_unique(key, {k for k, _ in keyed}), table))
    return keyed


def _restore_formulas(tables: list[RawTable]) -> None:
    """Undo the CSV-injection guard of recognised tables: the frame holds the text as recognised."""
    from ..engine.converters._table_csv import restore

    for table in tables:
        table.frame = table.frame.map(lambda v: restore(v) if isinstance(v, str) else v)


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key} ({n})"
    return candidate


def _pick(frames: dict[str, pd.DataFrame], sheet: str | int) -> pd.DataFrame:
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        try:
            return list(frames.values())[sheet]
        except IndexError:
            raise KeyError(f"table {sheet} does not exist: there are {len(frames)} ({', '.join(frames)})") from None
    if sheet in frames:
        return frames[sheet]
    raise KeyError(f"no table named {sheet!r}; tables: {', '.join(frames)}")

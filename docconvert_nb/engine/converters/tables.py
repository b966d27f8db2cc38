"""Table recognition: table images and PDF pages → CSV (one per table), XLSX (one sheet per table), JSON cells.

One table model for PDFs and images (:mod:`._table_grid`): ruled tables are
the cells where rules intersect (pdfplumber's geometry), filled with words;
rules that stop short or are missing between rows or columns are completed
from how the words line up; tables without rules come from word alignment.

* A PDF page with its own text: rules and characters from the page through
  pdfplumber (:mod:`._table_pdf`); img2table's text reader when that finds
  nothing.
* An image, or a PDF page without text: scan clean-up (deskew, denoise,
  binarize), ruling lines found in the pixels (:mod:`._table_image`), words
  from Tesseract (rules removed, text rescaled to the size it reads best),
  run through the engine's limits; img2table on the same words when no
  table is found.

A library that crashes on a page falls back to the next reader, at last to
OCR of the rendered page, with a warning. Cell text is kept exactly as read,
with a confidence per cell; a merged cell's text sits at its top-left
position (the spreadsheet and ICDAR convention; ``repeat_merged=True``
repeats it) and its span is in the metadata. CSV cells a spreadsheet would
run as formulas are neutralised (``safe_csv``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ...errors import DocconvertError
from ...fileformats import IMAGE_FORMATS
from ..context import ConversionContext
from ..registry import Option, converter
from . import _scan, _table_csv, _tesseract
from ._pages import count_and_iterate

LANG = Option("lang", str, "eng", "Tesseract language(s) for reading cells, e.g. 'eng+deu'")
PAGES = Option("pages", (str, int), None, "pages to read, e.g. '1-3,5' (default: all)")
DPI = Option("dpi", (int, float), 200, "rendering resolution of PDF pages (and assumed for images without one)")
PASSWORD = Option("password", str, None, "password of an encrypted PDF")
BORDERLESS = Option("borderless", bool, True, "also look for tables without ruling lines")
IMPLICIT_ROWS = Option("implicit_rows", bool, False, "split ruled cells into rows where the text has line gaps")
IMPLICIT_COLUMNS = Option("implicit_columns", bool, False, "split ruled cells into columns where the text has gaps")
MIN_CONFIDENCE = Option("min_confidence", int, 0,
                        "ignore OCR words below this confidence (0–99; Tesseract rates correct numbers such as "
                        "'3.135,16' as low as 20, so the default keeps every word and reports cell confidence)")
PDF_TEXT = Option("pdf_text", (bool, str), "auto",
                  "read a PDF page's own text instead of OCR: True, False, or 'auto' (when the page has text)",
                  choices=(True, False, "auto"))
DESKEW = Option("deskew", bool, True, "straighten slightly rotated scans")
DENOISE = Option("denoise", bool, False, "remove speckle noise from scans (median filter)")
BINARIZE = Option("binarize", bool, False, "turn scans black-and-white (adaptive threshold) before detection")
REPEAT_MERGED = Option("repeat_merged", bool, False,
                       "repeat a merged cell's text at every position it covers (default: top-left only, "
                       "the others empty; spans are in the 'merged_cells' metadata either way)")
SAFE_CSV = Option("safe_csv", bool, True,
                  "prefix CSV cells a spreadsheet would run as formulas (=, +, -, @, tab, CR) with ' "
                  "(OWASP CSV injection rule; numbers such as -2 stay as they are)")

TABLE_OPTIONS = [LANG, PAGES, DPI, PASSWORD, BORDERLESS, IMPLICIT_ROWS, IMPLICIT_COLUMNS, MIN_CONFIDENCE,
                 PDF_TEXT, DESKEW, DENOISE, BINARIZE, REPEAT_MERGED, SAFE_CSV]
#: Confidence recorded for cells read from a PDF's own text (exact, not recognised).
PDF_TEXT_CONFIDENCE = 100.0


@dataclass
class RecognizedTable:
    """One table: its cells row by row, with confidences and merged-cell spans.

    Readers fill a merged cell's text in at every position it covers;
    :meth:`blank_covered_cells` keeps it at the top-left one only.
    """

    page: int
    index: int  # 1-based position on its page
    rows: list[list[str]]
    confidence: list[list[float | None]]
    spans: list[dict] = field(default_factory=list)
    title: str | None = None
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)
    text_source: str = "ocr"

    def blank_covered_cells(self) -> None:
        """Keep a merged cell's text and confidence at its top-left position only."""
        for span in self.spans:
            for dr in range(span["rowspan"]):
                for dc in range(span["colspan"]):
                    r, c = span["row"] + dr, span["column"] + dc
                    if (dr or dc) and r < len(self.rows) and c < len(self.rows[r]):
                        self.rows[r][c] = ""
                        self.confidence[r][c] = None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0]) if self.rows else 0

    @property
    def mean_confidence(self) -> float | None:
        values = [c for row in self.confidence for c in row if c is not None]
        return round(statistics.fmean(values), 1) if values else None

    def summary(self) -> dict:
        n_rows, n_cols = self.shape
        return {
            "page": self.page, "table": self.index, "rows": n_rows, "columns": n_cols,
            "title": self.title, "bbox": list(self.bbox), "text_source": self.text_source,
            "mean_confidence": self.mean_confidence,
        }


@converter(task="tables", sources=IMAGE_FORMATS | {"pdf"}, targets={"csv", "xlsx", "json"},
           options=TABLE_OPTIONS, tools=["tesseract"])
def recognize_tables(ctx: ConversionContext) -> None:
    """Find the tables on each page and read their cells."""
    dpi = ctx.options["dpi"]
    if not 50 <= dpi <= 600:
        raise DocconvertError(f"dpi={dpi:g} is out of range (50–600)")
    if not 0 <= ctx.options["min_confidence"] <= 99:
        raise DocconvertError("min_confidence must be between 0 and 99")
    total, pages = _lazy_pages(ctx, dpi)
    text_pages = _pdf_text_pages(ctx) if ctx.source_format == "pdf" else set()
    ocr = None
    tables: list[RecognizedTable] = []
    with _PdfText(ctx) as pdf_text:
        for done, (number, page_image) in enumerate(pages, start=1):
            found = pdf_text.tables(number) if number in text_pages else None
            if found is None:
                page = page_image()
                if ocr is None:
                    ocr = EngineTesseract(ctx, _tesseract.check_languages(ctx.options["lang"]))
                ocr.dpi = page.dpi
                found = _guarded(ctx, "img2table", number, _tables_from_image, ctx, page.image, number, ocr)
            tables.extend(found)
            ctx.progress(done / total)
    if not ctx.options["repeat_merged"]:
        for table in tables:
            table.blank_covered_cells()
    if not tables:
        where = "the page" if total == 1 else f"any of the {total} pages"
        ctx.warn(f"no table was found on {where}; nothing to write (for faint scans try binarize=True or a higher dpi)")
        return
    WRITERS[ctx.target](ctx, tables)


# -- reading the cells -------------------------------------------------------------------------

def _img2table():
    try:
        from img2table.document import PDF, Image
        from img2table.ocr._types import OCRData, OCRInstance
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise DocconvertError(f"table recognition needs the img2table package: pip install img2table ({exc})") from None
    return PDF, Image, OCRInstance, OCRData


def text_height(ink) -> int:
    """A high estimate of the glyph height (pixels) among the ink components of a binary image.

    Components spanning much of the image (a table grid), dots and long thin
    rules are left out; the 90th percentile of the rest is about the height
    of ``l``, ``g`` or ``(`` in the page's largest common text.
    """
    import cv2
    import numpy as np

    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    widths, heights = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    glyph = ((heights >= 4) & (heights < ink.shape[0] / 2) & (widths < ink.shape[1] / 2)
             & (widths < 8 * heights) & (heights < 8 * np.maximum(widths, 1)))
    if not glyph.any():
        return 0
    return int(np.percentile(heights[glyph], 90))


def remove_ruling(gray, height: int | None = None):
    """White out long horizontal and vertical lines: Tesseract misreads text boxed in by rules.

    A run of ink counts as a rule when it is longer than twice the text
    height: letter stems (``l``, ``1``, ``|``) and bars (``T``, ``-``) never
    are, whatever the text size, so large text in a tight crop keeps its strokes.
    """
    import cv2
    import numpy as np

    ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    length = max(25, 2 * (text_height(ink) if height is None else height) + 1)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((3, 3), np.uint8))
    cleaned = gray.copy()
    cleaned[rules > 0] = 255
    return cleaned


#: Glyph heights (pixels) Tesseract reads best; text outside is rescaled for OCR only.
OCR_TEXT_HEIGHT = (22, 60)
#: Upscaling for OCR stops at this many pixels.
MAX_OCR_PIXELS = 16_000_000


def ocr_scale(gray, height: int | None = None) -> float:
    """Factor bringing the page's text into :data:`OCR_TEXT_HEIGHT` (1.0 when it is already there).

    Tesseract drops or misreads text much smaller than ~20 px (small print,
    low-resolution screenshots) and slows down on very large text.
    """
    import cv2

    if height is None:
        height = text_height(cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1])
    low, high = OCR_TEXT_HEIGHT
    if not height or low <= height <= high:
        return 1.0
    target = (low + high) / 2
    largest = (MAX_OCR_PIXELS / max(1, gray.shape[0] * gray.shape[1])) ** 0.5  # bounded memory and time
    return max(0.4, min(3.0, largest, target / height)) if height < low else max(0.4, target / height)


def EngineTesseract(ctx: ConversionContext, lang: str, dpi: float | None = None, psm: int = 6):
    """An img2table OCR backend: Tesseract's TSV words, run with the job's limits in its folder.

    img2table's own backend parses hOCR with a regex that reads confidence
    100 as 10 and OCRs the page with its ruling lines, which Tesseract
    misreads; this one removes the rules first and reads word boxes from TSV.
    Block mode (psm 6) keeps single-character cells such as ``4`` that the
    sparse mode drops.
    """
    _, _, OCRInstance, OCRData = _img2table()

    class _EngineTesseract(OCRInstance):
        def __init__(self):
            self.last = None
            self.known = None  # (shape, words) of the page already OCR'd: img2table reuses them
            self.text_height = 0
            self.dpi = dpi
            self._count = 0

        def words(self, image) -> list[dict]:
            import cv2

            self._count += 1
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
            height = text_height(cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1])
            self.text_height = height
            cleaned = remove_ruling(gray, height)
            scale = ocr_scale(cleaned, height)
            if scale != 1.0:
                cleaned = cv2.resize(cleaned, None, fx=scale, fy=scale,
                                     interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
            path = ctx.workdir / f"table-ocr-{self._count}.png"
            cv2.imwrite(str(path), cleaned)
            try:
                produced = _tesseract.run_page(ctx, path, ctx.workdir / f"table-ocr-{self._count}", ["tsv"],
                                               lang=lang, psm=psm, dpi=self.dpi * scale if self.dpi else None)
                words = _tesseract.parse_tsv(produced["tsv"].read_text("utf-8", "replace"))
            finally:
                path.unlink(missing_ok=True)
            return [
                {"id": f"word_{self._count}_{n}", "parent": f"line_{w.block}_{w.paragraph}_{w.line}",
                 "value": w.text, "confidence": w.confidence,
                 "x1": int(w.left / scale), "y1": int(w.top / scale),
                 "x2": int((w.left + w.width) / scale), "y2": int((w.top + w.height) / scale)}
                for n, w in enumerate(words)
            ]

        def of(self, document):
            records = {}
            for page, image in enumerate(document.images):
                known = self.known
                found = known[1] if known is not None and known[0] == image.shape[:2] else self.words(image)
                if found:
                    records[page] = found
            self.last = OCRData(records=records) if records else None
            return self.last

    return _EngineTesseract()


def _extract_kwargs(ctx: ConversionContext) -> dict:
    return {
        "implicit_rows": ctx.options["implicit_rows"],
        "implicit_columns": ctx.options["implicit_columns"],
        "borderless_tables": ctx.options["borderless"],
        "min_confidence": max(1, ctx.options["min_confidence"]),  # img2table wants a positive int
    }


def _tables_from_image(ctx: ConversionContext, image, number: int, ocr) -> list[RecognizedTable]:
    """Ruled tables from the page's ruling lines and OCR words; else img2table (ruled or not) on the same words."""
    import numpy as np

    cleaned, _info = _scan.clean(image, deskew=ctx.options["deskew"], denoise=ctx.options["denoise"],
                                 binarize=ctx.options["binarize"])
    gray = np.asarray(cleaned)
    words = ocr.words(gray)
    ocr.known = (gray.shape[:2], words)
    try:
        ruled = _guarded(ctx, "pdfplumber", number, _ruled_from_image, ctx, gray, words, number, ocr.text_height)
    except LibraryCrashed as exc:
        ctx.warn(f"{exc}; reading the page with img2table instead")
        ruled = []
    if ruled:
        return ruled
    _, Img2TableImage, _, _ = _img2table()
    buf = io.BytesIO()
    cleaned.save(buf, "PNG")
    ocr.last = None
    # Tables were detected on the cleaned page, so the words read from it fit (coordinates match).
    extracted = Img2TableImage(src=buf.getvalue()).extract_tables(ocr=ocr, **_extract_kwargs(ctx))
    return [_recognized(table, number, k, words, "ocr") for k, table in enumerate(extracted, start=1)]


def _speck(word: dict) -> bool:
    """Punctuation read with low confidence from a speck of noise or a remnant of a rule."""
    return word["confidence"] < 40 and not any(ch.isalnum() for ch in word["value"])


def _ruled_from_image(ctx: ConversionContext, gray, words: list[dict], number: int,
                      height: int) -> list[RecognizedTable]:
    """Tables from the page's ruling lines and words; when it has no ruled table, from word alignment."""
    from ._table_grid import stream_tables, tables_from_rules
    from ._table_image import ruled_tables

    minimum = ctx.options["min_confidence"]
    grid_words = [{"x0": w["x1"], "x1": w["x2"], "top": w["y1"], "bottom": w["y2"], "text": w["value"],
                   "conf": w["confidence"]} for w in words
                  if w["value"] and w["confidence"] >= minimum and not _speck(w)]
    ruled, rules = ruled_tables(gray, height)
    grids = tables_from_rules(ruled, grid_words) or stream_tables(grid_words, rules)
    found = []
    for k, table in enumerate(grids, start=1):
        spans = [{"row": r, "column": c, "rowspan": h, "colspan": w, "text": table.rows[r][c]}
                 for r, c, h, w in table.spans]
        bbox = tuple(int(round(v)) for v in table.bbox)
        found.append(RecognizedTable(number, k, table.rows, table.confidence, spans, None, bbox, "ocr"))
    return found


def _pdf_text_pages(ctx: ConversionContext) -> set[int]:
    """1-based numbers of the PDF pages whose own text should be read (``pdf_text`` option)."""
    choice = ctx.options["pdf_text"]
    if choice is False:
        return set()
    from .pdf import open_pdf

    pages = set()
    with open_pdf(ctx.input_path, ctx.options["password"]) as pdf:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            try:
                if choice is True or textpage.get_text_range().strip():
                    pages.add(i + 1)
            finally:
                textpage.close()
                page.close()
    return pages


class LibraryCrashed(DocconvertError):
    """A table library raised an unexpected exception on a page."""


def _guarded(ctx: ConversionContext, library: str, number: int, read, *args):
    """``read(*args)``, with an unexpected exception of a third-party library turned into a human message."""
    try:
        return read(*args)
    except (DocconvertError, MemoryError):
        raise
    except Exception as exc:  # a bug in the library on this page, not a problem of the job
        raise LibraryCrashed(f"{library} could not read the tables of page {number} "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from exc


def _lazy_pages(ctx: ConversionContext, dpi: float):
    """``(count, [(page number, render())...])``: a PDF page is rendered only if it has to be OCR'd."""
    if ctx.source_format != "pdf":
        total, pages = count_and_iterate(ctx, dpi=dpi, password=ctx.options["password"])
        return total, ((page.number, lambda page=page: page) for page in pages)
    from ._imaging import parse_pages
    from ._pages import PageImage, _checked
    from .pdf import open_pdf, render_page

    password = ctx.options["password"]
    with open_pdf(ctx.input_path, password) as pdf:
        indexes = _checked(parse_pages(ctx.options["pages"], len(pdf)))

    def render(index):
        with open_pdf(ctx.input_path, password) as pdf:
            return PageImage(index + 1, render_page(pdf, index, dpi, ctx.max_pixels), dpi)

    return len(indexes), [(i + 1, lambda i=i: render(i)) for i in indexes]


class _PdfText:
    """Tables from a PDF page's own text with pdfplumber's geometry; img2table when that finds none.

    A library that crashes on a page is skipped with a warning; when both
    fail, :meth:`tables` returns None and the page is OCR'd instead.
    """

    def __init__(self, ctx: ConversionContext):
        self.ctx = ctx
        self._plumber = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._plumber is not None:
            self._plumber.close()

    def _page(self, number: int):
        if self._plumber is None:
            import pdfplumber

            self._plumber = pdfplumber.open(io.BytesIO(_readable_pdf_bytes(self.ctx)))
        return self._plumber.pages[number - 1]

    def tables(self, number: int) -> list[RecognizedTable] | None:
        try:
            found = _guarded(self.ctx, "pdfplumber", number, self._ruled, number)
        except (LibraryCrashed, ImportError) as exc:
            self.ctx.warn(f"{exc}; reading the page with img2table instead")
            found = []
        if found:
            return found
        try:
            return _guarded(self.ctx, "img2table", number, _tables_from_pdf_text, self.ctx, number)
        except LibraryCrashed as exc:
            self.ctx.warn(f"{exc}; read the rendered page with OCR instead")
            return None

    def _ruled(self, number: int) -> list[RecognizedTable]:
        from ._table_pdf import page_tables

        scale = self.ctx.options["dpi"] / 72.0
        found = []
        for k, table in enumerate(page_tables(self._page(number)), start=1):
            confidence = [[PDF_TEXT_CONFIDENCE if text else None for text in row] for row in table.rows]
            spans = [{"row": r, "column": c, "rowspan": h, "colspan": w, "text": table.rows[r][c]}
                     for r, c, h, w in table.spans]
            bbox = tuple(int(round(v * scale)) for v in table.bbox)
            found.append(RecognizedTable(number, k, table.rows, confidence, spans, None, bbox, "pdf"))
        return found


def _tables_from_pdf_text(ctx: ConversionContext, number: int) -> list[RecognizedTable]:
    Img2TablePDF, _, _, _ = _img2table()
    document = Img2TablePDF(src=_readable_pdf_bytes(ctx), pages=[number - 1], pdf_text_extraction=True)
    kwargs = _extract_kwargs(ctx)
    extracted = document.extract_tables(ocr=None, **kwargs).get(number - 1, [])
    return [_recognized(table, number, k, None, "pdf") for k, table in enumerate(extracted, start=1)]


def _readable_pdf_bytes(ctx: ConversionContext) -> bytes:
    """The PDF's bytes; an encrypted one is saved decrypted (in memory) so img2table can open it."""
    password = ctx.options["password"]
    if not password:
        return ctx.input_path.read_bytes()
    import pypdfium2.raw as pdfium_c

    from .pdf import open_pdf

    with open_pdf(ctx.input_path, password) as pdf:
        buf = io.BytesIO()
        pdf.save(buf, flags=pdfium_c.FPDF_REMOVE_SECURITY)
        return buf.getvalue()


def _recognized(table, page: int, index: int, words, source: str) -> RecognizedTable:
    """Turn an img2table ``ExtractedTable`` into rows of strings with a confidence per cell."""
    rows, confidence = [], []
    # A merged cell is repeated at every position it covers, with the same box.
    positions: dict[tuple, list[tuple[int, int]]] = {}
    cells_by_box = {}
    for r, row in enumerate(table.content.values()):
        rows.append([_cell_text(cell.value) for cell in row])
        confidence.append([
            _cell_confidence(cell, words) if source == "ocr" else (PDF_TEXT_CONFIDENCE if cell.value else None)
            for cell in row
        ])
        for c, cell in enumerate(row):
            box = (cell.bbox.x1, cell.bbox.y1, cell.bbox.x2, cell.bbox.y2)
            positions.setdefault(box, []).append((r, c))
            cells_by_box[box] = cell
    spans = []
    for key, where in positions.items():
        if len(where) > 1:
            rs, cs = [p[0] for p in where], [p[1] for p in where]
            spans.append({"row": min(rs), "column": min(cs), "rowspan": max(rs) - min(rs) + 1,
                          "colspan": max(cs) - min(cs) + 1, "text": _cell_text(cells_by_box[key].value)})
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]  # rectangular even if a row came back short
    confidence = [c + [None] * (width - len(c)) for c in confidence]
    bbox = (table.bbox.x1, table.bbox.y1, table.bbox.x2, table.bbox.y2)
    return RecognizedTable(page, index, rows, confidence, spans, table.title, bbox, source)


def _cell_text(value) -> str:
    return "" if value is None else str(value).strip()


def _cell_confidence(cell, words) -> float | None:
    """Mean Tesseract confidence of the words whose centre lies in the cell."""
    if not words or not cell.value:
        return None
    box = cell.bbox
    inside = [
        w["confidence"] for w in words
        if w.get("confidence") is not None and w.get("value")
        and box.x1 <= (w["x1"] + w["x2"]) / 2 <= box.x2 and box.y1 <= (w["y1"] + w["y2"]) / 2 <= box.y2
    ]
    return round(statistics.fmean(inside), 1) if inside else None


# -- writing the outputs ---------------------------------------------------------------------------

def write_csv(ctx: ConversionContext, tables: list[RecognizedTable]) -> None:
    """One CSV per table; formula-like cells neutralised unless ``safe_csv=False``."""
    safe = ctx.options["safe_csv"]
    for table in tables:
        rows = [[_table_csv.neutralize(text) for text in row] for row in table.rows] if safe else table.rows
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        metadata = table.summary() | {"tables_found": len(tables), "cell_confidence": table.confidence,
                                      "merged_cells": table.spans, _table_csv.METADATA_KEY: safe}
        ctx.add_output(buf.getvalue().encode("utf-8"), ctx.output_name(f"-p{table.page}-t{table.index}"),
                       metadata=metadata)


_PLAIN_NUMBER = re.compile(r"-?(0|[1-9]\d{0,14})(\.\d*[1-9])?")


def spreadsheet_value(text: str):
    """A number when the text round-trips exactly (``2021``, ``-3.5``), else the text as written (``007``, ``1.50``)."""
    if _PLAIN_NUMBER.fullmatch(text):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        return int(number) if number == number.to_integral_value() and "." not in text else float(number)
    return text


def write_xlsx(ctx: ConversionContext, tables: list[RecognizedTable]) -> None:
    import openpyxl
    from openpyxl.comments import Comment

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        sheet = workbook.create_sheet(f"Page {table.page} - Table {table.index}"[:31])
        for r, row in enumerate(table.rows, start=1):
            for c, text in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c, value=spreadsheet_value(text) if text else None)
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # recognised text is never a formula
                score = table.confidence[r - 1][c - 1]
                if score is not None and score < 80:
                    cell.comment = Comment(f"OCR confidence {score:g}", "docconvert_nb")
        if not ctx.options["repeat_merged"]:
            for span in table.spans:  # merged in the sheet too: the text shows across its span
                sheet.merge_cells(start_row=span["row"] + 1, start_column=span["column"] + 1,
                                  end_row=span["row"] + span["rowspan"], end_column=span["column"] + span["colspan"])
    buf = io.BytesIO()
    workbook.save(buf)
    ctx.add_output(buf.getvalue(), metadata={"tables_found": len(tables), "tables": [t.summary() for t in tables]})


def write_json(ctx: ConversionContext, tables: list[RecognizedTable]) -> None:
    document = {"tables": [t.summary() | {"cells": t.rows, "confidence": t.confidence, "merged_cells": t.spans}
                           for t in tables]}
    ctx.add_output(json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
                   metadata={"tables_found": len(tables), "tables": [t.summary() for t in tables]})


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "json": write_json}

"""Writing an invisible text layer onto existing PDF pages (like a searchable scan).

Each word becomes a text object drawn in render mode 3 (invisible), placed
over its box and stretched to the box's width, so selecting and searching
work on the page image. pypdfium2's raw PDFium calls do the writing.
"""

from __future__ import annotations

import ctypes
import weakref
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

UNICODE_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@dataclass(frozen=True)
class PlacedWord:
    """A word and its box on the page in PDF points, origin at the bottom left."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def spread_shared_boxes(words: list[PlacedWord]) -> list[PlacedWord]:
    """Give words that share one box (DjVu layers often box every word of a line alike) their own part of it.

    Consecutive words with the same box split it left to right in proportion to
    their length (plus a space): stacked at one place, text extraction would
    read them run together or out of order.
    """
    out: list[PlacedWord] = []
    i = 0
    while i < len(words):
        j = i + 1
        box = (words[i].x0, words[i].y0, words[i].x1, words[i].y1)
        while j < len(words) and (words[j].x0, words[j].y0, words[j].x1, words[j].y1) == box:
            j += 1
        if j - i == 1:
            out.append(words[i])
        else:
            group = words[i:j]
            total = sum(len(w.text) + 1 for w in group) - 1
            x, width = box[0], box[2] - box[0]
            for w in group:
                share = width * len(w.text) / total
                out.append(PlacedWord(w.text, x, box[1], x + share, box[3]))
                x += share + width / total  # the space after the word
        i = j
    return out


def keep_gaps(words: list[PlacedWord], gap: float = 0.25) -> list[PlacedWord]:
    """Shorten a word whose box runs into the next word's on the same line, leaving ``gap`` × height between.

    DjVu layers often cut a printed line into zones that touch; words with no
    space between them are one word to poppler's ``pdftotext``. A word gives up
    at most a third of its width.
    """
    out = list(words)
    for i in range(len(out) - 1):
        word, after = out[i], out[i + 1]
        height = word.y1 - word.y0
        same_line = min(word.y1, after.y1) - max(word.y0, after.y0) > 0.5 * min(height, after.y1 - after.y0)
        room = after.x0 - word.x1
        if not same_line or after.x0 <= word.x0 or room >= gap * height:
            continue
        new_right = max(word.x0 + (word.x1 - word.x0) * 2 / 3, after.x0 - gap * height)
        if new_right < word.x1:
            out[i] = PlacedWord(word.text, word.x0, word.y0, new_right, word.y1)
    return out


_document_fonts: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _fonts_of(pdf: pdfium.PdfDocument) -> "_Fonts":
    """One :class:`_Fonts` per document: the Unicode font is embedded once, not once per page."""
    fonts = _document_fonts.get(pdf)
    if fonts is None:
        fonts = _document_fonts[pdf] = _Fonts(pdf)
    return fonts


class _Fonts:
    """Helvetica for Latin-1 text (nothing embedded); a Unicode TrueType font loaded once per document."""

    def __init__(self, pdf: pdfium.PdfDocument):
        self.raw = pdf.raw  # not the document itself: _document_fonts must not keep it alive
        self._unicode = None
        self._keep = []

    def for_text(self, text: str):
        if text.isascii():
            return None  # use the standard font by name
        try:
            text.encode("latin-1")
            return None  # use the standard font by name
        except UnicodeEncodeError:
            pass
        if self._unicode is None:
            for path in UNICODE_FONTS:
                if Path(path).exists():
                    data = Path(path).read_bytes()
                    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
                    self._keep.append(buf)
                    self._unicode = pdfium_c.FPDFText_LoadFont(self.raw, buf, len(data), pdfium_c.FPDF_FONT_TRUETYPE, True)
                    break
        return self._unicode


def _wide(text: str):
    buf = ctypes.create_string_buffer(text.encode("utf-16-le") + b"\x00\x00")
    return buf, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort))


def add_invisible_words(pdf: pdfium.PdfDocument, page_index: int, words: list[PlacedWord]) -> int:
    """Put ``words`` as invisible text on page ``page_index``; returns how many were placed."""
    if not words:
        return 0
    fonts = _fonts_of(pdf)
    page = pdf[page_index]
    placed = 0
    try:
        for word in words:
            width, height = word.x1 - word.x0, word.y1 - word.y0
            if not word.text.strip() or width <= 0 or height <= 0:
                continue
            # A trailing space lets text extraction see word boundaries.
            text = word.text + " "
            font = fonts.for_text(text)
            size = max(1.0, height)
            if font is None:
                obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(size))
            else:
                obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(size))
            if not obj:
                continue
            _buf, wide = _wide(text)
            pdfium_c.FPDFText_SetText(obj, wide)
            pdfium_c.FPDFTextObj_SetTextRenderMode(obj, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
            left, bottom, right, top = (ctypes.c_float() for _ in range(4))
            pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top)
            # The bounds end where the word's last glyph advances to (a trailing space adds no ink):
            # stretched so, the word spans its box and its space reaches into the gap after it.
            natural = right.value - left.value
            stretch = width / natural if natural > 0 else 1.0
            baseline = word.y0 + 0.2 * height
            pdfium_c.FPDFPageObj_Transform(obj, stretch, 0, 0, 1, word.x0 - left.value * stretch, baseline)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            placed += 1
        if placed and not pdfium_c.FPDFPage_GenerateContent(page.raw):
            raise RuntimeError("PDFium could not write the page's text layer")
    finally:
        page.close()
    return placed


def pixel_words_to_points(words, page_width_px: int, page_height_px: int, page_width_pt: float, page_height_pt: float):
    """Tesseract-style words (left/top/width/height in pixels, top-left origin) → :class:`PlacedWord`."""
    sx, sy = page_width_pt / page_width_px, page_height_pt / page_height_px
    placed = []
    for w in words:
        placed.append(
            PlacedWord(
                w.text,
                w.left * sx,
                page_height_pt - (w.top + w.height) * sy,
                (w.left + w.width) * sx,
                page_height_pt - w.top * sy,
            )
        )
    return placed

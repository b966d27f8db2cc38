"""Writing an invisible text layer onto existing PDF pages (like a searchable scan).

Each word becomes a text object drawn in render mode 3 (invisible), placed
over its box and stretched to the box's width, so selecting and searching
work on the page image. pypdfium2's raw PDFium calls do the writing.
"""

from __future__ import annotations

import ctypes
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


class _Fonts:
    """Helvetica for Latin-1 text (nothing embedded); a Unicode TrueType font loaded once per document."""

    def __init__(self, pdf: pdfium.PdfDocument):
        self.pdf = pdf
        self._unicode = None
        self._keep = []

    def for_text(self, text: str):
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
                    self._unicode = pdfium_c.FPDFText_LoadFont(self.pdf.raw, buf, len(data), pdfium_c.FPDF_FONT_TRUETYPE, True)
                    break
        return self._unicode


def _wide(text: str):
    buf = ctypes.create_string_buffer(text.encode("utf-16-le") + b"\x00\x00")
    return buf, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort))


def add_invisible_words(pdf: pdfium.PdfDocument, page_index: int, words: list[PlacedWord]) -> int:
    """Put ``words`` as invisible text on page ``page_index``; returns how many were placed."""
    if not words:
        return 0
    fonts = _Fonts(pdf)
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
            natural = right.value - left.value
            # Stretch so the word (without its trailing space) spans its box.
            space_share = len(word.text) / len(text)
            stretch = width / (natural * space_share) if natural > 0 else 1.0
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

"""PDF pages → images, with pypdfium2."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pypdfium2 as pdfium

from ...errors import DocconvertError
from ..context import ConversionContext
from ..registry import Option, converter
from ._imaging import check_pixels, parse_pages
from .images import QUALITY, encode

PAGES = Option("pages", (str, int), None, "pages to render, e.g. '1-3,5' (default: all)")
DPI = Option("dpi", (int, float), 150, "rendering resolution in dots per inch")
PASSWORD = Option("password", str, None, "password of an encrypted PDF")
MAX_PAGES = 500


@contextmanager
def open_pdf(path: Path, password: str | None = None, *, forms: bool = True) -> Iterator[pdfium.PdfDocument]:
    """Open a PDF with pypdfium2, turning its errors into messages a user can act on.

    With ``forms`` the form fields are drawn when pages render (pdfium draws them only
    once the form environment is initialised, before any page is loaded).
    """
    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            hint = "the password is wrong" if password else "it is encrypted; pass password=..."
            raise DocconvertError(f"cannot open the PDF: {hint}") from None
        raise DocconvertError(f"the PDF is damaged or truncated ({exc})") from None
    if forms:
        init_forms(pdf)
    try:
        if len(pdf) == 0:
            raise DocconvertError("the PDF has no pages")
        yield pdf
    finally:
        pdf.close()


def init_forms(pdf: pdfium.PdfDocument) -> None:
    """Let pdfium draw the document's AcroForm fields (a no-op for PDFs without forms).

    pypdfium2's wheels have no XFA: an XFA form renders from its AcroForm fallback, if any,
    and pypdfium2's log line saying so is kept out of the user's output.
    """
    log = logging.getLogger("pypdfium2")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        pdf.init_forms()
    except Exception:  # noqa: BLE001  a broken form must not stop the page from rendering
        pass
    finally:
        log.setLevel(level)


def render_page(pdf: pdfium.PdfDocument, index: int, dpi: float, max_pixels: int):
    """Render one page to a PIL image at ``dpi``."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72.0
        check_pixels(int(width * scale), int(height * scale), max_pixels, f"page {index + 1} at {dpi:g} dpi")
        return page.render(scale=scale).to_pil()
    finally:
        page.close()


@converter(sources={"pdf"}, targets={"png", "jpeg", "tiff", "webp", "bmp", "gif"}, options=[PAGES, DPI, QUALITY, PASSWORD])
def pdf_to_images(ctx: ConversionContext) -> None:
    """Render PDF pages as images: one file per page, or one multi-page TIFF/GIF."""
    dpi = ctx.options["dpi"]
    if not 10 <= dpi <= 1200:
        raise DocconvertError(f"dpi={dpi:g} is out of range (10–1200)")
    with open_pdf(ctx.input_path, ctx.options["password"]) as pdf:
        indexes = parse_pages(ctx.options["pages"], len(pdf))
        if len(indexes) > MAX_PAGES:
            raise DocconvertError(f"{len(indexes)} pages requested; render at most {MAX_PAGES} at once (use pages=...)")
        if ctx.target in ("tiff", "gif"):
            images = []
            for done, i in enumerate(indexes, start=1):
                images.append(render_page(pdf, i, dpi, ctx.max_pixels))
                ctx.progress(done / len(indexes))
            data = encode(images[0], ctx.target, dpi=dpi, extra_frames=images[1:])
            ctx.add_output(data, metadata={"pages": len(images), "dpi": dpi})
            return
        for done, i in enumerate(indexes, start=1):
            image = render_page(pdf, i, dpi, ctx.max_pixels)
            data = encode(image, ctx.target, quality=ctx.options["quality"], dpi=dpi)
            ctx.add_output(
                data,
                ctx.output_name(f"-p{i + 1}"),
                metadata={"page": i + 1, "width": image.width, "height": image.height, "dpi": dpi},
            )
            ctx.progress(done / len(indexes))

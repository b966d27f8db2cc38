"""PDF pages → images, with pypdfium2."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pypdfium2 as pdfium

from ...errors import DocconvertError
from ..context import ConversionContext
from ..registry import Option, converter
from ._imaging import MAX_TOTAL_PIXELS, check_budget, check_pixels, parse_pages
from .images import QUALITY, encode, encode_frames

PAGES = Option("pages", (str, int), None, "pages to render, e.g. '1-3,5' (default: all)")
DPI = Option("dpi", (int, float), 150, "rendering resolution in dots per inch, 10–1200", minimum=10, maximum=1200)
PASSWORD = Option("password", str, None, "password of an encrypted PDF")
MAX_PAGES = 500


@contextmanager
def open_pdf(path: Path, password: str | None = None) -> Iterator[pdfium.PdfDocument]:
    """Open a PDF with pypdfium2, turning its errors into messages a user can act on."""
    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            hint = "the password is wrong" if password else "it is encrypted; pass password=..."
            raise DocconvertError(f"cannot open the PDF: {hint}") from None
        raise DocconvertError(f"the PDF is damaged or truncated ({exc})") from None
    try:
        if len(pdf) == 0:
            raise DocconvertError("the PDF has no pages")
        yield pdf
    finally:
        pdf.close()


def render_page(pdf: pdfium.PdfDocument, index: int, dpi: float, max_pixels: int):
    """Render one page to a PIL image at ``dpi``."""
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        # A page tree that lies about its /Count, or loops, leaves pages that cannot be loaded.
        raise DocconvertError(f"page {index + 1} of the PDF cannot be read: the file is damaged ({exc})") from None
    try:
        width, height = page.get_size()
        scale = dpi / 72.0
        check_pixels(int(width * scale), int(height * scale), max_pixels, f"page {index + 1} at {dpi:g} dpi")
        try:
            return page.render(scale=scale).to_pil()
        except pdfium.PdfiumError as exc:
            raise DocconvertError(f"page {index + 1} of the PDF cannot be rendered ({exc})") from None
    finally:
        page.close()


def page_sizes(pdf: pdfium.PdfDocument, indexes: list[int], dpi: float) -> list[tuple[int, int]]:
    """Each page's size in pixels at ``dpi``, read without rendering (for the job's pixel budget)."""
    sizes = []
    for index in indexes:
        try:
            width, height = pdf.get_page_size(index)
        except pdfium.PdfiumError as exc:
            raise DocconvertError(f"page {index + 1} of the PDF cannot be read: the file is damaged ({exc})") from None
        sizes.append((int(width * dpi / 72.0), int(height * dpi / 72.0)))
    return sizes


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
        # Sizes are checked before anything is rendered; a GIF's writer holds every frame.
        check_budget(page_sizes(pdf, indexes, dpi), ctx.max_pixels,
                     ctx.max_pixels if ctx.target == "gif" else MAX_TOTAL_PIXELS)
        if ctx.target in ("tiff", "gif"):
            def page_image(n: int):  # rendered when the writer reaches it: one page in memory at a time
                ctx.progress((n + 1) / len(indexes))
                return render_page(pdf, indexes[n], dpi, ctx.max_pixels)

            data = encode_frames(len(indexes), page_image, ctx.target, dpi=dpi)
            ctx.add_output(data, metadata={"pages": len(indexes), "dpi": dpi})
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

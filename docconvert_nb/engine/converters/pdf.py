"""PDF pages → images, with pypdfium2."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pypdfium2 as pdfium

from ...errors import DocconvertError
from .. import tools
from ..context import ConversionContext
from ..registry import Option, converter
from ..tools import Tool, register_tool
from ._imaging import MAX_TOTAL_PIXELS, check_budget, check_pixels, parse_pages
from .images import QUALITY, encode, encode_frames

PAGES = Option("pages", (str, int), None, "pages to render, e.g. '1-3,5' (default: all)")
DPI = Option("dpi", (int, float), 150, "rendering resolution in dots per inch, 10–1200", minimum=10, maximum=1200)
PASSWORD = Option("password", str, None, "password of an encrypted PDF")
MAX_PAGES = 500


class PdfUnreadable(DocconvertError):
    """pdfium cannot open the PDF (damage, not a wrong password)."""


def pdfium_unreadable(path: Path, password: str | None) -> PdfUnreadable | None:
    """Why pdfium cannot open the PDF at all, or None when it can (or only the password is wrong)."""
    try:
        with open_pdf(path, password, forms=False):
            return None
    except PdfUnreadable as exc:
        return exc
    except DocconvertError:
        return None  # a password problem or no pages: the normal path says so


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
        raise PdfUnreadable(f"the PDF is damaged or truncated ({exc})") from None
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


PDFTOPPM = register_tool(Tool("pdftoppm", "pdftoppm", "poppler-utils", ("-v",)))
PDFINFO = register_tool(Tool("pdfinfo", "pdfinfo", "poppler-utils", ("-v",)))


def poppler_pages(ctx: ConversionContext, indexes_for, dpi: float) -> Iterator[tuple[int, object]]:
    """(page index, PIL image) of a PDF pdfium cannot read, rendered by poppler's ``pdftoppm``.

    Poppler repairs some damage pdfium gives up on (broken cross-references, bad
    dictionaries). ``indexes_for(count)`` picks the pages once the count is known.
    Raises :class:`DocconvertError` when poppler cannot read it either.
    """
    from PIL import Image

    if not (PDFTOPPM.path() and PDFINFO.path()):
        raise DocconvertError("poppler-utils is not installed")
    try:
        info = ctx.run_tool([PDFINFO.require(), str(ctx.input_path)])
    except tools.ToolFailed as exc:
        raise DocconvertError(f"poppler cannot read it either ({exc})") from None
    found = re.search(rb"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    if not found or int(found.group(1)) < 1:
        raise DocconvertError("poppler finds no pages in it either")
    for index in indexes_for(int(found.group(1))):
        prefix = ctx.workdir / f"poppler-{index + 1}"
        try:
            ctx.run_tool([PDFTOPPM.require(), "-r", f"{dpi:g}", "-f", str(index + 1), "-l", str(index + 1),
                          "-png", "-singlefile", str(ctx.input_path), str(prefix)])
        except tools.ToolFailed as exc:
            raise DocconvertError(f"poppler cannot render page {index + 1} either ({exc})") from None
        out = prefix.with_name(prefix.name + ".png")
        with Image.open(out) as im:
            check_pixels(im.width, im.height, ctx.max_pixels, f"page {index + 1} at {dpi:g} dpi")
            im.load()
            image = im.copy()
        out.unlink(missing_ok=True)
        yield index, image


@converter(sources={"pdf"}, targets={"png", "jpeg", "tiff", "webp", "bmp", "gif"}, options=[PAGES, DPI, QUALITY, PASSWORD])
def pdf_to_images(ctx: ConversionContext) -> None:
    """Render PDF pages as images: one file per page, or one multi-page TIFF/GIF."""
    dpi = ctx.options["dpi"]
    if not 10 <= dpi <= 1200:
        raise DocconvertError(f"dpi={dpi:g} is out of range (10–1200)")
    unreadable = pdfium_unreadable(ctx.input_path, ctx.options["password"])
    if unreadable is not None:
        _poppler_to_images(ctx, dpi, unreadable)
        return
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


def _poppler_to_images(ctx: ConversionContext, dpi: float, why: DocconvertError) -> None:
    """The pages pdfium could not render, by poppler instead (the job says so)."""
    def pick(count):
        indexes = parse_pages(ctx.options["pages"], count)
        if len(indexes) > MAX_PAGES:
            raise DocconvertError(f"{len(indexes)} pages requested; render at most {MAX_PAGES} at once (use pages=...)")
        return indexes

    try:
        _write_images(ctx, poppler_pages(ctx, pick, dpi), dpi)  # page by page, unless one TIFF/GIF
    except DocconvertError as exc:
        raise DocconvertError(f"{why}; {exc}") from None
    ctx.warn(f"pdfium could not render the PDF ({why}); poppler's pdftoppm rendered it instead")


def _write_images(ctx: ConversionContext, pages, dpi: float) -> None:
    if ctx.target in ("tiff", "gif"):
        images = [image for _, image in pages]
        data = encode(images[0], ctx.target, dpi=dpi, extra_frames=images[1:])
        ctx.add_output(data, metadata={"pages": len(images), "dpi": dpi})
        return
    for index, image in pages:
        data = encode(image, ctx.target, quality=ctx.options["quality"], dpi=dpi)
        ctx.add_output(data, ctx.output_name(f"-p{index + 1}"),
                       metadata={"page": index + 1, "width": image.width, "height": image.height, "dpi": dpi})

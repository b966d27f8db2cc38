"""Every page of an image, PDF or DjVu input as a Pillow image, for OCR and table recognition."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

from PIL import Image

from ...errors import DocconvertError
from ._imaging import check_budget, frame_at, frame_count, frame_sizes, open_image, parse_pages

#: The most pages one OCR or table job reads; more must be split with ``pages=``.
MAX_PAGES = 500


@dataclass
class PageImage:
    number: int  # 1-based page number in the document
    image: Image.Image
    dpi: float | None  # None when the input does not say


def count_and_iterate(ctx, *, dpi: float, password: str | None = None) -> tuple[int, Iterator[PageImage]]:
    """How many pages will be read (after ``pages=``) and an iterator over them.

    ``dpi`` is the rendering resolution for PDF pages and the assumed
    resolution of images that do not record one. DjVu pages render at their
    own resolution.
    """
    fmt = ctx.source_format
    spec = ctx.options.get("pages")
    if fmt == "pdf":
        return _pdf_pages(ctx, spec, dpi, password)
    if fmt == "djvu":
        from .djvu import page_count, render_page

        indexes = _checked(parse_pages(spec, page_count(ctx, ctx.input_path)))

        def djvu_pages():
            for i in indexes:
                image, page_dpi = render_page(ctx, ctx.input_path, i)
                yield PageImage(i + 1, image, page_dpi)

        return len(indexes), djvu_pages()
    return _image_pages(ctx, spec, dpi)


def _checked(indexes: list[int]) -> list[int]:
    if len(indexes) > MAX_PAGES:
        raise DocconvertError(f"{len(indexes)} pages requested; read at most {MAX_PAGES} per job (use pages=...)")
    return indexes


def _image_pages(ctx, spec, dpi):
    # Counted and size-checked before any frame is decoded; then decoded one page at a time.
    with open_image(ctx.input_path, ctx.max_pixels) as im:
        recorded = im.info.get("dpi")
        indexes = _checked(parse_pages(spec, frame_count(im)))
        check_budget(frame_sizes(im, indexes), ctx.max_pixels)
    page_dpi = float(recorded[0]) if recorded and _finite(recorded[0]) and float(recorded[0]) >= 20 else None

    def image_pages():
        with open_image(ctx.input_path, ctx.max_pixels) as im:
            for i in indexes:
                yield PageImage(i + 1, frame_at(im, i, copy=True), page_dpi or dpi)

    return len(indexes), image_pages()


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _pdf_pages(ctx, spec, dpi, password):
    from .pdf import open_pdf, render_page

    with open_pdf(ctx.input_path, password) as pdf:
        indexes = _checked(parse_pages(spec, len(pdf)))

    def pdf_pages():
        with open_pdf(ctx.input_path, password) as pdf:
            for i in indexes:
                yield PageImage(i + 1, render_page(pdf, i, dpi, ctx.max_pixels), dpi)

    return len(indexes), pdf_pages()

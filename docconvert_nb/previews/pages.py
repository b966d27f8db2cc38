"""Page thumbnails for PDFs and images (one image, or the frames of a multi-page TIFF/GIF)."""

from __future__ import annotations

import io
import warnings
from typing import Callable

from PIL import Image, ImageSequence, UnidentifiedImageError

from ..errors import DocconvertError
from .base import DEFAULT_MAX_BYTES, Preview, Rendered, fit_within, plain_name, png_bytes, render_template, scaled

#: Pages shown by default: the first ones of a long document.
DEFAULT_PAGES = 6
THUMBNAIL_BOX = (260, 340)
SINGLE_IMAGE_BOX = (1000, 1000)
#: Refuse to decode images larger than this (a decompression bomb guard for previews).
MAX_SOURCE_PIXELS = 200_000_000


class PagesPreview(Preview):
    """Thumbnails of the first pages of a document, rendered when first displayed.

    ``thumbnails`` (a list of PIL images) renders them on first access;
    ``page_count`` is the document's number of pages, ``shown`` how many
    thumbnails there are.
    """

    def __init__(self, name: str, kind: str, page_count: int, load: Callable[[], list[Image.Image]],
                 shown: int, *, single: bool = False, max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        self.name = name
        self.kind = kind
        self.page_count = page_count
        self.shown = shown
        self.single = single
        self._load = load
        self._thumbnails: list[Image.Image] | None = None

    @property
    def thumbnails(self) -> list[Image.Image]:
        if self._thumbnails is None:
            self._thumbnails = self._load()
        return self._thumbnails

    @property
    def rendered(self) -> bool:
        """Whether the pages have been rendered yet (they are only when displayed)."""
        return self._thumbnails is not None

    def _image_count(self) -> int:
        return len(self.thumbnails)

    def describe(self) -> str:
        if self.single:
            image = self.thumbnails[0]
            return f"{self.kind} {plain_name(self.name)}: shown at {image.width}×{image.height}"
        unit = "page" if self.kind == "PDF" else "frame"
        text = f"{self.kind} {plain_name(self.name)}: {self.page_count} {unit}{'s' * (self.page_count != 1)}"
        if self.shown < self.page_count:
            text += f"; thumbnails of the first {self.shown} (shown {self.shown} of {self.page_count})"
        return text

    def _render(self, scale, *, with_png, palette, keep) -> Rendered:
        images = [scaled(image, scale) for image in self.thumbnails[:keep]]
        pngs = [png_bytes(image, palette=palette) for image in images]
        omitted = len(self.thumbnails) - len(images)
        note = f"{omitted} thumbnail{'s' * (omitted != 1)} left out to keep the notebook small" if omitted else None
        if self.shown < self.page_count:  # say how to see the rest
            more = f"preview(pages={self.page_count}) shows all {self.page_count}"
            note = f"{note}; {more}" if note else more
        html = render_template(
            "pages.html.j2", title=self.describe(), note=note, single=self.single,
            items=[{"number": n, "png": png, "width": im.width, "height": im.height}
                   for n, (png, im) in enumerate(zip(pngs, images), start=1)],
        )
        png = None
        if with_png and images:
            png = pngs[0] if len(images) == 1 else png_bytes(contact_sheet(images), palette=palette)
        return Rendered(html, self.describe() + (f" ({note})" if note else ""), png)


def contact_sheet(images: list[Image.Image], columns: int = 3, gap: int = 8) -> Image.Image:
    """The images in a grid on white, for ``_repr_png_`` of a multi-page preview."""
    rows = [images[i:i + columns] for i in range(0, len(images), columns)]
    width = max(sum(im.width for im in row) + gap * (len(row) + 1) for row in rows)
    height = sum(max(im.height for im in row) for row in rows) + gap * (len(rows) + 1)
    sheet = Image.new("RGB", (width, height), "white")
    y = gap
    for row in rows:
        x = gap
        for image in row:
            sheet.paste(image.convert("RGB"), (x, y))
            x += image.width + gap
        y += max(im.height for im in row) + gap
    return sheet


def pdf_preview(name: str, data: bytes, *, pages: int = DEFAULT_PAGES, password: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES) -> PagesPreview:
    """Thumbnails of the first ``pages`` pages of a PDF (the page count is read now, pages later)."""
    with open_pdf(data, password) as pdf:
        count = len(pdf)
    shown = max(0, min(pages, count))

    def load() -> list[Image.Image]:
        with open_pdf(data, password) as pdf:
            return [render_pdf_page(pdf, index, *THUMBNAIL_BOX) for index in range(shown)]

    return PagesPreview(name, "PDF", count, load, shown, max_bytes=max_bytes)


class open_pdf:
    """``with open_pdf(data) as pdf``: pypdfium2 document with errors a user can act on."""

    def __init__(self, data: bytes, password: str | None = None):
        import pypdfium2 as pdfium

        try:
            self.pdf = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise DocconvertError("cannot preview the PDF: it is encrypted; pass password=...") from None
            raise DocconvertError(f"cannot preview the PDF: it is damaged or truncated ({exc})") from None

    def __enter__(self):
        return self.pdf

    def __exit__(self, *exc):
        self.pdf.close()


def render_pdf_page(pdf, index: int, max_width: int, max_height: int) -> Image.Image:
    """One page rendered straight at thumbnail size (no full-resolution bitmap in between)."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = min(max_width / width, max_height / height)
        return page.render(scale=scale).to_pil().convert("RGB")
    finally:
        page.close()


def image_preview(name: str, data: bytes, *, pages: int = DEFAULT_PAGES,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> PagesPreview:
    """A scaled image, or thumbnails of the first frames of a multi-page image."""
    image = open_image(data)
    frame_count = getattr(image, "n_frames", 1)
    kind = (image.format or "image").upper()
    if frame_count == 1:
        return PagesPreview(name, kind, 1, lambda: [fit_within(flatten(image), *SINGLE_IMAGE_BOX)], 1,
                            single=True, max_bytes=max_bytes)
    shown = max(0, min(pages, frame_count))

    def load() -> list[Image.Image]:
        thumbnails = []
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= shown:
                break
            thumbnails.append(fit_within(flatten(frame), *THUMBNAIL_BOX))
        return thumbnails

    return PagesPreview(name, kind, frame_count, load, shown, max_bytes=max_bytes)


def open_image(data: bytes) -> Image.Image:
    """Open image bytes with Pillow, refusing damaged and oversized ones with a clear message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise DocconvertError(f"cannot preview the image: Pillow cannot read it ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise DocconvertError(f"cannot preview the image: too large to open safely ({exc})") from None
    if image.width * image.height > MAX_SOURCE_PIXELS:
        raise DocconvertError(f"cannot preview the image: {image.width}×{image.height} pixels is too large")
    return image


def flatten(image: Image.Image) -> Image.Image:
    """RGB (or greyscale) with any transparency composited onto white."""
    try:
        image.load()
    except OSError as exc:
        raise DocconvertError(f"cannot preview the image: it is damaged or truncated ({exc})") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    if image.mode in ("L", "RGB"):
        return image.copy()
    return image.convert("RGB")

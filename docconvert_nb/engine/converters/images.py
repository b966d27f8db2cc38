"""Image ↔ image and images → PDF, with Pillow."""

from __future__ import annotations

import io

from PIL import Image

from ...fileformats import IMAGE_FORMATS
from ..context import ConversionContext
from ..registry import Option, converter
from ._imaging import flatten, frames, open_image, parse_pages

#: Pillow's name for each of our formats.
PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "pdf": "PDF"}
MULTIPAGE = {"tiff", "gif", "pdf"}
NEEDS_RGB = {"jpeg", "pdf", "bmp"}

QUALITY = Option("quality", int, 90, "JPEG/WebP quality, 1–95")
PAGES = Option("pages", (str, int), None, "pages to keep, e.g. '1-3,5' (default: all)")
DPI = Option("dpi", (int, float), None, "resolution recorded in the output (default: the input's, else 150 for PDF)")


def encode(im: Image.Image, fmt: str, *, quality: int = 90, dpi=None, extra_frames=()) -> bytes:
    """Encode one image (plus further frames for multi-page formats) as ``fmt``."""
    if fmt in NEEDS_RGB:
        im = flatten(im, "L" if im.mode in ("1", "L") and fmt != "bmp" else "RGB")
        extra_frames = [flatten(f, im.mode) for f in extra_frames]
    elif fmt == "gif":
        im = im.convert("P") if im.mode not in ("P", "L") else im
    params: dict = {}
    if fmt in ("jpeg", "webp"):
        params["quality"] = max(1, min(95, quality))
    if dpi and fmt == "pdf":
        params["resolution"] = float(dpi)
    elif dpi:
        params["dpi"] = (dpi, dpi)
    if fmt == "tiff":
        params["compression"] = "tiff_deflate" if im.mode != "1" else "group4"
    if extra_frames:
        params["save_all"] = True
        params["append_images"] = list(extra_frames)
    buf = io.BytesIO()
    im.save(buf, PIL_FORMAT[fmt], **params)
    return buf.getvalue()


@converter(
    sources=IMAGE_FORMATS,
    targets=IMAGE_FORMATS,
    options=[QUALITY, PAGES, DPI],
)
def image_to_image(ctx: ConversionContext) -> None:
    """Convert between image formats; multi-page inputs keep every page."""
    with open_image(ctx.input_path, ctx.max_pixels) as im:
        pages = list(frames(im))
        keep = [pages[i] for i in parse_pages(ctx.options["pages"], len(pages))]
        dpi = ctx.options["dpi"] or _dpi_of(im)
        if ctx.target in MULTIPAGE or len(keep) == 1:
            data = encode(keep[0], ctx.target, quality=ctx.options["quality"], dpi=dpi, extra_frames=keep[1:])
            ctx.add_output(data, metadata={"pages": len(keep), "width": keep[0].width, "height": keep[0].height})
            return
        for number, page in enumerate(keep, start=1):
            data = encode(page, ctx.target, quality=ctx.options["quality"], dpi=dpi)
            ctx.add_output(
                data,
                ctx.output_name(f"-p{number}"),
                metadata={"page": number, "width": page.width, "height": page.height},
            )


@converter(sources=IMAGE_FORMATS, targets={"pdf"}, options=[PAGES, DPI])
def image_to_pdf(ctx: ConversionContext) -> None:
    """Put each image page on a PDF page at the image's resolution."""
    with open_image(ctx.input_path, ctx.max_pixels) as im:
        pages = list(frames(im))
        keep = [pages[i] for i in parse_pages(ctx.options["pages"], len(pages))]
        dpi = ctx.options["dpi"] or _dpi_of(im) or 150
        data = encode(keep[0], "pdf", dpi=dpi, extra_frames=keep[1:])
    ctx.add_output(data, metadata={"pages": len(keep), "dpi": dpi})


def _dpi_of(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    if not dpi:
        return None
    value = float(dpi[0])
    return value if value >= 20 else None

"""Image ↔ image and images → PDF, with Pillow."""

from __future__ import annotations

import io
import math
from typing import Callable

from PIL import Image

from ...fileformats import IMAGE_FORMATS
from ..context import ConversionContext
from ..registry import Option, converter
from ._imaging import (
    MAX_FRAMES,
    MAX_TOTAL_PIXELS,
    LazyFrames,
    check_budget,
    check_frames,
    flatten,
    frame_at,
    frame_count,
    frame_sizes,
    open_image,
    parse_pages,
)

#: Pillow's name for each of our formats.
PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "pdf": "PDF"}
MULTIPAGE = {"tiff", "gif", "pdf"}
NEEDS_RGB = {"jpeg", "pdf", "bmp"}

QUALITY = Option("quality", int, 90, "JPEG/WebP quality, 1–95 (100 is taken as 95)", minimum=1, maximum=100)
PAGES = Option("pages", (str, int), None, "pages to keep, e.g. '1-3,5' (default: all)")
#: Highest resolution an image may record (scanners reach 4800 dpi).
MAX_DPI = 4800
DPI = Option("dpi", (int, float), None, "resolution recorded in the output, 10–4800 (default: the input's, else 150 for PDF)",
             minimum=10, maximum=MAX_DPI)


def prepare(im: Image.Image, fmt: str) -> Image.Image:
    """``im`` in a mode ``fmt`` can store (transparency composited onto white where it cannot)."""
    if fmt in NEEDS_RGB:
        return flatten(im, "L" if im.mode in ("1", "L") and fmt != "bmp" else "RGB")
    if fmt == "gif":
        return im.convert("P") if im.mode not in ("P", "L") else im
    return im


def _params(im: Image.Image, fmt: str, quality: int, dpi) -> dict:
    params: dict = {}
    if fmt in ("jpeg", "webp"):
        params["quality"] = max(1, min(95, quality))
    if dpi and fmt == "pdf":
        params["resolution"] = float(dpi)
    elif dpi:
        params["dpi"] = (dpi, dpi)
    if fmt == "tiff":
        params["compression"] = "tiff_deflate" if im.mode != "1" else "group4"
    return params


def encode(im: Image.Image, fmt: str, *, quality: int = 90, dpi=None, extra_frames=()) -> bytes:
    """Encode one image (plus further frames for multi-page formats) as ``fmt``."""
    im = prepare(im, fmt)
    if fmt in NEEDS_RGB:
        extra_frames = [flatten(f, im.mode) for f in extra_frames]
    params = _params(im, fmt, quality, dpi)
    if extra_frames:
        params["save_all"] = True
        params["append_images"] = list(extra_frames)
    buf = io.BytesIO()
    im.save(buf, PIL_FORMAT[fmt], **params)
    return buf.getvalue()


def encode_frames(count: int, make: Callable[[int], Image.Image], fmt: str, *, quality: int = 90, dpi=None) -> bytes:
    """Encode ``count`` frames made one at a time by ``make(i)`` as one multi-page ``fmt`` file.

    Only one decoded frame is in memory at a time (GIF excepted: its writer keeps every frame).
    """
    first_mode: list[str] = []

    def made(i: int) -> Image.Image:
        frame = prepare(make(i), fmt)
        if fmt in NEEDS_RGB:  # a PDF's pages need not share a mode, but keep them alike
            first_mode.append(first_mode[0] if first_mode else frame.mode)
            frame = frame if frame.mode == first_mode[0] else flatten(frame, first_mode[0])
        return frame

    lazy = LazyFrames(count, made)
    params = _params(lazy, fmt, quality, dpi)
    buf = io.BytesIO()
    lazy.save(buf, PIL_FORMAT[fmt], save_all=count > 1, **params)
    return buf.getvalue()


def read_frames(ctx: ConversionContext, im: Image.Image, *, limit: int = MAX_FRAMES) -> list[int]:
    """The 0-based frames ``pages=`` picks, counted and size-checked before any is decoded."""
    keep = parse_pages(ctx.options["pages"], frame_count(im))
    check_frames(len(keep), limit)
    sizes = frame_sizes(im, keep)
    # GIF's writer holds every frame: the pixels of all of them must fit what one image may hold.
    check_budget(sizes, ctx.max_pixels, ctx.max_pixels if ctx.target == "gif" else MAX_TOTAL_PIXELS)
    return keep


@converter(
    sources=IMAGE_FORMATS,
    targets=IMAGE_FORMATS,
    options=[QUALITY, PAGES, DPI],
)
def image_to_image(ctx: ConversionContext) -> None:
    """Convert between image formats; multi-page inputs keep every page (decoded one at a time)."""
    with open_image(ctx.input_path, ctx.max_pixels) as im:
        keep = read_frames(ctx, im)
        dpi = ctx.options["dpi"] or _dpi_of(im)
        quality = ctx.options["quality"]
        if ctx.target in MULTIPAGE or len(keep) == 1:
            first = frame_at(im, keep[0])
            width, height = first.size
            if len(keep) == 1:
                data = encode(first, ctx.target, quality=quality, dpi=dpi)
            else:
                del first
                data = encode_frames(len(keep), lambda i: frame_at(im, keep[i]), ctx.target, quality=quality, dpi=dpi)
            ctx.add_output(data, metadata={"pages": len(keep), "width": width, "height": height})
            return
        for done, index in enumerate(keep, start=1):
            page = frame_at(im, index)
            data = encode(page, ctx.target, quality=quality, dpi=dpi)
            ctx.add_output(
                data,
                ctx.output_name(f"-p{done}"),
                metadata={"page": done, "width": page.width, "height": page.height},
            )
            ctx.progress(done / len(keep))


@converter(sources=IMAGE_FORMATS, targets={"pdf"}, options=[PAGES, DPI])
def image_to_pdf(ctx: ConversionContext) -> None:
    """Put each image page on a PDF page at the image's resolution (decoded one at a time)."""
    with open_image(ctx.input_path, ctx.max_pixels) as im:
        keep = read_frames(ctx, im)
        dpi = ctx.options["dpi"] or _dpi_of(im) or 150
        data = encode_frames(len(keep), lambda i: frame_at(im, keep[i]), "pdf", dpi=dpi)
    ctx.add_output(data, metadata={"pages": len(keep), "dpi": dpi})


def _dpi_of(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    if not dpi:
        return None
    try:
        value = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    return value if math.isfinite(value) and 20 <= value <= MAX_DPI else None

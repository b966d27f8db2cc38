"""Shared helpers for converters that open images and PDFs safely."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageSequence, UnidentifiedImageError

from ...errors import DocconvertError


def check_pixels(width: int, height: int, limit: int, what: str = "the image") -> None:
    if width * height > limit:
        raise DocconvertError(
            f"{what} is {width}×{height} = {width * height:,} pixels, over the limit of "
            f"{limit:,} (a guard against decompression bombs; raise Engine(max_pixels=...) if you trust it)"
        )


@contextmanager
def open_image(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open an image, refusing oversized ones and reporting damage clearly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except UnidentifiedImageError:
        raise DocconvertError(f"{path.name} is not an image Pillow can read (damaged or mislabelled?)") from None
    except Image.DecompressionBombError as exc:
        raise DocconvertError(f"the image is too large to open safely: {exc}") from None
    with im:
        check_pixels(im.width, im.height, max_pixels)
        yield im


def frames(im: Image.Image) -> Iterator[Image.Image]:
    """Every page/frame of a multi-page image as its own copy (damage raises a clear error).

    ``ImageSequence`` yields one object seeked to each frame in turn, so each
    frame is copied before the next seek.
    """
    try:
        for frame in ImageSequence.Iterator(im):
            yield frame.copy()
    except OSError as exc:
        raise DocconvertError(f"the image is damaged or truncated: {exc}") from None


def flatten(im: Image.Image, mode: str = "RGB") -> Image.Image:
    """Convert to ``mode``, compositing any transparency onto white."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert(mode)
    if im.mode == mode:
        return im.copy()
    return im.convert(mode)


def parse_pages(spec: str | int | None, count: int) -> list[int]:
    """``"1-3,5"`` → ``[0, 1, 2, 4]`` (0-based), checked against ``count`` pages."""
    if spec is None or spec == "":
        return list(range(count))
    if isinstance(spec, int):
        spec = str(spec)
    pages: list[int] = []
    for part in str(spec).replace(" ", "").split(","):
        try:
            if "-" in part:
                first, last = part.split("-", 1)
                lo, hi = int(first), int(last) if last else count
            else:
                lo = hi = int(part)
        except ValueError:
            raise DocconvertError(f"pages={spec!r}: use numbers and ranges like '1-3,5'") from None
        if lo < 1 or hi > count or lo > hi:
            raise DocconvertError(f"pages={spec!r} is outside the document's {count} page(s)")
        pages.extend(range(lo - 1, hi))
    return sorted(set(pages))

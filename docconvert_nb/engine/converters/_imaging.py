"""Shared helpers for converters that open images and PDFs safely."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image, ImageSequence, UnidentifiedImageError

from ...errors import DocconvertError

#: Per-job budgets of the image and PDF converters. Frames and pages are counted, and each frame's
#: size checked, before any is decoded; frames are then decoded and encoded one at a time.
#: The most frames or pages one job decodes (a 1 MB TIFF can declare thousands):
MAX_FRAMES = 1000
#: The most pixels one job decodes over all its frames (streamed, so memory holds one frame):
MAX_TOTAL_PIXELS = 2_000_000_000


def check_frames(count: int, limit: int = MAX_FRAMES, what: str = "frames") -> None:
    if count > limit:
        raise DocconvertError(f"{count:,} {what} is over the limit of {limit:,} per job; choose some with pages=...")


def frame_sizes(im: Image.Image, indexes: list[int]) -> list[tuple[int, int]]:
    """Each chosen frame's size, read from its header (TIFF pages differ; other formats share one size)."""
    if im.format != "TIFF" or getattr(im, "n_frames", 1) == 1:
        return [im.size] * len(indexes)
    sizes = []
    current = im.tell()
    try:
        for index in indexes:
            im.seek(index)  # TIFF: reads the page's directory, not its pixels
            sizes.append(im.size)
    except (EOFError, OSError, ValueError) as exc:
        raise DocconvertError(f"the image is damaged or truncated: {exc}") from None
    finally:
        im.seek(current)
    return sizes


def check_budget(sizes: list[tuple[int, int]], max_pixels: int, total_limit: int = MAX_TOTAL_PIXELS) -> None:
    """Refuse before decoding: any frame over ``max_pixels``, or all together over ``total_limit``."""
    for number, (width, height) in enumerate(sizes, start=1):
        check_pixels(width, height, max_pixels, f"frame {number}" if len(sizes) > 1 else "the image")
    total = sum(w * h for w, h in sizes)
    if total > total_limit:
        raise DocconvertError(f"the {len(sizes):,} frames hold {total:,} pixels together, over the limit of "
                              f"{total_limit:,} per job; choose some with pages=...")


def frame_count(im: Image.Image) -> int:
    """How many frames the image declares, counted without decoding them."""
    try:
        return int(getattr(im, "n_frames", 1) or 1)
    except (EOFError, OSError, ValueError, SyntaxError) as exc:
        raise DocconvertError(f"the image is damaged or truncated: {exc}") from None


class LazyFrames(Image.Image):
    """A multi-frame image whose frames are made on demand, one at a time, by ``make(i)``.

    Pillow's multi-page writers (PDF, TIFF) walk frames with ``seek``; given this instead of a
    list of decoded frames they hold one frame in memory at a time, so a 500-page PDF → TIFF or a
    1,000-page TIFF → PDF needs the memory of one page, not of all.
    """

    def __init__(self, count: int, make: Callable[[int], Image.Image]):
        super().__init__()
        if count < 1:
            raise ValueError("no frames")
        self.n_frames = count
        self.is_animated = count > 1
        self._make = make
        self._frame = -1
        self.seek(0)

    def seek(self, frame: int) -> None:
        if not 0 <= frame < self.n_frames:
            raise EOFError("no more frames")
        if frame != self._frame:
            page = self._make(frame)
            page.load()
            self.im, self._mode, self._size = page.im, page.mode, page.size
            self.info = dict(page.info)
            self.palette = page.palette
            self._frame = frame

    def tell(self) -> int:
        return self._frame

    def load(self):
        return super().load()


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
    except (ValueError, SyntaxError, OSError, EOFError) as exc:
        # Pillow's refusals of hostile files: a text chunk that inflates past its limit, broken headers.
        raise DocconvertError(f"the image cannot be read safely ({_pillow_reason(exc)})") from None
    with im:
        check_pixels(im.width, im.height, max_pixels)
        yield im


def _pillow_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "decompressed data too large" in text.lower():
        return "a compressed metadata chunk inflates beyond Pillow's safety limit"
    return text


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


def frame_at(im: Image.Image, index: int, *, copy: bool = False) -> Image.Image:
    """Frame ``index`` (0-based) of ``im``, decoded (damage raises a clear error).

    Without ``copy`` it is ``im`` itself, valid until the next seek or until ``im`` is closed:
    enough for a writer that consumes each frame at once, and one frame less in memory.
    """
    try:
        im.seek(index)
        im.load()
        if not copy:
            return im
        frame = im.copy()
        frame.info = dict(im.info)
        return frame
    except (EOFError, OSError, ValueError, SyntaxError) as exc:
        raise DocconvertError(f"the image is damaged or truncated (frame {index + 1}): {_pillow_reason(exc)}") from None


def flatten(im: Image.Image, mode: str = "RGB") -> Image.Image:
    """Convert to ``mode``, compositing any transparency onto white."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        # Pasted through its own alpha onto white: one image of the target mode, not three RGBA copies.
        rgba = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")
        background = Image.new(mode, rgba.size, "white")
        background.paste(rgba.convert(mode) if mode != rgba.mode[:-1] else rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode == mode:
        return im  # already right: no copy (callers do not change it)
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

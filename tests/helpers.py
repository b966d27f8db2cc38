"""Small builders of test documents (the tests generate every input they use)."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size=(120, 80), color=(200, 30, 30), mode: str = "RGB", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt, **save)
    return buf.getvalue()


def multipage_tiff(colors=((255, 0, 0), (0, 255, 0), (0, 0, 255)), size=(100, 60)) -> bytes:
    frames = [Image.new("RGB", size, c) for c in colors]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def open_image(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def near(pixel, color, tolerance: int = 10) -> bool:
    """Colours equal within ``tolerance`` per channel (PDF pages are JPEG-compressed)."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color))

"""What every preview shares: lazy rendering, a byte budget, and the HTML templates.

A preview renders nothing until a notebook displays it (or a test asks).
Its whole display (HTML with embedded PNGs, the PNG itself, the text) is
kept under ``max_bytes``: images are scaled down until it fits, then
reduced to a palette, and as a last resort the later images are left out
with a note saying so. A notebook therefore never stores more than the
budget for one preview, however large the document.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

#: Bytes one preview may put into a notebook output (all mime types together).
DEFAULT_MAX_BYTES = 1_500_000
#: Attempts at shrinking images before dropping some.
_SHRINK_STEPS = 6
_TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, auto_reload=False)  # packaged templates
    env.filters["data_uri"] = lambda png: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return env


def render_template(template: str, **context) -> str:
    return _environment().get_template(template).render(**context)


@dataclass(frozen=True)
class Rendered:
    """A preview's display: HTML, optionally a PNG, and the plain text."""

    html: str
    text: str
    png: bytes | None = None

    @property
    def size(self) -> int:
        """Bytes this display occupies in a notebook (PNG counted base64-encoded, as stored)."""
        png = 0 if self.png is None else math.ceil(len(self.png) / 3) * 4
        return len(self.html.encode("utf-8")) + len(self.text.encode("utf-8")) + png


class Preview:
    """Base class: subclasses implement :meth:`_render` for a given image scale."""

    #: Scale factors below this make images useless; beyond it images are dropped instead.
    min_scale = 0.2

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 10_000:
            raise ValueError(f"max_bytes={max_bytes} is too small for any preview (at least 10000)")
        self.max_bytes = max_bytes
        self._cache: dict[tuple, Rendered] = {}

    # -- for subclasses ---------------------------------------------------------------
    def _render(self, scale: float, *, with_png: bool, palette: bool, keep: int | None) -> Rendered:
        """The display with images scaled by ``scale``; ``keep`` limits how many images are embedded."""
        raise NotImplementedError

    def _image_count(self) -> int:
        return 0

    # -- rendering within the budget -----------------------------------------------------
    def render(self, max_bytes: int | None = None, *, with_png: bool = True) -> Rendered:
        """The display, shrunk until it takes at most ``max_bytes`` (default: this preview's budget)."""
        budget = max_bytes or self.max_bytes
        key = (budget, with_png)
        if key in self._cache:
            return self._cache[key]
        scale, palette, keep = 1.0, False, None
        rendered = self._render(scale, with_png=with_png, palette=palette, keep=keep)
        for _ in range(_SHRINK_STEPS):
            if rendered.size <= budget:
                break
            # Image bytes grow with the area, so the side shrinks with the square root.
            scale = max(self.min_scale, scale * math.sqrt(budget / rendered.size) * 0.9)
            rendered = self._render(scale, with_png=with_png, palette=palette, keep=keep)
            if scale == self.min_scale:
                break
        if rendered.size > budget:
            palette = True
            rendered = self._render(scale, with_png=with_png, palette=palette, keep=keep)
        keep = self._image_count()
        while rendered.size > budget and keep > 0:
            keep -= 1
            rendered = self._render(scale, with_png=with_png and keep > 0, palette=palette, keep=keep)
        if rendered.size > budget:
            rendered = Rendered(rendered.text[: budget // 2], rendered.text[: budget // 2])
        self._cache[key] = rendered
        return rendered

    # -- IPython display protocol ---------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        rendered = self.render()
        bundle = {"text/plain": rendered.text, "text/html": rendered.html}
        if rendered.png is not None:
            bundle["image/png"] = rendered.png
        return bundle

    def _repr_html_(self) -> str:
        return self.render().html

    def _repr_png_(self) -> bytes | None:
        return self.render().png

    def __repr__(self) -> str:
        return self.render().text


# -- image helpers --------------------------------------------------------------------------

def scaled(image: Image.Image, scale: float) -> Image.Image:
    if scale >= 0.999:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.LANCZOS)


def png_bytes(image: Image.Image, *, palette: bool = False) -> bytes:
    """PNG of ``image``; ``palette=True`` reduces it to 64 colours (several times smaller)."""
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        image = image.convert("RGB")
    if palette and image.mode in ("RGB", "RGBA"):
        image = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def fit_within(image: Image.Image, max_width: int, max_height: int) -> Image.Image:
    """A copy no larger than the box (aspect kept; never enlarged)."""
    if image.width <= max_width and image.height <= max_height:
        return image
    copy = image.copy()
    copy.thumbnail((max_width, max_height), Image.LANCZOS)
    return copy


def plain_name(name: str) -> str:
    return name if len(name) <= 80 else name[:77] + "…"

"""Sample documents made on the spot: for the demo, the notebooks and the tests.

Everything here is generated (no downloads, no licences to worry about) and
its content is known, so a test can compare what OCR or table recognition
read with what was drawn.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")

SAMPLE_TEXT = (
    "Invoices are queued, converted and fetched. The quick brown fox jumps over the lazy dog. "
    "Each job has an identifier, a status and a retention window of twenty four hours."
)


def font(size: int = 32, *, serif: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu (or Liberation) at ``size`` px; Pillow's built-in font if neither is installed."""
    names = ["DejaVuSerif" if serif else "DejaVuSans", "LiberationSerif-Regular" if serif else "LiberationSans-Regular"]
    if bold:
        names = [n.replace("-Regular", "-Bold") if "-" in n else n + "-Bold" for n in names]
    for directory in FONT_DIRS:
        for name in names:
            path = Path(directory) / f"{name}.ttf"
            if path.exists():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def text_page(
    text: str = SAMPLE_TEXT,
    *,
    width: int = 1700,
    height: int = 2200,
    size: int = 40,
    margin: int = 120,
    dpi: int = 200,
    fmt: str = "PNG",
) -> bytes:
    """A white page with ``text`` wrapped in black: a clean 'scan' to OCR."""
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    face = font(size)
    chars_per_line = max(10, int((width - 2 * margin) / (size * 0.55)))
    y = margin
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, chars_per_line) or [""]:
            draw.text((margin, y), line, fill=0, font=face)
            y += int(size * 1.5)
    buf = io.BytesIO()
    page.save(buf, fmt, dpi=(dpi, dpi))
    return buf.getvalue()


def table_image(
    rows: list[list[object]],
    *,
    cell_width: int = 260,
    cell_height: int = 70,
    size: int = 30,
    margin: int = 60,
    ruled: bool = True,
    dpi: int = 200,
) -> bytes:
    """A PNG of a table (first row is the header), ruled with lines or not."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    width = 2 * margin + n_cols * cell_width
    height = 2 * margin + n_rows * cell_height
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    regular, bold = font(size), font(size, bold=True)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            x0, y0 = margin + c * cell_width, margin + r * cell_height
            draw.text((x0 + 14, y0 + (cell_height - size) // 2 - 2), str(value), fill=0, font=bold if r == 0 else regular)
    if ruled:
        for r in range(n_rows + 1):
            y = margin + r * cell_height
            draw.line([(margin, y), (margin + n_cols * cell_width, y)], fill=0, width=3)
        for c in range(n_cols + 1):
            x = margin + c * cell_width
            draw.line([(x, margin), (x, margin + n_rows * cell_height)], fill=0, width=3)
    buf = io.BytesIO()
    page.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


SAMPLE_TABLE = [
    ["City", "Year", "Visitors"],
    ["Lisbon", "2021", "1250"],
    ["Porto", "2022", "980"],
    ["Braga", "2023", "410"],
]


def write_samples(directory: str | Path) -> dict[str, Path]:
    """Write a small set of sample documents into ``directory``; returns name → path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "page.png": text_page(),
        "table.png": table_image(SAMPLE_TABLE),
    }
    paths = {}
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        paths[name] = path
    return paths

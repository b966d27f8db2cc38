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
    page, _words = text_page_layout(text, width=width, height=height, size=size, margin=margin)
    buf = io.BytesIO()
    page.save(buf, fmt, dpi=(dpi, dpi))
    return buf.getvalue()


def text_page_layout(
    text: str = SAMPLE_TEXT,
    *,
    width: int = 1700,
    height: int = 2200,
    size: int = 40,
    margin: int = 120,
) -> tuple[Image.Image, list[tuple[str, tuple[int, int, int, int]]]]:
    """The page :func:`text_page` draws, and each word with its box ``(left, top, right, bottom)`` in pixels."""
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    face = font(size)
    chars_per_line = max(10, int((width - 2 * margin) / (size * 0.55)))
    words = []
    y = margin
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, chars_per_line) or [""]:
            draw.text((margin, y), line, fill=0, font=face)
            start = 0
            for word in line.split():
                start = line.index(word, start)
                x = margin + draw.textlength(line[:start], font=face)
                words.append((word, tuple(int(v) for v in draw.textbbox((x, y), word, font=face))))
                start += len(word)
            y += int(size * 1.5)
    return page, words


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


# -- multi-page scans ------------------------------------------------------------------

def text_pages_tiff(texts: list[str], *, dpi: int = 200) -> bytes:
    """A multi-page TIFF with one :func:`text_page` per entry of ``texts``."""
    pages = [text_page_layout(text)[0] for text in texts]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], dpi=(dpi, dpi), compression="tiff_deflate")
    return buf.getvalue()


def text_pages_pdf(texts: list[str], *, dpi: int = 200) -> bytes:
    """An image-only PDF (like a scan without OCR) with one text page per entry of ``texts``."""
    pages = [text_page_layout(text)[0] for text in texts]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return buf.getvalue()


# -- DjVu, built with djvulibre's own encoders ------------------------------------------------

def djvu_document(texts: list[str] | None = None, *, text_layer: bool = True, dpi: int = 200) -> bytes:
    """A bitonal DjVu document, one page per text, optionally with a hidden text layer.

    Pages are drawn like :func:`text_page`, encoded with ``cjb2``, given the
    words and their boxes with ``djvused set-txt`` and bundled with ``djvm``.
    Needs djvulibre-bin.
    """
    import tempfile

    from .engine.converters.djvu import CJB2, DJVM, DJVUSED
    from .engine.tools import run

    texts = list(texts or [SAMPLE_TEXT])
    with tempfile.TemporaryDirectory(prefix="docconvert-djvu-") as tmp:
        folder = Path(tmp)
        page_files = []
        for number, text in enumerate(texts, start=1):
            image, words = text_page_layout(text)
            bitmap = folder / f"page{number}.pbm"
            image.point(lambda v: 255 if v > 128 else 0).convert("1").save(bitmap)
            page_file = folder / f"page{number}.djvu"
            run([CJB2.require(), "-dpi", str(dpi), str(bitmap), str(page_file)], cwd=folder)
            if text_layer and words:
                layer = folder / f"page{number}.txt"
                layer.write_text(_djvu_text_layer(words, image.width, image.height), "utf-8")
                run([DJVUSED.require(), str(page_file), "-e", f"select 1; set-txt {layer.name}", "-s"], cwd=folder)
            page_files.append(page_file)
        bundle = folder / "document.djvu"
        run([DJVM.require(), "-c", str(bundle), *map(str, page_files)], cwd=folder)
        return bundle.read_bytes()


def _djvu_text_layer(words, width: int, height: int) -> str:
    """A djvused text layer: one ``(word ...)`` zone per word; DjVu's origin is the bottom left."""
    zones = []
    for word, (left, top, right, bottom) in words:
        escaped = word.replace("\\", "\\\\").replace('"', '\\"')
        zones.append(f'  (word {left} {height - bottom} {right} {height - top} "{escaped}")')
    return f"(page 0 0 {width} {height}\n" + "\n".join(zones) + ")\n"


# -- Office documents --------------------------------------------------------------------

def docx_document(paragraphs: list[str] | None = None, *, title: str = "Quarterly report") -> bytes:
    """A DOCX with a heading and ``paragraphs`` (python-docx)."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs or [SAMPLE_TEXT]:
        document.add_paragraph(paragraph)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def xlsx_document(rows: list[list[object]] | None = None, *, sheet: str = "Visitors") -> bytes:
    """An XLSX whose first sheet holds ``rows`` (openpyxl)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows or SAMPLE_TABLE:
        worksheet.append(row)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def pptx_document(slides: list[tuple[str, str]] | None = None) -> bytes:
    """A PPTX with one title-and-content slide per ``(title, body)`` (python-pptx)."""
    import pptx

    presentation = pptx.Presentation()
    layout = presentation.slide_layouts[1]
    for title, body in slides or [("Docconvert", "Queued, converted, fetched")]:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    buf = io.BytesIO()
    presentation.save(buf)
    return buf.getvalue()


def encrypted_docx(password: str = "secret", paragraphs: list[str] | None = None) -> bytes:
    """A password-protected DOCX (needs the msoffcrypto-tool package)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(docx_document(paragraphs))
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt(password, encrypted)
    return encrypted.getvalue()

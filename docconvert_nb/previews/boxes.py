"""Word boxes (Tesseract hOCR or TSV) drawn over the page they were read from.

Tesseract's hOCR marks pages, lines and words with ``class="ocr_page"``,
``"ocr_line"``, ``"ocrx_word"`` and a ``title`` like
``bbox 36 92 618 184; x_wconf 93``; its TSV has one row per element
(``level`` 1 = page … 5 = word) with ``left top width height conf text``.
Both give boxes in the pixels of the image Tesseract read. The preview draws
them with matplotlib over that image (rendered again from the source for a
PDF page), coloured by confidence when the result has it.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass, field
from html.parser import HTMLParser

from PIL import Image

from ..errors import DocconvertError
from ..tables.inputs import Document
from .base import DEFAULT_MAX_BYTES, Preview, Rendered, plain_name, png_bytes, render_template

_BBOX = re.compile(r"\bbbox\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)")
_WCONF = re.compile(r"\bx_wconf\s+(-?\d+(?:\.\d+)?)")
_PAGENO = re.compile(r"\bppageno\s+(\d+)")
TSV_HEADER = ("level", "page_num", "block_num", "par_num", "line_num", "word_num",
              "left", "top", "width", "height", "conf", "text")
#: The background image is drawn at most this wide (boxes keep the OCR's pixel coordinates).
BACKGROUND_WIDTH = 1400
FIGURE_WIDTH_INCHES = 8.0
FIGURE_DPI = 100
COLORMAP = "RdYlGn"


@dataclass(frozen=True)
class WordBox:
    """One recognised word: text, box ``(left, top, right, bottom)`` in page pixels, confidence 0–100 or None."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float | None = None


@dataclass
class OcrPage:
    """One page of an OCR result: its size in pixels (None when unknown) and its words."""

    number: int
    size: tuple[int, int] | None
    words: list[WordBox] = field(default_factory=list)

    @property
    def extent(self) -> tuple[int, int]:
        """The page size, or the box around all words when the result did not give one."""
        if self.size:
            return self.size
        if not self.words:
            return (1, 1)
        return (max(w.box[2] for w in self.words), max(w.box[3] for w in self.words))


# -- parsing ----------------------------------------------------------------------------------

class _HocrParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pages: list[OcrPage] = []
        self._word: dict | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        title = attributes.get("title") or ""
        if self._word is not None:
            self._depth += 1
            return
        if "ocr_page" in classes:
            box = _BBOX.search(title)
            number = _PAGENO.search(title)
            self.pages.append(OcrPage(
                int(number.group(1)) + 1 if number else len(self.pages) + 1,
                (int(box.group(3)), int(box.group(4))) if box else None,
            ))
        elif "ocrx_word" in classes or "ocr_word" in classes:
            box = _BBOX.search(title)
            if box is None:
                return
            confidence = _WCONF.search(title)
            self._word = {"box": tuple(int(v) for v in box.groups()),
                          "confidence": float(confidence.group(1)) if confidence else None, "text": []}
            self._depth = 1

    def handle_endtag(self, tag):
        if self._word is None:
            return
        self._depth -= 1
        if self._depth == 0:
            text = "".join(self._word["text"]).strip()
            if text:
                if not self.pages:
                    self.pages.append(OcrPage(1, None))
                self.pages[-1].words.append(WordBox(text, self._word["box"], self._word["confidence"]))
            self._word = None

    def handle_data(self, data):
        if self._word is not None:
            self._word["text"].append(data)


def parse_hocr(text: str) -> list[OcrPage]:
    """The pages and words of an hOCR document (Tesseract's, or any using ``ocrx_word``)."""
    parser = _HocrParser()
    parser.feed(text)
    parser.close()
    if not parser.pages:
        raise DocconvertError("the hOCR has no ocr_page or ocrx_word elements: nothing to draw")
    return parser.pages


def is_tesseract_tsv(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip().split("\t")
    return tuple(first[: len(TSV_HEADER)]) == TSV_HEADER


def parse_tsv(text: str) -> list[OcrPage]:
    """The pages (level 1 rows) and words (level 5 rows with text) of a Tesseract TSV."""
    if not is_tesseract_tsv(text):
        raise DocconvertError("not a Tesseract TSV: the header must start with " + " ".join(TSV_HEADER))
    pages: dict[int, OcrPage] = {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        try:
            level, number = int(row["level"]), int(row["page_num"])
            left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
        except (TypeError, ValueError):
            continue  # a damaged row; the others still show
        page = pages.setdefault(number, OcrPage(number, None))
        if level == 1:
            page.size = (left + width, top + height)
        elif level == 5 and (row.get("text") or "").strip():
            try:
                confidence = float(row["conf"])
            except (TypeError, ValueError):
                confidence = None
            if confidence is not None and confidence < 0:
                confidence = None
            page.words.append(WordBox(row["text"].strip(), (left, top, left + width, top + height), confidence))
    if not pages:
        raise DocconvertError("the TSV has no rows: nothing to draw")
    return [pages[n] for n in sorted(pages)]


def parse_boxes(document: Document) -> list[OcrPage]:
    text = document.data.decode("utf-8", errors="replace")
    return parse_tsv(text) if document.format == "tsv" else parse_hocr(text)


# -- the background image -----------------------------------------------------------------------

def page_image(source: Document | None, number: int, size: tuple[int, int]) -> tuple[Image.Image | None, str | None]:
    """The source's page ``number`` at most :data:`BACKGROUND_WIDTH` wide, or ``(None, why not)``."""
    if source is None:
        return None, "no source image given (pass image=...)"
    from . import pages as page_previews

    width, height = size
    target_width = min(BACKGROUND_WIDTH, max(1, width))
    try:
        if source.format == "pdf":
            with page_previews.open_pdf(source.data) as pdf:
                if number > len(pdf):
                    return None, f"the source has no page {number}"
                return page_previews.render_pdf_page(pdf, number - 1, target_width, 10 * target_width), None
        image = page_previews.open_image(source.data)
        frames = getattr(image, "n_frames", 1)
        if number > frames:
            return None, f"the source has no page {number}"
        if number > 1:
            image.seek(number - 1)
        flat = page_previews.flatten(image)
    except DocconvertError as exc:
        return None, str(exc)
    if flat.width > target_width:
        flat = flat.resize((target_width, max(1, round(flat.height * target_width / flat.width))), Image.LANCZOS)
    return flat, None


# -- the preview --------------------------------------------------------------------------------

class BoxesPreview(Preview):
    """The words of one OCR'd page as boxes over the page image.

    ``figure``/``axes`` are the matplotlib objects (built on first access;
    one ``Rectangle`` patch per word, so ``len(preview.axes.patches)`` is
    the number of boxes drawn), ``page`` the :class:`OcrPage` shown, ``pages``
    all of them, ``coloured`` whether boxes are coloured by confidence.
    """

    def __init__(self, name: str, pages: list[OcrPage], *, page: int = 1, source: Document | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_bytes=max_bytes)
        if not 1 <= page <= len(pages):
            raise ValueError(f"page={page} is out of range: the result has {len(pages)} page(s)")
        self.name = name
        self.pages = pages
        self.page = pages[page - 1]
        self.source = source
        self._figure = None
        self.background_note: str | None = None

    @property
    def words(self) -> list[WordBox]:
        return self.page.words

    @property
    def coloured(self) -> bool:
        return any(w.confidence is not None for w in self.words)

    @property
    def mean_confidence(self) -> float | None:
        values = [w.confidence for w in self.words if w.confidence is not None]
        return round(statistics.fmean(values), 1) if values else None

    @property
    def figure(self):
        if self._figure is None:
            self._figure = self._draw()
        return self._figure

    @property
    def axes(self):
        return self.figure.axes[0]

    def describe(self) -> str:
        text = f"OCR boxes {plain_name(self.name)}: page {self.page.number} of {len(self.pages)}, {len(self.words)} words"
        if self.mean_confidence is not None:
            text += f", mean confidence {self.mean_confidence:g}"
        return text

    def _draw(self):
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        width, height = self.page.extent
        background, self.background_note = page_image(self.source, self.page.number, (width, height))
        aspect = height / max(1, width)
        figure = Figure(figsize=(FIGURE_WIDTH_INCHES, max(2.0, min(FIGURE_WIDTH_INCHES * aspect, 24.0))),
                        dpi=FIGURE_DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        if background is not None:
            ax.imshow(background, extent=(0, width, height, 0), cmap="gray" if background.mode == "L" else None,
                      interpolation="antialiased")
        else:
            ax.set_xlim(0, width)
            ax.set_ylim(height, 0)
            ax.plot([0, width, width, 0, 0], [0, 0, height, height, 0], color="0.75", linewidth=0.8)
        ax.set_aspect("equal")
        cmap = colormaps[COLORMAP]
        norm = Normalize(0, 100)
        for word in self.words:
            left, top, right, bottom = word.box
            colour = cmap(norm(word.confidence)) if word.confidence is not None else "tab:blue"
            ax.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, edgecolor=colour,
                                   linewidth=1.0, label=word.text))
        if self.coloured:
            figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.035, pad=0.02,
                            label="word confidence")
        ax.set_axis_off()
        ax.set_title(self.describe(), fontsize=9)
        figure.tight_layout()
        return figure

    def _render(self, scale, *, with_png, palette, keep) -> Rendered:
        figure = self.figure
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=FIGURE_DPI * scale)
        png = buf.getvalue()
        if palette:
            image = Image.open(io.BytesIO(png))
            png = png_bytes(image.convert("RGB"), palette=True)
        image_size = Image.open(io.BytesIO(png)).size
        include = keep is None or keep > 0
        note = self.background_note
        html = render_template("pages.html.j2", title=self.describe(), note=note, single=True,
                               items=[{"number": 1, "png": png, "width": image_size[0], "height": image_size[1]}]
                               if include else [])
        text = self.describe() + (f" ({note})" if note else "")
        return Rendered(html, text, png if with_png and include else None)

    def _image_count(self) -> int:
        return 1

    def close(self) -> None:
        """Release the matplotlib figure (it is not managed by pyplot, so it is freed when dropped too)."""
        self._figure = None


"""OCR with Tesseract: images, PDF and DjVu pages → text, hOCR, word boxes (TSV), searchable PDF.

Each page is rendered (PDF, DjVu) or taken as it is (images), optionally
turned upright (Tesseract's orientation detection) and deskewed, then read by
one Tesseract run that writes the requested renderer and a TSV for the
metadata (words, mean confidence). Pages are merged into one output.
"""

from __future__ import annotations

import io
import re
import statistics

import pypdfium2 as pdfium

from ...errors import DocconvertError
from ...fileformats import IMAGE_FORMATS
from ..context import ConversionContext
from ..registry import Option, converter
from . import _scan, _tesseract
from ._imaging import flatten
from ._pages import count_and_iterate

LANG = Option("lang", str, "eng", "Tesseract language code(s), e.g. 'eng' or 'eng+deu'")
PSM = Option("psm", int, 3, "Tesseract page segmentation mode (3 = automatic, 6 = one block, 11 = sparse text)",
             choices=_tesseract.PSM_CHOICES)
OCR_DPI = Option("dpi", (int, float), 300, "resolution for rendering PDF pages (and assumed for images without one), "
                 "50–1200", minimum=50, maximum=1200)
PAGES = Option("pages", (str, int), None, "pages to read, e.g. '1-3,5' (default: all)")
PASSWORD = Option("password", str, None, "password of an encrypted PDF")
ROTATE = Option("rotate", bool, False, "turn pages upright first with Tesseract's orientation detection (osd)")
DESKEW = Option("deskew", bool, False, "straighten slightly rotated scans before reading them")

OCR_OPTIONS = [LANG, PSM, OCR_DPI, PAGES, PASSWORD, ROTATE, DESKEW]


@converter(task="ocr", sources=IMAGE_FORMATS | {"pdf", "djvu"}, targets={"txt", "hocr", "tsv", "pdf"},
           options=OCR_OPTIONS, tools=["tesseract"])
def ocr_document(ctx: ConversionContext) -> None:
    """Recognise the text of every page with Tesseract."""
    _tesseract.TESSERACT.require()
    lang = _tesseract.check_languages(ctx.options["lang"])
    dpi = _checked_dpi(ctx.options["dpi"])
    total, pages = count_and_iterate(ctx, dpi=dpi, password=ctx.options["password"])
    renderer = {"txt": "txt", "hocr": "hocr", "tsv": "tsv", "pdf": "pdf"}[ctx.target]
    results, all_words, corrections = [], [], {}
    for done, page in enumerate(pages, start=1):
        image, notes = prepare_page(ctx, page.image, page.number)
        path = ctx.workdir / f"page-{page.number}.png"
        image.save(path, dpi=(page.dpi, page.dpi) if page.dpi else None)
        produced = _tesseract.run_page(
            ctx, path, ctx.workdir / f"ocr-{page.number}", [renderer, "tsv"],
            lang=lang, psm=ctx.options["psm"], dpi=page.dpi,
        )
        words = _tesseract.parse_tsv(produced["tsv"].read_text("utf-8", "replace"), page.number)
        if not ctx.options.get("rotate"):
            produced, words = retry_upright(ctx, image, page, produced, words, [renderer, "tsv"], lang, notes)
        if notes:
            corrections[page.number] = notes
        all_words.extend(words)
        if not words:
            ctx.warn(f"no text was recognised on page {page.number} (blank, a picture, or the wrong lang?)")
        results.append((page.number, produced[renderer]))
        path.unlink(missing_ok=True)
        ctx.progress(done / total)
    data = MERGERS[ctx.target](results)
    metadata = ocr_metadata(all_words, len(results), lang, ctx.options["psm"])
    if corrections:
        metadata["corrections"] = corrections
    ctx.add_output(data, metadata=metadata)


def _checked_dpi(dpi: float) -> float:
    if not 50 <= dpi <= 1200:
        raise DocconvertError(f"dpi={dpi:g} is out of range (50–1200)")
    return dpi


#: Below this mean word confidence a page may be sideways or upside down: orientation detection decides.
DOUBTFUL_CONFIDENCE = 60.0


def retry_upright(ctx: ConversionContext, image, page, produced, words, renderers, lang, notes):
    """Read a page again turned upright when its words look like garbage and it is in fact rotated.

    Tesseract reads a sideways page as confident-looking nonsense; its orientation
    detection (``--psm 0``) tells, and costs a second only on such doubtful pages.
    """
    if not words or statistics.fmean(w.confidence for w in words) >= DOUBTFUL_CONFIDENCE:
        return produced, words
    probe = ctx.workdir / f"osd-{page.number}.png"
    image.save(probe)
    turn = _tesseract.osd_rotation(ctx, probe)
    probe.unlink(missing_ok=True)
    if not turn:
        return produced, words
    upright = image.rotate(-turn, expand=True)
    path = ctx.workdir / f"upright-{page.number}.png"
    upright.save(path, dpi=(page.dpi, page.dpi) if page.dpi else None)
    again = _tesseract.run_page(ctx, path, ctx.workdir / f"ocr-upright-{page.number}", renderers,
                                lang=lang, psm=ctx.options["psm"], dpi=page.dpi)
    path.unlink(missing_ok=True)
    better = _tesseract.parse_tsv(again["tsv"].read_text("utf-8", "replace"), page.number)
    if not better or statistics.fmean(w.confidence for w in better) <= statistics.fmean(w.confidence for w in words):
        return produced, words
    notes["rotated"] = turn
    ctx.warn(f"page {page.number} was rotated by {turn}°: it was read again turned upright "
             "(rotate=True checks every page)")
    return again, better


def prepare_page(ctx: ConversionContext, image, number: int):
    """Flatten transparency onto white and apply the ``rotate``/``deskew`` options.

    Returns the image and what was corrected. Tesseract reads a transparent
    image's colour channels without its alpha: text drawn with alpha alone, or
    on a background whose hidden colour is dark, would be invisible or inverted.
    """
    notes = {}
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = flatten(image, "L" if image.mode == "LA" else "RGB")
    if ctx.options.get("rotate"):
        probe = ctx.workdir / f"osd-{number}.png"
        image.save(probe)
        turn = _tesseract.osd_rotation(ctx, probe)
        probe.unlink(missing_ok=True)
        if turn is None and "osd" not in _tesseract.installed_languages():
            ctx.warn("rotate=True needs Tesseract's orientation data: "
                     "sudo apt-get install -y --no-install-recommends tesseract-ocr-osd")
        elif turn:
            image = image.rotate(-turn, expand=True)  # PIL turns counter-clockwise
            notes["rotated"] = turn
    if ctx.options.get("deskew"):
        image, info = _scan.clean(image, deskew=True)
        if info["skew"]:
            notes["deskewed"] = info["skew"]
    return image, notes


def ocr_metadata(words, pages: int, lang: str, psm: int) -> dict:
    confidences = [w.confidence for w in words]
    return {
        "pages": pages,
        "lang": lang,
        "psm": psm,
        "words": len(words),
        "mean_confidence": round(statistics.fmean(confidences), 1) if confidences else None,
    }


# -- merging per-page outputs into one document ---------------------------------------

def merge_text(results) -> bytes:
    """Pages separated by a form feed, as Tesseract does within one multi-page run."""
    return b"\f".join(path.read_bytes().rstrip(b"\f") for _, path in results)


def merge_tsv(results) -> bytes:
    lines = []
    for index, (number, path) in enumerate(results):
        rows = path.read_text("utf-8", "replace").splitlines()
        if not rows:
            continue
        if index == 0 or not lines:
            lines.append(rows[0])
        for row in rows[1:]:
            cells = row.split("\t")
            if len(cells) > 1:
                cells[1] = str(number)  # page_num: the document's page, not the run's
            lines.append("\t".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


_HOCR_ID = re.compile(r"id='([a-z_]+?)_1(_\d+)?'")


def merge_hocr(results) -> bytes:
    if len(results) == 1:
        return results[0][1].read_bytes()
    head, pages = None, []
    for number, path in results:
        text = path.read_text("utf-8")
        start, end = text.find("<body>"), text.rfind("</body>")
        if start < 0 or end < 0:
            raise DocconvertError("tesseract wrote hOCR without a body")
        if head is None:
            head = text[: start + len("<body>")]
        body = text[start + len("<body>"): end]
        body = _HOCR_ID.sub(lambda m: f"id='{m.group(1)}_{number}{m.group(2) or ''}'", body)
        body = re.sub(r"ppageno \d+", f"ppageno {number - 1}", body)
        pages.append(body)
    return (head + "".join(pages) + "</body>\n</html>\n").encode("utf-8")


def merge_pdf(results) -> bytes:
    if len(results) == 1:
        return results[0][1].read_bytes()
    merged = pdfium.PdfDocument.new()
    try:
        for number, path in results:
            try:
                page_pdf = pdfium.PdfDocument(str(path))
            except pdfium.PdfiumError as exc:
                raise DocconvertError(f"tesseract's PDF of page {number} cannot be read ({exc})") from None
            try:
                merged.import_pages(page_pdf)
            finally:
                page_pdf.close()
        buf = io.BytesIO()
        merged.save(buf)
        return buf.getvalue()
    except pdfium.PdfiumError as exc:
        raise DocconvertError(f"the searchable PDF could not be assembled ({exc})") from None
    finally:
        merged.close()


MERGERS = {"txt": merge_text, "tsv": merge_tsv, "hocr": merge_hocr, "pdf": merge_pdf}

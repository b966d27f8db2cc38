"""DjVu → PDF (keeping or adding a hidden text layer) and DjVu → page images, with djvulibre.

``ddjvu`` decodes the pages (its PDF keeps the compact page images),
``djvused`` reads page sizes and the hidden text layer. A page without text
is OCR'd with Tesseract when ``ocr`` says so, and the words of either source
are written as invisible text over the page image.
"""

from __future__ import annotations

import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from ...errors import DocconvertError
from .. import tools
from ..context import ConversionContext
from ..registry import Option, converter
from ..tools import Tool, register_tool
from . import _tesseract
from ._imaging import check_pixels, parse_pages
from ._pages import MAX_PAGES
from ._textlayer import PlacedWord, add_invisible_words, keep_gaps, pixel_words_to_points, spread_shared_boxes
from .images import QUALITY, encode

DDJVU = register_tool(Tool("ddjvu", "ddjvu", "djvulibre-bin", ("--help",)))
DJVUSED = register_tool(Tool("djvused", "djvused", "djvulibre-bin", ("--help",)))
# Encoders used to build DjVu documents (samples, tests); converters do not need them.
CJB2 = register_tool(Tool("cjb2", "cjb2", "djvulibre-bin", ("--help",)))
DJVM = register_tool(Tool("djvm", "djvm", "djvulibre-bin", ("--help",)))
DJVU_TOOLS = ("ddjvu", "djvused")

OCR = Option("ocr", (bool, str), "auto", "OCR pages: True, False, or 'auto' (only pages without a hidden text layer)",
             choices=(True, False, "auto"))
PAGES = Option("pages", (str, int), None, "pages to convert, e.g. '1-3,5' (default: all)")
LANG = Option("lang", str, "eng", "Tesseract language(s) for OCR, e.g. 'eng+deu'")
PSM = Option("psm", int, 3, "Tesseract page segmentation mode for OCR", choices=_tesseract.PSM_CHOICES)
IMAGE_DPI = Option("dpi", (int, float), None, "resolution of the page images, 10–1200 (default: the DjVu's own)",
                   minimum=10, maximum=1200)


@dataclass
class PageInfo:
    width: int  # pixels
    height: int
    dpi: int
    words: list[PlacedWord]  # hidden text, in the page's pixel units, origin bottom left


def _djvused(ctx, path: Path, script: str) -> str:
    try:
        proc = ctx.run_tool([DJVUSED.require(), "-u", "-e", script, str(path)])
    except tools.ToolFailed as exc:
        raise DocconvertError(f"not a readable DjVu document ({exc})") from None
    return proc.stdout.decode("utf-8", "replace")


def page_count(ctx, path: Path) -> int:
    text = _djvused(ctx, path, "n").strip()
    if not text.isdigit() or int(text) < 1:
        raise DocconvertError("the DjVu document has no pages (damaged or truncated?)")
    return int(text)


_INFO = re.compile(r"DjVu (\d+)x(\d+), v\d+, (\d+) dpi")


def page_info(ctx, path: Path, index: int) -> PageInfo:
    """Size, resolution and hidden text of page ``index`` (0-based)."""
    return _parse_page_info(_djvused(ctx, path, f"select {index + 1}; dump; print-txt"), index)


_PAGE_DUMP = re.compile(r"^\s*FORM:DJVU \[\d+\]", re.MULTILINE)
#: Pages per djvused call when reading many pages' sizes and text at once.
_PAGES_PER_CALL = 200


def pages_info(ctx, path: Path, indexes: list[int]) -> list[PageInfo]:
    """:func:`page_info` of many pages with one ``djvused`` run per 200 pages, not one per page."""
    infos: list[PageInfo] = []
    for start in range(0, len(indexes), _PAGES_PER_CALL):
        chunk = indexes[start:start + _PAGES_PER_CALL]
        out = _djvused(ctx, path, "; ".join(f"select {i + 1}; dump; print-txt" for i in chunk))
        starts = [m.start() for m in _PAGE_DUMP.finditer(out)]
        if len(starts) != len(chunk):  # an unusual layout: ask page by page
            infos.extend(page_info(ctx, path, i) for i in chunk)
            continue
        for index, begin, end in zip(chunk, starts, starts[1:] + [len(out)]):
            infos.append(_parse_page_info(out[begin:end], index))
    return infos


def _parse_page_info(out: str, index: int) -> PageInfo:
    info = _INFO.search(out)
    if not info:
        raise DocconvertError(f"page {index + 1} of the DjVu document has no image information (damaged?)")
    start = out.find("\n(")
    words = text_leaves(parse_sexpr(out[start + 1:])) if start >= 0 else []
    width, height, dpi = (int(g) for g in info.groups())
    return PageInfo(width, height, dpi, words)


def parse_sexpr(text: str):
    """Parse djvused's S-expression text layer into nested lists (strings and ints)."""
    tokens = re.findall(r'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()"]+', text)
    stack: list[list] = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                break
            done = stack.pop()
            stack[-1].append(done)
        elif token.startswith('"'):
            stack[-1].append(_unescape(token[1:-1]))
        else:
            stack[-1].append(int(token) if token.lstrip("-").isdigit() else token)
    return stack[0]


def _unescape(body: str) -> str:
    raw = re.sub(r"\\([0-7]{1,3}|.)", lambda m: chr(int(m.group(1), 8)) if m.group(1).isdigit() else
                 {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    try:
        return raw.encode("latin-1").decode("utf-8")  # octal escapes are UTF-8 bytes
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def text_leaves(nodes) -> list[PlacedWord]:
    """The innermost text zones (words, or lines when the layer has no words) with their boxes."""
    leaves = []
    for node in nodes:
        if not isinstance(node, list) or len(node) < 6:
            continue
        box, rest = node[1:5], node[5:]
        if rest and isinstance(rest[-1], str) and not any(isinstance(r, list) for r in rest):
            if rest[-1].strip() and all(isinstance(v, int) for v in box):
                leaves.append(PlacedWord(rest[-1].strip(), *box))
        else:
            leaves.extend(text_leaves(rest))
    return leaves


def render_page(ctx, path: Path, index: int, dpi: float | None = None) -> tuple[Image.Image, float]:
    """Decode page ``index`` (0-based) to a Pillow image at ``dpi`` (default: its own resolution)."""
    info = page_info(ctx, path, index)
    scale = (dpi / info.dpi) if dpi else 1.0
    width, height = max(1, round(info.width * scale)), max(1, round(info.height * scale))
    check_pixels(width, height, ctx.max_pixels, f"page {index + 1}")
    out = ctx.workdir / f"djvu-page-{index + 1}.tif"
    args = [DDJVU.require(), "-format=tiff", f"-page={index + 1}"]
    if dpi:
        args.append(f"-size={width}x{height}")
    _ddjvu(ctx, args + [str(path), str(out)])
    with Image.open(out) as im:
        im.load()
        image = im.copy()
    out.unlink(missing_ok=True)
    return image, float(dpi or info.dpi)


def _ddjvu(ctx, args):
    try:
        ctx.run_tool(args)
    except tools.ToolFailed as exc:
        raise DocconvertError(f"cannot decode the DjVu document ({exc})") from None


@converter(sources={"djvu"}, targets={"pdf"}, options=[OCR, PAGES, LANG, PSM], tools=DJVU_TOOLS)
def djvu_to_pdf(ctx: ConversionContext) -> None:
    """Every DjVu page into a PDF page; the hidden text layer is kept, or made by OCR."""
    count = page_count(ctx, ctx.input_path)
    indexes = parse_pages(ctx.options["pages"], count)
    if len(indexes) > MAX_PAGES:
        raise DocconvertError(f"{len(indexes)} pages requested; convert at most {MAX_PAGES} per job (use pages=...)")
    ocr = ctx.options["ocr"]
    lang = None
    if ocr is not False:
        if ocr is True or _tesseract.TESSERACT.path():
            _tesseract.TESSERACT.require()
            lang = _tesseract.check_languages(ctx.options["lang"])
    sources, confidences = [], []
    with ThreadPoolExecutor(max_workers=1 + _decoders(len(indexes))) as pool:
        # djvused reads sizes and text while ddjvu decodes: the two do not wait for each other.
        infos_future = pool.submit(pages_info, ctx, ctx.input_path, indexes)
        pdf, parts = decode_to_pdf(ctx, indexes, pool)
        try:
            infos = infos_future.result()
        except BaseException:
            _close(pdf, parts)
            raise
    try:
        if len(pdf) != len(indexes):
            raise DocconvertError(f"ddjvu wrote {len(pdf)} of {len(indexes)} pages (damaged document?)")
        for position, (index, info) in enumerate(zip(indexes, infos)):
            width_pt, height_pt = pdf[position].get_size()
            if info.words and ocr is not True:
                sx, sy = width_pt / info.width, height_pt / info.height
                placed = [PlacedWord(w.text, w.x0 * sx, w.y0 * sy, w.x1 * sx, w.y1 * sy)
                          for w in keep_gaps(spread_shared_boxes(info.words))]
                sources.append("djvu")
            elif lang is not None:
                placed, confidence = _ocr_words(ctx, index, info, width_pt, height_pt, lang)
                confidences.extend(confidence)
                sources.append("ocr")
                if not placed:
                    ctx.warn(f"OCR found no text on page {index + 1}")
            else:
                placed = []
                sources.append("none")
            try:
                add_invisible_words(pdf, position, placed)
            except (RuntimeError, pdfium.PdfiumError) as exc:  # the page stays, without its words
                ctx.warn(f"page {index + 1}'s text layer could not be written ({exc}); it is an image only")
                sources[-1] = "none"
            ctx.progress((position + 1) / len(indexes))
        buf = io.BytesIO()
        try:
            pdf.save(buf)
        except pdfium.PdfiumError as exc:
            raise DocconvertError(f"pdfium could not write the PDF ({exc})") from None
    finally:
        _close(pdf, parts)
    if "none" in sources:
        reason = "ocr=False" if ocr is False else "Tesseract is not installed"
        ctx.warn(f"{sources.count('none')} page(s) have no hidden text and were not OCR'd ({reason}): "
                 "the PDF shows them as images only")
    metadata = {"pages": len(indexes), "text_layer": _summarise(sources)}
    if "ocr" in sources:
        metadata.update(lang=lang, ocr_pages=sources.count("ocr"),
                        mean_confidence=round(sum(confidences) / len(confidences), 1) if confidences else None)
    ctx.add_output(buf.getvalue(), metadata=metadata)


def _decoders(pages: int) -> int:
    """How many ddjvu processes share the decoding (one per core, at most 4; ddjvu uses one core)."""
    return max(1, min(pages, os.cpu_count() or 1, 4))


def decode_to_pdf(ctx, indexes: list[int], pool) -> tuple[pdfium.PdfDocument, list[pdfium.PdfDocument]]:
    """ddjvu's PDF of the pages ``indexes``: consecutive runs of pages decoded in parallel, then joined.

    Returns the joined document and the parts it was joined from (closed after saving).
    """
    count = _decoders(len(indexes))
    size = -(-len(indexes) // count)
    chunks = [indexes[i:i + size] for i in range(0, len(indexes), size)]
    targets = [ctx.workdir / f"pages-{n}.pdf" for n in range(len(chunks))]
    futures = [pool.submit(_ddjvu, ctx, [DDJVU.require(), "-format=pdf", f"-page={','.join(str(i + 1) for i in chunk)}",
                                         str(ctx.input_path), str(target)])
               for chunk, target in zip(chunks, targets)]
    for future in futures:
        future.result()
    try:
        pdf = pdfium.PdfDocument(str(targets[0]))
        parts = [pdfium.PdfDocument(str(target)) for target in targets[1:]]
    except pdfium.PdfiumError as exc:
        raise DocconvertError(f"ddjvu wrote a PDF that cannot be read ({exc})") from None
    for part in parts:
        pdf.import_pages(part)
    return pdf, parts


def _close(pdf, parts) -> None:
    pdf.close()
    for part in parts:
        part.close()


def _summarise(sources: list[str]) -> str:
    kinds = sorted(set(sources))
    return kinds[0] if len(kinds) == 1 else "mixed"


def _ocr_words(ctx, index, info: PageInfo, width_pt, height_pt, lang):
    image, dpi = render_page(ctx, ctx.input_path, index)
    path = ctx.workdir / f"ocr-page-{index + 1}.png"
    image.save(path, dpi=(dpi, dpi))
    produced = _tesseract.run_page(ctx, path, ctx.workdir / f"ocr-{index + 1}", ["tsv"],
                                   lang=lang, psm=ctx.options["psm"], dpi=dpi)
    words = _tesseract.parse_tsv(produced["tsv"].read_text("utf-8", "replace"), index + 1)
    path.unlink(missing_ok=True)
    placed = pixel_words_to_points(words, image.width, image.height, width_pt, height_pt)
    return placed, [w.confidence for w in words]


@converter(sources={"djvu"}, targets={"png", "tiff", "jpeg"}, options=[PAGES, IMAGE_DPI, QUALITY], tools=DJVU_TOOLS)
def djvu_to_images(ctx: ConversionContext) -> None:
    """DjVu pages as images: one PNG/JPEG per page, or one multi-page TIFF."""
    dpi = ctx.options["dpi"]
    if dpi is not None and not 10 <= dpi <= 1200:
        raise DocconvertError(f"dpi={dpi:g} is out of range (10–1200)")
    indexes = parse_pages(ctx.options["pages"], page_count(ctx, ctx.input_path))
    if len(indexes) > MAX_PAGES:
        raise DocconvertError(f"{len(indexes)} pages requested; convert at most {MAX_PAGES} per job (use pages=...)")
    images = []
    for done, index in enumerate(indexes, start=1):
        image, page_dpi = render_page(ctx, ctx.input_path, index, dpi)
        if ctx.target == "tiff":
            images.append((image, page_dpi))
        else:
            data = encode(image, ctx.target, quality=ctx.options["quality"], dpi=page_dpi)
            ctx.add_output(data, ctx.output_name(f"-p{index + 1}"),
                           metadata={"page": index + 1, "width": image.width, "height": image.height, "dpi": page_dpi})
        ctx.progress(done / len(indexes))
    if images:
        first, first_dpi = images[0]
        data = encode(first, "tiff", dpi=first_dpi, extra_frames=[im for im, _ in images[1:]])
        ctx.add_output(data, metadata={"pages": len(images), "dpi": first_dpi})


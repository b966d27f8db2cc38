"""Table and OCR fixtures generated on the spot: every quirk OCR'd tables come with."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from PIL import Image, ImageDraw

# Semicolon-delimited, cp1252 (é, €), decimal commas with dot thousands, currency,
# percent, parentheses / unicode-minus negatives, n/a, day-first dates, padding.
EUROPEAN_CSV = (
    "Produkt;Preis;Anteil;Datum\n"
    "Café crème;1.234,50 €;12,5 %;01.02.2024\n"
    "Thé vert;12,00 €;(3 %);15.02.2024\n"
    "  Eau  ;-5,50 €;n/a;29.02.2024\n"
    "Crêpe;0,75 €;40 %;03.03.2024\n"
)

# Comma-delimited with a BOM, quoted fields with commas, thousands separators,
# "$", parentheses and U+2212 negatives, O/l OCR confusions, a two-row header
# with merged group cells, an empty row and an empty column.
US_OCR_CSV = (
    "\ufeffRegion,Sales,,,Costs,\n"
    ",2023,2024,,2023,2024\n"
    'North,"$1,234.50",1O5,,(12),"2,000"\n'
    'South,"$2,345.00",107,,\u22123,"3,000"\n'
    ',,,,,\n'
    '"West, coast","$3,456.25",2l0,,4,"1,000"\n'
    'East,$10.00,300,,5,"4,500"\n'
    'Central,$0.50,415,,6,"5,000"\n'
)

QUOTED_CSV = 'name,note,amount\n"Smith, J.","said ""hi"", left",1.5\nDoe,plain,2.25\n'

ISO_DATES_TSV = "when\tcount\tshare\n2024-01-31\t3\t0.5\n2024-02-29\t4\t0.25\n"


def workbook_two_sheets() -> bytes:
    """An XLSX with a 'Prices' sheet (numbers stored as numbers) and an 'Orders' sheet (text cells)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        pd.DataFrame({"Item": ["pen", "book", "lamp"], "Price": [1.5, 12.0, 30.25]}).to_excel(
            writer, sheet_name="Prices", index=False)
        pd.DataFrame({"Date": ["2024-03-01", "2024-03-02"], "Qty": ["1,200", "(4)"], "Rate": ["5%", "7.5%"]}).to_excel(
            writer, sheet_name="Orders", index=False)
        pd.DataFrame().to_excel(writer, sheet_name="Blank")
    return buf.getvalue()


def word_page(size=(600, 300)) -> tuple[bytes, list[tuple[str, tuple[int, int, int, int], int]]]:
    """A PNG with three dark word-shaped boxes, and those words with boxes and confidences."""
    words = [("Total", (40, 50, 160, 90), 96), ("1O4", (200, 50, 290, 90), 41), ("EUR", (320, 50, 400, 90), 73)]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for _, box, _ in words:
        draw.rectangle(box, fill=(30, 30, 30))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue(), words


def hocr_for(words, size=(600, 300), *, confidence: bool = True) -> str:
    """Tesseract-style hOCR for ``words`` on one page."""
    spans = []
    for index, (text, box, conf) in enumerate(words, start=1):
        title = "bbox {} {} {} {}".format(*box) + (f"; x_wconf {conf}" if confidence else "")
        spans.append(f"<span class='ocrx_word' id='word_1_{index}' title='{title}'><strong>{text}</strong></span>")
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE html>\n<html><head><title></title>"
        "<meta http-equiv='Content-Type' content='text/html;charset=utf-8'>"
        "<meta name='ocr-system' content='tesseract 5.3.0'></head><body>"
        f"<div class='ocr_page' id='page_1' title='image \"scan.png\"; bbox 0 0 {size[0]} {size[1]}; ppageno 0'>"
        f"<span class='ocr_line' id='line_1_1' title='bbox 40 50 400 90; baseline 0 -5'>{' '.join(spans)}</span>"
        "</div></body></html>\n"
    )


def tsv_for(words, size=(600, 300)) -> str:
    """Tesseract-style TSV for ``words`` on one page (with the page, block, paragraph and line rows)."""
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [header, f"1\t1\t0\t0\t0\t0\t0\t0\t{size[0]}\t{size[1]}\t-1\t",
            "2\t1\t1\t0\t0\t0\t40\t50\t360\t40\t-1\t", "3\t1\t1\t1\t0\t0\t40\t50\t360\t40\t-1\t",
            "4\t1\t1\t1\t1\t0\t40\t50\t360\t40\t-1\t"]
    for index, (text, (x0, y0, x1, y1), conf) in enumerate(words, start=1):
        rows.append(f"5\t1\t1\t1\t1\t{index}\t{x0}\t{y0}\t{x1 - x0}\t{y1 - y0}\t{conf}\t{text}")
    return "\n".join(rows) + "\n"


def multipage_pdf(pages: int = 9, size=(620, 877)) -> bytes:
    """A PDF of ``pages`` plain coloured pages, made with Pillow."""
    colours = ["white", "yellow", "red", "green", "blue", "gray", "black", "pink", "orange", "purple"]
    frames = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(pages)]
    buf = io.BytesIO()
    frames[0].save(buf, "PDF", save_all=True, append_images=frames[1:], resolution=72)
    return buf.getvalue()


# -- generated table images with known cells (robustness suite) -------------------------------------

@dataclass(frozen=True)
class TableCase:
    """One generated table image and the cells it must read back as (a merged cell's text top-left)."""

    name: str
    cells: list[list[str]]
    image: bytes = field(repr=False)
    spans: tuple[tuple[int, int, int, int], ...] = ()  # (row, column, rowspan, colspan)


_CITIES = ["Lisbon", "Porto", "Braga", "Faro", "Coimbra", "Aveiro", "Evora", "Viseu", "Leiria", "Setubal"]
_NUMBER_STYLES = ("plain", "thousands", "decimal_comma", "parentheses")


def _number(rng, style: str) -> str:
    value = rng.randint(0, 2_000_000) / 100
    if style == "plain":
        return f"{value:.2f}"
    if style == "thousands":
        return f"{int(value * 100):,}"
    if style == "decimal_comma":  # 1.234,56 (dot thousands, comma decimals)
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    whole = f"{int(value):,}"  # accounting negatives: (1,234)
    return f"({whole})" if rng.random() < 0.6 else whole


def case_cells(rng, n_rows: int, n_cols: int, style: str, merged_header: bool) -> tuple[list[list[str]], tuple]:
    """Cell texts: a header (optionally a group row spanning column pairs), city names, numbers."""
    labels = rng.choice([[f"Q{c}" for c in range(1, 9)], [f"{2016 + c}" for c in range(1, 9)],
                         ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"],
                         ["North", "South", "East", "West", "Centre", "Islands", "Coast", "Inland"]])
    header = ["City"] + (labels[: n_cols - 1] if not merged_header else [f"{2020 + c}" for c in range(1, n_cols)])
    body = [[_CITIES[r % len(_CITIES)]] + [_number(rng, style) for _ in range(n_cols - 1)] for r in range(n_rows)]
    if not merged_header:
        return [header] + body, ()
    group, spans = [""], []
    for c in range(1, n_cols, 2):
        label = "Sales" if c == 1 else "Costs" if c == 3 else f"Part {c}"
        width = min(2, n_cols - c)
        group += [label] + [""] * (width - 1)  # a merged cell's text sits at its top-left position
        if width > 1:
            spans.append((0, c, 1, width))
    return [group, header] + body, tuple(spans)


def draw_table(cells, spans=(), *, size: int = 30, ruling: str = "full", margin: int = 40,
               bold_header: bool = True, padding: float = 0.5):
    """A grayscale PIL image of ``cells``: ``ruling`` is ``full``, ``partial`` (booktabs-style
    rules above, under the header and below) or ``none``; merged cells drawn once, centred."""
    from docconvert_nb import samples

    regular, bold = samples.font(size), samples.font(size, bold=True)
    n_rows, n_cols = len(cells), len(cells[0])
    header_rows = 2 if spans else 1
    pad = max(4, int(size * padding))
    covered = {(r, c + k) for r, c, _, w in spans for k in range(1, w)}
    widths = [0] * n_cols
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            if (r, c) in covered or any(r == sr and c == sc and w > 1 for sr, sc, _, w in spans):
                continue
            widths[c] = max(widths[c], int((bold if r < header_rows else regular).getlength(text)))
    widths = [w + 2 * pad + size for w in widths]
    row_h = int(size * 1.25) + 2 * pad // 2 + 4
    width, height = 2 * margin + sum(widths), 2 * margin + n_rows * row_h
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    xs = [margin + sum(widths[:c]) for c in range(n_cols + 1)]
    line = max(1, size // 14)
    for r, row in enumerate(cells):
        y = margin + r * row_h
        font_ = bold if r < header_rows else regular
        for c, text in enumerate(row):
            if (r, c) in covered or not text:
                continue
            span = next((w for sr, sc, _, w in spans if (sr, sc) == (r, c)), 1)
            x0, x1 = xs[c], xs[c + span]
            text_w = font_.getlength(text)
            if span > 1:
                x = (x0 + x1 - text_w) / 2
            elif c > 0 and r >= header_rows:  # numbers right-aligned, as in real tables
                x = x1 - pad - text_w
            else:
                x = x0 + pad
            draw.text((x, y + (row_h - size) / 2 - size * 0.1), text, fill=0, font=font_)
    if ruling == "full":
        for r in range(n_rows + 1):
            y = margin + r * row_h
            draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=line)
        for c in range(n_cols + 1):
            x = xs[c]
            for r in range(n_rows):
                if (r, c) in {(sr, sc + k) for sr, sc, _, w in spans for k in range(1, w)}:
                    continue  # no rule through a merged cell
                draw.line([(x, margin + r * row_h), (x, margin + (r + 1) * row_h)], fill=0, width=line)
    elif ruling == "partial":
        for r in (0, header_rows, n_rows):
            y = margin + r * row_h
            draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=line)
    return image


def degrade(image, rng, *, skew: float = 0.0, jpeg: int | None = None, noise: float = 0.0, dpi: int = 200) -> bytes:
    """Rotate by ``skew`` degrees, add Gaussian noise, save as JPEG of quality ``jpeg`` (else PNG)."""
    import numpy as np

    if skew:
        image = image.rotate(skew, expand=True, fillcolor=255, resample=Image.BICUBIC)
    if noise:
        pixels = np.asarray(image, dtype=np.float32)
        pixels += np.random.default_rng(rng.randint(0, 2**31)).normal(0, noise, pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    if jpeg:
        image.save(buf, "JPEG", quality=jpeg, dpi=(dpi, dpi))
    else:
        image.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def robustness_cases(count: int = 48, seed: int = 17) -> list[TableCase]:
    """A reproducible suite across the conditions users bring.

    Text 10–60 px; 100–600 dpi (text of 8–12 pt at that resolution); tight
    crops (no margin) and margins; full, partial and no ruling; merged
    header cells; skew up to ±3°; JPEG with noise; decimal commas, negatives
    in parentheses, thousands separators. Every case is drawn, so its cells
    are known exactly.
    """
    import random

    rng = random.Random(seed)
    cases = []
    for k in range(count):
        if k % 2:
            dpi = rng.choice([100, 150, 200, 300, 400, 600])
            size = max(10, min(60, round(rng.uniform(8, 12) * dpi / 72)))
        else:
            dpi, size = 200, rng.choice([10, 12, 14, 18, 24, 34, 44, 60])
        ruling = ("full", "partial", "none")[k % 3]
        style = _NUMBER_STYLES[(k // 3) % len(_NUMBER_STYLES)]
        merged = k % 4 == 1
        margin = 0 if k % 5 in (0, 3) else rng.choice([8, 30, 80])
        if margin == 0 and ruling != "full":
            margin = 2  # an unruled crop still keeps the ink off the very edge pixel
        skew = round(rng.uniform(-3, 3), 1) if k % 6 == 5 else 0.0
        jpeg = rng.choice([35, 50, 70]) if k % 7 in (2, 6) else None
        noise = rng.choice([6.0, 12.0]) if jpeg else 0.0
        n_rows, n_cols = rng.randint(3, 7), rng.randint(3, 5)
        cells, spans = case_cells(rng, n_rows, n_cols, style, merged)
        image = draw_table(cells, spans, size=size, ruling=ruling, margin=margin)
        data = degrade(image, rng, skew=skew, jpeg=jpeg, noise=noise, dpi=dpi)
        name = (f"{k:02d}-{size}px-{dpi}dpi-{ruling}-{style}-m{margin}"
                + ("-merged" if merged else "") + (f"-skew{skew:g}" if skew else "") + (f"-jpeg{jpeg}" if jpeg else ""))
        cases.append(TableCase(name, cells, data, spans))
    return cases


def adjacency(grid: list[list[str]]) -> Counter:
    """(text, right or lower neighbour's text, direction) for each non-empty cell; merged cells count once."""
    def key(text):
        return "".join(ch for ch in text.lower() if ch.isalnum())

    cells = {(r, c): key(t) for r, row in enumerate(grid) for c, t in enumerate(row) if key(t)}
    found = Counter()
    for (r, c), text in cells.items():
        right = next((cells[(r, cc)] for cc in range(c + 1, c + 64) if (r, cc) in cells), None)
        if right is not None and right != text:
            found[(text, right, "h")] += 1
        below = next((cells[(rr, c)] for rr in range(r + 1, r + 256) if (rr, c) in cells), None)
        if below is not None:
            found[(text, below, "v")] += 1
    return found


def adjacency_counts(truth, predicted) -> tuple[int, int, int]:
    """(true positives, predicted, expected) adjacency relations of one table."""
    expected, got = adjacency(truth), adjacency(predicted)
    return sum((expected & got).values()), sum(got.values()), sum(expected.values())

"""Table and OCR fixtures generated on the spot: every quirk OCR'd tables come with."""

from __future__ import annotations

import io

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

"""Table recognition on generated tables: the recognised cells must equal the DataFrame drawn."""

import csv
import io
import json

import openpyxl
import pandas as pd
import pytest
from PIL import Image, ImageDraw

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.status import JobStatus

pytestmark = pytest.mark.tools

PRICES = pd.DataFrame([["Item", "Qty", "Price"], ["Apples", "12", "3.50"], ["Pears", "007", "1,250"], ["Plums", "4", "0.99"]])
CITIES = pd.DataFrame([["City", "Year", "Visitors"], ["Lisbon", "2021", "1250"], ["Porto", "2022", "980"]])


def recognize(provider, data, to="csv", **options):
    return dc.recognize_tables(data, to=to, provider=provider, **options).wait(timeout=120)


def csv_frame(output) -> pd.DataFrame:
    return pd.DataFrame(list(csv.reader(io.StringIO(output.text()))))


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "unruled"])
def test_cells_equal_the_rendered_dataframe(provider, ruled):
    job = recognize(provider, samples.table_image(PRICES.values.tolist(), ruled=ruled))
    (out,) = job.outputs
    pd.testing.assert_frame_equal(csv_frame(out), PRICES)  # "007", "3.50", "1,250" kept as written
    assert out.metadata["rows"] == 4 and out.metadata["columns"] == 3 and out.metadata["tables_found"] == 1
    confidence = out.metadata["cell_confidence"]
    assert len(confidence) == 4 and all(len(row) == 3 for row in confidence)
    assert all(80 < c <= 100 for row in confidence for c in row)


def test_two_tables_on_one_page_give_two_csv_outputs(provider):
    first = Image.open(io.BytesIO(samples.table_image(PRICES.values.tolist())))
    second = Image.open(io.BytesIO(samples.table_image(CITIES.values.tolist())))
    page = Image.new("L", (max(first.width, second.width), first.height + second.height + 150), 255)
    page.paste(first, (0, 0))
    page.paste(second, (0, first.height + 150))
    job = recognize(provider, png(page))
    assert [o.name for o in job.outputs] == ["document-p1-t1.csv", "document-p1-t2.csv"]
    pd.testing.assert_frame_equal(csv_frame(job.outputs[0]), PRICES)
    pd.testing.assert_frame_equal(csv_frame(job.outputs[1]), CITIES)


def merged_header_table() -> bytes:
    """A ruled 3×3 table whose first row is one cell spanning all columns."""
    page = samples.table_image([["", "", ""], ["Apples", "12", "3.50"], ["Pears", "7", "1.25"]])
    image = Image.open(io.BytesIO(page)).convert("L")
    draw = ImageDraw.Draw(image)
    margin, cell_w, cell_h = 60, 260, 70
    # Erase the two inner vertical rules of the first row and write the spanning title.
    for c in (1, 2):
        x = margin + c * cell_w
        draw.rectangle([x - 3, margin + 3, x + 3, margin + cell_h - 3], fill=255)
    draw.text((margin + 14, margin + 18), "Fruit sales", fill=0, font=samples.font(30, bold=True))
    return png(image)


def test_a_merged_cell_keeps_its_text_top_left_and_its_span(provider):
    (out,) = recognize(provider, merged_header_table()).outputs
    assert csv_frame(out).values.tolist() == [
        ["Fruit sales", "", ""],
        ["Apples", "12", "3.50"],
        ["Pears", "7", "1.25"],
    ]
    assert out.metadata["merged_cells"] == [{"row": 0, "column": 0, "rowspan": 1, "colspan": 3, "text": "Fruit sales"}]
    assert out.metadata["cell_confidence"][0][1:] == [None, None]

    (sheet_out,) = recognize(provider, merged_header_table(), to="xlsx").outputs
    sheet = openpyxl.load_workbook(io.BytesIO(sheet_out.read())).active
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:C1"] and sheet["A1"].value == "Fruit sales"


def test_merged_cells_can_be_repeated_at_every_position(provider):
    (out,) = recognize(provider, merged_header_table(), repeat_merged=True).outputs
    assert csv_frame(out).values.tolist()[0] == ["Fruit sales", "Fruit sales", "Fruit sales"]
    assert out.metadata["merged_cells"][0]["colspan"] == 3


def test_xlsx_has_one_sheet_per_table_and_numbers_as_written(provider):
    first = Image.open(io.BytesIO(samples.table_image(PRICES.values.tolist())))
    second = Image.open(io.BytesIO(samples.table_image(CITIES.values.tolist())))
    page = Image.new("L", (first.width, first.height + second.height + 150), 255)
    page.paste(first, (0, 0))
    page.paste(second, (0, first.height + 150))
    (out,) = recognize(provider, png(page), to="xlsx").outputs
    workbook = openpyxl.load_workbook(io.BytesIO(out.read()))
    assert workbook.sheetnames == ["Page 1 - Table 1", "Page 1 - Table 2"]
    prices = list(workbook["Page 1 - Table 1"].iter_rows(values_only=True))
    assert prices[1] == ("Apples", 12, "3.50") and prices[2] == ("Pears", "007", "1,250")
    assert out.metadata["tables_found"] == 2


def test_json_holds_cells_confidences_and_boxes(provider):
    (out,) = recognize(provider, samples.table_image(CITIES.values.tolist()), to="json").outputs
    (table,) = json.loads(out.text())["tables"]
    assert table["cells"] == CITIES.values.tolist()
    assert len(table["confidence"]) == 3 and table["bbox"][2] > table["bbox"][0]


@pytest.mark.slow
def test_a_tilted_scan_is_deskewed_before_recognition(provider):
    image = Image.open(io.BytesIO(samples.table_image(PRICES.values.tolist(), ruled=True))).convert("L")
    canvas = Image.new("L", (image.width + 200, image.height + 200), 255)
    canvas.paste(image, (100, 100))
    tilted = canvas.rotate(2, expand=True, fillcolor=255, resample=Image.BICUBIC)
    (out,) = recognize(provider, png(tilted), denoise=True).outputs
    pd.testing.assert_frame_equal(csv_frame(out), PRICES)


@pytest.mark.slow
def test_digital_pdf_reads_the_pdfs_own_text(provider):
    """A DOCX table turned into PDF by LibreOffice has real text: no OCR is needed."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=len(CITIES), cols=3)
    table.style = "Table Grid"
    for r, row in enumerate(CITIES.values.tolist()):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    pdf = dc.convert(buf.getvalue(), to="pdf", provider=provider, name="table.docx").wait(timeout=120).outputs[0].read()
    (out,) = recognize(provider, pdf).outputs
    pd.testing.assert_frame_equal(csv_frame(out), CITIES)
    assert out.metadata["text_source"] == "pdf"
    assert out.metadata["mean_confidence"] == 100.0


def test_blank_page_completes_with_a_note_and_no_outputs(provider):
    job = recognize(provider, png(Image.new("L", (900, 700), 255)))
    assert job.status == JobStatus.COMPLETED
    assert job.outputs == [] and "no table was found" in job.warnings[0]
    assert "no table was found" in job.message


def test_unknown_option_lists_the_valid_ones(provider):
    with pytest.raises(dc.InvalidOptions) as info:
        dc.recognize_tables(samples.table_image(CITIES.values.tolist()), provider=provider, borderles=True)
    assert "borderless" in str(info.value) and "min_confidence" in str(info.value)


@pytest.mark.slow
def test_digital_pdf_without_rules_reads_the_columns_from_the_text(provider):
    """A borderless DOCX table (no style) turned into PDF: no rules, columns from the words' alignment."""
    import docx

    rows = [["Region", "2023", "2024", "Change"], ["North", "1,234.50", "1,300.00", "(65.50)"],
            ["South", "980.00", "1,020.25", "40.25"], ["West coast", "12.00", "8.75", "(3.25)"]]
    document = docx.Document()
    document.add_paragraph("Sales by region, in thousands of euros. The figures below are provisional.")
    table = document.add_table(rows=len(rows), cols=4)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Source: regional offices. Negative changes are shown in parentheses.")
    buf = io.BytesIO()
    document.save(buf)
    pdf = dc.convert(buf.getvalue(), to="pdf", provider=provider, name="t.docx").wait(timeout=120).outputs[0].read()
    (out,) = recognize(provider, pdf).outputs
    assert csv_frame(out).values.tolist() == rows
    assert out.metadata["text_source"] == "pdf"

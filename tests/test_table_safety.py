"""Recognised tables are safe to open: no CSV formula injection, no job lost to a crashing library."""

import csv
import io

import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine.converters import _table_csv
from docconvert_nb.status import JobStatus

FORMULA_CELLS = [["Cell", "Value"], ["=1+2", "-2"], ["@SUM(1+1)", "+3.5"], ["-x", "-1,234.50"]]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0", "@SUM(1+1)", "+A1", "-A1+2",
                                  "\tx", "\rx", "-", "=", "-2+3", "+1e5x"])
def test_formula_like_cells_get_a_quote(text):
    assert _table_csv.neutralize(text) == "'" + text
    assert _table_csv.restore(_table_csv.neutralize(text)) == text


@pytest.mark.parametrize("text", ["-2", "+3.5", "-1,234.50", "-1.234,50", "-12 %", "+1e5", "-.5", "12", "Total",
                                  "'quoted", "a=b", ""])
def test_numbers_and_plain_text_stay_as_they_are(text):
    assert _table_csv.neutralize(text) == text
    assert _table_csv.restore(text) == text


def csv_rows(output):
    return list(csv.reader(io.StringIO(output.text())))


@pytest.mark.tools
def test_csv_output_neutralises_formulas_and_to_dataframe_returns_the_text(provider):
    job = dc.recognize_tables(samples.table_image(FORMULA_CELLS), provider=provider).wait(timeout=120)
    (out,) = job.outputs
    assert csv_rows(out) == [["Cell", "Value"], ["'=1+2", "-2"], ["'@SUM(1+1)", "+3.5"], ["'-x", "-1,234.50"]]
    assert out.metadata["formulas_neutralized"] is True
    assert dc.to_dataframe(out, clean=False).values.tolist() == FORMULA_CELLS

    raw = dc.recognize_tables(samples.table_image(FORMULA_CELLS), provider=provider, safe_csv=False).wait(timeout=120)
    assert csv_rows(raw.outputs[0]) == FORMULA_CELLS
    assert raw.outputs[0].metadata["formulas_neutralized"] is False


def image_only_pdf(rows) -> bytes:
    image = Image.open(io.BytesIO(samples.table_image(rows))).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=200)
    return buf.getvalue()


@pytest.mark.tools
def test_a_crash_in_the_pdf_text_reader_falls_back_to_the_rendered_page(provider, monkeypatch):
    from img2table.document import PDF

    def crash(self, *args, **kwargs):  # what img2table 1.4–2.0 raises on some real PDFs' text
        raise ValueError("zip() argument 2 is longer than argument 1")

    monkeypatch.setattr(PDF, "extract_tables", crash)
    rows = [["City", "Year"], ["Lisbon", "2021"], ["Porto", "2022"]]
    job = dc.recognize_tables(image_only_pdf(rows), provider=provider, pdf_text=True).wait(timeout=120)
    assert job.status == JobStatus.COMPLETED
    assert csv_rows(job.outputs[0]) == rows and job.outputs[0].metadata["text_source"] == "ocr"
    assert any("zip() argument 2" in w and "OCR instead" in w for w in job.warnings)


@pytest.mark.tools
def test_a_crash_in_the_image_reader_fails_the_job_with_a_message(provider, monkeypatch):
    from img2table.document import Image as Img2TableImage

    def crash(self, *args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(Img2TableImage, "extract_tables", crash)
    unruled = samples.table_image([["a", "b"], ["1", "2"]], ruled=False)  # ruled tables do not need img2table
    job = dc.recognize_tables(unruled, provider=provider)
    with pytest.raises(dc.JobFailed):
        job.wait(timeout=120)
    assert job.status == JobStatus.FAILED
    assert "img2table could not read the tables of page 1 (IndexError" in job.message


@pytest.mark.tools
def test_a_crash_in_the_ruling_reader_falls_back_to_img2table(provider, monkeypatch):
    from docconvert_nb.engine.converters import _table_image

    def crash(*args, **kwargs):
        raise AssertionError("pdfplumber geometry failed")

    monkeypatch.setattr(_table_image, "ruled_tables", crash)
    rows = [["City", "Year"], ["Lisbon", "2021"], ["Porto", "2022"]]
    job = dc.recognize_tables(samples.table_image(rows), provider=provider).wait(timeout=120)
    assert csv_rows(job.outputs[0]) == rows
    assert any("pdfplumber could not read the tables of page 1 (AssertionError" in w for w in job.warnings)

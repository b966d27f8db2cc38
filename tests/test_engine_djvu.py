"""DjVu built with djvulibre's encoders → PDF (hidden text kept or OCR'd) and page images."""

import difflib
import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.errors import JobFailed

pytestmark = pytest.mark.tools

PAGES = ["Hidden text survives the trip to PDF.", "The second page says something else entirely."]


def similar(expected: str, got: str) -> float:
    return difflib.SequenceMatcher(None, " ".join(expected.split()), " ".join(got.split())).ratio()


def convert(provider, data, to="pdf", **options):
    return dc.convert(data, to=to, provider=provider, name="book.djvu", **options).wait(timeout=120)


def pdf_texts(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def test_pdf_keeps_every_page_and_the_hidden_text_layer(provider):
    (out,) = convert(provider, samples.djvu_document(PAGES)).outputs
    texts = pdf_texts(out.read())
    assert len(texts) == 2
    assert [" ".join(t.split()) for t in texts] == PAGES
    assert out.metadata == {"pages": 2, "text_layer": "djvu"}
    # The page image is there too: render and find the black text.
    page = pdfium.PdfDocument(out.read())[0].render(scale=1).to_pil().convert("L")
    assert page.getextrema()[0] < 60


def test_hidden_words_sit_where_they_were_drawn(provider):
    _image, drawn = samples.text_page_layout(PAGES[0])
    (out,) = convert(provider, samples.djvu_document([PAGES[0]])).outputs
    page = pdfium.PdfDocument(out.read())[0]
    textpage = page.get_textpage()
    left, bottom, right, top = textpage.get_charbox(0)
    scale = 72 / 200  # the DjVu is 200 dpi
    word_left, word_top = drawn[0][1][0], drawn[0][1][1]
    assert abs(left - word_left * scale) < 3
    assert abs(top - (page.get_height() - word_top * scale)) < 6


@pytest.mark.slow
def test_pages_without_text_are_ocrd_into_a_searchable_pdf(provider):
    (out,) = convert(provider, samples.djvu_document(PAGES, text_layer=False)).outputs
    texts = pdf_texts(out.read())
    assert len(texts) == 2
    assert all(similar(expected, got) > 0.95 for expected, got in zip(PAGES, texts))
    assert out.metadata["text_layer"] == "ocr" and out.metadata["ocr_pages"] == 2
    assert out.metadata["mean_confidence"] > 80


def test_ocr_false_gives_images_only_with_a_warning(provider):
    job = convert(provider, samples.djvu_document([PAGES[0]], text_layer=False), ocr=False)
    assert pdf_texts(job.outputs[0].read()) == [""]
    assert any("no hidden text" in w for w in job.warnings)


def test_djvu_pages_to_png_and_to_one_tiff(provider):
    document = samples.djvu_document(PAGES)
    job = convert(provider, document, to="png")
    assert [o.name for o in job.outputs] == ["book-p1.png", "book-p2.png"]
    expected, _ = samples.text_page_layout(PAGES[0])
    first = Image.open(io.BytesIO(job.outputs[0].read())).convert("L")
    assert first.size == expected.size
    # Same picture as drawn (bitonal encoding changes almost nothing).
    differing = sum(1 for a, b in zip(first.tobytes(), expected.point(lambda v: 255 if v > 128 else 0).tobytes()) if abs(a - b) > 128)
    assert differing < 0.01 * first.width * first.height
    (tiff,) = convert(provider, document, to="tiff", dpi=100).outputs
    image = Image.open(io.BytesIO(tiff.read()))
    assert image.n_frames == 2 and image.size == (850, 1100)


def test_ocr_task_reads_djvu_pages(provider):
    (out,) = dc.ocr(samples.djvu_document(PAGES), to="txt", provider=provider).wait(timeout=120).outputs
    pages = out.text().split("\f")
    assert len(pages) == 2 and all(similar(e, g) > 0.95 for e, g in zip(PAGES, pages))


@pytest.mark.parametrize("make", [
    lambda: b"AT&TFORM\x00\x00\x01\x00DJVUINFO\x00\x00\x00\x0a" + b"\x07" * 200,  # DjVu header, garbage body
    lambda: samples.djvu_document(PAGES)[:200],  # cut short
], ids=["garbage-body", "truncated"])
def test_broken_djvu_fails_with_a_clear_message(provider, make):
    job = dc.convert(make(), to="pdf", provider=provider, name="broken.djvu")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert "DjVu" in job.message

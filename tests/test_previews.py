import base64
import io
import json
import re

import pandas as pd
import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb.api import convert, ocr
from docconvert_nb.errors import DocconvertError
from docconvert_nb.outputs import Output
from docconvert_nb.previews import (
    BoxesPreview,
    ComparePreview,
    PagesPreview,
    TablesPreview,
    TextPreview,
    parse_hocr,
    parse_tsv,
)

from .fixtures_tables import EUROPEAN_CSV, hocr_for, multipage_pdf, tsv_for, word_page, workbook_two_sheets
from .helpers import image_bytes, near


def embedded_images(html: str) -> list[Image.Image]:
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in uris]


def bundle_size(bundle: dict) -> int:
    """Bytes the display takes in a saved notebook (PNG stored as base64)."""
    return sum(len(base64.b64encode(v)) if isinstance(v, bytes) else len(v.encode()) for v in bundle.values())


def output_of(name: str, data: bytes, content_type: str = "application/octet-stream") -> Output:
    return Output(name, content_type, len(data), _opener=lambda: io.BytesIO(data))


# -- PDF and images ------------------------------------------------------------------------------

def test_pdf_thumbnails_first_pages_lazily_with_page_count():
    preview = dc.preview(multipage_pdf(9))
    assert isinstance(preview, PagesPreview)
    assert preview.page_count == 9 and preview.shown == 6
    assert not preview.rendered  # nothing drawn until displayed
    bundle = preview._repr_mimebundle_()
    assert preview.rendered
    thumbnails = embedded_images(bundle["text/html"])
    assert len(thumbnails) == 6
    assert all(t.width <= 260 and t.height <= 340 for t in thumbnails)
    # Page 3 of the fixture is red: its thumbnail shows it.
    assert near(thumbnails[2].convert("RGB").getpixel((20, 20)), (255, 0, 0))
    assert "shown 6 of 9" in bundle["text/plain"]
    sheet = Image.open(io.BytesIO(bundle["image/png"]))
    assert sheet.width > thumbnails[0].width * 2  # the PNG is a contact sheet of all six
    assert dc.preview(multipage_pdf(9), pages=2).render().html.count("<img") == 2


def test_the_budget_bounds_what_a_notebook_stores():
    big = dc.preview(multipage_pdf(9), max_bytes=20_000)
    bundle = big._repr_mimebundle_()
    assert bundle_size(bundle) <= 20_000
    assert len(embedded_images(bundle["text/html"])) >= 1
    noisy = Image.effect_noise((2400, 1800), 80).convert("RGB")  # incompressible
    buf = io.BytesIO()
    noisy.save(buf, "PNG")
    preview = dc.preview(buf.getvalue(), max_bytes=200_000)
    bundle = preview._repr_mimebundle_()
    assert bundle_size(bundle) <= 200_000
    image = Image.open(io.BytesIO(bundle["image/png"]))
    assert image.width < 1000  # shrunk below the default display size to fit


def test_image_is_scaled_into_a_bounded_box():
    preview = dc.preview(image_bytes("PNG", size=(3000, 1500), color=(0, 0, 255)))
    png = Image.open(io.BytesIO(preview._repr_png_()))
    assert png.size == (1000, 500)
    assert png.convert("RGB").getpixel((500, 250)) == (0, 0, 255)
    assert "1000×500" in repr(preview)


def test_multipage_tiff_shows_frames():
    frames = [Image.new("RGB", (100, 60), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    preview = dc.preview(buf.getvalue())
    assert preview.page_count == 3
    images = embedded_images(preview._repr_html_())
    assert [im.convert("RGB").getpixel((50, 30)) for im in images] == [(255, 0, 0), (0, 128, 0), (0, 0, 255)]


def test_damaged_pdf_gives_a_clear_error():
    with pytest.raises(DocconvertError, match="damaged or truncated"):
        dc.preview(multipage_pdf(2)[:300])


# -- text ---------------------------------------------------------------------------------------

def test_text_has_line_numbers_and_says_how_much_is_shown():
    text = "\n".join(f"line {i}" for i in range(1, 5001)) + "\n"
    preview = dc.preview(output_of("scan.txt", text.encode(), "text/plain"))
    assert isinstance(preview, TextPreview)
    plain = repr(preview)
    assert "shown 200 of 5000 lines" in plain
    assert "  1  line 1" in plain and "200  line 200" in plain and "line 201" not in plain
    html = preview._repr_html_()
    assert "line 200" in html and "line 201" not in html
    assert preview._repr_png_() is None


def test_text_is_escaped_in_html():
    preview = dc.preview(output_of("x.txt", b"<script>alert(1)</script>\n", "text/plain"))
    assert "<script>" not in preview._repr_html_()
    assert "&lt;script&gt;" in preview._repr_html_()


# -- word boxes ---------------------------------------------------------------------------------

def test_hocr_boxes_drawn_over_the_image_coloured_by_confidence():
    png, words = word_page()
    hocr = hocr_for(words).encode()
    preview = dc.preview(output_of("scan.hocr.html", hocr, "text/html"), image=png)
    assert isinstance(preview, BoxesPreview)
    assert [w.text for w in preview.words] == ["Total", "1O4", "EUR"]
    assert [w.confidence for w in preview.words] == [96, 41, 73]
    ax = preview.axes
    assert len(ax.patches) == 3
    assert [tuple(round(v) for v in p.get_bbox().bounds) for p in ax.patches] == [
        (40, 50, 120, 40), (200, 50, 90, 40), (320, 50, 80, 40)]
    # Colour by confidence: the 41 % word is reddish, the 96 % word greenish; a colorbar is drawn.
    low, high = ax.patches[1].get_edgecolor(), ax.patches[0].get_edgecolor()
    assert low[0] > low[1] and high[1] > high[0]
    assert len(preview.figure.axes) == 2
    assert len(ax.images) == 1  # the page image under the boxes
    assert ax.images[0].get_array().shape[:2] == (300, 600)
    png_out = Image.open(io.BytesIO(preview._repr_png_()))
    assert png_out.width == 800
    assert "3 words, mean confidence 70" in repr(preview)


def test_hocr_without_confidence_or_image_still_draws():
    _, words = word_page()
    preview = dc.preview(hocr_for(words, confidence=False).encode(), format="hocr")
    assert len(preview.axes.patches) == 3
    assert not preview.coloured and len(preview.figure.axes) == 1
    assert "no source image" in repr(preview)


def test_tesseract_tsv_boxes():
    png, words = word_page()
    pages = parse_tsv(tsv_for(words))
    assert pages[0].size == (600, 300) and len(pages[0].words) == 3
    preview = dc.preview(tsv_for(words).encode(), image=png, format="tsv")
    assert isinstance(preview, BoxesPreview)
    assert len(preview.axes.patches) == 3
    assert preview.mean_confidence == pytest.approx(70.0)


def test_parse_hocr_handles_pages_and_nested_markup():
    _, words = word_page()
    page = parse_hocr(hocr_for(words))[0]
    assert page.size == (600, 300) and page.number == 1
    assert page.words[0].box == (40, 50, 160, 90)
    with pytest.raises(DocconvertError, match="nothing to draw"):
        parse_hocr("<html><body><p>plain</p></body></html>")


# -- tables -------------------------------------------------------------------------------------

def test_csv_preview_is_the_dataframe_and_xlsx_lists_each_sheet():
    df = dc.preview(output_of("prices.csv", EUROPEAN_CSV.encode("cp1252"), "text/csv"))
    assert isinstance(df, pd.DataFrame)
    assert df["Preis"].dtype == "float64"
    sheets = dc.preview(output_of("book.xlsx", workbook_two_sheets()))
    assert isinstance(sheets, TablesPreview)
    assert list(sheets.frames) == ["Prices", "Orders"]
    html = sheets._repr_html_()
    assert html.count("<table") == 2 and "lamp" in html
    assert "Prices (3 rows × 2 columns)" in repr(sheets)


def test_unknown_kind_gets_a_card():
    data = json.dumps({"a": 1}).encode()
    assert "1 line" in repr(dc.preview(output_of("meta.json", data, "application/json")))
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    card = dc.preview(output_of("bundle.zip", buf.getvalue(), "application/zip"))
    assert "no preview for zip" in repr(card)


# -- jobs ---------------------------------------------------------------------------------------

def test_real_pdf_output_of_the_embedded_engine(provider):
    png = image_bytes("PNG", size=(400, 300), color=(0, 160, 0))
    job = convert(png, to="pdf", provider=provider, name="green.png").wait(60)
    preview = job.outputs[0].preview()
    assert isinstance(preview, PagesPreview) and preview.page_count == 1
    thumbnail = embedded_images(preview._repr_html_())[0].convert("RGB")
    red, green, blue = thumbnail.getpixel((thumbnail.width // 2, thumbnail.height // 2))
    assert green > 120 and red < 40 and blue < 40
    # The job itself: source and result side by side in one HTML block.
    view = job.preview()
    assert isinstance(view, ComparePreview)
    html = view._repr_html_()
    assert html.count("<img") == 2 and "source: green.png" in html and "result: green.pdf" in html
    assert "convert png → pdf" in repr(view)
    assert bundle_size(view._repr_mimebundle_()) <= view.max_bytes


def test_a_running_or_failed_job_says_why_there_is_nothing_to_show(provider):
    from docconvert_nb.documents import ConversionRequest, Source
    from docconvert_nb.jobs import Job

    job = Job(ConversionRequest(Source("a.png", "png", data=image_bytes()), "pdf"), provider)
    with pytest.raises(DocconvertError, match="job.wait"):
        dc.preview(job)
    with pytest.raises(DocconvertError, match="job.wait"):
        dc.to_dataframe(job)


@pytest.mark.tools
def test_ocr_job_boxes_end_to_end(provider):
    pytest.importorskip("shutil").which("tesseract") or pytest.skip("tesseract is not installed")
    from docconvert_nb import samples

    page = samples.text_page("Invoice total 1234 paid", width=800, height=300, size=40, margin=40)
    for target in ("hocr", "tsv"):
        job = ocr(page, to=target, provider=provider, name="invoice.png").wait(120)
        view = dc.preview(job)
        boxes = view.results[0][1]
        assert isinstance(boxes, BoxesPreview)
        assert [w.text for w in boxes.words] == ["Invoice", "total", "1234", "paid"]
        assert len(boxes.axes.patches) == 4
        assert boxes.background_note is None and len(boxes.axes.images) == 1
        assert view._repr_html_().count("<img") == 2

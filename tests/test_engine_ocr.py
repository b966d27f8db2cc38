"""OCR with Tesseract on generated pages of known text; every output is opened and compared."""

import csv
import difflib
import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine.converters import _tesseract
from docconvert_nb.errors import InvalidOptions, JobFailed
from docconvert_nb.status import JobStatus

pytestmark = pytest.mark.tools

#: Character error rate the OCR of a clean generated page must stay under.
MAX_CER = 0.03
PAGE_ONE = "Invoices are queued, converted and fetched. The quick brown fox jumps over the lazy dog."
PAGE_TWO = "Each job has an identifier, a status and a retention window of twenty four hours."


def cer(expected: str, got: str) -> float:
    """Character error rate: edit operations per expected character (whitespace normalised)."""
    a, b = " ".join(expected.split()), " ".join(got.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return edits / max(1, len(a))


def small_page(text: str, fmt: str = "PNG") -> bytes:
    return samples.text_page(text, width=1400, height=500, margin=60, fmt=fmt)


def ocr(provider, data, to="txt", **options):
    return dc.ocr(data, to=to, provider=provider, **options).wait(timeout=120)


def test_png_to_text_matches_the_rendered_text(provider):
    job = ocr(provider, samples.text_page())
    (out,) = job.outputs
    assert cer(samples.SAMPLE_TEXT, out.text()) < MAX_CER
    assert out.metadata["pages"] == 1 and out.metadata["lang"] == "eng"
    assert out.metadata["words"] == len(samples.SAMPLE_TEXT.split())
    assert out.metadata["mean_confidence"] > 80
    assert not job.warnings


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP", "GIF"])
def test_other_image_formats(provider, fmt):
    (out,) = ocr(provider, small_page(PAGE_ONE, fmt)).outputs
    assert cer(PAGE_ONE, out.text()) < MAX_CER


def test_multipage_tiff_reads_every_page(provider):
    (out,) = ocr(provider, samples.text_pages_tiff([PAGE_ONE, PAGE_TWO])).outputs
    pages = [p for p in out.text().split("\f") if p.strip()]
    assert len(pages) == 2
    assert cer(PAGE_ONE, pages[0]) < MAX_CER and cer(PAGE_TWO, pages[1]) < MAX_CER
    assert out.metadata["pages"] == 2


@pytest.mark.slow
def test_image_pdf_to_searchable_pdf_keeps_the_image_and_adds_text(provider):
    (out,) = ocr(provider, samples.text_pages_pdf([PAGE_ONE, PAGE_TWO]), to="pdf", dpi=200).outputs
    pdf = pdfium.PdfDocument(out.read())
    assert len(pdf) == 2
    for index, expected in enumerate([PAGE_ONE, PAGE_TWO]):
        page = pdf[index]
        assert cer(expected, page.get_textpage().get_text_range()) < MAX_CER
        # The page still shows the scan: dark text pixels where the first line was drawn.
        rendered = page.render(scale=0.5).to_pil().convert("L")
        assert rendered.crop((20, 20, rendered.width - 20, 60)).getextrema()[0] < 100
    assert out.metadata["pages"] == 2 and out.content_type == "application/pdf"


def test_tsv_has_word_boxes_and_confidences(provider):
    _image, drawn = samples.text_page_layout(PAGE_ONE)
    (out,) = ocr(provider, samples.text_page(PAGE_ONE), to="tsv").outputs
    rows = [r for r in csv.DictReader(io.StringIO(out.text()), delimiter="\t", quoting=csv.QUOTE_NONE)
            if r["level"] == "5" and r["text"].strip()]
    assert [r["text"] for r in rows] == [word for word, _box in drawn]
    for row, (_word, (left, top, right, bottom)) in zip(rows, drawn):
        assert abs(int(row["left"]) - left) < 12 and abs(int(row["top"]) - top) < 12
        assert abs(int(row["left"]) + int(row["width"]) - right) < 12
        assert 0 <= float(row["conf"]) <= 100


def test_hocr_of_two_pages_has_distinct_page_ids(provider):
    (out,) = ocr(provider, samples.text_pages_tiff([PAGE_ONE, PAGE_TWO]), to="hocr").outputs
    html = out.text()
    assert html.count("class='ocr_page'") == 2
    assert "id='page_1'" in html and "id='page_2'" in html and "id='word_2_1'" in html
    assert "ocrx_word" in html and "x_wconf" in html and "jumps" in html and "retention" in html


def test_image_without_text_completes_with_a_warning(provider):
    buf = io.BytesIO()
    Image.new("L", (800, 600), 255).save(buf, "PNG")
    job = ocr(provider, buf.getvalue())
    assert job.status == JobStatus.COMPLETED
    assert any("no text" in w for w in job.warnings)
    assert job.outputs[0].metadata["words"] == 0 and job.outputs[0].text().strip() == ""


def test_missing_language_fails_with_the_installed_ones_and_the_install_command(provider):
    job = dc.ocr(small_page(PAGE_ONE), to="txt", lang="eng+zzz", provider=provider)
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert job.status == JobStatus.FAILED
    assert "zzz" in job.message and "installed: eng" in job.message
    assert "apt-get install -y --no-install-recommends tesseract-ocr-zzz" in job.message


def test_unknown_option_is_refused_with_the_valid_ones(provider):
    with pytest.raises(InvalidOptions) as info:
        dc.ocr(small_page(PAGE_ONE), to="txt", langauge="deu", provider=provider)
    assert "langauge" in str(info.value) and "lang" in str(info.value) and "psm" in str(info.value)


def test_page_selection_and_psm(provider):
    (out,) = ocr(provider, samples.text_pages_tiff([PAGE_ONE, PAGE_TWO]), pages="2", psm=6).outputs
    assert cer(PAGE_TWO, out.text()) < MAX_CER and out.metadata["pages"] == 1 and out.metadata["psm"] == 6


@pytest.mark.slow
def test_rotate_turns_a_sideways_page_upright(provider):
    if "osd" not in _tesseract.installed_languages():
        pytest.skip("tesseract-ocr-osd is not installed")
    sideways = Image.open(io.BytesIO(samples.text_page())).rotate(90, expand=True)
    buf = io.BytesIO()
    sideways.save(buf, "PNG", dpi=(200, 200))
    (out,) = ocr(provider, buf.getvalue(), rotate=True).outputs
    assert cer(samples.SAMPLE_TEXT, out.text()) < MAX_CER
    # Drawn turned 90° counter-clockwise, so it is turned 90° clockwise back.
    assert {str(k): v for k, v in out.metadata["corrections"].items()} == {"1": {"rotated": 90}}


@pytest.mark.slow
def test_deskew_straightens_a_tilted_scan(provider):
    tilted = Image.open(io.BytesIO(samples.text_page())).rotate(3, expand=True, fillcolor=255)
    buf = io.BytesIO()
    tilted.save(buf, "PNG", dpi=(200, 200))
    (out,) = ocr(provider, buf.getvalue(), deskew=True).outputs
    corrections = out.metadata["corrections"]
    (angle,) = [c["deskewed"] for c in corrections.values()]
    assert abs(angle + 3) < 0.5  # turned back by about 3 degrees
    assert cer(samples.SAMPLE_TEXT, out.text()) < MAX_CER


ENCRYPTED_PDF = b"""%PDF-1.4
1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj
2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj
3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>> endobj
4 0 obj <</Filter/Standard/V 2/R 3/Length 128/P -4/O (0123456789abcdef0123456789abcdef)/U (0123456789abcdef0123456789abcdef)>> endobj
trailer <</Root 1 0 R/Size 5/Encrypt 4 0 R/ID[<00112233445566778899aabbccddeeff><00112233445566778899aabbccddeeff>]>>
%%EOF"""


@pytest.mark.parametrize("data, expected", [
    (ENCRYPTED_PDF, "encrypted"),
    (samples.text_pages_pdf(["x"])[:400], "damaged"),
    (small_page(PAGE_ONE)[:300], "damaged"),
])
def test_bad_inputs_fail_with_a_clear_message(provider, data, expected):
    job = dc.ocr(data, to="txt", provider=provider)
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert expected in job.message

"""OCR of transparent and sideways images: read what a viewer shows, turned upright."""

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

import docconvert_nb as dc

from .realdocs import realdoc

pytestmark = [pytest.mark.tools, pytest.mark.slow]

LINES = ["The quick brown fox jumps over", "the lazy dog near the river bank."]


def text_in_alpha_only(rotate: int = 0) -> bytes:
    """Black everywhere, the words only in the alpha channel: a viewer shows black text on its
    white page, Tesseract reading the colour channels sees a black page."""
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    alpha = Image.new("L", (1100, 220), 0)
    draw = ImageDraw.Draw(alpha)
    for i, line in enumerate(LINES):
        draw.text((40, 40 + i * 80), line, font=font, fill=255)
    image = Image.merge("RGBA", (*[Image.new("L", alpha.size, 0)] * 3, alpha)).rotate(rotate, expand=True)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def ocr_text(provider, data, name):
    job = dc.ocr(data, to="txt", provider=provider, name=name).wait(timeout=180)
    return job, job.outputs[0].read().decode("utf-8")


def test_transparency_is_flattened_onto_white(provider):
    job, text = ocr_text(provider, text_in_alpha_only(), "alpha.png")
    assert all(line in text for line in LINES)


def test_a_sideways_transparent_png_is_read_upright_and_the_job_says_so(provider):
    job, text = ocr_text(provider, text_in_alpha_only(rotate=90), "sideways.png")
    assert all(line in text for line in LINES)
    assert job.outputs[0].metadata["corrections"] == {1: {"rotated": 90}}
    assert any("rotated by 90°" in w for w in job.warnings)


def test_the_real_transparent_png_reads_as_before(provider):
    job, text = ocr_text(provider, realdoc("png/tika__testOCR.png").read_bytes(), "tika__testOCR.png")
    assert text.strip() and "corrections" not in job.outputs[0].metadata

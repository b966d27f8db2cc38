"""Real PDFs: form fields are drawn when pages render."""

import logging

from PIL import ImageStat

import docconvert_nb as dc

from .helpers import open_image
from .realdocs import realdoc


def render_first_page(provider, path):
    job = dc.convert(path, to="png", provider=provider, pages="1", dpi=50).wait(timeout=60)
    return open_image(job.outputs[0].read()).convert("L")


def test_a_pdf_made_of_form_fields_renders_them(provider):
    image = render_first_page(provider, realdoc("pdf/pdfjs__secHandler.pdf"))
    assert ImageStat.Stat(image).stddev[0] > 5  # blank (stddev 0) before forms were initialised


def test_filled_in_form_values_are_drawn(provider):
    image = render_first_page(provider, realdoc("pdf/pdfjs__prefilled_f1040.pdf"))
    assert ImageStat.Stat(image).stddev[0] > 20


def test_an_xfa_form_renders_without_log_noise(provider, caplog):
    with caplog.at_level(logging.WARNING):
        image = render_first_page(provider, realdoc("pdf/pdfjs__xfa_filled_imm1344e.pdf"))
    assert image.size[0] > 0
    assert not [r for r in caplog.records if "XFA" in r.getMessage()]

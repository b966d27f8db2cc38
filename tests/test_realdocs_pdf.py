"""Real PDFs: form fields are drawn; what pdfium cannot read, poppler renders (the job says so)."""

import logging

import pytest
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


def test_a_pdf_pdfium_cannot_read_is_rendered_by_poppler_and_the_job_says_so(provider):
    job = dc.convert(realdoc("pdf/pdfjs__poppler-742-0-fuzzed.pdf"), to="png", provider=provider, pages="1",
                     dpi=72).wait(timeout=60)
    assert len(job.outputs) == 1 and job.outputs[0].metadata["page"] == 1
    assert any("poppler's pdftoppm rendered it instead" in w for w in job.warnings)


def test_a_pdf_neither_can_read_fails_with_both_reasons_and_no_traceback(provider, caplog):
    job = dc.convert(b"%PDF-1.4\nnot really a PDF\n", to="png", provider=provider, name="broken.pdf")
    with caplog.at_level(logging.ERROR), pytest.raises(dc.JobFailed):
        job.wait(timeout=60)
    assert "damaged or truncated" in job.message and "poppler cannot read it either" in job.message
    assert not [r for r in caplog.records if r.exc_info]

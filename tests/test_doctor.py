"""dc.doctor() reports every tool; a missing tool fails its job with the install command."""

import pytest

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine import doctor as doctor_module
from docconvert_nb.engine.converters import _tesseract
from docconvert_nb.engine.tools import Tool
from docconvert_nb.errors import JobFailed

INSTALL = "sudo apt-get install -y --no-install-recommends"


def test_report_lists_every_tool_in_text_and_html():
    report = dc.doctor()
    names = [check.name for check in report.checks]
    for name in ("tesseract", "ddjvu", "djvused", "soffice", "python3-uno", "fonts-dejavu-core"):
        assert name in names
    text, html = repr(report), report._repr_html_()
    for name in ("tesseract", "ddjvu", "soffice", "python3-uno"):
        assert name in text and name in html
    assert report.to_dict()["ok"] == report.ok


@pytest.mark.tools
def test_found_tools_show_version_and_path():
    report = dc.doctor()
    tesseract = next(c for c in report.checks if c.name == "tesseract")
    assert tesseract.found and tesseract.version.startswith("tesseract 5") and tesseract.path.endswith("tesseract")
    languages = next(c for c in report.checks if c.name == "tesseract languages")
    assert "eng" in languages.version and "tesseract-ocr-" in languages.note


def test_a_missing_tool_shows_the_command_that_installs_it():
    check = doctor_module._tool_check(Tool("frobnicator", "frobnicator-does-not-exist", "frob-utils"))
    report = doctor_module.DoctorReport([check])
    assert not report.ok and report.missing == [check]
    assert report.install_command == f"{INSTALL} frob-utils"
    assert f"{INSTALL} frob-utils" in repr(report) and "MISSING" in repr(report)
    assert f"{INSTALL} frob-utils" in report._repr_html_()


def test_a_converter_whose_tool_is_missing_fails_its_job_with_the_install_command(provider, monkeypatch):
    monkeypatch.setattr(_tesseract, "TESSERACT", Tool("tesseract", "tesseract-not-installed-here", "tesseract-ocr"))
    job = dc.ocr(samples.text_page("Hello"), to="txt", provider=provider)
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert job.message == f"tesseract is not installed. Install it with: {INSTALL} tesseract-ocr"

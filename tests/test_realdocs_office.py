"""Real Office documents: comments no longer kill the warm office, and one that does is retried cold."""

import io
import os
import signal

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb.engine import office_server

from .realdocs import realdoc

pytestmark = [pytest.mark.tools, pytest.mark.slow]


def pdf_words(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))


def docx_with_comment(text: str) -> bytes:
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph(text)
    document.add_comment(paragraph.runs[0], text="A reviewer's remark", author="Reviewer", initials="R")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_a_docx_with_a_comment_converts_in_the_warm_office_which_survives(provider):
    server = office_server.get_server()
    server.start()
    pid, starts = server.pid, server.starts
    job = dc.convert(docx_with_comment("Commented paragraph."), to="pdf", provider=provider,
                     name="commented.docx").wait(timeout=180)
    (out,) = job.outputs
    assert "Commented paragraph." in pdf_words(out.read())
    assert out.metadata["office"] == "warm" and not job.warnings
    assert server.pid == pid and server.starts == starts


@pytest.mark.parametrize("name", ["docx/tika__testWORD_2006ml.docx", "docx/tika__testWORD_embedded_pics.docx",
                                  "html/tika__tika434.html"])
def test_real_writer_documents_with_comments_convert_warm(provider, name):
    path = realdoc(name)
    server = office_server.get_server()
    server.start()
    pid = server.pid
    job = dc.convert(path, to="pdf", provider=provider).wait(timeout=180)
    assert job.outputs[0].metadata["office"] == "warm" and job.outputs[0].metadata["pages"] >= 1
    assert server.pid == pid


def test_a_document_that_kills_the_warm_office_is_retried_cold_and_the_job_says_so(provider, monkeypatch):
    server = office_server.get_server()
    server.start()
    real_next_reply = server._next_reply

    def office_dies_on_the_document(timeout, what, cancel=None):
        if what == "convert":  # the office has the document: it dies as a crashing filter would make it
            os.kill(server.pid, signal.SIGKILL)
            server._office.wait(timeout=10)
        return real_next_reply(timeout, what, cancel)

    monkeypatch.setattr(server, "_next_reply", office_dies_on_the_document)
    job = dc.convert(docx_with_comment("Converted after all."), to="pdf", provider=provider,
                     name="killer.docx").wait(timeout=180)
    monkeypatch.undo()
    (out,) = job.outputs
    assert "Converted after all." in pdf_words(out.read())
    assert out.metadata["office"] == "cold (retried)"
    assert any("crashed on this document" in w and "started just for it" in w for w in job.warnings)
    # The warm office comes back for the next document.
    again = dc.convert(docx_with_comment("Warm again."), to="pdf", provider=provider, name="next.docx")
    assert again.wait(timeout=180).outputs[0].metadata["office"] == "warm"


@pytest.mark.parametrize("warm", [True, False])
def test_html_keeps_its_heading_and_has_no_blank_first_page(provider, warm):
    page = b"<!doctype html><html><body><h1>Web page title</h1><p>Paragraph of hypertext.</p></body></html>"
    job = dc.convert(page, to="pdf", provider=provider, name="page.html", warm=warm).wait(timeout=180)
    pdf = pdfium.PdfDocument(job.outputs[0].read())
    # Exported as Writer/Web right after loading, the heading vanished behind a blank page 1.
    assert len(pdf) == 1 and "Web page title" in pdf[0].get_textpage().get_text_range()


def test_a_real_html_page_starts_on_page_one(provider):
    job = dc.convert(realdoc("html/tika__resume.html"), to="pdf", provider=provider).wait(timeout=180)
    pdf = pdfium.PdfDocument(job.outputs[0].read())
    assert pdf[0].get_textpage().get_text_range().strip()


def test_documents_with_comments_are_told_apart_before_loading(tmp_path):
    from docconvert_nb import samples
    from docconvert_nb.engine.converters.office import has_comments

    cases = {"commented.docx": (docx_with_comment("Remark."), True), "plain.docx": (samples.docx_document(), False),
             "plain.rtf": (rb"{\rtf1 plain}", False), "noted.rtf": (rb"{\rtf1 a{\*\atnid R}{\*\annotation x}}", True),
             "page.html": (b"<html><body>text</body></html>", False),
             "remark.html": (b"<html><body><!-- note -->text</body></html>", True)}
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert has_comments(path, name.rsplit(".", 1)[1]) is expected, name
    assert has_comments(realdoc("doc/tika__testWORD_2006ml.doc"), "doc")
    assert not has_comments(realdoc("doc/tika__testDocumentLink.doc"), "doc")

"""Format detection accepts what LibreOffice opens, and says when it went by the name."""

import struct

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb import fileformats
from docconvert_nb.errors import UnknownFormat

from .realdocs import realdoc


def excel2_sheet() -> bytes:
    """A bare BIFF2 worksheet (Excel 2.x wrote no OLE2 container): BOF, two labels and a number, EOF."""
    def record(kind, data):
        return struct.pack("<HH", kind, len(data)) + data

    def label(row, col, text):
        raw = text.encode("latin-1")
        return record(0x0004, struct.pack("<HH", row, col) + b"\0\0\0" + bytes([len(raw)]) + raw)

    number = record(0x0003, struct.pack("<HH", 1, 1) + b"\0\0\0" + struct.pack("<d", 1250.0))
    return (record(0x0009, struct.pack("<HH", 0x0002, 0x0010)) + label(0, 0, "City") + label(1, 0, "Lisbon")
            + number + record(0x000A, b""))


def test_bare_biff_sheets_and_wordperfect_are_told_by_content():
    assert fileformats.detect(excel2_sheet(), "old.bin") == "xls"
    assert fileformats.detect(b"\x09\x04\x06\x00\x00\x00\x10\x00" + bytes(40), None) == "xls"
    assert fileformats.detect(b"\xffWPC\x10\x00\x00\x00\x01\x0a" + bytes(40), "letter.doc") == "wpd"
    assert fileformats.guess_note(excel2_sheet(), "old.xls", "xls") is None


def test_utf16_text_is_text():
    page = "<html><body><p>Grüße</p></body></html>"
    assert fileformats.detect(b"\xff\xfe" + page.encode("utf-16-le"), "page.html") == "html"
    assert fileformats.detect(page.encode("utf-16-le"), None) == "html"
    assert fileformats.detect("plain words here".encode("utf-16-be"), None) == "txt"


def test_the_name_decides_only_for_what_libreoffice_recognises_by_content():
    unknown = bytes(range(256)) * 4
    assert fileformats.detect(unknown, "letter.doc") == "doc"
    assert "going by its name" in fileformats.guess_note(unknown, "letter.doc", "doc")
    assert fileformats.detect(b"This is not a zip file!", "notes.odt") == "odt"
    assert "plain text, not a .odt" in fileformats.guess_note(b"This is not a zip file!", "notes.odt", "odt")
    with pytest.raises(UnknownFormat, match="no known format"):
        fileformats.detect(unknown, "noise.bin")
    with pytest.raises(UnknownFormat, match="truncated or misnamed"):
        fileformats.detect(b"hello", "scan.png")


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


@pytest.mark.tools
@pytest.mark.slow
def test_a_bare_excel2_sheet_converts(provider):
    job = dc.convert(excel2_sheet(), to="pdf", provider=provider, name="old.xls").wait(timeout=180)
    assert job.source_format == "xls" and not job.warnings
    assert "Lisbon" in pdf_text(job.outputs[0].read())


@pytest.mark.tools
@pytest.mark.slow
@pytest.mark.parametrize("name, fmt, warning, phrase", [
    ("doc/tika__testWordPerfect_42.doc", "doc", "import filter: WordPerfect", None),
    ("odt/tika__testODTnotaZipFile.odt", "odt", "plain text, not a .odt", "This is not a zip file"),
    ("html/tika__testHTML_charset_utf16le.html", "html", None, None),
])
def test_real_files_libreoffice_opens_are_converted(provider, name, fmt, warning, phrase):
    job = dc.convert(realdoc(name), to="pdf", provider=provider).wait(timeout=180)
    assert job.source_format == fmt and job.outputs[0].metadata["pages"] >= 1
    if warning:
        assert any(warning in w for w in job.warnings)
    else:
        assert not job.warnings
    if phrase:
        assert phrase in pdf_text(job.outputs[0].read())

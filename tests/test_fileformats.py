import io
import zipfile

import pytest

from docconvert_nb import fileformats
from docconvert_nb.documents import Source
from docconvert_nb.errors import UnknownFormat

from .helpers import image_bytes, multipage_tiff


@pytest.mark.parametrize(
    "fmt, pil",
    [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP"), ("gif", "GIF"), ("tiff", "TIFF")],
)
def test_images_detected_by_content_not_name(fmt, pil):
    data = image_bytes(pil)
    assert fileformats.detect(data[:64], "misnamed.pdf") == fmt


def test_pdf_djvu_rtf():
    assert fileformats.detect(b"%PDF-1.7\n...") == "pdf"
    assert fileformats.detect(b"AT&TFORM\x00\x00\x01\x00DJVMDIRM") == "djvu"
    assert fileformats.detect(b"{\\rtf1\\ansi hello}") == "rtf"


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_office_zip_formats_are_told_apart_by_their_parts():
    docx = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"})
    xlsx = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"})
    odt = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert fileformats.detect(docx[:100], "a.bin", whole=docx) == "docx"
    assert fileformats.detect(xlsx[:100], None, whole=xlsx) == "xlsx"
    assert fileformats.detect(odt[:100], "x.docx", whole=odt) == "odt"


def test_truncated_docx_is_reported_as_damaged():
    docx = _zip({"[Content_Types].xml": b"<x/>" * 500, "word/document.xml": b"<x/>" * 500})
    cut = docx[: len(docx) // 2]
    with pytest.raises(UnknownFormat, match="damaged or truncated"):
        fileformats.detect(cut[:100], "report.docx", whole=cut)


def test_text_formats_follow_the_name():
    assert fileformats.detect(b"a,b\n1,2\n", "t.csv") == "csv"
    assert fileformats.detect(b"<!DOCTYPE html><html><body>hi</body></html>", "page") == "html"
    assert fileformats.detect(b"just words", None) == "txt"


def test_empty_input_is_a_clear_error():
    with pytest.raises(UnknownFormat, match="empty"):
        fileformats.detect(b"", "empty.png")


def test_binary_garbage_is_unknown():
    with pytest.raises(UnknownFormat, match="no known format"):
        fileformats.detect(bytes(range(256)) * 4, "noise.bin")


def test_text_named_like_a_binary_format_is_refused():
    with pytest.raises(UnknownFormat, match="truncated or misnamed"):
        fileformats.detect(b"hello", "scan.png")


def test_source_from_path_and_bytes(tmp_path):
    path = tmp_path / "pages.tiff"
    path.write_bytes(multipage_tiff())
    src = Source.from_input(path)
    assert (src.format, src.name, src.size) == ("tiff", "pages.tiff", path.stat().st_size)
    mem = Source.from_input(path.read_bytes())
    assert mem.format == "tiff" and mem.name == "document.tiff"
    with pytest.raises(FileNotFoundError):
        Source.from_input(tmp_path / "missing.png")


def test_aliases():
    assert fileformats.normalize(".JPG") == "jpeg"
    assert fileformats.normalize("tif") == "tiff"
    assert fileformats.extension("jpeg") == "jpg"
    assert fileformats.media_type("pdf") == "application/pdf"

"""Real DjVu books → PDF: pages in order, and a text layer whose words both pdfium and poppler read apart."""

import difflib
import re
import subprocess

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb.engine.converters._textlayer import PlacedWord, keep_gaps, spread_shared_boxes

from .realdocs import realdoc


def test_words_sharing_a_line_box_get_their_own_parts_of_it():
    line = [PlacedWord(text, 0, 0, 100, 10) for text in ("ab", "cdef", "g")]
    spread = spread_shared_boxes(line)
    assert [w.text for w in spread] == ["ab", "cdef", "g"]
    assert spread[0].x0 == 0 and spread[-1].x1 == pytest.approx(100)
    assert all(a.x1 < b.x0 for a, b in zip(spread, spread[1:]))  # a space's share between words
    assert spread[1].x1 - spread[1].x0 == pytest.approx(2 * (spread[0].x1 - spread[0].x0))


def test_touching_words_on_a_line_are_given_a_gap():
    touching = [PlacedWord("documents", 0, 0, 90, 10), PlacedWord("and", 90, 0, 120, 10),
                PlacedWord("below", 0, -20, 50, -10)]
    kept = keep_gaps(touching)
    assert kept[0].x1 == pytest.approx(87.5) and kept[1:] == touching[1:]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


@pytest.mark.tools
@pytest.mark.slow
@pytest.mark.parametrize("name, pages", [("djvu/djvunet__DjVu3Spec.djvu", "2-5"),
                                         ("djvu/djvunet__2001_compression_overview.djvu", None)])
def test_a_djvu_text_layer_reads_the_same_in_pdfium_and_poppler(provider, tmp_path, name, pages):
    path = realdoc(name)
    job = dc.convert(path, to="pdf", provider=provider, ocr=False, pages=pages).wait(timeout=300)
    pdf_path = tmp_path / "out.pdf"
    pdf_path.write_bytes(job.outputs[0].read())
    first, last = (int(p) for p in pages.split("-")) if pages else (1, job.outputs[0].metadata["pages"])
    truth = subprocess.run(["djvutxt", f"--page={first}-{last}", str(path)], capture_output=True,
                           timeout=60).stdout.decode("utf-8", "replace")
    poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True,
                             timeout=60).stdout.decode("utf-8", "replace")
    pdf = pdfium.PdfDocument(str(pdf_path))
    pdfium_text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert len(pdf) == last - first + 1 and job.outputs[0].metadata["text_layer"] == "djvu"
    # Stacked on one box or touching, the words came out run together ("multi-pagedocuments").
    assert similarity(poppler, truth) > 0.95 and similarity(pdfium_text, truth) > 0.95
    assert abs(len(words(poppler)) - len(words(truth))) < 0.03 * len(words(truth))


@pytest.mark.tools
@pytest.mark.slow
def test_pages_decoded_in_parallel_keep_their_order(provider, tmp_path):
    path = realdoc("djvu/djvunet__test025C.djvu")
    job = dc.convert(path, to="pdf", provider=provider, ocr=False).wait(timeout=300)
    pdf = pdfium.PdfDocument(job.outputs[0].read())
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    for number, text in enumerate(texts, start=1):
        truth = subprocess.run(["djvutxt", f"--page={number}", str(path)], capture_output=True,
                               timeout=60).stdout.decode("utf-8", "replace")
        assert similarity(text, truth) > 0.9, f"page {number} holds another page's text"

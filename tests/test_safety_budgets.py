"""Per-job budgets of the image and PDF converters, and numeric options checked at the call."""

from __future__ import annotations

import io
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb.engine.converters import _imaging
from docconvert_nb.engine.converters._imaging import LazyFrames
from docconvert_nb.errors import InvalidOptions, JobFailed

from .helpers import image_bytes

ROOT = Path(__file__).resolve().parents[1]


def _tiff_pages(count: int, size=(8, 8)) -> bytes:
    """A grey ``count``-page TIFF written by hand: every page's directory points at one shared strip."""
    import struct

    width, height = size
    strip_at = 8
    first_ifd = strip_at + width * height
    entry_count = 8
    ifd_size = 2 + entry_count * 12 + 4
    out = bytearray(struct.pack("<2sHI", b"II", 42, first_ifd)) + bytes([128]) * (width * height)
    for page in range(count):
        offset = first_ifd + page * ifd_size
        following = offset + ifd_size if page + 1 < count else 0
        tags = [(256, 3, width), (257, 3, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                (273, 4, strip_at), (278, 3, height), (279, 4, width * height)]
        out += struct.pack("<H", entry_count)
        for tag, kind, value in tags:
            out += struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        out += struct.pack("<I", following)
    return bytes(out)


def _many_frames(fmt: str, count: int, size=(8, 8)) -> bytes:
    if fmt == "TIFF":
        return _tiff_pages(count, size)
    colors = [(i % 256, 80, 160) for i in range(count)]
    lazy = LazyFrames(count, lambda i: Image.new("RGB", size, colors[i]).convert("P" if fmt == "GIF" else "RGB"))
    buf = io.BytesIO()
    lazy.save(buf, fmt, save_all=True)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, count", [("TIFF", 3000), ("GIF", 5000)])
def test_frames_are_counted_before_any_is_decoded(provider, fmt, count):
    data = _many_frames(fmt, count)
    assert len(data) < 2_000_000
    started = time.monotonic()
    job = dc.convert(data, to="pdf", provider=provider, name=f"many.{fmt.lower()}")
    with pytest.raises(JobFailed, match=r"[\d,]{5} frames is over the limit of 1,000 per job"):
        job.wait(timeout=60)
    assert time.monotonic() - started < 20
    # A choice of pages within the budget converts.
    (out,) = dc.convert(data, to="pdf", provider=provider, name=f"many.{fmt.lower()}", pages="1-3").wait(timeout=60).outputs
    assert out.metadata["pages"] == 3


def test_the_pixels_of_all_frames_together_are_bounded(provider, monkeypatch):
    monkeypatch.setattr(_imaging, "MAX_TOTAL_PIXELS", 5_000)
    import docconvert_nb.engine.converters.images as images

    monkeypatch.setattr(images, "MAX_TOTAL_PIXELS", 5_000)
    data = _many_frames("TIFF", 100, size=(10, 10))  # 10,000 pixels in all
    with pytest.raises(JobFailed, match=r"100 frames hold 10,000 pixels together"):
        dc.convert(data, to="pdf", provider=provider, name="x.tiff").wait(timeout=60)


def test_every_frame_is_size_checked_not_only_the_first(provider):
    small, big = Image.new("RGB", (10, 10)), Image.new("RGB", (400, 400))
    buf = io.BytesIO()
    small.save(buf, "TIFF", save_all=True, append_images=[big])
    engine = provider.engine
    engine.max_pixels = 1000
    with pytest.raises(JobFailed, match=r"frame 2 is 400×400"):
        dc.convert(buf.getvalue(), to="pdf", provider=provider, name="two.tiff").wait(timeout=60)


# Peak RSS is read as VmHWM (proc(5)): it belongs to this address space. ``ru_maxrss`` would not do:
# Linux folds the parent's high-water mark into it across fork and exec, so a child of a large pytest
# process starts "peaking" at the parent's size.
PEAK = r"""
import io, sys
from pathlib import Path
from PIL import Image
import pypdfium2 as pdfium
from docconvert_nb.engine.converters._imaging import LazyFrames
import docconvert_nb as dc
from docconvert_nb.engine import Engine
from docconvert_nb.providers.embedded import EmbeddedProvider
kind, folder = sys.argv[1], Path(sys.argv[2])
def peak_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
provider = EmbeddedProvider(Engine(folder / "store", workers=1))
if kind == "tiff":  # 100 pages of 2000x2000: 1.2 GB decoded if held together
    buf = io.BytesIO()
    LazyFrames(100, lambda i: Image.new("RGB", (2000, 2000), (i, 100, 200))).save(
        buf, "TIFF", save_all=True, compression="tiff_deflate")
    data, name, target, options = buf.getvalue(), "scan.tiff", "pdf", {}
elif kind == "png":  # a 110-megapixel transparent PNG of < 2 MB, written by an earlier process
    data, name, target, options = (folder / "big.png").read_bytes(), "big.png", "pdf", {}
else:  # 100 A4 pages rendered at 200 dpi into one TIFF: 1.2 GB if held together
    pdf = pdfium.PdfDocument.new()
    for _ in range(100):
        pdf.new_page(595, 842)
    buf = io.BytesIO()
    pdf.save(buf)
    data, name, target, options = buf.getvalue(), "doc.pdf", "tiff", {"dpi": 200}
before = peak_mb()
job = dc.convert(data, to=target, provider=provider, name=name, **options).wait(timeout=300)
assert job.outputs[0].metadata["pages"] == (1 if kind == "png" else 100)
print(before, peak_mb())
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind, limit_mb", [("tiff", 600), ("pdf", 600), ("png", 1500)])
def test_conversions_stay_within_their_memory_budget(tmp_path, kind, limit_mb):
    """Peak RSS of a process converting: one page at a time, and a 2 MB input under 1.5 GB."""
    if kind == "png":
        subprocess.run([sys.executable, "-c", "import sys; from PIL import Image; "
                        "Image.new('RGBA', (11000, 10000), (255, 255, 255, 0)).save(sys.argv[1])",
                        str(tmp_path / "big.png")], check=True, timeout=300)
        assert (tmp_path / "big.png").stat().st_size < 2_000_000
    proc = subprocess.run([sys.executable, "-c", PEAK, kind, str(tmp_path)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = map(int, proc.stdout.split())
    assert after < limit_mb, f"peak RSS {after} MB (was {before} MB before converting)"


@pytest.mark.parametrize("options", [
    {"dpi": math.nan}, {"dpi": math.inf}, {"dpi": 100000}, {"dpi": -72}, {"dpi": 0}, {"dpi": True},
    {"dpi": "nan"},
])
def test_image_to_pdf_refuses_bad_numbers_at_the_call(provider, options):
    with pytest.raises(InvalidOptions, match="dpi"):
        dc.convert(image_bytes(), to="pdf", provider=provider, name="a.png", **options)


@pytest.mark.parametrize("target, options", [
    ("png", {"dpi": math.nan}), ("png", {"dpi": 5000}), ("jpeg", {"quality": 0}), ("jpeg", {"quality": math.nan}),
])
def test_other_numeric_options_are_checked_too(provider, target, options):
    source = image_bytes() if "quality" in options else _blank_pdf()
    name = "a.png" if "quality" in options else "a.pdf"
    with pytest.raises(InvalidOptions):
        dc.convert(source, to=target, provider=provider, name=name, **options)


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -1, 0, 1e9])
def test_office_timeout_must_be_finite_and_positive(provider, timeout):
    with pytest.raises(InvalidOptions, match="timeout"):
        dc.convert(b"{\\rtf1 hi}", to="pdf", provider=provider, name="a.rtf", timeout=timeout)


def _blank_pdf(pages: int = 1) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(200, 200)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"
HOSTILE_PDFS = {
    "count-lies": [CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 3 >>", PAGE],
    "tree-loops": [CATALOG, b"<< /Type /Pages /Kids [4 0 R] /Count 5 >>", PAGE,
                   b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Parent 2 0 R /Count 5 >>"],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_PDFS))
@pytest.mark.parametrize("target", ["png", "tiff"])
def test_a_pdf_whose_page_tree_lies_or_loops_fails_with_a_message_and_no_traceback(provider, caplog, kind, target):
    caplog.set_level(logging.ERROR)
    job = dc.convert(_pdf(HOSTILE_PDFS[kind]), to=target, provider=provider, name=f"{kind}.pdf")
    with pytest.raises(JobFailed) as failure:
        job.wait(timeout=60)
    assert "cannot be read: the file is damaged" in str(failure.value)
    assert "PdfiumError" not in str(failure.value)
    assert not [r for r in caplog.records if r.exc_info]

"""DjVu → PDF: ``ddjvu -format=pdf`` (baseline) vs docconvert_nb, interleaved file by file.

    .venv/bin/python benchmarks/bench_djvu.py BOOK.djvu [MORE.djvu ...]

docconvert_nb's PDF keeps the DjVu's hidden text (``ocr=False``: no OCR of pages
without one), which ddjvu's drops. Prints each file's times, their ratio, and how
many words poppler's ``pdftotext`` and pdfium read from our PDF against ``djvutxt``.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium

import docconvert_nb as dc


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit(__doc__)
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in paths:
            start = time.perf_counter()
            subprocess.run(["ddjvu", "-format=pdf", name, f"{tmp}/ddjvu.pdf"], check=True, capture_output=True)
            baseline = time.perf_counter() - start
            start = time.perf_counter()
            job = dc.convert(name, to="pdf", ocr=False).wait(timeout=600)
            ours = time.perf_counter() - start
            pdf_path = Path(tmp) / "ours.pdf"
            pdf_path.write_bytes(job.outputs[0].read())
            poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"],
                                     capture_output=True).stdout.decode("utf-8", "replace")
            pdf = pdfium.PdfDocument(str(pdf_path))
            by_pdfium = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
            pdf.close()
            truth = subprocess.run(["djvutxt", name], capture_output=True).stdout.decode("utf-8", "replace")
            ratios.append(ours / baseline)
            print(f"{Path(name).name[:40]:<40} ddjvu {baseline:6.2f} s  docconvert_nb {ours:6.2f} s  "
                  f"ratio {ours / baseline:4.2f}  words poppler {words(poppler)} pdfium {words(by_pdfium)} "
                  f"djvutxt {words(truth)}")
    print(f"median ratio docconvert_nb / ddjvu: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""DjVu → PDF: ``ddjvu -format=pdf`` (baseline) vs docconvert_nb, interleaved file by file.

    .venv/bin/python benchmarks/bench_djvu.py [--quick] [BOOK.djvu ...]

Documents: the given files, else the DjVu files of the development corpus
``../shared/realdocs-dev`` (read in place), in name order (``--quick``: the
smallest two). docconvert_nb's PDF keeps the DjVu's hidden text
(``ocr=False``: no OCR of pages without one), which ddjvu's drops; the report
also says how many words poppler's ``pdftotext`` and pdfium read from our PDF
against ``djvutxt``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import SHARED, Report, median, parse_args  # noqa: E402

QUICK_RUNS = [["--quick"]]
TIMEOUT = 900
CORPUS = SHARED / "realdocs-dev" / "files" / "djvu"


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def main(argv: list[str] | None = None) -> int:
    import pypdfium2 as pdfium

    import docconvert_nb as dc

    args = parse_args(__doc__.splitlines()[0], argv, lambda p: p.add_argument("files", nargs="*"))
    report = Report("djvu", quick=args.quick)
    if not shutil.which("ddjvu"):
        return report.skip("ddjvu (djvulibre-bin) is not installed: nothing to compare with")
    paths = [Path(f) for f in args.files] or sorted(CORPUS.glob("*.djvu"))
    if args.quick:
        paths = sorted(paths, key=lambda p: p.stat().st_size)[:2]
    if not paths:
        return report.skip(f"no DjVu files given and {CORPUS} is absent")
    ours_times, peer_times, ratios, spaced = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index, path in enumerate(paths):
            def peer():
                subprocess.run(["ddjvu", "-format=pdf", str(path), f"{tmp}/ddjvu.pdf"], check=True, capture_output=True)

            def ours():
                return dc.convert(path, to="pdf", ocr=False, cache=False).wait(timeout=600)

            order = [("peer", peer), ("ours", ours)] if index % 2 == 0 else [("ours", ours), ("peer", peer)]
            took, job = {}, None
            for name, run in order:
                start = time.perf_counter()
                result = run()
                took[name] = time.perf_counter() - start
                job = result if name == "ours" else job
            pdf_path = Path(tmp) / "ours.pdf"
            pdf_path.write_bytes(job.outputs[0].read())
            poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"],
                                     capture_output=True).stdout.decode("utf-8", "replace")
            pdf = pdfium.PdfDocument(str(pdf_path))
            by_pdfium = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
            pdf.close()
            truth = words(subprocess.run(["djvutxt", str(path)], capture_output=True).stdout.decode("utf-8", "replace"))
            peer_times.append(took["peer"])
            ours_times.append(took["ours"])
            ratios.append(took["ours"] / took["peer"])
            if truth:
                spaced.append(min(words(poppler), words(by_pdfium)) / truth)
            print(f"{path.name[:40]:<40} ddjvu {took['peer']:6.2f} s  docconvert_nb {took['ours']:6.2f} s  "
                  f"words poppler {words(poppler)} pdfium {words(by_pdfium)} djvutxt {truth}", flush=True)
    report.row(f"DjVu → PDF, s/document, median ({len(paths)} documents)", "ddjvu",
               median(peer_times), median(ours_times), unit="s")
    report.row("median per-document time ratio (ours / ddjvu)", "ddjvu", 1.0, median(ratios))
    if spaced:
        report.row("words extracted from the PDF / djvutxt words (worse of poppler and pdfium)", "ddjvu",
                   0.0, median(spaced), higher_is_better=True,
                   note="ddjvu's PDF has no text layer")
    report.note("ours keeps the hidden text layer (ocr=False: no OCR of pages without one); ddjvu drops it")
    report.details = {"documents": [p.name for p in paths]}
    report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())

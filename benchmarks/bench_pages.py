"""PDF → PNG: seconds a page and success count against ``pdftoppm``, on real PDFs and generated ones.

    .venv/bin/python benchmarks/bench_pages.py [--quick] [--dpi 150] [--pages 3] [--rounds 3]

Documents: the PDFs of the development corpus ``../shared/realdocs-dev``
(read in place; skipped when absent; damaged and encrypted ones included,
they count in the success columns) and two generated ones: a text page
drawn by Pillow and an image-only scan. Up to ``--pages`` pages of each are
rendered at ``--dpi`` (the engine's default, 150).

Peer: ``pdftoppm -png -r DPI -f 1 -l N`` (poppler), a process per document.
Ours: ``dc.convert(pdf, to="png", dpi=DPI, pages="1-N")`` on the embedded
engine (pypdfium2 + Pillow), one job per document, waited for. Both run one
document at a time, alternating document by document, round after round;
the figure is the median over rounds of the total time over the pages both
rendered.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import SHARED, Report, load, median, parse_args  # noqa: E402

QUICK_RUNS = [["--quick"]]
TIMEOUT = 600
CORPUS = SHARED / "realdocs-dev" / "files" / "pdf"


def generated(work: Path) -> list[Path]:
    from docconvert_nb import samples

    scan = work / "generated-scan.pdf"
    scan.write_bytes(samples.text_pages_pdf([samples.SAMPLE_TEXT] * 2))
    return [scan]


def pdftoppm(pdf: Path, out: Path, dpi: int, pages: int) -> int:
    """Pages rendered (0 when pdftoppm fails)."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf), str(out / "p")],
                          capture_output=True, timeout=300)
    rendered = len(list(out.glob("p*.png")))
    return rendered if done.returncode == 0 else 0


def ours(provider, pdf: Path, dpi: int, pages: int, page_count: int) -> int:
    import docconvert_nb as dc

    job = dc.convert(pdf, to="png", dpi=dpi, pages=f"1-{min(pages, page_count)}", provider=provider)
    try:
        job.wait(timeout=300)
    except dc.DocconvertError:  # failed: counted as not rendered
        return 0
    return len(job.outputs)


def page_count(pdf: Path) -> int:
    """Pages pypdfium2 sees (0: it cannot open the file), so ours never asks past the end."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(pdf))
    except Exception:
        return 0
    try:
        return len(document)
    finally:
        document.close()


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, lambda p: (
        p.add_argument("--dpi", type=int, default=150),
        p.add_argument("--pages", type=int, help="pages per document (default 3, quick 1)"),
        p.add_argument("--rounds", type=int, help="default 3, quick 1"),
    ))
    pages = args.pages or (1 if args.quick else 3)
    rounds = args.rounds or (1 if args.quick else 3)
    report = Report("pages", quick=args.quick)
    if shutil.which("pdftoppm") is None:
        return report.skip("pdftoppm (poppler-utils) is not installed: nothing to compare with")

    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        work = Path(tmp)
        documents = generated(work)
        if CORPUS.is_dir():
            documents += sorted(CORPUS.glob("*.pdf"))[: 2 if args.quick else None]
        else:
            report.note(f"{CORPUS} is absent: generated PDFs only")
        provider = EmbeddedProvider(Engine(work / "store", workers=1))
        counts = {pdf: page_count(pdf) for pdf in documents}
        ours(provider, documents[0], args.dpi, 1, counts[documents[0]] or 1)  # warm up imports and the engine
        per_doc: dict[str, dict[str, list]] = {pdf.name: {"pdftoppm": [], "ours": []} for pdf in documents}
        for index in range(rounds):
            for number, pdf in enumerate(documents):
                order = ["pdftoppm", "ours"] if (index + number) % 2 == 0 else ["ours", "pdftoppm"]
                for name in order:
                    start = time.perf_counter()
                    if name == "pdftoppm":
                        rendered = pdftoppm(pdf, work / f"ppm-{index}-{number}", args.dpi, pages)
                    else:
                        rendered = ours(provider, pdf, args.dpi, pages, counts[pdf]) if counts[pdf] else 0
                    per_doc[pdf.name][name].append((time.perf_counter() - start, rendered))
            spent = {tool: sum(runs[tool][index][0] for runs in per_doc.values()) for tool in ("pdftoppm", "ours")}
            print(f"  round {index + 1}/{rounds}: pdftoppm {spent['pdftoppm']:.1f} s, ours {spent['ours']:.1f} s "
                  f"over {len(documents)} documents (load {load()[0]})", flush=True)
        provider.close()

    # s/page over the documents both rendered (same pages), per round, then the median of rounds
    both = [name for name, runs in per_doc.items() if runs["pdftoppm"][0][1] and runs["ours"][0][1]]
    def seconds_per_page(tool: str) -> float:
        totals = []
        for index in range(rounds):
            seconds = sum(per_doc[name][tool][index][0] for name in both)
            rendered = sum(per_doc[name][tool][index][1] for name in both)
            totals.append(seconds / max(1, rendered))
        return median(totals)

    report.row(f"PDF → PNG at {args.dpi} dpi: s/page ({len(both)} documents)", "pdftoppm",
               seconds_per_page("pdftoppm"), seconds_per_page("ours"), unit="s")
    report.row(f"documents rendered (of {len(documents)})", "pdftoppm",
               sum(1 for runs in per_doc.values() if runs["pdftoppm"][0][1]),
               sum(1 for runs in per_doc.values() if runs["ours"][0][1]), higher_is_better=True)
    only_peer = [n for n, r in per_doc.items() if r["pdftoppm"][0][1] and not r["ours"][0][1]]
    only_ours = [n for n, r in per_doc.items() if r["ours"][0][1] and not r["pdftoppm"][0][1]]
    if only_peer:
        report.note(f"only pdftoppm rendered: {', '.join(only_peer)}")
    if only_ours:
        report.note(f"only docconvert_nb rendered: {', '.join(only_ours)}")
    report.note(f"up to {pages} page(s) per document, one document at a time; ours includes the job round trip")
    report.details = {"dpi": args.dpi, "pages": pages, "rounds": rounds,
                      "documents": {name: {tool: [[round(s, 4), n] for s, n in runs[tool]] for tool in runs}
                                    for name, runs in per_doc.items()}}
    report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""OCR at 300 dpi on 2 cores: pages per second and character error rate, against the tesseract command and ocrmypdf.

    .venv/bin/python benchmarks/bench_ocr.py [--quick] [--pages 4] [--rounds 2]

The pages are A4 at 300 dpi drawn with Pillow in DejaVu Sans, Serif and Sans
Mono (10–11 pt) from a seeded mix of words, numbers and punctuation, so the
text on each page is known exactly. Nothing is downloaded.

* **Text**: the ``tesseract`` command, one thread per process
  (``OMP_THREAD_LIMIT=1``) and one process per core, against
  ``dc.convert_many(pages, task="ocr", to="txt")`` on the embedded engine
  (one single-threaded Tesseract per worker, 2 workers).
* **Text, as a plain loop**: ``tesseract`` with its default OpenMP threading,
  one page after another (what a script calling it in a loop gets; one page).
* **Searchable PDF**: ``ocrmypdf --jobs 2`` on an image-only PDF of the pages
  against ``dc.ocr(pdf, to="pdf")`` (skipped with a note when ocrmypdf is
  not installed: ``apt-get install ocrmypdf``).
* **Character error rate**: Levenshtein distance between what each tool read
  and the text drawn, over the text's length (whitespace runs count as one
  space; for PDFs the text layer is read back with pypdfium2).

The candidates run alternately, round after round (the searchable-PDF pair
one round fewer: a minute each on a loaded machine); times are medians.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import Report, interleave, median, parse_args  # noqa: E402

TIMEOUT = 900
QUICK_RUNS = [["--quick"]]
DPI = 300
A4 = (2480, 3508)
WORDS = (
    "invoice account balance quarterly report conversion engine notebook queue status retention window "
    "identifier customer payment delivery address shipment warehouse contract signature department analysis "
    "the of and to in for with on by at from is are was were be been this that these those which while "
    "table column row total amount number date reference order item price quantity discount tax summary"
).split()
FONTS = [("DejaVuSans", 44), ("DejaVuSerif", 44), ("DejaVuSansMono", 40)]


# -- pages with known text --------------------------------------------------------------------

def page_text(rng: random.Random, lines: int) -> list[str]:
    """Lines of plausible business text: words, capitals, amounts, dates, punctuation."""
    out = []
    for _ in range(lines):
        words = []
        for _ in range(rng.randint(7, 11)):
            kind = rng.random()
            if kind < 0.08:
                words.append(f"{rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}")
            elif kind < 0.12:
                words.append(f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
            elif kind < 0.2:
                words.append(rng.choice(WORDS).capitalize())
            else:
                words.append(rng.choice(WORDS))
            if rng.random() < 0.07:
                words[-1] += rng.choice([",", ".", ";", ":"])
        out.append(" ".join(words))
    return out


def draw_page(lines: list[str], font_name: str, size: int, page_size: tuple[int, int] = A4):
    """The page, and the text actually drawn: lines wrap at the margin, and stop at the bottom one."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{font_name}.ttf", size)
    page = Image.new("L", page_size, 255)
    draw = ImageDraw.Draw(page)
    margin, step = 200 if page_size[0] > 1500 else 80, int(size * 1.6)
    width = page_size[0] - 2 * margin
    wrapped: list[str] = []
    for line in lines:
        current = ""
        for word in line.split():
            candidate = f"{current} {word}".strip()
            if current and draw.textlength(candidate, font=face) > width:
                wrapped.append(current)
                current = word
            else:
                current = candidate
        wrapped.append(current)
    drawn = []
    y = margin
    for line in wrapped:
        if y + step > page_size[1] - margin:
            break
        draw.text((margin, y), line, fill=0, font=face)
        drawn.append(line)
        y += step
    return page, "\n".join(drawn)


def make_pages(work: Path, count: int, lines: int, page_size: tuple[int, int] = A4) -> tuple[list[Path], list[str]]:
    rng = random.Random(20261204)
    paths, truths = [], []
    for index in range(count):
        font_name, size = FONTS[index % len(FONTS)]
        page, drawn = draw_page(page_text(rng, lines), font_name, size, page_size)
        path = work / f"page-{index + 1:02d}.png"
        page.save(path, dpi=(DPI, DPI))
        paths.append(path)
        truths.append(drawn)
    return paths, truths


def image_pdf(paths: list[Path], out: Path) -> Path:
    from PIL import Image

    images = [Image.open(p) for p in paths]
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=float(DPI))
    return out


# -- character error rate ----------------------------------------------------------------------

def levenshtein(a: str, b: str) -> int:
    """Edit distance, bit-parallel (Myers 1999 / Hyyrö 2001) on Python integers: O(len(b)) big-int steps."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    peq: dict[str, int] = {}
    for i, char in enumerate(a):
        peq[char] = peq.get(char, 0) | (1 << i)
    full = (1 << len(a)) - 1
    top = 1 << (len(a) - 1)
    pv, mv, score = full, 0, len(a)
    for char in b:
        eq = peq.get(char, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def normalize(text: str) -> str:
    return " ".join(text.split())


def cer(read: str, truth: str) -> float:
    truth, read = normalize(truth), normalize(read)
    return levenshtein(truth, read) / max(1, len(truth))


def pdf_text(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()


# -- the candidates -------------------------------------------------------------------------------

def single_thread_env() -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def default_thread_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}


def tesseract_pages(paths: list[Path], out: Path, *, workers: int, env: dict[str, str]) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> str:
        base = out / path.stem
        subprocess.run(["tesseract", str(path), str(base), "-l", "eng", "--psm", "3", "txt"], check=True,
                       capture_output=True, env=env)
        return (base.with_suffix(".txt")).read_text("utf-8", "replace")

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, paths))


def ours_pages(paths: list[Path], work: Path, workers: int) -> list[str]:
    import docconvert_nb as dc
    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider

    provider = EmbeddedProvider(Engine(work / f"store-{time.monotonic_ns()}", workers=workers))
    try:
        group = dc.convert_many(paths, to="txt", task="ocr", provider=provider)
        group.wait(timeout=1800, raise_on_error=True)
        return [job.outputs[0].text() for job in group]
    finally:
        provider.close()


def ours_pdf(pdf: Path, work: Path) -> Path:
    import docconvert_nb as dc
    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider

    provider = EmbeddedProvider(Engine(work / f"store-{time.monotonic_ns()}"))
    try:
        job = dc.ocr(pdf, to="pdf", provider=provider).wait(timeout=1800)
        return job.outputs[0].save(work / "ours-out", overwrite=True)
    finally:
        provider.close()


def ocrmypdf_command() -> list[str] | None:
    path = shutil.which("ocrmypdf")
    if path is None:
        return None
    probe = subprocess.run([path, "--version"], capture_output=True, text=True)
    return [path] if probe.returncode == 0 else None


def run_ocrmypdf(command: list[str], pdf: Path, out: Path, jobs: int) -> Path:
    subprocess.run([*command, "--jobs", str(jobs), "--output-type", "pdf", "--optimize", "0", "-l", "eng",
                    "--quiet", str(pdf), str(out)], check=True, capture_output=True, env=single_thread_env())
    return out


# -- main ---------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, lambda p: (
        p.add_argument("--pages", type=int, help="pages in the set (default 4, quick 1)"),
        p.add_argument("--rounds", type=int, help="rounds of every candidate (default 2, quick 1)"),
    ))
    pages = args.pages or (1 if args.quick else 4)
    rounds = args.rounds or (1 if args.quick else 2)
    pdf_rounds = max(1, rounds - 1)  # ocrmypdf and ours each take a minute on a loaded machine
    lines = 4 if args.quick else 40
    cores = os.cpu_count() or 2
    report = Report("ocr", quick=args.quick)
    if shutil.which("tesseract") is None:
        return report.skip("tesseract is not installed: nothing to measure")
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        work = Path(tmp)
        # quick mode: an A6 page, enough to check every candidate runs
        paths, truths = make_pages(work, pages, lines, (1240, 1000) if args.quick else A4)
        pdf = image_pdf(paths, work / "scan.pdf")
        read: dict[str, list[str]] = {}

        def remember(name, texts):
            read.setdefault(name, texts)

        loop_paths = paths[:1]
        text_times = interleave({
            "tesseract": lambda: remember("tesseract", tesseract_pages(paths, work / "tess", workers=cores,
                                                                         env=single_thread_env())),
            "ours": lambda: remember("ours", ours_pages(paths, work, workers=cores)),
            # the plain loop is so slow on a loaded machine that it reads one page only
            "tesseract loop": lambda: tesseract_pages(loop_paths, work / "loop", workers=1, env=default_thread_env()),
        }, rounds=rounds)
        report.row(f"text, {pages} pages: pages/s", f"tesseract ×{cores} procs, 1 thread each",
                   pages / median(text_times["tesseract"]), pages / median(text_times["ours"]), unit="pages/s",
                   higher_is_better=True)
        report.row("text: pages/s", "tesseract loop, default OpenMP (1 page)",
                   len(loop_paths) / median(text_times["tesseract loop"]), pages / median(text_times["ours"]),
                   unit="pages/s", higher_is_better=True)
        report.row("text: character error rate", "tesseract", _mean_cer(read["tesseract"], truths),
                   _mean_cer(read["ours"], truths), unit="%")

        ocrmypdf = ocrmypdf_command()
        if ocrmypdf is None:
            report.note("ocrmypdf is not installed (apt-get install ocrmypdf): the searchable-PDF row is skipped")
        else:
            outputs: dict[str, Path] = {}
            pdf_times = interleave({
                "ocrmypdf": lambda: outputs.setdefault("ocrmypdf", run_ocrmypdf(ocrmypdf, pdf, work / "omp.pdf", cores)),
                "ours": lambda: outputs.setdefault("ours", ours_pdf(pdf, work)),
            }, rounds=pdf_rounds)
            version = subprocess.run([*ocrmypdf, "--version"], capture_output=True, text=True).stdout.strip()
            report.row(f"searchable PDF, {pages} pages: pages/s", f"ocrmypdf {version} --jobs {cores}",
                       pages / median(pdf_times["ocrmypdf"]), pages / median(pdf_times["ours"]), unit="pages/s",
                       higher_is_better=True)
            report.row("searchable PDF: character error rate of the text layer", "ocrmypdf",
                       _mean_cer(pdf_text(outputs["ocrmypdf"]), truths), _mean_cer(pdf_text(outputs["ours"]), truths),
                       unit="%")
            report.details["pdf_seconds"] = pdf_times
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        report.note(f"{version}; A4 pages at {DPI} dpi, {lines} lines each; ours: the embedded engine, "
                    f"{cores} workers")
        report.details.update({"pages": pages, "rounds": rounds, "pdf_rounds": pdf_rounds,
                               "text_seconds": text_times, "cores": cores})
    report.finish()
    return 0


def _mean_cer(texts: list[str], truths: list[str]) -> float:
    return 100 * sum(cer(text, truth) for text, truth in zip(texts, truths)) / len(truths)


if __name__ == "__main__":
    sys.exit(main())

"""Engine speed, as ratios against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_engine.py

1. Tesseract: default OpenMP threading (baseline) vs one thread per process,
   as the engine runs it (engine-notes.md measured ~8x on 2 cores).
2. OCR throughput: pages one after another (baseline) vs the engine's worker
   pool, one single-threaded Tesseract per worker.
3. Office → PDF: a cold ``soffice --convert-to`` per document (baseline) vs
   the warm office process the engine keeps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine import Engine
from docconvert_nb.providers.embedded import EmbeddedProvider

WORDS = " ".join(["The quick brown fox jumps over the lazy dog while invoices queue for conversion."] * 25)


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def report(name: str, baseline: float, candidate: float, unit: str = "s") -> None:
    print(f"{name:<44} baseline {baseline:7.2f} {unit}   docconvert_nb {candidate:7.2f} {unit}   ratio {baseline / candidate:5.1f}x")


def bench_tesseract_threads(work: Path) -> None:
    page = work / "page.png"
    page.write_bytes(samples.text_page(WORDS, size=34))

    def run(env_extra):
        env = {**os.environ, **env_extra}
        subprocess.run(["tesseract", str(page), "-"], check=True, capture_output=True, env=env)

    default_env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    baseline = timed(lambda: subprocess.run(["tesseract", str(page), "-"], check=True, capture_output=True, env=default_env))
    candidate = timed(lambda: run({"OMP_THREAD_LIMIT": "1"}), repeat=2)
    report("tesseract page: OpenMP default vs 1 thread", baseline, candidate)


def bench_ocr_throughput(work: Path, pages: int = 4) -> None:
    paths = []
    for i in range(pages):
        path = work / f"p{i}.png"
        path.write_bytes(samples.text_page(WORDS, size=34))
        paths.append(path)

    def run(workers):
        provider = EmbeddedProvider(Engine(work / f"store-{workers}-{time.monotonic_ns()}", workers=workers))
        group = dc.convert_many(paths, to="txt", task="ocr", provider=provider)
        group.wait(timeout=600, raise_on_error=True)
        provider.close()

    baseline = timed(lambda: run(1))
    candidate = timed(lambda: run(os.cpu_count() or 2))
    report(f"OCR {pages} pages: 1 worker vs {os.cpu_count()} workers", baseline, candidate)


def bench_office(work: Path, documents: int = 3) -> None:
    paths = []
    for i in range(documents):
        path = work / f"doc{i}.docx"
        path.write_bytes(samples.docx_document([f"Benchmark document number {i}"]))
        paths.append(path)
    provider = EmbeddedProvider(Engine(work / "office-store"))

    def run(warm):
        for path in paths:
            dc.convert(path, to="pdf", provider=provider, warm=warm).wait(timeout=300)

    dc.convert(paths[0], to="pdf", provider=provider).wait(timeout=300)  # start the warm office once
    baseline = timed(lambda: run(False))
    candidate = timed(lambda: run(True), repeat=2)
    report(f"DOCX→PDF x{documents}: cold soffice vs warm office", baseline, candidate)
    provider.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="docconvert-bench-") as tmp:
        work = Path(tmp)
        bench_tesseract_threads(work)
        bench_ocr_throughput(work)
        bench_office(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The main job on the embedded engine: ``python -m docconvert_nb.demo [OUTDIR]``.

Generates a sample scanned page and a scanned table, then on the embedded
engine: OCRs the page into a searchable PDF and plain text, recognizes the
table into CSV, and prints where each output was written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import docconvert_nb as dc
from docconvert_nb.samples import write_samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="out", help="where outputs go (default: ./out)")
    args = parser.parse_args(argv)
    outdir = Path(args.outdir).resolve()
    samples = write_samples(outdir / "samples")

    jobs = [
        dc.ocr(samples["page.png"], to="pdf"),
        dc.ocr(samples["page.png"], to="txt"),
        dc.recognize_tables(samples["table.png"], to="csv"),
    ]
    for job in jobs:
        print(f"submitted: {job.source_name} → {job.target} on {job.provider.label}", file=sys.stderr)
    failed = 0
    for job in jobs:
        try:
            job.wait(timeout=600)
        except dc.DocconvertError as exc:
            print(f"FAILED {job.source_name} → {job.target}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for path in job.save(outdir, overwrite=True):
            print(f"{job.task:>7} {job.source_name} → {path}  ({job.elapsed:.1f} s)")
        for warning in job.warnings:
            print(f"        note: {warning}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

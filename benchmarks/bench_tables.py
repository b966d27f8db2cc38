"""Table recognition benchmark: docconvert_nb against camelot (PDF) and img2table (images), in one run.

Two parts, both print one line per tool and a JSON summary:

* ``robustness`` — the generated suite of ``tests/fixtures_tables.robustness_cases`` (cells known
  exactly: text 10–60 px, 100–600 dpi, tight crops, full/partial/no ruling, merged headers, skew,
  JPEG noise, decimal commas, parenthesised negatives, thousands separators). Prints the share of
  tables read cell-exact, of cells read exactly, and adjacency F1, for docconvert_nb and img2table.
* ``icdar`` — the development set ``../shared/tables-dev`` (read in place; skipped when absent),
  scored by its own ``score_icdar.py --mode csvdir``: PDF path against camelot (lattice, then stream
  when lattice finds nothing), image path (200 dpi renders) against img2table + Tesseract.

Pages are processed by ``--workers`` processes (default 2), the tools alternating batch by batch
so that the load of a shared machine hits all of them alike; s/page is wall time / pages, and
cpu s/page the CPU time (with Tesseract's) of one page, which the machine's other load hardly moves:
on an idle machine with 2 workers a page takes about cpu s/page / 2.

Usage::

    PYTHONPATH=. python benchmarks/bench_tables.py robustness [--limit N]
    PYTHONPATH=. python benchmarks/bench_tables.py icdar --mode pdf|png [--limit N] [--tools ours,camelot]
    PYTHONPATH=. python benchmarks/bench_tables.py all       # all three, ours against both peers

camelot (``pip install camelot-py``, the ``tables-bench`` extra) is only a peer here; it pulls
opencv-python-headless, which overwrites img2table's opencv-contrib-python: reinstall the latter
afterwards (``pip install --force-reinstall --no-deps opencv-contrib-python``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
#: ../shared/tables-dev beside the checkout (a worktree one level deeper finds the one above).
DEV_SET = next((base / "shared" / "tables-dev" for base in (REPO.parent, REPO.parent.parent)
                if (base / "shared" / "tables-dev").is_dir()), REPO.parent / "shared" / "tables-dev")


# -- the tools ----------------------------------------------------------------------------------

def ours(path: str) -> list[list[list[str]]]:
    import docconvert_nb as dc

    job = dc.recognize_tables(path, to="json").wait(timeout=600)
    return [table["cells"] for table in json.loads(job.outputs[0].text())["tables"]] if job.outputs else []


def camelot_tables(path: str) -> list[list[list[str]]]:
    import camelot

    tables = camelot.read_pdf(path, pages="1", flavor="lattice")
    if not tables.n:
        tables = camelot.read_pdf(path, pages="1", flavor="stream")
    return [t.df.astype(str).values.tolist() for t in tables]


def img2table_tables(path: str) -> list[list[list[str]]]:
    from img2table.document import Image
    from img2table.ocr import TesseractOCR

    ocr = TesseractOCR(n_threads=1, lang="eng")
    found = Image(src=path).extract_tables(ocr=ocr, implicit_rows=True, borderless_tables=True)
    return [[[("" if cell.value is None else str(cell.value)) for cell in row] for row in table.content.values()]
            for table in found]


TOOLS = {"ours": ours, "camelot": camelot_tables, "img2table": img2table_tables}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (Tesseract runs), user + system."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(tool: str, path: str):
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    start, cpu = time.perf_counter(), _cpu()
    try:
        tables, error = TOOLS[tool](path), None
    except Exception as exc:  # a peer crashing on a page scores as nothing found
        tables, error = [], f"{type(exc).__name__}: {exc}"[:160]
    return tables, time.perf_counter() - start, error, _cpu() - cpu


def run_interleaved(jobs: list[tuple[str, str]], workers: int) -> tuple[list, dict[str, float]]:
    """Run (tool, path) jobs in a pool, tools interleaved; returns results and wall seconds per tool."""
    results, wall = [None] * len(jobs), {}
    by_tool: dict[str, list[int]] = {}
    for i, (tool, _) in enumerate(jobs):
        by_tool.setdefault(tool, []).append(i)
    with ProcessPoolExecutor(workers) as pool:
        # Warm every worker (imports, Tesseract data) so startup is not billed to the first tool.
        list(pool.map(_warm, range(workers * 2)))
        # One batch of pages per tool, batches alternating, so each tool's wall time is its own.
        order = [tool for tool in by_tool]
        batch = max(4, workers * 3)
        cursors = {tool: 0 for tool in order}
        while any(cursors[t] < len(by_tool[t]) for t in order):
            for tool in order:
                chunk = by_tool[tool][cursors[tool]:cursors[tool] + batch]
                cursors[tool] += batch
                if not chunk:
                    continue
                start = time.perf_counter()
                for i, result in zip(chunk, pool.map(_timed, *zip(*[jobs[i] for i in chunk]))):
                    results[i] = result
                wall[tool] = wall.get(tool, 0.0) + time.perf_counter() - start
    return results, wall


def _cpu_per_job(results, jobs, tool: str) -> float:
    """Mean CPU seconds of ``tool``'s jobs: unlike wall time, hardly moved by the other load of the machine."""
    spent = [result[3] for result, (name, _) in zip(results, jobs) if name == tool]
    return round(sum(spent) / max(1, len(spent)), 2)


def _warm(_):
    import img2table.document  # noqa: F401

    import docconvert_nb  # noqa: F401
    try:
        import camelot  # noqa: F401
    except ImportError:
        pass
    return os.getpid()


# -- robustness suite ---------------------------------------------------------------------------

def robustness(args) -> dict:
    from tests.fixtures_tables import adjacency_counts, robustness_cases

    cases = robustness_cases()[: args.limit] if args.limit else robustness_cases()
    tools = [t for t in args.tools.split(",") if t != "camelot"]
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for case in cases:
            suffix = ".jpg" if case.image[:2] == b"\xff\xd8" else ".png"
            path = Path(tmp) / (case.name + suffix)
            path.write_bytes(case.image)
            paths.append(str(path))
        jobs = [(tool, path) for tool in tools for path in paths]
        results, wall = run_interleaved(jobs, args.workers)
        for tool in tools:
            exact_tables = exact_cells = total_cells = tp = pred = expected = 0
            failures = []
            for case, path in zip(cases, paths):
                tables, _secs, error, _cpu_secs = results[jobs.index((tool, path))]
                got = max(tables, key=lambda t: len(t) * max(map(len, t), default=0)) if tables else []
                got = [[cell.strip() for cell in row] for row in got]
                exact = got == case.cells
                exact_tables += exact
                for r, row in enumerate(case.cells):
                    for c, text in enumerate(row):
                        total_cells += 1
                        exact_cells += r < len(got) and c < len(got[r]) and got[r][c] == text
                hit, n_pred, n_exp = adjacency_counts(case.cells, got)
                tp, pred, expected = tp + hit, pred + n_pred, expected + n_exp
                if not exact:
                    failures.append(case.name + (f" ({error})" if error else ""))
            p, r = tp / pred if pred else 0.0, tp / expected if expected else 0.0
            summary[tool] = {"tables": len(cases), "table_exact": round(exact_tables / len(cases), 3),
                             "cell_exact": round(exact_cells / total_cells, 3),
                             "adjacency_f1": round(2 * p * r / (p + r) if p + r else 0.0, 3),
                             "seconds_per_table": round(wall[tool] / len(cases), 2),
                             "cpu_seconds_per_table": _cpu_per_job(results, jobs, tool)}
            print(f"{tool:10s} " + "  ".join(f"{k}={v}" for k, v in summary[tool].items()))
            if args.verbose:
                for name in failures:
                    print("   not exact:", name)
    return summary


# -- the ICDAR 2013 development set --------------------------------------------------------------

def _scorer():
    spec = importlib.util.spec_from_file_location("score_icdar", DEV_SET / "score_icdar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def icdar(args) -> dict:
    if not (DEV_SET / "score_icdar.py").exists():
        print(f"skipped: {DEV_SET} is absent")
        return {}
    import pypdfium2 as pdfium

    scorer = _scorer()
    keys = sorted(scorer.ground_truth())
    keys = keys[: args.limit] if args.limit else keys
    peer = "camelot" if args.mode == "pdf" else "img2table"
    tools = [t for t in args.tools.split(",") if t in ("ours", peer)]
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for doc, page in keys:
            src = pdfium.PdfDocument(scorer.pdf_path(doc))
            if args.mode == "png":
                path = os.path.join(tmp, f"{doc}-p{page}.png")
                src[page - 1].render(scale=200 / 72).to_pil().save(path, dpi=(200, 200))
            else:
                one = pdfium.PdfDocument.new()
                one.import_pages(src, [page - 1])
                path = os.path.join(tmp, f"{doc}-p{page}.pdf")
                one.save(path)
            inputs.append(path)
        jobs = [(tool, path) for tool in tools for path in inputs]
        results, wall = run_interleaved(jobs, args.workers)
        for tool in tools:
            pred_dir = Path(tmp) / f"pred-{tool}"
            pred_dir.mkdir()
            errors = 0
            for (doc, page), path in zip(keys, inputs):
                tables, _secs, error, _cpu_secs = results[jobs.index((tool, path))]
                errors += error is not None
                if error and args.verbose:
                    print(f"   {tool} {doc} p{page}: {error}")
                for n, table in enumerate(tables, start=1):
                    with open(pred_dir / f"{doc}-p{page}-{n}.csv", "w", newline="", encoding="utf-8") as fh:
                        csv.writer(fh).writerows(table)
            command = [sys.executable, str(DEV_SET / "score_icdar.py"), "--mode", "csvdir", "--pred", str(pred_dir)]
            if args.save:  # per-page counts, to see which pages lose relations
                command += ["--json", str(Path(args.save) / f"icdar-{args.mode}-{tool}.json")]
            if args.limit:
                command += ["--limit", str(args.limit)]
            scored = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            summary[tool] = {"precision": scored["precision"], "recall": scored["recall"], "f1": scored["f1"],
                             "seconds_per_page": round(wall[tool] / len(keys), 2),
                             "cpu_seconds_per_page": _cpu_per_job(results, jobs, tool), "crashed_pages": errors,
                             "workers": args.workers}
            print(f"{args.mode} {tool:10s} " + "  ".join(f"{k}={v}" for k, v in summary[tool].items()))
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["robustness", "icdar", "all"],
                        help="'all': robustness, then the dev set as PDF and as 200 dpi images")
    parser.add_argument("--mode", choices=["pdf", "png"], default="pdf")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tools", default="ours,camelot,img2table")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--save", help="folder for the scorer's per-page JSON (icdar part)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DOCCONVERT_NB_HOME", tempfile.mkdtemp(prefix="bench-tables-"))
    if args.part == "all":
        results = {"robustness": robustness(args)}
        for mode in ("pdf", "png"):
            args.mode = mode
            results[f"icdar-{mode}"] = icdar(args)
        print(json.dumps(results))
        return
    summary = robustness(args) if args.part == "robustness" else icdar(args)
    print(json.dumps({"part": args.part, "mode": args.mode if args.part == "icdar" else None, **summary}))


if __name__ == "__main__":
    main()

"""The PDF path on a few pages of the ICDAR 2013 development set, read in place from ../shared/tables-dev.

The full measure is benchmarks/bench_tables.py; this only guards against a regression on real
government PDFs (ruled, partly ruled and unruled tables). Skipped when the set is absent.
"""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.fixtures_tables import adjacency_counts

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = next((base / "shared" / "tables-dev" / "icdar2013-eu" for base in (ROOT.parent, ROOT.parent.parent)
                if (base / "shared" / "tables-dev" / "icdar2013-eu").is_dir()), None)
#: One page per kind: fully ruled, rules that stop short of labels and columns, unruled.
PAGES = [("eu-004", 7), ("eu-012", 4), ("eu-027", 3)]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(DEV_SET is None, reason="../shared/tables-dev is absent")]


def truth(doc: str, page: int) -> list[list[list[str]]]:
    grids = []
    for table in ET.parse(DEV_SET / f"{doc}-str.xml").getroot().iter("table"):
        for region in table.iter("region"):
            if int(region.get("page")) != page:
                continue
            cells = {(int(c.get("start-row")), int(c.get("start-col"))): c.findtext("content") or ""
                     for c in region.iter("cell")}
            n_rows, n_cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
            grids.append([[cells.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)])
    return grids


@pytest.mark.parametrize("doc,page", PAGES, ids=[f"{d}-p{p}" for d, p in PAGES])
def test_pdf_page_relations(doc, page):
    import pdfplumber

    from docconvert_nb.engine.converters._table_pdf import page_tables

    with pdfplumber.open(DEV_SET / f"{doc}.pdf") as pdf:
        found = page_tables(pdf.pages[page - 1])
    predicted = []
    for table in found:  # as written to CSV: a merged cell's text top-left only
        rows = [list(row) for row in table.rows]
        for r, c, height, width in table.spans:
            for dr in range(height):
                for dc in range(width):
                    if dr or dc:
                        rows[r + dr][c + dc] = ""
        predicted.append(rows)
    hit = n_pred = n_true = 0
    for grid in truth(doc, page):
        best = max((adjacency_counts(grid, p) for p in predicted), key=lambda t: t[0], default=(0, 0, 0))
        hit, n_pred, n_true = hit + best[0], n_pred + best[1], n_true + adjacency_counts(grid, grid)[2]
    assert n_true and hit / n_true >= 0.9 and hit / max(1, n_pred) >= 0.9

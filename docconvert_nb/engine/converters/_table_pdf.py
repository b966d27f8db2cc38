"""Tables of a born-digital PDF page from its own characters and drawn rules (pdfplumber's geometry).

pdfplumber (MIT, https://github.com/jsvine/pdfplumber) finds the cells where
the page's lines and rectangles intersect; :mod:`._table_grid` fills them
with the page's words and completes partial rules from the text layout; a
page without ruled tables is read for tables from its text alignment alone.
Cell text is the PDF's own text, exact.
"""

from __future__ import annotations

from ._table_grid import GridTable, stream_tables, tables_from_rules

LATTICE = {"vertical_strategy": "lines", "horizontal_strategy": "lines", "snap_tolerance": 3,
           "join_tolerance": 3, "intersection_tolerance": 3}


#: Safety bound on the ruling edges of one page: pdfplumber's cell search grows with the square of
#: their intersections. Ruled tables have a few thousand (each cell's box counts four); beyond this
#: the page is a drawing (a map, hatching, a fuzzed file) and is read as text alignment only.
MAX_EDGES = 20000


def page_tables(page) -> list[GridTable]:
    """The ruled tables of a pdfplumber page; when it has none, its tables without rules."""
    words = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False, use_text_flow=False)
    edges = page.edges
    ruled = page.find_tables(LATTICE) if len(edges) <= MAX_EDGES else []
    rules = [(e["x0"], e["x1"], e["top"]) for e in edges if e["orientation"] == "h"][:MAX_EDGES]
    return tables_from_rules(ruled, words) or stream_tables(words, rules)

"""Ruled tables of a page image: ruling lines found in the pixels, cells where they intersect.

A run of ink counts as a rule when it is longer than twice the text height
(letter stems and bars never are, whatever the text size). Rules become
pdfplumber edges, and pdfplumber's own geometry (snapping, joining,
intersections, cells, tables; MIT, https://github.com/jsvine/pdfplumber)
turns them into cells, so images and PDFs share one table model.
"""

from __future__ import annotations

from ._table_pdf import MAX_EDGES


def rule_masks(gray, text_height: int):
    """(horizontal, vertical) binary masks of the rules in a grayscale page."""
    import cv2

    ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    length = max(25, 2 * text_height + 1)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return horizontal, vertical


def _edges(mask, orientation: str, thickest: int) -> list[dict]:
    import cv2

    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    edges = []
    for x, y, w, h, _area in stats[1:count]:
        if orientation == "h" and h <= thickest:
            mid = y + h / 2
            edges.append({"x0": float(x), "x1": float(x + w), "top": mid, "bottom": mid, "doctop": mid,
                          "width": float(w), "height": 0.0, "orientation": "h"})
        elif orientation == "v" and w <= thickest:
            mid = x + w / 2
            edges.append({"x0": mid, "x1": mid, "top": float(y), "bottom": float(y + h), "doctop": float(y),
                          "width": 0.0, "height": float(h), "orientation": "v"})
    return edges


def ruled_tables(gray, text_height: int) -> tuple[list, list[tuple[float, float, float]]]:
    """pdfplumber ``Table`` objects (cells in pixels) for the ruled tables of a grayscale page,
    and every horizontal rule as ``(x0, x1, y)`` (tables ruled only across, booktabs style)."""
    from pdfplumber.table import Table, cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

    horizontal, vertical = rule_masks(gray, text_height)
    thickest = max(3, text_height // 2)  # thicker bars are shading or bold blocks, not rules
    edges = _edges(horizontal, "h", thickest) + _edges(vertical, "v", thickest)
    rules = [(e["x0"], e["x1"], e["top"]) for e in edges if e["orientation"] == "h"][:MAX_EDGES]
    if not edges or len(edges) > MAX_EDGES:
        return [], rules
    tolerance = max(3, text_height // 4)
    edges = merge_edges(edges, tolerance, tolerance, tolerance, tolerance)
    cells = intersections_to_cells(edges_to_intersections(edges, tolerance, tolerance))
    return [Table(None, group) for group in cells_to_tables(cells) if len(group) >= 2], rules

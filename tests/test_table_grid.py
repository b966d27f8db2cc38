"""Table structure from word boxes and rules alone (no OCR): the grid logic shared by PDFs and images."""

from pdfplumber.table import Table

from docconvert_nb.engine.converters._table_grid import grow_to_aligned_text, stream_tables, tables_from_rules


def word(text, x0, top, height=10.0, char=6.0):
    return {"text": text, "x0": x0, "x1": x0 + char * len(text), "top": top, "bottom": top + height}


def layout(rows, xs, top=100.0, pitch=16.0, right_aligned=()):
    """Words for ``rows`` of cell texts placed at column starts ``xs`` (right-aligned columns end there)."""
    words = []
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            for k, part in enumerate(text.split(" ")):
                if not part:
                    continue
                x = xs[c] + 6.0 * (len(" ".join(text.split(" ")[:k])) + (1 if k else 0))
                if c in right_aligned:
                    x = xs[c] - 6.0 * len(text) + (x - xs[c])
                words.append(word(part, x, top + r * pitch))
    return words


PARAGRAPH = [word(w, 40 + 40 * i, 40) for i, w in enumerate("These figures are provisional and".split())]


def test_unruled_columns_come_from_gaps_no_line_crosses():
    rows = [["Region", "2023", "2024"], ["North", "1,234.50", "(65.50)"], ["West coast", "12.00", "8.75"],
            ["South", "980.00", "40.25"]]
    (table,) = stream_tables(PARAGRAPH + layout(rows, [40, 220, 320], right_aligned={1, 2}))
    assert table.rows == rows and table.method == "stream"


def test_two_columns_of_running_text_are_not_a_table():
    lines = [[f"word{i} and more words here", f"other column text goes on {i}"] for i in range(8)]
    assert stream_tables(layout(lines, [40, 320])) == []


def test_a_wrapped_cell_continues_the_row_above():
    words = layout([["Item", "Note", "Qty"], ["Pens", "blue ink", "4"], ["", "refills", ""], ["Paper", "A4", "500"]],
                   [40, 160, 320])
    (table,) = stream_tables(words)
    assert table.rows == [["Item", "Note", "Qty"], ["Pens", "blue ink refills", "4"], ["Paper", "A4", "500"]]


def ruled(cells):
    return Table(None, cells)


def test_a_ruled_grid_keeps_merged_spans_and_per_cell_confidence():
    # header cell spanning two columns, then a 2×3 body; boxes in points
    cells = [(0, 0, 100, 20), (100, 0, 300, 20), (0, 20, 100, 40), (100, 20, 200, 40), (200, 20, 300, 40),
             (0, 40, 100, 60), (100, 40, 200, 60), (200, 40, 300, 60)]
    words = [dict(word("Sales", 150, 5), conf=91.0), dict(word("City", 5, 25), conf=96.0),
             dict(word("2023", 105, 25), conf=88.0), dict(word("2024", 205, 25), conf=90.0),
             dict(word("Faro", 5, 45), conf=95.0), dict(word("12", 105, 45), conf=60.0), dict(word("7", 205, 45), conf=70.0)]
    (table,) = tables_from_rules([ruled(cells)], words)
    assert table.rows == [["", "Sales", "Sales"], ["City", "2023", "2024"], ["Faro", "12", "7"]]
    assert table.spans == [(0, 1, 1, 2)]
    assert table.confidence[2] == [95.0, 60.0, 70.0]


def test_rules_that_stop_short_of_the_row_labels_are_extended():
    # rules box only the numbers; the labels sit left of the box on the same lines
    box = (100, 0, 300, 40)
    words = [word("2023", 110, 5), word("2024", 210, 5), word("Faro", 70, 25), word("12", 110, 25), word("7", 210, 25)]
    grown = grow_to_aligned_text(box, words)
    assert grown[0] < 70 and grown[1:] == box[1:]


def test_a_group_header_over_unruled_columns_is_a_merged_cell():
    words = layout([["", "Sales 2023 and 2024", "", "Costs"], ["City", "2023", "2024", "2024"],
                    ["Faro", "12", "7", "3"], ["Braga", "40", "38", "9"]], [40, 160, 260, 360])
    (table,) = stream_tables(words)
    assert table.rows[0] == ["", "Sales 2023 and 2024", "Sales 2023 and 2024", "Costs"]
    assert table.spans == [(0, 1, 1, 2)]

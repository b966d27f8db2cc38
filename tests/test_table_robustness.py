"""Generated tables that must read back exactly (the wider suite is benchmarks/bench_tables.py)."""

import csv
import io

import pytest

import docconvert_nb as dc
from docconvert_nb import samples
from tests.fixtures_tables import degrade, draw_table

pytestmark = pytest.mark.tools

POPULATION = [["City", "Population", "Area"], ["Lisbon", "545923", "100.05"], ["Porto", "231800", "41.42"],
              ["Braga", "193333", "183.4"], ["Faro", "64560", "202.6"]]


def read_cells(provider, image: bytes, **options):
    job = dc.recognize_tables(image, provider=provider, **options).wait(timeout=120)
    assert len(job.outputs) == 1, job.warnings
    return list(csv.reader(io.StringIO(job.outputs[0].text())))


def test_tightly_cropped_large_text_keeps_its_strokes(provider):
    """34 px text, no margin: rules must go, the stems of l, P, 1 must not."""
    image = samples.table_image(POPULATION, size=34, margin=0, cell_width=300, cell_height=50, dpi=200)
    assert read_cells(provider, image) == POPULATION


@pytest.mark.parametrize("ruling", ["full", "partial", "none"])
def test_large_text_in_every_ruling_style(provider, ruling):
    import random

    cells = [["Item", "Amount", "Change"], ["Rent", "1.234,50", "(120)"], ["Food", "12.000,00", "(3,400)"],
             ["Travel", "980,75", "45"]]
    image = degrade(draw_table(cells, size=48, ruling=ruling, margin=0 if ruling == "full" else 3), random.Random(1))
    assert read_cells(provider, image) == cells

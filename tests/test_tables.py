import base64
import math

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

import docconvert_nb as dc
from docconvert_nb.errors import DocconvertError
from docconvert_nb.outputs import Output
from docconvert_nb.tables import clean_table, describe_table, plot_table, sniff_delimiter
from docconvert_nb.tables.numbers import parse_number

from .fixtures_tables import EUROPEAN_CSV, ISO_DATES_TSV, QUOTED_CSV, US_OCR_CSV, workbook_two_sheets


def rules(df, column=None):
    return {r["rule"] for r in df.attrs["docconvert_cleaning"] if column is None or r["column"] == column}


def is_text(series):
    return pd.api.types.is_string_dtype(series) and not pd.api.types.is_numeric_dtype(series)


# -- reading -----------------------------------------------------------------------------------

def test_cp1252_semicolon_european_numbers_percent_and_dates():
    df = dc.to_dataframe(EUROPEAN_CSV.encode("cp1252"))
    assert df.attrs["docconvert_source"]["encoding"] == "cp1252"
    assert df.attrs["docconvert_source"]["delimiter"] == ";"
    assert list(df.columns) == ["Produkt", "Preis", "Anteil", "Datum"]
    assert df["Produkt"].tolist() == ["Café crème", "Thé vert", "Eau", "Crêpe"]
    assert is_text(df["Produkt"])
    assert df["Preis"].dtype == "float64"
    assert df["Preis"].tolist() == [1234.5, 12.0, -5.5, 0.75]
    # Percentages become fractions; "(3 %)" is negative; "n/a" is missing.
    assert df["Anteil"].dtype == "float64"
    assert df["Anteil"].iloc[0] == pytest.approx(0.125)
    assert df["Anteil"].iloc[1] == pytest.approx(-0.03)
    assert math.isnan(df["Anteil"].iloc[2])
    assert pd.api.types.is_datetime64_any_dtype(df["Datum"])
    assert df["Datum"].tolist() == [pd.Timestamp(2024, 2, 1), pd.Timestamp(2024, 2, 15),
                                    pd.Timestamp(2024, 2, 29), pd.Timestamp(2024, 3, 3)]
    assert {"currency", "decimal_comma", "thousands_separator"} <= rules(df, "Preis")
    assert {"percent", "negative_parentheses", "null_marker"} <= rules(df, "Anteil")
    assert "whitespace" in rules(df)
    assert df.attrs["docconvert_units"] == {"Preis": "€", "Anteil": "fraction"}


def test_bom_multirow_header_ocr_confusions_and_negatives():
    df = dc.to_dataframe(US_OCR_CSV.encode("utf-8"))
    assert list(df.columns) == ["Region", "Sales / 2023", "Sales / 2024", "Costs / 2023", "Costs / 2024"]
    assert df["Region"].tolist() == ["North", "South", "West, coast", "East", "Central"]
    assert df["Sales / 2023"].dtype == "float64"
    assert df["Sales / 2023"].tolist() == [1234.5, 2345.0, 3456.25, 10.0, 0.5]
    assert df["Sales / 2024"].dtype == "int64"
    assert df["Sales / 2024"].tolist() == [105, 107, 210, 300, 415]
    assert rules(df, "Sales / 2024") >= {"ocr_confusion"}
    assert df["Costs / 2023"].tolist() == [-12, -3, 4, 5, 6]
    assert {"negative_parentheses", "unicode_minus"} <= rules(df, "Costs / 2023")
    assert df["Costs / 2024"].dtype == "int64"
    assert df["Costs / 2024"].tolist() == [2000, 3000, 1000, 4500, 5000]
    report = {(r["column"], r["rule"]): r["count"] for r in df.attrs["docconvert_cleaning"]}
    assert report[(None, "empty_rows")] == 1
    assert report[(None, "empty_columns")] == 1
    assert report[(None, "header")] == 2
    assert report[("Sales / 2024", "ocr_confusion")] == 2


def test_ocr_fixes_only_in_numeric_columns_and_switchable():
    text = "Name,Code,Value\nOslo,SO1,1O\nLima,IS2,20\nRome,OL3,30\n"
    df = dc.to_dataframe(text)
    assert df["Name"].tolist() == ["Oslo", "Lima", "Rome"]  # letters in a text column stay
    assert df["Code"].tolist() == ["SO1", "IS2", "OL3"]
    assert df["Value"].tolist() == [10, 20, 30]
    raw = dc.to_dataframe(text, ocr_fixes=False)
    assert is_text(raw["Value"]) and raw["Value"].tolist() == ["1O", "20", "30"]


def test_each_cleaning_step_can_be_switched_off():
    data = EUROPEAN_CSV.encode("cp1252")
    assert is_text(dc.to_dataframe(data, numbers=False)["Preis"])
    assert is_text(dc.to_dataframe(data, dates=False)["Datum"])
    assert dc.to_dataframe(data, percent="number")["Anteil"].iloc[0] == pytest.approx(12.5)
    assert dc.to_dataframe(data, strip=False)["Produkt"].iloc[2] == "  Eau  "
    no_header = dc.to_dataframe(data, header=None)
    assert list(no_header.columns) == ["column_1", "column_2", "column_3", "column_4"]
    assert no_header["column_1"].iloc[0] == "Produkt"
    kept = dc.to_dataframe(US_OCR_CSV, drop_empty=False, header=2)
    assert kept.shape == (6, 6)
    raw = dc.to_dataframe(data, clean=False)
    assert raw.shape == (5, 4) and raw.iloc[1, 1] == "1.234,50 €"


def test_quoted_fields_and_sniffed_delimiter():
    assert sniff_delimiter(QUOTED_CSV) == ","
    df = dc.to_dataframe(QUOTED_CSV)
    assert df["name"].tolist() == ["Smith, J.", "Doe"]
    assert df["note"].tolist() == ['said "hi", left', "plain"]
    assert df["amount"].tolist() == [1.5, 2.25]


def test_decimal_comma_is_decided_per_column():
    text = "a;b\n1,234;1,234\n2,5;3,000\n"
    df = dc.to_dataframe(text)
    assert df["a"].tolist() == [1.234, 2.5]   # "2,5" proves a decimal comma
    assert df["b"].tolist() == [1234, 3000]   # nothing proves it: thousands
    assert dc.to_dataframe(text, decimal=",")["b"].tolist() == [1.234, 3.0]


def test_dates_iso_and_month_first_and_dayfirst():
    df = dc.to_dataframe(ISO_DATES_TSV.encode(), format="tsv")
    assert pd.api.types.is_datetime64_any_dtype(df["when"])
    assert df["count"].dtype == "int64" and df["share"].dtype == "float64"
    us = dc.to_dataframe("d,v\n03/04/2024,1\n12/25/2024,2\n")
    assert us["d"].tolist() == [pd.Timestamp(2024, 3, 4), pd.Timestamp(2024, 12, 25)]
    eu = dc.to_dataframe("d,v\n03/04/2024,1\n05/06/2024,2\n", dayfirst=True)
    assert eu["d"].tolist() == [pd.Timestamp(2024, 4, 3), pd.Timestamp(2024, 6, 5)]


def test_identifiers_with_leading_zeros_stay_text_and_missing_ints_are_nullable():
    df = dc.to_dataframe("id,qty\n007,1\n012,\n100,3\n")
    assert is_text(df["id"]) and df["id"].tolist() == ["007", "012", "100"]
    assert df["qty"].dtype == "Int64"
    assert df["qty"].isna().tolist() == [False, True, False]


def test_title_row_is_kept_apart():
    df = dc.to_dataframe("Quarterly report 2024,,\nName,Date,Value\nx,2024-01-02,1\ny,2024-01-03,2\n")
    assert list(df.columns) == ["Name", "Date", "Value"]
    assert df.attrs["docconvert_title"] == "Quarterly report 2024"
    assert len(df) == 2


def test_all_text_table_takes_first_row_as_header():
    df = dc.to_dataframe("Name,City\nAlice,Paris\nBob,Berlin\n")
    assert list(df.columns) == ["Name", "City"]
    assert df["City"].tolist() == ["Paris", "Berlin"]
    assert is_text(df["Name"])


def test_number_parsing_edge_cases():
    assert parse_number("1 234 567,89").readings[","].value == pytest.approx(1234567.89)
    assert parse_number("1'234.50").readings["."].value == pytest.approx(1234.5)
    assert parse_number("EUR 12").currency == "EUR"
    assert parse_number("1,234-").readings["."].value == -1234  # accounting minus
    assert parse_number("1.2.3") is None
    assert parse_number("12,34,56") is None
    assert parse_number("abc") is None


# -- workbooks, several tables, inputs -----------------------------------------------------------

def test_xlsx_with_two_sheets_gives_a_dict_in_workbook_order():
    data = workbook_two_sheets()
    tables = dc.to_dataframe(data)
    assert list(tables) == ["Prices", "Orders"]  # the blank sheet is skipped
    prices, orders = tables["Prices"], tables["Orders"]
    assert prices["Item"].tolist() == ["pen", "book", "lamp"] and is_text(prices["Item"])
    assert prices["Price"].dtype == "float64" and prices["Price"].tolist() == [1.5, 12.0, 30.25]
    assert pd.api.types.is_datetime64_any_dtype(orders["Date"])
    assert orders["Qty"].tolist() == [1200, -4]
    assert orders["Rate"].tolist() == pytest.approx([0.05, 0.075])
    assert prices.attrs["docconvert_source"]["sheet"] == "Prices"
    assert dc.to_dataframe(data, sheet="Orders")["Qty"].tolist() == [1200, -4]
    assert dc.to_dataframe(data, sheet=0)["Item"].iloc[0] == "pen"
    with pytest.raises(KeyError, match="Prices, Orders"):
        dc.to_dataframe(data, sheet="Nope")


def test_base64_string_bytes_path_and_output(tmp_path):
    data = EUROPEAN_CSV.encode("cp1252")
    encoded = base64.b64encode(data).decode()
    assert dc.to_dataframe(encoded)["Preis"].iloc[0] == 1234.5
    assert dc.to_dataframe(encoded.encode())["Preis"].iloc[0] == 1234.5
    assert dc.to_dataframe("data:text/csv;base64," + encoded)["Preis"].iloc[0] == 1234.5
    path = tmp_path / "prices.csv"
    path.write_bytes(data)
    assert dc.to_dataframe(path)["Preis"].iloc[0] == 1234.5
    assert dc.to_dataframe(str(path))["Preis"].iloc[0] == 1234.5
    workbook = base64.b64encode(workbook_two_sheets()).decode()
    assert list(dc.to_dataframe(workbook)) == ["Prices", "Orders"]
    output = Output("prices.csv", "text/csv", len(data), _opener=lambda: __import__("io").BytesIO(data))
    df = output.to_dataframe()
    assert df["Preis"].tolist() == [1234.5, 12.0, -5.5, 0.75]
    assert dc.to_dataframe(output, as_dict=True).keys() == {"prices"}


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        dc.to_dataframe(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError):
        dc.to_dataframe("missing.csv")
    with pytest.raises(DocconvertError, match="no table"):
        dc.to_dataframe(b"%PDF-1.4 not really a table")
    with pytest.raises(TypeError):
        dc.to_dataframe(42)
    with pytest.raises(ValueError, match="header"):
        clean_table(pd.DataFrame([["a"], ["1"]]), header="first")


def test_clean_table_on_a_named_frame_returns_the_report():
    raw = pd.DataFrame({"Amount": [" 1,000 ", "(2)", "3"], "Pct": ["5%", "10%", "n/a"]})
    df, report = clean_table(raw)
    assert df["Amount"].tolist() == [1000, -2, 3]
    assert df["Pct"].tolist()[:2] == pytest.approx([0.05, 0.10])
    assert ("Amount", "thousands_separator") in {(c.column, c.rule) for c in report}
    assert report.to_dataframe().columns.tolist() == ["column", "rule", "count", "example"]
    assert df.attrs["docconvert_cleaning"] == [
        {"column": c.column, "rule": c.rule, "count": c.count, "example": c.example} for c in report
    ]
    assert "Amount" in repr(report)


# -- helpers -----------------------------------------------------------------------------------

def test_describe_table_reports_shape_dtypes_nulls_and_ranges():
    df = dc.to_dataframe(EUROPEAN_CSV.encode("cp1252"))
    summary = describe_table(df)
    assert summary.shape == (4, 4)
    assert summary.columns.loc["Preis", "dtype"] == "float64"
    assert summary.columns.loc["Preis", "min"] == -5.5 and summary.columns.loc["Preis", "max"] == 1234.5
    assert summary.columns.loc["Anteil", "missing"] == 1
    assert summary.columns.loc["Preis", "unit"] == "€"
    assert summary.columns.loc["Datum", "min"] == pd.Timestamp(2024, 2, 1)
    assert "4 rows × 4 columns" in repr(summary)
    assert "<table" in summary._repr_html_()


def test_plot_table_guesses_value_and_label():
    df = dc.to_dataframe(US_OCR_CSV)
    ax = plot_table(df)
    try:
        bars = ax.patches
        assert len(bars) == 5
        assert [round(b.get_height(), 2) for b in bars] == [1234.5, 2345.0, 3456.25, 10.0, 0.5]
        assert [t.get_text() for t in ax.get_xticklabels()] == df["Region"].tolist()
        assert ax.get_title() == "Sales / 2023 by Region"
    finally:
        import matplotlib.pyplot as plt

        plt.close(ax.figure)


def test_plot_table_reads_on_light_and_dark_notebooks():
    """The figure is transparent and its text grey: no white box in JupyterLab's dark theme."""
    import io

    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    from PIL import Image

    ax = plot_table(dc.to_dataframe(US_OCR_CSV))
    try:
        buf = io.BytesIO()  # as IPython's inline backend saves it: with the figure's own facecolor
        ax.figure.savefig(buf, format="png", facecolor=ax.figure.get_facecolor(), dpi=40)
        image = Image.open(io.BytesIO(buf.getvalue())).convert("RGBA")
        assert image.getpixel((1, 1))[3] == 0  # the corner shows the notebook behind it
        assert {to_hex(ax.title.get_color()), to_hex(ax.xaxis.label.get_color())} == {"#8a8a8a"}
    finally:
        plt.close(ax.figure)


def test_plot_table_percent_axis_and_errors():
    import matplotlib.pyplot as plt

    df = dc.to_dataframe(EUROPEAN_CSV.encode("cp1252"))
    ax = plot_table(df, value="Anteil", kind="barh")
    try:
        assert len(ax.patches) == 4
        assert ax.xaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"
    finally:
        plt.close(ax.figure)
    with pytest.raises(TypeError, match="not numeric"):
        plot_table(df, value="Produkt")
    with pytest.raises(ValueError, match="kind"):
        plot_table(df, kind="radar")


def _completed_job(outputs):
    from docconvert_nb.testing import ScriptedProvider

    from .helpers import image_bytes

    scripted = ScriptedProvider()
    job = dc.recognize_tables(image_bytes(), provider=scripted, name="scan.png")
    return scripted.complete(job, *outputs)


def _output(name, data):
    import io

    return Output(name, "application/octet-stream", len(data), _opener=lambda: io.BytesIO(data))


def test_job_with_several_csv_outputs_gives_a_dict_keyed_by_output(provider):
    job = _completed_job([
        _output("scan-p1-t1.csv", b"Item,Price\npen,1.50\nbook,12.00\n"),
        _output("scan-p1-t2.csv", EUROPEAN_CSV.encode("cp1252")),
        _output("scan.pdf", b"%PDF-1.4 ignored: not a table"),
    ])
    tables = job.to_dataframe()
    assert list(tables) == ["scan-p1-t1", "scan-p1-t2"]
    assert tables["scan-p1-t1"]["Price"].tolist() == [1.5, 12.0]
    assert tables["scan-p1-t2"]["Preis"].iloc[0] == 1234.5
    assert dc.to_dataframe(job, sheet="scan-p1-t1")["Item"].tolist() == ["pen", "book"]


def test_engine_json_tables_and_a_single_table_job(provider):
    import json

    document = {"tables": [{"page": 1, "table": 1, "cells": [["Name", "Qty"], ["a", "1.200"], ["b", "3,5"]]}]}
    job = _completed_job([_output("scan.json", json.dumps(document).encode())])
    df = job.to_dataframe()
    assert isinstance(df, pd.DataFrame)
    # "3,5" proves a decimal comma for the column, so the dot in "1.200" groups thousands.
    assert df["Qty"].tolist() == [1200.0, 3.5]
    assert df.attrs["docconvert_source"]["name"] == "page 1 table 1"

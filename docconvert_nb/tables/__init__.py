"""Recognized tables as pandas DataFrames: reading, cleaning, a summary and a quick plot.

>>> import docconvert_nb as dc
>>> df = dc.to_dataframe(job)            # CSV/XLSX results → DataFrame (or dict of them)
>>> df.attrs["docconvert_cleaning"]      # what the cleaning changed
>>> dc.tables.describe_table(df); dc.tables.plot_table(df)
"""

from .cleaning import Change, CleaningReport, clean_table
from .frames import to_dataframe
from .inputs import Document, resolve
from .reading import decode_text, read_csv, read_xlsx, sniff_delimiter
from .summary import TableSummary, describe_table, plot_table

__all__ = [
    "Change",
    "CleaningReport",
    "Document",
    "TableSummary",
    "clean_table",
    "decode_text",
    "describe_table",
    "plot_table",
    "read_csv",
    "read_xlsx",
    "resolve",
    "sniff_delimiter",
    "to_dataframe",
]

"""A first look at a table: ``describe_table`` (what is in it) and ``plot_table`` (a quick chart)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from .cleaning import ATTR_CLEANING, ATTR_TITLE, ATTR_UNITS

#: Bars beyond this many make an unreadable chart; plot_table shows the first ones and says so.
MAX_BARS = 40


@dataclass
class TableSummary:
    """Shape, per-column facts and the cleaning done; displays as HTML or text.

    ``columns`` is a DataFrame with one row per column: dtype, values,
    missing, distinct, min, max, mean and an example value.
    """

    shape: tuple[int, int]
    columns: pd.DataFrame
    title: str | None = None
    cleaning: list[dict] = field(default_factory=list)

    def headline(self) -> str:
        rows, cols = self.shape
        text = f"{rows} row{'s' * (rows != 1)} × {cols} column{'s' * (cols != 1)}"
        if self.title:
            text = f"{self.title}: {text}"
        if self.cleaning:
            text += f"; cleaning made {len(self.cleaning)} kinds of change"
        return text

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return f"{self.headline()}\n{self.columns.to_string()}"

    def _repr_html_(self) -> str:
        return (f"<div><strong>{html.escape(self.headline())}</strong>"
                f"{self.columns.to_html(na_rep='', escape=True)}</div>")


def describe_table(df: pd.DataFrame) -> TableSummary:
    """A quick summary: shape, dtypes, missing values, numeric and date ranges, one example per column."""
    units = df.attrs.get(ATTR_UNITS, {})
    records = []
    for name in df.columns:
        column = df[name]
        present = column.dropna()
        record = {
            "column": str(name),
            "dtype": str(column.dtype),
            "values": int(present.size),
            "missing": int(column.size - present.size),
            "distinct": int(present.nunique()),
            "min": None, "max": None, "mean": None,
            "unit": units.get(name),
            "example": None if present.empty else _short(present.iloc[0]),
        }
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and not present.empty:
            record.update(min=present.min().item(), max=present.max().item(), mean=round(float(present.mean()), 6))
        elif pd.api.types.is_datetime64_any_dtype(column) and not present.empty:
            record.update(min=present.min(), max=present.max())
        records.append(record)
    columns = pd.DataFrame(records, columns=["column", "dtype", "values", "missing", "distinct", "min", "max",
                                             "mean", "unit", "example"], dtype=object).set_index("column")
    columns = columns.astype({"values": "int64", "missing": "int64", "distinct": "int64"})
    if not units:
        columns = columns.drop(columns="unit")
    return TableSummary(df.shape, columns, df.attrs.get(ATTR_TITLE), list(df.attrs.get(ATTR_CLEANING, [])))


def plot_table(df: pd.DataFrame, value: str | None = None, label: str | None = None, kind: str = "bar", *,
               ax=None, limit: int = MAX_BARS):
    """Plot a numeric column by a label column with matplotlib; returns the Axes.

    Defaults: ``value`` is the first numeric column that is not a year-like
    integer id, ``label`` the first text (or date) column, else the row
    number. ``kind`` is ``"bar"``, ``"barh"``, ``"line"`` or ``"pie"``. Only
    the first ``limit`` rows are drawn (the title says so). Percentages
    stored as fractions get a percent axis.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if kind not in ("bar", "barh", "line", "pie"):
        raise ValueError(f"kind must be 'bar', 'barh', 'line' or 'pie', not {kind!r}")
    value = value or _default_value(df)
    if value not in df.columns:
        raise KeyError(f"no column {value!r}; columns: {', '.join(map(str, df.columns))}")
    if not pd.api.types.is_numeric_dtype(df[value]):
        raise TypeError(f"column {value!r} is {df[value].dtype}, not numeric: pick value= among "
                        f"{', '.join(map(str, df.select_dtypes('number').columns)) or 'no numeric column'}")
    label = label if label is not None else _default_label(df, exclude=value)
    if label is not None and label not in df.columns:
        raise KeyError(f"no column {label!r}; columns: {', '.join(map(str, df.columns))}")
    shown = df.head(limit)
    values = shown[value].astype("float64")
    labels = (shown[label].astype(str) if label is not None else pd.Series(range(1, len(shown) + 1)).astype(str)).tolist()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5) if kind != "pie" else (5, 5))
    if kind == "bar":
        ax.bar(labels, values.fillna(0))
        ax.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    elif kind == "barh":
        ax.barh(labels, values.fillna(0))
        ax.invert_yaxis()
    elif kind == "line":
        x = shown[label] if label is not None and pd.api.types.is_datetime64_any_dtype(shown[label]) else labels
        ax.plot(x, values, marker="o")
    else:
        ax.pie(values.fillna(0).clip(lower=0), labels=labels, autopct="%1.0f%%")
    if kind != "pie":
        value_axis = ax.xaxis if kind == "barh" else ax.yaxis
        if df.attrs.get(ATTR_UNITS, {}).get(value) == "fraction":
            value_axis.set_major_formatter(PercentFormatter(xmax=1))
        (ax.set_xlabel if kind == "barh" else ax.set_ylabel)(str(value))
        if label is not None:
            (ax.set_ylabel if kind == "barh" else ax.set_xlabel)(str(label))
    title = str(value) + (f" by {label}" if label is not None else "")
    if len(df) > limit:
        title += f" (first {limit} of {len(df)} rows)"
    ax.set_title(title)
    _readable_on_any_theme(ax)
    ax.figure.tight_layout()
    return ax


#: A grey that reads on JupyterLab's light and dark backgrounds alike (contrast ≥ 3.5:1 on both).
NEUTRAL = "#8a8a8a"


def _readable_on_any_theme(ax) -> None:
    """A transparent figure whose text, ticks and frame are grey, so the plot sits on the
    notebook's own background instead of a white box in a dark theme."""
    ax.figure.patch.set_alpha(0.0)
    ax.patch.set_alpha(0.0)
    ax.title.set_color(NEUTRAL)
    for axis in (ax.xaxis, ax.yaxis):
        axis.label.set_color(NEUTRAL)
    ax.tick_params(colors=NEUTRAL, which="both")
    for spine in ax.spines.values():
        spine.set_edgecolor(NEUTRAL)
    for text in ax.texts:  # pie labels and percentages
        text.set_color(NEUTRAL)


def _default_value(df: pd.DataFrame) -> str:
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if not numeric:
        raise ValueError("the table has no numeric column to plot")
    for name in numeric:
        if not _looks_like_years_or_ids(df[name]):
            return name
    return numeric[0]


def _looks_like_years_or_ids(column: pd.Series) -> bool:
    present = column.dropna()
    if present.empty or not pd.api.types.is_integer_dtype(column):
        return False
    years = present.between(1900, 2100).all()
    counter = present.is_monotonic_increasing and present.is_unique and (present.diff().dropna() == 1).all()
    return bool(years or counter)


def _default_label(df: pd.DataFrame, exclude: str) -> str | None:
    for name in df.columns:
        if name != exclude and (pd.api.types.is_string_dtype(df[name]) or pd.api.types.is_object_dtype(df[name])):
            return name
    for name in df.columns:
        if name != exclude and pd.api.types.is_datetime64_any_dtype(df[name]):
            return name
    return None


def _short(value, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"

"""Values as a person reads them in messages, reasons and workbooks, by the unit the feature or parameter declares:
万元 with at most two decimals, 比例 (a ratio) as a percentage, 百分位 (a percentile from 0 to 1) as 0-100, and
true/false as 是/否. One place, so that a threshold and the firm's value next to it always read alike."""

from __future__ import annotations

import math

import polars as pl

MISSING = "（未填）"
PERCENT = "比例"
PERCENTILE = "百分位"
SCORE = "评分"  # a probability 0-1, shown with 3 decimals rounded down, so a score below a line never reads as on it
# Run outputs that messages name beside the features, by unit.
RUN_UNITS = {"three_highs_score": SCORE}


def _trimmed(text: pl.Expr) -> pl.Expr:
    return text.str.replace(r"\.0+$", "").str.replace(r"(\.\d*?)0+$", "$1")


def expr(column: pl.Expr, unit: str | None, dtype: pl.DataType | None = None, *, with_unit: bool = False) -> pl.Expr:
    """`column` as display text (null stays null; callers choose what a missing value reads as); `with_unit`
    appends a unit such as 万元 or 件 (percentages and percentiles carry theirs anyway)."""
    text = _expr(column, unit, dtype)
    return text + pl.lit(unit) if with_unit and unit not in (None, PERCENT, PERCENTILE, SCORE) else text


def _expr(column: pl.Expr, unit: str | None, dtype: pl.DataType | None) -> pl.Expr:
    if (dtype is not None and dtype.is_numeric()) or (dtype is None and unit in (PERCENT, PERCENTILE, SCORE)):
        column = column.cast(pl.Float64).fill_nan(None)  # NaN (a missing value from numpy) reads as missing
    if unit == PERCENT:
        return _trimmed((column.cast(pl.Float64) * 100).round(2).cast(pl.String)) + pl.lit("%")
    if unit == PERCENTILE:
        return (column.cast(pl.Float64) * 100).round(0).cast(pl.Int64).cast(pl.String)
    if unit == SCORE:
        thousandths = (column.cast(pl.Float64) * 1000).floor().cast(pl.Int64)
        return pl.format("{}.{}", thousandths // 1000, (thousandths % 1000).cast(pl.String).str.zfill(3))
    if dtype == pl.Boolean:
        return pl.when(column).then(pl.lit("是")).when(column.not_()).then(pl.lit("否"))
    if unit is not None or (dtype is not None and dtype.is_numeric()):
        return _trimmed(column.cast(pl.Float64).round(2).cast(pl.String))
    return column.cast(pl.String)


def value(item: object, unit: str | None) -> str:
    """One value (a parameter, a threshold) as display text."""
    if item is None:
        return MISSING
    if isinstance(item, tuple | list):
        return "、".join(map(str, item))
    if isinstance(item, bool):
        return "是" if item else "否"
    if unit == PERCENT and isinstance(item, int | float):
        return _plain(item * 100) + "%"
    if unit == PERCENTILE and isinstance(item, int | float):
        return f"{round(item * 100):d}"
    if unit == SCORE and isinstance(item, int | float):
        return score(item)
    if isinstance(item, float):
        return _plain(item)
    return str(item)


def score(number: float) -> str:
    """A score with three decimals, rounded down: 0.4989 is 0.498, never 0.499 or 0.5 beside a line of 0.5."""
    return f"{math.floor(number * 1000) / 1000:.3f}"


def _plain(number: float) -> str:
    text = f"{number:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text

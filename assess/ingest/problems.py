"""Problems as a polars frame, and their Chinese messages from the catalogue.

Checks produce rows of (sheet, row, column, code, value, detail); `finalise` adds the level, the message with its
location (file, sheet, row, column) and the fix hint, in one vectorised pass however many problems there are.
"""

from __future__ import annotations

import polars as pl

from assess.contract import Contract

PROBLEM_SCHEMA = pl.Schema(
    {
        "sheet": pl.String(),
        "row": pl.Int64(),
        "column": pl.String(),
        "code": pl.String(),
        "value": pl.String(),
        "detail": pl.String(),
    }
)
FINAL_COLUMNS = ("file", "sheet", "row", "column", "code", "level", "value", "message", "hint")


def problems_frame(frame: pl.DataFrame | None = None) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return frame.select(PROBLEM_SCHEMA.names()).cast(PROBLEM_SCHEMA)


def sheet_notice(sheet: str | None, code: str, detail: str, column: str | None = None) -> pl.DataFrame:
    """A problem of a whole sheet or column: no row number."""
    return pl.DataFrame(
        [{"sheet": sheet, "row": None, "column": column, "code": code, "value": None, "detail": detail}],
        schema=PROBLEM_SCHEMA,
    )


def plain_amount(amount: pl.Expr) -> pl.Expr:
    """An amount in 万元 as a person reads it: at most 2 decimals, no trailing zeros."""
    return amount.cast(pl.Float64).round(2).cast(pl.String).str.replace(r"\.0$", "")


def grouped(count: pl.Expr) -> pl.Expr:
    """A whole number with its thousands grouped, as people read counts: 1,048,569."""
    reversed_digits = count.cast(pl.String).str.reverse()
    return reversed_digits.str.replace_all(r"([0-9]{3})", "$1,").str.reverse().str.strip_chars_start(",")


def location() -> pl.Expr:
    """Where in the file a problem is, as its message begins (after the file's name): 工作表「S」第N行「C」列."""
    return pl.concat_str(
        [pl.format("工作表「{}」", "sheet"), pl.format("第{}行", "row"), pl.format("「{}」列", "column")],
        ignore_nulls=True,
    )


def prefix() -> pl.Expr:
    """How a problem's message begins: 文件「F」工作表「S」第N行「C」列：, from the file, sheet, row and column."""
    return pl.concat_str(pl.lit("文件「"), "file", pl.lit("」"), location(), pl.lit("："))


def finalise(problems: pl.DataFrame, file_name: str, contract: Contract) -> pl.DataFrame:
    """Add level, message and hint to raw problems, ordered as the user reads the file."""
    catalogue = pl.DataFrame(
        {
            "code": list(contract.problems),
            "level": [p.level for p in contract.problems.values()],
            "template": [p.message for p in contract.problems.values()],
            "hint": [p.hint for p in contract.problems.values()],
        }
    )
    unknown = set(problems["code"].unique()) - set(contract.problems)
    assert not unknown, f"problem codes missing from the catalogue: {unknown}"
    body = (
        pl.col("template")
        .str.replace_all("{value}", pl.col("value").fill_null(""), literal=True)
        .str.replace_all("{detail}", pl.col("detail").fill_null(""), literal=True)
    )
    return (
        problems.join(catalogue, on="code", how="left")
        .with_columns(file=pl.lit(file_name))
        .with_columns(message=prefix() + body)
        .with_row_index("_order")
        .sort(pl.col("_order").min().over("sheet"), "row", "_order", nulls_last=False)
        .select(FINAL_COLUMNS)
    )

"""The ingest's checks as they were before it streamed, kept as the reference the streaming path is compared with
(tests/test_streaming.py) for as long as it is the reference.

Each sheet is read as one chunk (the whole sheet) and validated with what its own rows settle, as the validator always
did; the checks across rows run in polars over the whole file's rows, and the store is asked about the keys of the
whole file, as `Ingest.check` did before the ingest wrote its rows chunk by chunk and asked SQL instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assess.contract import Contract
from assess.ingest.headers import find_layout
from assess.ingest.problems import finalise, plain_amount, problems_frame, sheet_notice
from assess.ingest.sheets import Chunking, UnreadableFile, read_file
from assess.ingest.upload import _duplicates, _with_header, wide_conflicts
from assess.ingest.validate import SheetResult, SheetValidator
from assess.store import Store

ROW_KEY = ["sheet", "row"]


@dataclass(frozen=True)
class Checked:
    """An upload validated as a whole file, and not saved."""

    filings: pl.DataFrame
    supplements: pl.DataFrame
    problems: pl.DataFrame
    rows_read: int
    accepted: int
    rejected: int
    skipped: int


def check_whole_file(store: Store, validator: SheetValidator, path: Path) -> Checked | str:
    """The upload of `path` checked as a whole file against `store`, or the sentence that refuses it."""
    contract = validator.contract
    whole = Chunking(csv_bytes=path.stat().st_size + 1, parquet_rows=1 << 30)
    try:
        sheets = read_file(path, contract.limits, contract.header_search_rows, whole)
        results: list[SheetResult] = []
        problems = [problems_frame()]
        for source in sheets:
            [sheet] = list(source.chunks())
            head = sheet.first_rows(contract.header_search_rows).rows()
            layout = find_layout(head, contract, sheet.column_numbers)
            if layout is None:
                problems.append(sheet_notice(sheet.name, "I-SHEET-SKIPPED", str(contract.header_search_rows)))
                continue
            body, _ = validator.split(validator.marked(sheet, layout.data_start, len(layout.columns)), last=True)
            assert body is not None
            results.append(validator.validate(sheet, layout, body, None))
    except UnreadableFile as exc:
        return str(exc)
    if not results:
        return (
            f"文件「{path.name}」中没有可识别的表头：前{contract.header_search_rows}行里找不到至少"
            f"{contract.header_min_matches}个能识别的列名（其中须有统一社会信用代码或企业名称）。"
            "请使用填报模板（assess template 生成）中的列名。"
        )
    full = pl.concat([r.rows for r in results if not r.history_only] or [results[0].rows.clear()])
    history = pl.concat([r.rows for r in results if r.history_only] or [results[0].rows.clear()])
    supplements = pl.concat([r.supplements for r in results])
    problems.extend(r.problems for r in results)
    headers = pl.DataFrame(
        [(r.sheet, field, header) for r in results for field, header in r.headers.items()],
        schema={"sheet": pl.String, "field": pl.String, "column": pl.String},
        orient="row",
    )
    problems.append(_with_header(_duplicates(full, ["credit_code", "year"]), headers, "credit_code"))
    history_values = supplements.join(history.select(ROW_KEY), on=ROW_KEY, how="semi", nulls_equal=True)
    problems.append(_with_header(_duplicates(history_values, ["credit_code", "year", "field"]), headers, "credit_code"))
    problems.append(_with_header(_jumps(store, contract, full, supplements), headers, "revenue"))
    problems.append(_wide_conflicts(store, full, supplements))
    final = finalise(pl.concat(problems), path.name, contract)
    rejected = _rejected_rows(final, pl.concat([full, history]))
    accepted_full, accepted_history = _without(full, rejected), _without(history, rejected)
    return Checked(
        filings=accepted_full.rename({"row": "row_number"}),
        supplements=_without(supplements, rejected).rename({"row": "row_number", "column": "column_header"}),
        problems=final,
        rows_read=sum(r.rows_read for r in results),
        accepted=accepted_full.height + accepted_history.height,
        rejected=rejected.height,
        skipped=sum(r.skipped for r in results),
    )


def _jumps(store: Store, contract: Contract, full: pl.DataFrame, supplements: pl.DataFrame) -> pl.DataFrame:
    """Revenue above `jump_ratio` times, or below its inverse, the firm's previous year. A full filing wins over a
    wide-year value, this upload over the store. The earlier figure is quoted only when this file holds it:
    another upload's figures are not shown to whoever sends this one."""
    keys = ["credit_code", "year"]
    rows = full.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in [*keys, "revenue"])).select(
        "sheet", "row", *keys, revenue=pl.col("revenue").cast(pl.Float64)
    )
    # Each earlier figure keyed by the year it precedes, so that one join on (credit code, year) finds it.
    own = rows.select("credit_code", year=pl.col("year") + 1, own="revenue").unique(keys, keep="first")
    own_wide = (
        supplements.filter(pl.col("field") == "revenue")
        .select("credit_code", year=pl.col("year") + 1, own_wide=pl.col("value").cast(pl.Float64))
        .unique(keys, keep="first")
    )
    joined = rows.join(own, on=keys, how="left").join(own_wide, on=keys, how="left")
    # The store is asked only about the years this file does not itself file in full.
    unresolved = joined.filter(pl.col("own").is_null()).select("credit_code", year=pl.col("year") - 1)
    stored = _current_values(store, unresolved, "revenue").select(
        "credit_code",
        year=pl.col("year") + 1,
        filed=pl.col("filed").cast(pl.Float64),
        supplement=pl.col("supplement").cast(pl.Float64),
    )
    compared = (
        joined.join(stored, on=keys, how="left")
        .lazy()
        .with_columns(
            previous=pl.coalesce("own", "filed", "own_wide", "supplement"),
            quotable=pl.col("own").is_not_null() | (pl.col("filed").is_null() & pl.col("own_wide").is_not_null()),
        )
    )
    ratio = float(contract.jump_ratio)
    revenue, before = pl.col("revenue").cast(pl.Float64), pl.col("previous")
    earlier = pl.when("quotable").then(
        pl.format("由本文件中上年（{}年）的{}万元", pl.col("year") - 1, plain_amount(before))
    )
    return (
        compared.filter((before > 0) & ((revenue > before * ratio) | (revenue < before / ratio)))
        .select(
            "sheet",
            "row",
            code=pl.lit("W-JUMP"),
            value=plain_amount(pl.col("revenue")),
            detail=pl.concat_str(
                [
                    earlier.otherwise(pl.format("与数据库中该企业上年（{}年）的数据相比，", pl.col("year") - 1)),
                    pl.format("变为{}万元，变化超过{}倍", plain_amount(pl.col("revenue")), pl.lit(int(ratio))),
                ]
            ),
        )
        .collect()
    )


def _wide_conflicts(store: Store, full: pl.DataFrame, supplements: pl.DataFrame) -> pl.DataFrame:
    """A wide-year value that disagrees with a full filing of its year: in this upload, else in the store."""
    found = [problems_frame()]
    for name in supplements["field"].unique(maintain_order=True).to_list():
        values = supplements.filter(pl.col("field") == name)
        in_upload = (
            full.select("credit_code", "year", filed=pl.col(name).cast(pl.Float64))
            .filter(pl.col("filed").is_not_null())
            .unique(["credit_code", "year"], keep="first")
        )
        in_store = _filing_values(store, values, [name]).select(
            "credit_code", pl.col("year").cast(pl.Int32), stored=pl.col(name).cast(pl.Float64)
        )
        compared = (
            values.join(in_upload, on=["credit_code", "year"], how="left")
            .join(in_store, on=["credit_code", "year"], how="left")
            .with_columns(against=pl.coalesce("filed", "stored"))
            .filter(pl.col("against").is_not_null() & (pl.col("value").cast(pl.Float64) != pl.col("against")))
        )
        found.append(wide_conflicts(compared.select("sheet", "row", "column", "year", "value", "filed")))
    return pl.concat([problems_frame(f) for f in found])


def _without(rows: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """The rows not rejected (without copying them when none are)."""
    return rows.join(rejected, on=ROW_KEY, how="anti", nulls_equal=True) if rejected.height else rows


def _rejected_rows(problems: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with an error of their own, and every row of a sheet with a sheet-level error."""
    errors = problems.filter(pl.col("level") == "error")
    own = errors.filter(pl.col("row").is_not_null()).select(ROW_KEY)
    whole_sheets = errors.filter(pl.col("row").is_null()).select("sheet").unique()
    by_sheet = rows.join(whole_sheets, on="sheet", how="semi", nulls_equal=True).select(ROW_KEY)
    return pl.concat([own, by_sheet]).unique()


def _current_values(store: Store, keys: pl.DataFrame, field: str) -> pl.DataFrame:
    """For (credit_code, year) keys: the value of a money field in force, as `filed` (the filing's) and
    `supplement` (a wide-year value's), so that callers can rank them against values of their own."""
    store.con.register("wanted", keys.select("credit_code", "year").unique().to_arrow())
    try:
        return _frame(
            store,
            f"""
            SELECT w.credit_code, w.year::INTEGER AS year, f.{field} AS filed, s.value AS supplement
            FROM wanted AS w
            LEFT JOIN filings AS f USING (credit_code, year)
            LEFT JOIN supplements AS s ON s.credit_code = w.credit_code AND s.year = w.year AND s.field = $field
            WHERE coalesce(f.{field}, s.value) IS NOT NULL
            """,
            {"field": field},
        )
    finally:
        store.con.unregister("wanted")


def _filing_values(store: Store, keys: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """For (credit_code, year) keys: the current filing's values of the given fields (no supplements)."""
    store.con.register("wanted", keys.select("credit_code", "year").unique().to_arrow())
    try:
        return _frame(
            store, f"SELECT credit_code, year, {', '.join(fields)} FROM filings JOIN wanted USING (credit_code, year)"
        )
    finally:
        store.con.unregister("wanted")


def _frame(store: Store, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    return pl.DataFrame(store.con.sql(sql, params=params))

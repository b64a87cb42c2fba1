"""The golden test: on the sample data, every flag (each flagged or undecided firm with its message and missing
inputs, and every count) and every rubric result (gates, points, score, verdict) is identical between DuckDB, the
reference, and Spark reading the Parquet export, for every year; a difference is named, first one first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from assess import api
from assess.engines.spark.assessment import assess_year, open_export
from assess.errors import InputError
from assess.resources import PACKAGED_RULES
from assess.rules.engine import evaluate_rubric
from assess.run.config import load_config
from assess.run.context import RunContext

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

YEARS = range(2020, 2025)


def first_difference(what: str, duckdb: pl.DataFrame, spark: pl.DataFrame, key: list[str]) -> str | None:
    """Where the two results first differ (row by key, then column), or None where they are identical."""
    if duckdb.columns != spark.columns:
        return f"{what}: columns {duckdb.columns} (DuckDB) against {spark.columns} (Spark)"
    left = {tuple(row[k] for k in key): row for row in duckdb.to_dicts()}
    right = {tuple(row[k] for k in key): row for row in spark.to_dicts()}
    for found in sorted(left.keys() ^ right.keys(), key=str)[:1]:
        return f"{what}: {found} only on {'DuckDB' if found in left else 'Spark'}"
    for found in sorted(left, key=str):
        for column in duckdb.columns:
            if left[found][column] != right[found][column]:
                return f"{what} {found}, {column}: {left[found][column]!r} (DuckDB) != {right[found][column]!r} (Spark)"
    return None


def test_every_flag_and_rubric_result_is_identical_on_duckdb_and_spark(
    sample_store: Path, tmp_path: Path, spark: SparkSession
) -> None:
    """DuckDB assesses year by year, as `assess run` does; Spark assesses every year of the export in one pass."""
    config = load_config(PACKAGED_RULES)
    with api.open_store(sample_store) as store:
        api.export_parquet(store, tmp_path / "parquet")
        open_export(spark, tmp_path / "parquet", config, store.contract)
        on_spark = assess_year(spark, config, None)
        differences = []
        for year in YEARS:
            on_duckdb = RunContext(store, config, year)
            assert on_duckdb.flags.hits.height and on_spark.rubrics
            this_year = pl.col("year") == year
            differences += [
                first_difference(
                    f"{year} flags",
                    on_duckdb.flags.hits,
                    on_spark.flags.hits.filter(this_year),
                    ["rule_id", "credit_code", "year"],
                ),
                first_difference(
                    f"{year} counts",
                    on_duckdb.flags.counts,
                    on_spark.flags.counts.filter(this_year),
                    ["rule_id", "year", "level", "key"],
                ),
                *(
                    first_difference(
                        f"{year} {pack}",
                        evaluate_rubric(store.con, config.rules.pack(pack), year),
                        frame.filter(this_year),
                        ["credit_code"],
                    )
                    for pack, frame in on_spark.rubrics.items()
                ),
            ]
    found = [d for d in differences if d is not None]
    assert not found, found[0]


def test_an_export_changed_after_it_was_written_is_refused_before_spark_reads_it(
    sample_store: Path, tmp_path: Path, spark: SparkSession
) -> None:
    with api.open_store(sample_store) as store:
        manifest = api.export_parquet(store, tmp_path / "parquet", [2024]).manifest
        changed = tmp_path / "parquet" / manifest["files"][0]["path"]
        changed.write_bytes(changed.read_bytes() + b"\0")
        with pytest.raises(InputError, match="SHA-256 不符"):
            open_export(spark, tmp_path / "parquet", load_config(PACKAGED_RULES), store.contract)

"""Features, flags and rubric scores of a year on Spark, read from a Parquet export (`assess export-parquet`): the
same compiled trees and the same queries as on DuckDB, rendered as Spark SQL, and the same making of results from
their rows (assess.rules.engine), so that the two engines can only differ where their SQL computes differently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from sqlglot import exp

from assess.contract import Contract
from assess.dialects import render
from assess.engines.spark.tables import create_empty, ddl, install_features
from assess.features import REFERENCE_COLUMNS, VIEWS, feature_views, reference_tables
from assess.reference import load_reference
from assess.rules.engine import FlagResult, flag_queries, flag_result, rubric_query, rubric_result
from assess.run.config import Config
from assess.store.parquet import checked_manifest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class YearOnSpark:
    flags: FlagResult
    rubrics: dict[str, pl.DataFrame]  # pack id -> one row per firm, as assess.rules.engine.evaluate_rubric gives


def open_export(
    spark: SparkSession, folder: Path, config: Config, contract: Contract, years: tuple[int, int] | None = None
) -> dict:
    """The export's tables (every file checked against its manifest), the reference tables and the feature views,
    as temporary views of the session, the features of `years` (first, last; None: every year exported) computed
    once; returns the manifest."""
    manifest = export_manifest(folder)
    open_tables(spark, folder, manifest, config, contract, years)
    return manifest


def export_manifest(folder: Path) -> dict:
    """The manifest of an export, every file it names checked against its SHA-256."""
    return checked_manifest(folder, "assess export-parquet", "导出文件", "重新导出", "years_written")


def open_tables(
    spark: SparkSession,
    folder: Path,
    manifest: dict,
    config: Config,
    contract: Contract,
    years: tuple[int, int] | None = None,
) -> None:
    """The tables of an export whose files were checked (`export_manifest`) and the views over them, as
    `open_export` says."""
    for table, spec in manifest["tables"].items():
        columns: dict[str, str] = spec["columns"]
        if (folder / table).is_dir():
            # With the manifest's schema, Spark neither infers one from the files nor lists them in a job of its own.
            read = spark.read.schema(ddl(columns)).option("basePath", str(folder / table))
            read.parquet(str(folder / table)).createOrReplaceTempView(table)
        else:  # nothing of it in force for the years exported
            create_empty(spark, {table: columns})
    reference = load_reference(contract)
    for name, frame in reference_tables(contract, reference, config.chain_map).items():
        spark.createDataFrame(frame.rows(), ddl(REFERENCE_COLUMNS[name])).createOrReplaceTempView(name)
    install_features(spark, feature_views(contract, reference, config.size_classes))
    # Computed once and kept (each feature view is a superset of the one before, so the lighter ones that queries
    # name, features_base and features_history, are the same rows), as rows without their lineage: a query over
    # them is then planned from the rows, not from the feature SQL again.
    features = spark.table(VIEWS["peer"])
    if years is not None:
        features = features.where(features.year.between(*years))
    kept = features.localCheckpoint()
    for level in VIEWS.values():
        kept.createOrReplaceTempView(level)


def assess_year(spark: SparkSession, config: Config, year: int | None) -> YearOnSpark:
    """Every flag rule and every rubric of the rule folder for the year (None: every year of the export, in one pass
    with a row per firm and year), over the session's feature views."""
    flagged, grouped = flag_queries(config.rules, year)
    flags = flag_result(rows(spark, flagged), rows(spark, grouped), config.rules)
    rubrics = {
        pack.id: rubric_result(rows(spark, rubric_query(pack, year)), pack)
        for pack in config.rules.packs
        if pack.rubric is not None
    }
    return YearOnSpark(flags=flags, rubrics=rubrics)


def rows(spark: SparkSession, query: exp.Expr) -> pl.DataFrame:
    """The rows of an engine-neutral query, run by Spark, on the driver."""
    found = pl.from_arrow(spark.sql(render(query, "spark")).toArrow())
    assert isinstance(found, pl.DataFrame)
    return found

"""Features, flags and rubric scores of a year on Spark, read from a Parquet export (`assess export-parquet`): the
same compiled trees and the same queries as on DuckDB, rendered as Spark SQL, and the same making of results from
their rows (assess.rules.engine), so that the two engines can only differ where their SQL computes differently."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from sqlglot import exp

from assess.contract import Contract
from assess.dialects import render
from assess.engines.spark.tables import create_empty, ddl, install_features, spark_type
from assess.errors import InputError
from assess.features import REFERENCE_COLUMNS, VIEWS, feature_views, reference_tables
from assess.reference import load_reference
from assess.rules.engine import FlagResult, flag_queries, flag_result, rubric_query, rubric_result
from assess.run.config import Config
from assess.store import file_sha256
from assess.store.parquet import MANIFEST

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class YearOnSpark:
    flags: FlagResult
    rubrics: dict[str, pl.DataFrame]  # pack id -> one row per firm, as assess.rules.engine.evaluate_rubric gives


def open_export(spark: SparkSession, folder: Path, config: Config, contract: Contract) -> dict:
    """The export's tables (every file checked against its manifest), the reference tables and the feature views,
    as temporary views of the session; returns the manifest."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"「{folder}」中没有 {MANIFEST}：请指定 assess export-parquet 导出的文件夹。")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file() or file_sha256(path) != entry["sha256"]:
            raise InputError(f"导出文件「{entry['path']}」缺失或与清单中的 SHA-256 不符：请重新导出。")
    for table, spec in manifest["tables"].items():
        columns: dict[str, str] = spec["columns"]
        if (folder / table).is_dir():
            found = spark.read.option("basePath", str(folder / table)).parquet(str(folder / table))
            typed = [f"CAST(`{name}` AS {spark_type(kind)}) AS `{name}`" for name, kind in columns.items()]
            found.selectExpr(*typed).createOrReplaceTempView(table)
        else:  # nothing of it in force for the years exported
            create_empty(spark, {table: columns})
    reference = load_reference(contract)
    for name, frame in reference_tables(contract, reference, config.chain_map).items():
        spark.createDataFrame(frame.rows(), ddl(REFERENCE_COLUMNS[name])).createOrReplaceTempView(name)
    install_features(spark, feature_views(contract, reference, config.size_classes))
    # Computed once and kept: each feature view is a superset of the one before, so the lighter ones that queries
    # name (features_base, features_history) are the same rows.
    features = spark.table(VIEWS["peer"]).cache()
    for level in ("base", "history"):
        features.createOrReplaceTempView(VIEWS[level])
    return manifest


def assess_year(spark: SparkSession, config: Config, year: int | None) -> YearOnSpark:
    """Every flag rule and every rubric of the rule folder for the year (None: every year of the export, in one pass
    with a row per firm and year), over the session's feature views."""
    flagged, grouped = flag_queries(config.rules, year)
    flags = flag_result(_rows(spark, flagged), _rows(spark, grouped), config.rules)
    rubrics = {
        pack.id: rubric_result(_rows(spark, rubric_query(pack, year)), pack)
        for pack in config.rules.packs
        if pack.rubric is not None
    }
    return YearOnSpark(flags=flags, rubrics=rubrics)


def _rows(spark: SparkSession, query: exp.Expr) -> pl.DataFrame:
    found = pl.from_arrow(spark.sql(render(query, "spark")).toArrow())
    assert isinstance(found, pl.DataFrame)
    return found

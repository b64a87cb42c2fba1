"""Spark's own parser and analyser accept the Spark SQL of every feature view and every pack: each is planned
(EXPLAIN) by PySpark in local mode over empty tables of the store's schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from assess.contract import load_contract
from assess.engines.spark.tables import create_empty, install_features
from assess.features import FEATURE_NAMES, REFERENCE_COLUMNS
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.store.schema import source_columns
from tests.compiled import pack_trees, views

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _plan(spark: SparkSession, label: str, sql: str) -> None:
    """Spark plans the query; a query Spark cannot parse raises, one it cannot analyse says so in the plan."""
    plan = str(spark.sql(f"EXPLAIN {sql}").collect()[0][0])
    assert plan.startswith("== Physical Plan =="), f"{label}: {plan[:2000]}\n-- for --\n{sql[:2000]}"


def test_every_feature_view_and_pack_is_planned_by_spark(spark: SparkSession) -> None:
    config = load_config(PACKAGED_RULES)
    create_empty(spark, {**source_columns(load_contract()), **REFERENCE_COLUMNS})
    compiled = views(config)
    install_features(spark, compiled)
    for view in compiled:
        _plan(spark, view.name, f"SELECT * FROM {view.name}")
    assert set(spark.table("features").columns) >= FEATURE_NAMES

    for name, trees in pack_trees(config).items():
        # The columns a pack reads beyond the features (a run's scores, a rubric's points), as empty numbers.
        extra = sorted({c.name for tree in trees for c in tree.find_all(exp.Column)} - FEATURE_NAMES)
        padded = "".join(f", CAST(NULL AS DOUBLE) AS {column}" for column in extra)
        selected = ", ".join(f"{tree.sql(dialect='spark')} AS c{i}" for i, tree in enumerate(trees))
        _plan(spark, name, f"SELECT {selected} FROM (SELECT *{padded} FROM features) AS f")

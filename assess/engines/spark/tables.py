"""The tables and views of an assessment in a Spark session: the sources the features read (filings, supplements,
reference tables) and the feature views, rendered from the same engine-neutral trees DuckDB runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlglot import exp

from assess.features import View

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_type(duckdb_type: str) -> str:
    """A column type of the store as Spark spells it; JSON, which Spark has no type for, is text."""
    built = exp.DataType.build(duckdb_type, dialect="duckdb")
    return "STRING" if built.is_type(exp.DataType.Type.JSON) else built.sql(dialect="spark")


def ddl(columns: Mapping[str, str]) -> str:
    """A Spark schema string for columns named with their store types."""
    return ", ".join(f"`{name}` {spark_type(kind)}" for name, kind in columns.items())


def create_empty(spark: SparkSession, tables: Mapping[str, Mapping[str, str]]) -> None:
    """Empty temporary views with these columns (name -> column -> store type): to plan queries without data."""
    for name, columns in tables.items():
        spark.createDataFrame([], ddl(columns)).createOrReplaceTempView(name)


def install_features(spark: SparkSession, views: Sequence[View]) -> None:
    """The feature views over the source tables the session has, as Spark SQL; Spark parses and analyses each."""
    for view in views:
        spark.sql(view.sql("spark")).createOrReplaceTempView(view.name)

"""A year's scores on Spark, as DuckDB gives them (assess.scoring.score): the same queries (the classifier's rows,
the index, the four criteria) rendered as Spark SQL, and the persisted skops model applied a partition at a time
(`mapInArrow`), never to the whole population on the driver.

The two population-wide quantities of a score's reasons are computed first as Spark aggregates: how many scored
firms fall in each slot of each feature's table (summed over partitions, whence the mean contribution) and each
feature's percentile among the scored firms (a window). Each partition then scores its firms with them
(`assess.scoring.batch`). The model's bytes go to the workers as a broadcast and are read with skops there, checked
against the same allow-list as on the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from assess.dialects import render
from assess.rules.packs import RuleSet
from assess.scoring import persist
from assess.scoring.batch import explain_batch, index_factors, mean_contribution, slot_counts
from assess.scoring.config import ClassifierConfig, Component, ScoringConfig
from assess.scoring.criteria import criteria_query
from assess.scoring.explainer import Explainer
from assess.scoring.index import index_query
from assess.scoring.queries import SCORE_COLUMNS, base_query
from assess.scoring.reasons import COMPONENT, FACTOR
from assess.scoring.train import Trained

if TYPE_CHECKING:
    import pyarrow as pa
    from polars._typing import PolarsDataType
    from pyspark import Broadcast
    from pyspark.sql import Column, DataFrame, SparkSession
    from sqlglot import exp

PERCENTILE = "percentile_"  # the column of a feature's percentile among the scored firms, before its name
# What the workers give: per scored firm (`batch.explain_batch`), per firm of the index (`batch.index_factors`).
EXPLAINED: dict[str, pl.DataType] = {
    "credit_code": pl.String(),
    "score": pl.Float64(),
    "factors": pl.List(FACTOR),
    "rd_intensity_needed": pl.Float64(),
}
NAMED: dict[str, pl.DataType] = {"credit_code": pl.String(), "index_factors": pl.List(COMPONENT)}


@dataclass(frozen=True)
class Model:
    """The persisted model as the workers receive it: its file's name and SHA-256 (checked on the driver), and its
    bytes as a broadcast."""

    file: str
    sha256: str
    data: Broadcast[bytes]

    def explainer(self) -> Explainer:
        """The model's explainer, read once per worker process."""
        if self.sha256 not in _EXPLAINERS:
            _EXPLAINERS[self.sha256] = Explainer.of(persist.loads(self.data.value, self.file))
        return _EXPLAINERS[self.sha256]


_EXPLAINERS: dict[str, Explainer] = {}


def score_year(
    spark: SparkSession, rules: RuleSet, config: ScoringConfig, year: int, trained: Trained, data: bytes | None
) -> DataFrame:
    """One row per firm with a filing in the year, the columns of `assess.scoring.score.score_year` (SCORE_COLUMNS),
    computed once and kept in the executors; `data` holds the bytes of the model file (None: the index stands in)."""
    from pyspark.sql import functions as F

    index = _sql(spark, index_query(config.index, year)).localCheckpoint()
    components = [c.component for c in config.index.components]
    named = index.mapInArrow(partial(_index_factors, components), _schema(NAMED))
    frame = (
        _sql(spark, base_query(config.classifier, year))
        .join(index.select("credit_code", "stage", "index"), "credit_code", "left")
        .join(_sql(spark, criteria_query(rules, config.classifier, year)), "credit_code", "left")
        .join(named, "credit_code", "left")
    )
    scored = frame.where("scored")
    if trained.model is None or trained.record is None or data is None:
        explained = scored.select(
            "credit_code",
            (F.col("index") / 100).alias("score"),
            F.lit(None).cast(_spark_type(EXPLAINED["factors"])).alias("factors"),
            F.lit(None).cast("double").alias("rd_intensity_needed"),
        )
        source = "index"
    else:
        record = trained.record
        model = Model(record.file, record.sha256, spark.sparkContext.broadcast(data))
        explained = _explain(spark, scored, trained.configured(config.classifier), model)
        source = "model"
    return (
        frame.join(explained, "credit_code", "left")
        .withColumn("score_source", F.when(F.col("scored"), F.lit(source)))
        .select(*SCORE_COLUMNS)
        .localCheckpoint()
    )


def _explain(spark: SparkSession, scored: DataFrame, config: ClassifierConfig, model: Model) -> DataFrame:
    """Per scored firm: score, factors and the R&D intensity it would need, a partition at a time."""
    names = config.feature_names
    features = scored.select("credit_code", *names).localCheckpoint()
    counted = (
        features.mapInArrow(partial(_count_slots, model, names), "feature INT, slot INT, firms BIGINT")
        .groupBy("feature", "slot")
        .sum("firms")
        .collect()
    )
    explainer = model.explainer()
    counts = [np.zeros(len(table), dtype=np.int64) for table in explainer.tables]
    for feature, slot, firms in counted:
        counts[feature][slot] = firms
    mean = mean_contribution(explainer, counts)
    ranked = features.select("*", *(_percentile(name).alias(PERCENTILE + name) for name in names))
    return ranked.mapInArrow(partial(_explained, model, config, mean), _schema(EXPLAINED))


def _percentile(name: str) -> Column:
    """Share of the other scored firms with a strictly lower value (percent_rank), 0-1; null where it is missing."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    column = F.col(name)
    return F.when(column.isNotNull(), F.percent_rank().over(Window.partitionBy(column.isNull()).orderBy(column)))


def _count_slots(model: Model, names: Sequence[str], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A partition's firms per slot of each feature's table (worker side)."""
    import pyarrow as pa

    explainer = model.explainer()
    totals = [np.zeros(len(table), dtype=np.int64) for table in explainer.tables]
    for batch in batches:
        matrix = _frame(batch).select(names).to_numpy().astype(np.float64)
        for total, found in zip(totals, slot_counts(explainer, matrix), strict=True):
            total += found
    features = [j for j, total in enumerate(totals) for _ in total]
    slots = [s for total in totals for s in range(len(total))]
    yield pa.RecordBatch.from_pydict(
        {"feature": features, "slot": slots, "firms": np.concatenate(totals).tolist()},
        schema=pa.schema([("feature", pa.int32()), ("slot", pa.int32()), ("firms", pa.int64())]),
    )


def _explained(
    model: Model, config: ClassifierConfig, mean: np.ndarray, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """A partition's scored firms with their score, factors and R&D lever (worker side)."""
    explainer = model.explainer()
    percentiles = [PERCENTILE + name for name in config.feature_names]
    for batch in batches:
        frame = _frame(batch)
        if frame.is_empty():
            continue
        found = explain_batch(
            frame, config, explainer, mean, frame.select(percentiles).to_numpy().astype(np.float64)
        ).with_columns(pl.col("rd_intensity_needed").fill_nan(None))
        yield from _batches(found)


def _index_factors(components: Sequence[Component], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A partition's firms with their index's largest components (worker side)."""
    for batch in batches:
        frame = _frame(batch)
        if not frame.is_empty():
            yield from _batches(index_factors(frame, components))


def _frame(batch: pa.RecordBatch) -> pl.DataFrame:
    found = pl.from_arrow(batch)
    assert isinstance(found, pl.DataFrame)
    return found


def _batches(frame: pl.DataFrame) -> Iterator[pa.RecordBatch]:
    """A result frame as the record batches Spark expects (Arrow's plain string and list types)."""
    import pyarrow as pa

    table = frame.to_arrow()
    wanted = pa.schema([(f.name, _plain(f.type)) for f in table.schema])
    yield from table.cast(wanted).to_batches()


def _plain(kind: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_plain(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([(f.name, _plain(f.type)) for f in kind])
    return kind


def _schema(columns: dict[str, pl.DataType]) -> str:
    """The Spark schema of a worker's output."""
    return ", ".join(f"{name} {_spark_type(kind)}" for name, kind in columns.items())


def _spark_type(kind: PolarsDataType) -> str:
    if isinstance(kind, pl.List):
        return f"ARRAY<{_spark_type(kind.inner)}>"
    if isinstance(kind, pl.Struct):
        return f"STRUCT<{', '.join(f'{f.name}: {_spark_type(f.dtype)}' for f in kind.fields)}>"
    return {"String": "STRING", "Float64": "DOUBLE"}[str(kind)]


def _sql(spark: SparkSession, query: exp.Expr) -> DataFrame:
    return spark.sql(render(query, "spark"))

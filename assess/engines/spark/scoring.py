"""A year's scores on Spark, as DuckDB gives them (assess.scoring.score): the same queries (the classifier's rows,
the index, the four criteria) rendered as Spark SQL, and the persisted skops model applied a partition at a time
(`mapInArrow`), never to the whole population on the driver.

The statistics of the scored firms a score's reasons are measured against (`assess.scoring.batch.Population`: per
feature, the firms on each entry of the model's table and their values in order) are gathered first, a partition at
a time, and merged on the driver (`Population.merged`); each partition then scores and explains its firms against
them (`batch.explain`), as DuckDB does a piece at a time. The model's bytes go to the workers as a broadcast and are
read with skops there, checked against the same allow-list as on the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from assess.dialects import render
from assess.rules.packs import RuleSet
from assess.scoring import batch, persist
from assess.scoring.config import ClassifierConfig, IndexConfig, ScoringConfig
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
    from pyspark.sql import DataFrame, SparkSession
    from sqlglot import exp

# What the workers give: per scored firm (`batch.explain`), per firm of the index (`batch.index_factors`), per
# partition (the statistics of its scored firms, `batch.Population`: firms, and per feature its counts and values).
EXPLAINED: dict[str, pl.DataType] = {
    "credit_code": pl.String(),
    "score": pl.Float64(),
    "factors": pl.List(FACTOR),
    "rd_intensity_needed": pl.Float64(),
}
NAMED: dict[str, pl.DataType] = {"credit_code": pl.String(), "index_factors": pl.List(COMPONENT)}
GATHERED: dict[str, pl.DataType] = {
    "size": pl.Int64(),
    "counts": pl.List(pl.List(pl.Int64())),
    "values": pl.List(pl.List(pl.Float64())),
}


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
    named = index.mapInArrow(partial(_index_factors, config.index), _schema(NAMED))
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
    gathered = pl.from_arrow(features.mapInArrow(partial(_gathered, model, names), _schema(GATHERED)).toArrow())
    assert isinstance(gathered, pl.DataFrame)
    explainer = model.explainer()
    parts = [
        batch.Population(
            size,
            tuple(found.to_numpy().astype(np.int64) for found in counts),
            tuple(found.to_numpy().astype(np.float64) for found in values),
        )
        for size, counts, values in zip(gathered["size"], gathered["counts"], gathered["values"], strict=True)
    ]
    population = batch.Population.merged(parts, names, explainer)
    shared = spark.sparkContext.broadcast(population)
    return features.mapInArrow(
        partial(_explained, model, config, shared, population.mean(explainer)), _schema(EXPLAINED)
    )


def _gathered(model: Model, names: list[str], batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The statistics of a partition's scored firms (worker side): one row, `GATHERED`."""
    population = batch.Population.of((_frame(found) for found in batches), names, model.explainer())
    yield from _batches(
        pl.DataFrame(
            {
                "size": [population.size],
                "counts": [[pl.Series(found, dtype=pl.Int64) for found in population.counts]],
                "values": [[pl.Series(found, dtype=pl.Float64) for found in population.values]],
            },
            schema=GATHERED,
        )
    )


def _explained(
    model: Model,
    config: ClassifierConfig,
    population: Broadcast[batch.Population],
    mean: np.ndarray,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """A partition's scored firms with their score, factors and R&D lever (worker side)."""
    explainer = model.explainer()
    for found in batches:
        frame = _frame(found)
        if frame.is_empty():
            continue
        explained = batch.explain(frame, config, explainer, population.value, mean)
        yield from _batches(explained.with_columns(pl.col("rd_intensity_needed").fill_nan(None)))


def _index_factors(config: IndexConfig, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A partition's firms with their index's largest components (worker side)."""
    for found in batches:
        frame = _frame(found)
        if not frame.is_empty():
            yield from _batches(frame.select("credit_code", batch.index_factors(frame, config)))


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
    return {"String": "STRING", "Float64": "DOUBLE", "Int64": "BIGINT"}[str(kind)]


def _sql(spark: SparkSession, query: exp.Expr) -> DataFrame:
    return spark.sql(render(query, "spark"))

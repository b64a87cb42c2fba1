"""A year's whole assessment on Spark, from a Parquet export (`assess export-parquet`) to a run folder
(`assess.run.folder`) that `assess import-run` keeps in a store: flags, rubric results, headline figures, scores with
their factors and the lists with their funnels, each made as on DuckDB (`assess.run.runs.execute`) from the same
queries rendered as Spark SQL, and a manifest of what the run read and computed with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assess.contract import Contract
from assess.engines.spark.assessment import assess_year, export_manifest, open_tables, rows
from assess.engines.spark.scoring import score_year
from assess.engines.spark.session import MASTER, SparkSettings
from assess.errors import InputError
from assess.progress import Progress, Steps
from assess.run import folder as run_folder
from assess.run.config import Config
from assess.run.headline import headline
from assess.run.runs import model_manifest, packages, rules_manifest, tiers_manifest, uploads_query
from assess.scoring.train import Trained, from_entry
from assess.store.batches import kept_frame
from assess.store.parquet import refuse_used
from assess.tiers.evaluate import draw_lists, flagged_by, gated_query

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCORES_VIEW = "run_scores"  # the scores the lists are drawn from, in the session


@dataclass(frozen=True)
class SparkRun:
    out: Path
    manifest: dict


@dataclass(frozen=True)
class Prepared:
    """A run's inputs, checked before Spark starts: the export (its files against their SHA-256), the year within
    it, its model, and the new or empty folder the run writes into."""

    export: Path
    exported: dict[str, Any]  # the export's manifest
    year: int
    trained: Trained
    model: bytes | None
    out: Path


def prepare(export: Path, year: int, config: Config, out: Path) -> Prepared:
    """Check what a run reads and where it writes, so that a wrong export, year, model or folder is refused without
    the cost of starting Spark."""
    exported = export_manifest(export)
    first, last = exported["years"]
    if not first <= year <= last:
        raise InputError(f"导出「{export}」只有 {first}—{last} 年度的数据，没有 {year} 年度：请重新导出。")
    trained, model = from_entry(exported.get("model"), export, config.scoring.classifier)
    refuse_used(out)  # made once Spark has started: a failed start leaves nothing in the way of the next try
    return Prepared(export, exported, year, trained, model, out)


def run_year(
    spark: SparkSession,
    settings: SparkSettings,
    prepared: Prepared,
    config: Config,
    contract: Contract,
    progress: Progress | None = None,
) -> SparkRun:
    """Assess the prepared year from its export into its folder."""
    export, exported, year, out = prepared.export, prepared.exported, prepared.year, prepared.out
    trained, model = prepared.trained, prepared.model
    step = Steps(progress, 5)
    step(f"{year} 年度：读取导出数据，计算特征")
    run_folder.new_folder(out)
    open_tables(spark, export, exported, config, contract, (year - 1, year))
    step(f"{year} 年度：标记规则与评分规则包")
    assessed = assess_year(spark, config, year)
    figures = headline(lambda tree: rows(spark, tree), year, config, contract)
    step(f"{year} 年度：三高一核心评分与创新能力指数")
    scores = score_year(spark, config.rules, config.scoring, year, trained, model)
    scores.createOrReplaceTempView(SCORES_VIEW)
    step(f"{year} 年度：培育清单")
    lists = draw_lists(
        config.tiers,
        flagged_by(assessed.flags.hits),
        lambda tier: kept_frame(rows(spark, gated_query(tier, year, SCORES_VIEW))),
    )
    step(f"{year} 年度：写出评估结果")
    scores.write.parquet(str(out / run_folder.SCORES))
    run_folder.write_results(out, assessed.flags, assessed.rubrics, lists, figures)
    read = rows(spark, uploads_query(year))["upload_id"].to_list()
    manifest = {
        "year": year,
        **rules_manifest(config),
        "uploads": read,
        "packages": packages("pyspark"),
        "scoring": {**config.scoring.manifest(), "model": model_manifest(trained)},
        "tiers": tiers_manifest(config.tiers),
        "engine": {"name": "spark", "version": spark.version, "settings": _settings(spark, settings)},
        "export": {"path": str(export.resolve()), **exported},
    }
    done = run_folder.finish(out, manifest)
    step.finish()
    return SparkRun(out, done)


def _settings(spark: SparkSession, settings: SparkSettings) -> dict:
    """The Spark settings the run computed with: the session's master and its value of each setting asked for."""
    conf = spark.sparkContext.getConf()
    return {MASTER: spark.sparkContext.master, **{key: conf.get(key) for key in settings.conf}}

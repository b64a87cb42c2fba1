"""The golden test: on the sample data, DuckDB (the reference) and Spark give the same assessment.

For every year, every flag (each flagged or undecided firm with its message and missing inputs, and every count) and
every rubric result (gates, points, score, verdict) of Spark reading the Parquet export. For one year, a whole run
made with `assess run --engine spark` and brought into the store with `assess import-run`, against `assess run` on
DuckDB, both read back as every reader reads a run: flags, counts, rubric results, every firm's score (to 1e-9) with
its factors and index components, the reasons rendered from them, every list entry (status, rank, position, value,
gates, what it lacks) and funnel, and the headline figures. A difference is named, first one first.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from assess.contract import load_contract
from assess.engines.spark.assessment import assess_year, open_export
from assess.errors import InputError
from assess.ingest import Options
from assess.resources import PACKAGED_RULES, SAMPLE_DIR
from assess.rules.engine import evaluate_rubric
from assess.run import runs
from assess.run.config import load_config
from assess.run.context import RunContext
from assess.store import Store
from assess.tiers.select import STATUS_TITLES
from tests.conftest import QUICK_MODEL, rule_folder

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

YEARS = range(2020, 2025)
RUN_YEAR = 2024
TOLERANCE = 1e-9  # for model scores, and the numbers of their factors
SCORE_COLUMNS = frozenset({"score", "factors", "value"})  # model scores and what they rest on: the same to TOLERANCE
runner = CliRunner()


def same(left: object, right: object) -> bool:
    """Equal, numbers to TOLERANCE, inside lists and structs too."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=0, abs_tol=TOLERANCE)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return left == right


def first_difference(
    what: str, duckdb: pl.DataFrame, spark: pl.DataFrame, key: list[str], close: frozenset[str] = frozenset()
) -> str | None:
    """Where the two results first differ (row by key, then column), or None where they are identical; the `close`
    columns are compared to TOLERANCE."""
    if duckdb.columns != spark.columns:
        return f"{what}: columns {duckdb.columns} (DuckDB) against {spark.columns} (Spark)"
    left = {tuple(row[k] for k in key): row for row in duckdb.to_dicts()}
    right = {tuple(row[k] for k in key): row for row in spark.to_dicts()}
    for found in sorted(left.keys() ^ right.keys(), key=str)[:1]:
        return f"{what}: {found} only on {'DuckDB' if found in left else 'Spark'}"
    for found in sorted(left, key=str):
        for column in duckdb.columns:
            a, b = left[found][column], right[found][column]
            if not (same(a, b) if column in close else a == b):
                return f"{what} {found}, {column}: {a!r} (DuckDB) != {b!r} (Spark)"
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


@dataclass(frozen=True)
class Both:
    """A store holding the year's run on DuckDB and the same year's run made on Spark and imported."""

    db: Path
    rules: Path
    out: Path  # the Spark run's folder
    duckdb: runs.Run
    spark: runs.Run


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Iterator[Both]:
    """The sample ingested, a model trained and the year run on DuckDB; then exported, run on Spark and imported,
    each through the command line as a user would."""
    folder = tmp_path_factory.mktemp("golden")
    db, rules = folder / "assess.duckdb", rule_folder(folder / "rules", QUICK_MODEL)
    with api.open_store(db) as store:
        api.ingest(store, [SAMPLE_DIR / "panel_2020-2024.xlsx", SAMPLE_DIR / "messy.xlsx"], Options())
        assert not api.train(store, rules).fallback
        on_duckdb = api.run_year(store, RUN_YEAR, rules).run
    conf = folder / "spark.yaml"
    conf.write_text("spark.sql.shuffle.partitions: 1\nspark.ui.enabled: false\n", encoding="utf-8")
    export, out = folder / "导出", folder / "结果"
    for args in (
        ["export-parquet", "--out", export, "--year", RUN_YEAR, "--db", db, "--rules", rules],
        ["run", "--engine", "spark", "--input", export, "--year", RUN_YEAR, "--out", out, "--rules", rules,
         "--master", "local[1]", "--spark-conf", conf],
        ["import-run", out, "--db", db, "--rules", rules],
    ):  # fmt: skip
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.stderr
    with api.open_store(db) as store:
        yield Both(db, rules, out, on_duckdb, runs.latest(store, RUN_YEAR))


def _read(store: Store, run: runs.Run, rules: Path) -> dict[str, tuple[pl.DataFrame, list[str]]]:
    """Everything a reader reads of a run (what -> the rows and their key), but its headline figures."""
    config = load_config(rules)
    found = {
        "flags": (runs.hits(store, run, unknown=True), ["rule_id", "credit_code"]),
        "counts": (runs.counts(store, run), ["rule_id", "level", "key"]),
        "scores": (runs.scores(store, run, scored_only=False, reasons=True), ["credit_code"]),
        "reasons": (api.run_scores(store, run, rules), ["credit_code"]),
    }
    for pack in config.rules.packs:
        if pack.rubric is not None:
            found[pack.id] = (runs.rubric(store, run, pack.id), ["credit_code"])
    statuses = tuple(status for status in STATUS_TITLES if status is not None)
    for tier in config.tiers:
        found[f"list {tier.id}"] = (runs.tier_results(store, run, tier.id, statuses), ["credit_code"])
        for city in [None, *dict.fromkeys(load_contract().cities.values())]:
            found[f"funnel {tier.id} {city or '全省'}"] = (runs.funnel(store, run, tier.id, city), ["step"])
    return found


def test_a_run_on_spark_is_identical_to_the_run_on_duckdb(both: Both) -> None:
    assert both.spark.run_id != both.duckdb.run_id and both.spark.manifest["engine"]["name"] == "spark"
    with api.open_store(both.db) as store:
        on_duckdb, on_spark = _read(store, both.duckdb, both.rules), _read(store, both.spark, both.rules)
        figures = (runs.figures(store, both.duckdb), runs.figures(store, both.spark))
        typed = [  # the rubric results' typed columns, which counts and explain read
            store.con.sql(
                f"SELECT pack_id, credit_code, verdict, missing FROM rubric_results WHERE run_id = {run.run_id:d}"
            ).pl()
            for run in (both.duckdb, both.spark)
        ]
    assert on_duckdb["scores"][0]["factors"].drop_nulls().len() > 100
    assert all(rows.height for rows, _ in on_duckdb.values()) and typed[0]["verdict"].is_not_null().any()
    differences = [
        first_difference(what, rows, on_spark[what][0], key, SCORE_COLUMNS) for what, (rows, key) in on_duckdb.items()
    ]
    differences.append(first_difference("rubric_results", typed[0], typed[1], ["pack_id", "credit_code"]))
    if figures[0] != figures[1]:
        differences.append(f"headline figures: {json.dumps(figures, ensure_ascii=False)[:2000]}")
    found = [d for d in differences if d is not None]
    assert not found, found[0]


def test_a_spark_run_imported_is_what_assess_lists_reads(both: Both) -> None:
    result = runner.invoke(app, ["lists", "--year", str(RUN_YEAR), "--db", str(both.db), "--rules", str(both.rules)])
    assert result.exit_code == 0, result.stderr
    assert f"第 {both.spark.run_id} 次评估" in result.stderr and "三高一核心" in result.stdout
    shown = runner.invoke(
        app, ["lists", "--year", str(RUN_YEAR), "--json", "--db", str(both.db), "--rules", str(both.rules)]
    )
    with api.open_store(both.db) as store:
        on_duckdb = {
            tier: runs.tier_results(store, both.duckdb, tier, ("selected",))["credit_code"].to_list()
            for tier in json.loads(shown.stdout)
        }
    assert {
        tier: [e["credit_code"] for e in entries] for tier, entries in json.loads(shown.stdout).items()
    } == on_duckdb
    assert any(on_duckdb.values())


def test_explain_the_workbook_and_the_report_read_an_imported_run(both: Both, tmp_path: Path) -> None:
    with api.open_store(both.db) as store:
        first = runs.tier_results(store, both.duckdb, "three_highs", ("selected",)).row(0, named=True)
        said = api.explain(store, first["credit_code"], RUN_YEAR, both.rules)
        workbook = api.export_workbooks(store, RUN_YEAR, tmp_path / "清单.xlsx", rules=both.rules)
        page = api.report(store, RUN_YEAR, tmp_path / "报告.html", rules=both.rules)
    assert said["run_id"] == both.spark.run_id and said["changes_since_run"] == []
    assert said["score"]["score"] == pytest.approx(first["score"], abs=TOLERANCE) and said["score"]["reasons"]
    assert workbook[0].stat().st_size > 0 and f"第 {both.spark.run_id} 次评估" in page.read_text(encoding="utf-8")


def test_a_run_folder_changed_after_it_was_written_is_refused(both: Both, tmp_path: Path) -> None:
    changed = tmp_path / "结果"
    shutil.copytree(both.out, changed)
    scores = sorted((changed / "scores").glob("*.parquet"))[0]
    scores.write_bytes(scores.read_bytes() + b"\0")
    result = runner.invoke(app, ["import-run", str(changed), "--db", str(both.db), "--rules", str(both.rules)])
    assert result.exit_code == 2 and "SHA-256 不符" in result.stderr
    with api.open_store(both.db) as store:
        assert runs.latest(store, RUN_YEAR).run_id == both.spark.run_id  # nothing imported


def test_a_spark_run_is_only_imported_into_the_store_its_data_came_from(both: Both, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    with api.open_store(other) as store:
        api.ingest(store, [SAMPLE_DIR / "panel_2020-2024.xlsx"], Options())
    result = runner.invoke(app, ["import-run", str(both.out), "--db", str(other), "--rules", str(both.rules)])
    assert result.exit_code == 1 and "上传批次" in result.stderr

"""Another engine's way in: the filings exported as Parquet for Spark, with the scoring model a run applies; Spark's
settings from a file or flags; and `--engine spark` on a machine without PySpark or without the folders it reads and
writes."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from assess.cli import app
from assess.engines.spark.session import DEFAULT_MASTER, QUIET, settings
from assess.errors import InputError, StoreError
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.scoring.train import from_entry
from assess.store.schema import SCHEMA_VERSION

runner = CliRunner()


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now fails as where it is not installed
    result = runner.invoke(app, ["run", "--engine", "spark", "--year", "2024", "--db", str(tmp_path / "a.duckdb")])
    assert result.exit_code == 1
    assert "需要 PySpark" in result.stderr and "pip install 'assess[spark]'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "a.duckdb").exists()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_filings_in_force_export_as_parquet_by_year_and_city_with_a_manifest(
    sample_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "导出"
    result = runner.invoke(app, ["export-parquet", "--out", str(out), "--year", "2023-2024", "--db", str(sample_store)])
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # The features of 2023 read three years back: the filings of 2020-2024 are written.
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert (manifest["years"], manifest["years_written"]) == ([2023, 2024], [2020, 2024])
    assert manifest["upload_ids"] == [1, 2]
    assert {f["path"] for f in manifest["files"]} == {p.relative_to(out).as_posix() for p in out.rglob("*.parquet")}
    assert all(_sha256(out / f["path"]) == f["sha256"] for f in manifest["files"])
    assert "filings/year=2024/city=济南/part-0.parquet" in {f["path"] for f in manifest["files"]}
    # Labels enough to train on, but no model trained: none exported, and the export says so (it never trains).
    assert manifest["model"] is None and "未导出模型" in result.stderr

    with duckdb.connect(str(sample_store), read_only=True) as store:
        stored = store.sql(
            "SELECT year, city, count(*), sum(revenue) FROM filings GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        supplements = store.sql("SELECT * FROM supplements ORDER BY ALL").fetchall()
        columns = [c[0] for c in store.sql("DESCRIBE filings").fetchall()]
    with duckdb.connect() as con:
        filings = f"read_parquet('{out}/filings/*/*/*.parquet', hive_partitioning = true)"
        back = con.sql(f"SELECT year, city, count(*), sum(revenue) FROM {filings} GROUP BY ALL ORDER BY ALL").fetchall()
        assert back == stored and len(back) == 5 * 16
        assert sorted(con.sql(f"SELECT * FROM {filings} LIMIT 0").columns) == sorted(columns)
        assert sum(f["rows"] for f in manifest["files"] if f["path"].startswith("filings/")) == sum(r[2] for r in back)
        extra = f"read_parquet('{out}/supplements/*/*.parquet', hive_partitioning = true)"
        order = ", ".join(f'"{c}"' for c in manifest["tables"]["supplements"]["columns"])
        assert supplements and con.sql(f"SELECT {order} FROM {extra} ORDER BY ALL").fetchall() == supplements


def test_an_export_never_mixes_with_an_earlier_one(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "导出"
    out.mkdir()
    (out / "旧文件.parquet").write_bytes(b"PAR1")
    result = runner.invoke(app, ["export-parquet", "--out", str(out), "--db", str(sample_store)])
    assert result.exit_code == 1 and "不是空文件夹" in result.stderr
    assert [p.name for p in out.iterdir()] == ["旧文件.parquet"]


def test_spark_settings_come_from_a_file_and_the_master_flag_overrides_it(tmp_path: Path) -> None:
    conf = tmp_path / "spark.yaml"
    conf.write_text("spark.master: spark://集群:7077\nspark.driver.memory: 4g\nspark.ui.enabled: false\n", "utf-8")
    found = settings(conf, None)
    assert found.master == "spark://集群:7077"
    assert found.conf == {**QUIET, "spark.driver.memory": "4g", "spark.ui.enabled": "false"}
    assert settings(conf, "local[2]").master == "local[2]" and settings(None, None).master == DEFAULT_MASTER
    conf.write_text("driver_memory: 4g\n", "utf-8")
    with pytest.raises(InputError, match=r"spark\.driver\.memory: 4g"):
        settings(conf, None)
    conf.write_text("spark.master: [local\n", "utf-8")
    with pytest.raises(InputError, match="YAML 格式有误"):
        settings(conf, None)


def test_a_spark_run_needs_the_folder_it_reads_and_the_one_it_writes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--engine", "spark", "--year", "2024", "--out", str(tmp_path / "结果")])
    assert result.exit_code == 2 and "--input" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("what", ["a year the export lacks", "a folder that is no export"])
def test_a_spark_run_of_a_wrong_export_is_refused_before_spark_starts(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """Starting Spark costs a JVM's start: what the run reads and where it writes are checked first."""
    from assess.engines.spark import session

    def started(*_: object) -> None:
        raise AssertionError("Spark started before the inputs were checked")

    monkeypatch.setattr(session, "start", started)
    export = tmp_path / "导出"
    if what == "a year the export lacks":
        args = ["export-parquet", "--out", str(export), "--year", "2023-2024", "--db", str(sample_store)]
        assert runner.invoke(app, args).exit_code == 0
    else:
        export.mkdir()
    out = tmp_path / "结果"
    result = runner.invoke(
        app, ["run", "--engine", "spark", "--year", "2022", "--input", str(export), "--out", str(out)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert ("没有 2022 年度" if what == "a year the export lacks" else "assess export-parquet") in result.stderr
    assert not out.exists()


def test_a_spark_that_fails_to_start_leaves_no_folder_in_the_way_of_the_next_try(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inputs pass (the export's model stood in for), then Spark cannot start (no Java, a wrong setting): the
    output folder is not made, so the same command runs once the cause is mended."""
    from assess.engines.spark import run, session
    from assess.scoring.train import Trained

    def stand_in(*_: object) -> tuple[Trained, None]:
        return Trained({}, None, None), None

    def failed(*_: object) -> None:
        raise InputError("无法启动 Spark：找不到 Java")

    monkeypatch.setattr(run, "from_entry", stand_in)
    monkeypatch.setattr(session, "start", failed)
    export, out = tmp_path / "导出", tmp_path / "结果"
    args = ["export-parquet", "--out", str(export), "--year", "2024", "--db", str(sample_store)]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(
        app, ["run", "--engine", "spark", "--year", "2024", "--input", str(export), "--out", str(out)]
    )
    assert result.exit_code == 2 and "找不到 Java" in result.stderr
    assert not out.exists()


def test_an_export_without_a_model_or_with_another_configurations_is_refused_before_spark_scores(
    tmp_path: Path,
) -> None:
    classifier = load_config(PACKAGED_RULES).scoring.classifier
    with pytest.raises(StoreError, match="请先运行 assess train"):
        from_entry(None, tmp_path, classifier)
    other: dict = {"config_sha256": "0" * 64, "report": {}, "record": None}
    with pytest.raises(StoreError, match="另一份评分配置"):
        from_entry(other, tmp_path, classifier)


def test_the_spark_options_without_engine_spark_are_refused_not_ignored(sample_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    result = runner.invoke(app, ["run", "--year", "2024", "--out", str(tmp_path / "结果"), "--db", str(db)])
    assert result.exit_code == 2 and "只用于 --engine spark" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists() and not (tmp_path / "结果").exists()


@pytest.mark.parametrize("manifest", [None, "{坏", "{}", "[]"])
def test_import_run_of_a_folder_no_spark_run_wrote_is_one_chinese_line(
    sample_store: Path, tmp_path: Path, manifest: str | None
) -> None:
    """An export folder (its manifest is not a run's), a manifest that is not JSON, or one without what a run's has:
    refused naming the command that writes run folders, and the store holds no run more."""
    folder = tmp_path / "导出"
    assert runner.invoke(app, ["export-parquet", "--out", str(folder), "--db", str(sample_store)]).exit_code == 0
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest, encoding="utf-8")
    with duckdb.connect(str(sample_store), read_only=True) as store:
        before = store.sql("SELECT count(*) FROM runs").fetchall()
    result = runner.invoke(app, ["import-run", str(folder), "--db", str(sample_store)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "请指定 assess run --engine spark 写出的文件夹" in result.stderr
    with duckdb.connect(str(sample_store), read_only=True) as store:
        assert store.sql("SELECT count(*) FROM runs").fetchall() == before

"""A run made on another engine (Spark), as a folder: its results as Parquet beside a manifest, and the import that
keeps it in a store as any other run, so that lists, export, explain and the report read it.

The folder holds `rule_hits.parquet` and `rule_counts.parquet` (the flags), `rubrics/<pack>.parquet` (one row per
firm and rubric pack), `scores/` (one row per firm, written by the engine that scored, a file per partition),
`tier_results.parquet` and `tier_funnels.parquet` (each row with its list's id), `figures.parquet` (one row: the
headline figures as JSON) and `manifest.json`, written last: the run's manifest with the SHA-256 of every file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from assess.errors import OutputError, StoreError, describe_os_error
from assess.rules.engine import FlagResult
from assess.run import runs
from assess.run.writer import staging
from assess.store import Store, file_sha256
from assess.store.parquet import MANIFEST, checked_manifest, empty_folder
from assess.store.schema import SCHEMA_VERSION
from assess.tiers.evaluate import Drawn

HITS, COUNTS = "rule_hits.parquet", "rule_counts.parquet"
RUBRICS, SCORES = "rubrics", "scores"  # folders
RESULTS, FUNNELS, FIGURES = "tier_results.parquet", "tier_funnels.parquet", "figures.parquet"


def new_folder(out: Path) -> None:
    """`out` made, or refused where it holds anything: a run's files never mix with another's."""
    empty_folder(out)
    try:
        (out / RUBRICS).mkdir()
    except OSError as exc:
        raise OutputError(f"无法创建文件夹「{out}」：{describe_os_error(exc)}。") from exc


def write_results(
    out: Path, flags: FlagResult, rubrics: dict[str, pl.DataFrame], lists: dict[str, Drawn], figures: dict
) -> None:
    """Every result but the scores (which the engine writes into `out / SCORES`)."""
    frames = {
        HITS: flags.hits,
        COUNTS: flags.counts,
        RESULTS: _with_list(lists, lambda drawn: drawn.results),
        FUNNELS: _with_list(lists, lambda drawn: drawn.funnel),
        FIGURES: pl.DataFrame({"figures": [json.dumps(figures, ensure_ascii=False)]}),
        **{f"{RUBRICS}/{pack}.parquet": frame for pack, frame in rubrics.items()},
    }
    try:
        for name, frame in frames.items():
            frame.write_parquet(out / name)
    except OSError as exc:
        raise OutputError(f"无法写入文件夹「{out}」：{describe_os_error(exc)}。") from exc


def _with_list(lists: dict[str, Drawn], part: Callable[[Drawn], pl.DataFrame]) -> pl.DataFrame:
    frames = [part(drawn).select(pl.lit(list_id).alias("list_id"), pl.all()) for list_id, drawn in lists.items()]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema={"list_id": pl.String})


def finish(out: Path, manifest: dict) -> dict:
    """The run's manifest with every Parquet file of the folder and its SHA-256, written last."""
    files = sorted(p for p in out.rglob("*.parquet") if not p.name.startswith((".", "_")))
    done = {**manifest, "files": [{"path": p.relative_to(out).as_posix(), "sha256": file_sha256(p)} for p in files]}
    try:
        (out / MANIFEST).write_text(json.dumps(done, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"无法写入文件夹「{out}」：{describe_os_error(exc)}。") from exc
    return done


def import_run(store: Store, folder: Path) -> runs.Run:
    """The run in `folder`, every file checked against its manifest, kept in the store as a run of its year. The
    store must hold the filings the run read (the same uploads in force), which explain and the report read beside
    its results."""
    manifest = _manifest(folder)
    year = int(manifest["year"])
    runs.require_year(store, year)
    held = runs.uploads(store, year)
    if held != manifest["uploads"]:
        raise StoreError(
            f"这次评估读的是上传批次 {_ids(manifest['uploads'])}，"
            f"库中 {year} 年度（及其前 {runs.HISTORY_YEARS} 年）的有效填报来自批次 "
            f"{_ids(held)}：两者不一致，请在导出这些数据的库中导入。"
        )
    files = [folder / f["path"] for f in manifest["files"]]
    results, funnels = pl.read_parquet(folder / RESULTS), pl.read_parquet(folder / FUNNELS)
    lists = {
        tier["id"]: Drawn(
            results.filter(pl.col("list_id") == tier["id"]).drop("list_id"),
            funnels.filter(pl.col("list_id") == tier["id"]).drop("list_id"),
        )
        for tier in manifest["tiers"]
    }
    figures = json.loads(pl.read_parquet(folder / FIGURES)["figures"][0])
    kept = {**manifest, "imported": {"from": str(folder.resolve()), "at": dt.datetime.now().isoformat()}}
    with staging(store) as staged:
        staged.flag_rows(FlagResult(pl.read_parquet(folder / HITS), pl.read_parquet(folder / COUNTS)))
        for path in files:
            if path.parent.name == RUBRICS:
                staged.rubric_rows(path.stem, pl.read_parquet(path))
        staged.scores(pl.read_parquet(path) for path in files if path.parent.name == SCORES)  # a partition at a time
        staged.lists(lists)
        created = dt.datetime.now()
        run_id = staged.keep(year, created, kept, figures)
    return runs.Run(run_id=run_id, year=year, created_at=created, manifest=kept)


def _manifest(folder: Path) -> dict:
    manifest = checked_manifest(folder, "assess run --engine spark", "评估结果文件", "重新评估", "export")
    version = manifest["export"]["schema_version"]
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"这次评估读的导出数据是第 {version} 版数据库结构，本程序是第 {SCHEMA_VERSION} 版："
            "请用同一版本重新导出、评估。"
        )
    return manifest


def _ids(ids: list[int]) -> str:
    return "、".join(map(str, ids)) or "（无）"

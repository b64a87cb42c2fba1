"""Assessment runs: evaluating every pack for one data year and keeping the result with its manifest.

A run records what it read and with what: the packs (versions and SHA-256), the population definitions and chain
mapping, the uploads whose filings were in force, and the package versions, so that any figure can be reproduced
and traced. A run is written in one transaction; `latest` is the newest run of a year.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

import polars as pl
import sqlglot
from sqlglot import exp

from assess.dialects import render
from assess.kernel.spec import Parameter
from assess.progress import Progress, Steps
from assess.rules.packs import TARGETS_FILE
from assess.run.config import Config
from assess.run.context import RunContext
from assess.run.headline import headline
from assess.run.writer import staging
from assess.scoring.config import CRITERIA
from assess.store import Store, StoreError
from assess.tiers.packs import LoadedTier

if TYPE_CHECKING:  # scikit-learn is imported by the runs that score, not by those that read results
    from assess.scoring.train import Trained

HISTORY_YEARS = 3  # the history features read years Y-3..Y (the three-year CAGR)
PACKAGES = ("assess", "polars", "duckdb", "sqlglot", "pydantic", "fastexcel", "openpyxl", "scikit-learn", "skops")


@dataclass(frozen=True)
class Run:
    run_id: int
    year: int
    created_at: dt.datetime
    manifest: dict


def manifest(ctx: RunContext) -> dict:
    """What a run reads: the rule folder (`rules_manifest`), the uploads in force and the package versions."""
    return {
        "year": ctx.year,
        **rules_manifest(ctx.config),
        "uploads": uploads(ctx.store, ctx.year),
        "packages": packages(),
    }


def uploads(store: Store, year: int) -> list[int]:
    """Every upload whose values a run of the year can read (`uploads_query`)."""
    return store.con.sql(render(uploads_query(year), "duckdb")).pl()["upload_id"].to_list()


def uploads_query(year: int) -> exp.Expr:
    """The uploads whose values a run of the year can read: the year's filings, and earlier years' (and their
    supplements) for the history features."""
    years = f"year BETWEEN {year - HISTORY_YEARS:d} AND {year:d}"
    return sqlglot.parse_one(
        f"SELECT upload_id FROM filings WHERE {years} UNION SELECT upload_id FROM supplements WHERE {years}"
        " ORDER BY upload_id",
        read="duckdb",
    )


def packages(*extra: str) -> dict[str, str]:
    """The versions of the packages a run computes with (and of `extra` ones, such as PySpark)."""
    return {name: metadata.version(name) for name in (*PACKAGES, *extra)}


def rules_manifest(config: Config) -> dict:
    """The rule folder a run used (path and SHA-256 of each file), each pack with its role and parameters, the
    population definitions and chain mapping."""
    folder = config.folder_manifest()
    return {
        "rules_folder": folder,
        "packs": [
            {
                "id": p.id,
                "title": p.pack.title,
                "version": p.pack.version,
                "file": p.path.name,
                "sha256": p.sha256,
                "role": p.pack.role,
                "rules": [rule.id for rule in p.rules],
                "parameters": recorded(p.pack.parameters),
            }
            for p in config.rules.packs
        ],
        "populations": {"file": config.rules.populations.path.name, "sha256": config.rules.populations.sha256},
        "chain_map": {"file": config.chain_map.name, "sha256": folder["files"].get(config.chain_map.name)},
        "size_classes": {"file": config.size_classes.name, "sha256": folder["files"].get(config.size_classes.name)},
        "targets": {"file": TARGETS_FILE, "sha256": folder["files"].get(TARGETS_FILE)},
    }


def recorded(parameters: dict[str, Parameter]) -> dict:
    """Parameter values as a manifest keeps them (JSON: a set of choices as a list)."""
    return {name: list(p.value) if isinstance(p.value, tuple) else p.value for name, p in parameters.items()}


def tiers_manifest(tiers: tuple[LoadedTier, ...]) -> list[dict]:
    """The tier packs as a run's manifest records them."""
    return [
        {
            "id": t.id,
            "version": t.pack.version,
            "file": f"tiers/{t.path.name}",
            "sha256": t.sha256,
            "parameters": recorded(t.pack.parameters),
        }
        for t in tiers
    ]


def require_year(store: Store, year: int) -> None:
    if not store.con.execute("SELECT count(*) FROM filings WHERE year = ?", [year]).fetchall()[0][0]:
        raise StoreError(f"数据库中没有 {year} 年度的有效填报：请先用 assess ingest 导入该年度的数据。")


def execute(ctx: RunContext, *, scoring: bool = True, progress: Progress | None = None) -> Run:
    """Evaluate every pack for the context's year; with `scoring`, score every firm (training the classifier first
    when none exists for the store's labels) and draw up the tier lists; persist the run. The run's rows are staged
    as they are evaluated and kept in one transaction at the end (`writer`)."""
    store, config, year = ctx.store, ctx.config, ctx.year
    require_year(store, year)
    rubric_packs = [p for p in config.rules.packs if p.rubric is not None]
    step = Steps(progress, 3 + len(rubric_packs) + (3 if scoring else 0))
    with staging(store) as staged:
        step(f"{year} 年度：标记规则")
        staged.flags(config.rules, year)
        for pack in rubric_packs:
            step(f"{year} 年度：{pack.pack.title}")
            staged.rubric(pack, year)
        step(f"{year} 年度：规划目标")
        figures = headline(ctx.rows, year, config, store.contract)
        manifest_ = manifest(ctx)
        if scoring:
            from assess.scoring.score import score_batches
            from assess.scoring.train import ensure_model

            step(f"{year} 年度：评分模型")
            trained = ensure_model(store, config.scoring.classifier)
            step(f"{year} 年度：三高一核心评分与创新能力指数")
            with closing(score_batches(store, config.rules, config.scoring, year, trained)) as pieces:
                staged.scores(pieces)
            manifest_["scoring"] = {**config.scoring.manifest(), "model": model_manifest(trained)}
            step(f"{year} 年度：培育清单")
            excluding = {rule for tier in config.tiers for e, _ in tier.exclusions for rule in e.flagged_by}
            staged.lists(ctx.draw_lists(staged.tables["scores"], staged.flagged(excluding)))
            manifest_["tiers"] = tiers_manifest(config.tiers)
        step(f"{year} 年度：保存评估结果")
        created = dt.datetime.now()
        run_id = staged.keep(year, created, manifest_, figures)
    step.finish()
    return Run(run_id=run_id, year=year, created_at=created, manifest=manifest_)


def model_manifest(trained: Trained) -> dict:
    """What a run's scores came from: the model file and its SHA-256, or the index fallback and why."""
    if trained.record is None:
        return {"fallback": True, "reason": trained.report["message"]}
    record = trained.record
    return {
        "fallback": False,
        "model_id": record.model_id,
        "file": record.file,
        "sha256": record.sha256,
        "labels_sha256": record.labels_sha256,
        "cv": record.report["cv"],
    }


def latest(store: Store, year: int) -> Run:
    found = store.con.execute(
        "SELECT run_id, year, created_at, manifest FROM runs WHERE year = ? ORDER BY run_id DESC LIMIT 1", [year]
    ).fetchall()
    if not found:
        raise StoreError(f"{year} 年度还没有评估结果：请先运行 assess run --year {year}。")
    run_id, year_, created, text = found[0]
    return Run(run_id=run_id, year=year_, created_at=created, manifest=json.loads(text))


def hits(
    store: Store, run: Run, rule_id: str | None = None, city: str | None = None, *, unknown: bool = False
) -> pl.DataFrame:
    """The firms a rule flagged (verdict true), or with `unknown` those it could not judge for a missing input
    (verdict null, `missing` naming the inputs); with both, all of them."""
    return store.con.sql(
        """
        SELECT rule_id, credit_code, name, year, city, direction, chain, message, verdict,
               coalesce(missing, []::VARCHAR[]) AS missing
        FROM rule_hits
        WHERE run_id = $run AND ($rule IS NULL OR rule_id = $rule) AND ($city IS NULL OR city = $city)
          AND (verdict OR (verdict IS NULL AND $unknown))
        ORDER BY rule_id, verdict IS NULL, city, credit_code
        """,
        params={"run": run.run_id, "rule": rule_id, "city": city, "unknown": unknown},
    ).pl()


def figures(store: Store, run: Run) -> dict | None:
    """The plan's headline figures the run kept (see run.headline); None for a run made before they were kept."""
    found = store.con.execute("SELECT figures FROM run_figures WHERE run_id = ?", [run.run_id]).fetchall()
    return json.loads(found[0][0]) if found else None


def counts(store: Store, run: Run) -> pl.DataFrame:
    return store.con.sql(
        "SELECT rule_id, year, level, key, population, hits, unknown FROM rule_counts WHERE run_id = $run",
        params={"run": run.run_id},
    ).pl()


def rubric(store: Store, run: Run, pack_id: str) -> pl.DataFrame:
    """A rubric pack's result for every firm of the run: the whole of each stored result, its columns typed as
    DuckDB reads them from the JSON of all the firms (empty for a pack the run did not have)."""
    where = "FROM rubric_results WHERE run_id = $run AND pack_id = $pack"
    params = {"run": run.run_id, "pack": pack_id}
    # The structure of all the results, merged from one result of each distinct structure (the aggregate over every
    # firm's would hold gigabytes for a million firms).
    [(found,)] = store.con.execute(
        f"""SELECT json_group_structure(result)
            FROM (SELECT any_value(result) AS result {where} GROUP BY json_structure(result))""",
        params,
    ).fetchall()
    if found is None:
        return pl.DataFrame()
    # JSON integers (the year) read as signed, as Python's would be
    structure = json.dumps({key: _signed(kind) for key, kind in json.loads(found).items()})
    frame = store.con.sql(
        f"SELECT unnest(json_transform(result, $structure)) {where}", params=params | {"structure": structure}
    ).pl()
    # Each column keeps its type even where every firm's value is unknown (a column of nulls has none).
    verdicts = pl.col("^(verdict|gates_passed|score_passed|fast_track|gate_.*|track_.*)$")
    typed = frame.with_columns(pl.col("^(score|points_.*)$").cast(pl.Float64), verdicts.cast(pl.Boolean))
    if "missing" not in typed.columns:  # a run saved before verdicts could be unknown: none open
        return typed.with_columns(missing=pl.lit([], dtype=pl.List(pl.String)))
    return typed.with_columns(pl.col("missing").cast(pl.List(pl.String)))


def _signed(kind: object) -> object:
    return "BIGINT" if kind == "UBIGINT" else kind


def rubric_open(store: Store, run: Run, pack_id: str) -> pl.DataFrame:
    """The firms whose verdict on a rubric pack the run left open (待补数据), with the inputs that were missing."""
    return store.con.sql(
        """SELECT credit_code, missing FROM rubric_results
           WHERE run_id = $run AND pack_id = $pack AND verdict IS NULL""",
        params={"run": run.run_id, "pack": pack_id},
    ).pl()


def rubric_counts(store: Store, run: Run) -> dict[str, dict]:
    """Per rubric pack of the run: its title (the id for runs that did not record titles), firms 符合 (passed),
    不符合 (failed) and 待补数据 (unknown)."""
    rows = store.con.execute(
        """
        SELECT pack_id, count(*) FILTER (WHERE verdict), count(*) FILTER (WHERE NOT verdict),
               count(*) FILTER (WHERE verdict IS NULL)
        FROM rubric_results WHERE run_id = ? GROUP BY pack_id ORDER BY pack_id
        """,
        [run.run_id],
    ).fetchall()
    titles = {p["id"]: p.get("title", p["id"]) for p in run.manifest.get("packs", [])}
    return {pack: {"title": titles.get(pack, pack), "passed": p, "failed": f, "unknown": u} for pack, p, f, u in rows}


# What the reasons of a stored score are rendered from (assess.scoring.reasons), with the sentences that runs stored
# before schema version 6 kept.
REASON_COLUMNS = ("factors", "index_factors", "reasons", "index_reasons")


def scores(store: Store, run: Run, *, scored_only: bool = True, reasons: bool = False) -> pl.DataFrame:
    """The run's scores, best first: the SMEs the classifier scores, or with `scored_only` False every firm; with
    `reasons`, what their reasons are rendered from (REASON_COLUMNS)."""
    left_out = ", ".join(["run_id", *([] if reasons else REASON_COLUMNS)])
    return store.con.sql(
        f"""SELECT * EXCLUDE ({left_out}) FROM scores WHERE run_id = $run AND (scored OR NOT $only)
            ORDER BY score DESC NULLS LAST, "index" DESC, credit_code""",
        params={"run": run.run_id, "only": scored_only},
    ).pl()


def tier_results(
    store: Store, run: Run, list_id: str, statuses: tuple[str, ...], *, reasons: bool = False
) -> pl.DataFrame:
    """A list of the run: its firms with the given statuses (selected, near, eligible, excluded, unknown), in list
    order, with their names, places, score, index and 三高一核心 sub-judgements; with `reasons`, what the reasons of
    their scores are rendered from (REASON_COLUMNS and the scores' other columns they read)."""
    rendered = ["scored", "score_source", "stage", "rd_intensity_needed", *REASON_COLUMNS] if reasons else []
    return store.con.sql(
        f"""
        SELECT t.status, t.rank, t.position, t.credit_code, s.name, s.city, s.chain, s.direction, t.value,
               s.score, s."index", s.rd_intensity, t.gates, t.lacks,
               {", ".join(f"s.{c}" for c in [*CRITERIA, *rendered])}
        FROM tier_results AS t JOIN scores AS s USING (run_id, credit_code)
        WHERE t.run_id = $run AND t.list_id = $list AND list_contains($statuses, t.status)
        ORDER BY t.status <> 'selected', t.rank, t.position, t.credit_code
        """,
        params={"run": run.run_id, "list": list_id, "statuses": list(statuses)},
    ).pl()


def funnel(store: Store, run: Run, list_id: str, city: str | None = None) -> pl.DataFrame:
    """A list's funnel in the run for the province or one city, in step order (step, kind, label, firms): a city
    without a firm that year has the province's steps at 0; empty for a run made before funnels were kept."""
    found = store.con.sql(
        """
        SELECT step, kind, label, firms FROM tier_funnels
        WHERE run_id = $run AND list_id = $list AND city IS NOT DISTINCT FROM $city ORDER BY step
        """,
        params={"run": run.run_id, "list": list_id, "city": city},
    ).pl()
    if found.is_empty() and city is not None:
        return funnel(store, run, list_id).with_columns(firms=pl.lit(0, pl.Int64))
    return found

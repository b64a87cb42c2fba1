"""Evaluating a tier pack for one run: gates and exclusions in SQL over the features and the run's scores (an
engine-neutral tree, `gated_query`, that DuckDB or Spark runs), then
ranking, quota and allocation (`select`), then the words a manager reads: the gates passed with their values and
what a near miss lacks (the reasons of its score or index are rendered from the run's scores where they are shown)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from assess import display
from assess.dialects import render
from assess.features import FEATURE_NAMES, view_for
from assess.kernel.messages import message
from assess.kernel.unknown import UNKNOWN as UNKNOWN_WORD
from assess.kernel.unknown import missing, to_fill_expr
from assess.scoring.config import CRITERIA
from assess.store.batches import Kept, kept
from assess.tiers.funnel import funnel
from assess.tiers.packs import CRITERION, RUN_COLUMNS, LoadedTier, drawing_order
from assess.tiers.select import (
    CHAIN_FULL,
    CLOSEST,
    EXCLUDED,
    NEAR,
    SELECTED,
    UNKNOWN,
    allocate,
    near_misses,
    rank_order,
)

# An open sub-judgement, as what to fill in: explain shows which of its data is missing.
CRITERIA_FILL = {
    CRITERION.format("rd_share"): "“研发投入占比高”所需的数据",
    CRITERION.format("growth"): "“复合增长率高”所需的数据（往年营业收入）",
    CRITERION.format("market_share"): "“市场占有率高”所需的数据",
    CRITERION.format("core_tech"): "“拥有核心硬科技”所需的数据",
}
RESULT_COLUMNS = ("credit_code", "status", "rank", "position", "value", "gates", "lacks")
TOP_REASONS = 3  # the reasons of its ranking value shown beside a firm on a list
CLOSEST_PER_CITY = 3  # firms kept per city that fail a gate but went furthest: a city with an empty list names them


@dataclass(frozen=True)
class Drawn:
    """A list as drawn: its results (RESULT_COLUMNS) and its funnel (funnel.COLUMNS)."""

    results: pl.DataFrame
    funnel: pl.DataFrame


def draw_lists(
    tiers: tuple[LoadedTier, ...],
    flagged: dict[str, set[str]],
    gated_of: Callable[[LoadedTier], AbstractContextManager[Kept]],
) -> dict[str, Drawn]:
    """Every tier's list, in the declared order, from `gated_of(tier)` (the rows `gated_query` gives on some engine,
    kept in DuckDB for as long as the list is drawn). The exclusions read which firms the flag rules flagged
    (`flagged`, by rule: `flagged_by`) and which the lists drawn before took (科技领军 before 科技小巨人: one firm, one
    tier)."""
    marked = Marked(flagged=flagged, selected={})
    drawn: dict[str, Drawn] = {}
    for tier in drawing_order(tiers):
        with gated_of(tier) as rows:
            drawn[tier.id] = draw(rows, tier, marked)
        selected = drawn[tier.id].results.filter(pl.col("status") == SELECTED)
        marked.selected[tier.id] = set(selected["credit_code"])
    return {tier.id: drawn[tier.id] for tier in tiers}


def flagged_by(hits: pl.DataFrame) -> dict[str, set[str]]:
    """The firms each flag rule flagged, from its hits (rule_id, credit_code, verdict)."""
    flagged: dict[str, set[str]] = {}
    for rule_id, code in hits.filter(pl.col("verdict")).select("rule_id", "credit_code").iter_rows():
        flagged.setdefault(rule_id, set()).add(code)
    return flagged


def draw(rows: Kept, tier: LoadedTier, marked: Marked) -> Drawn:
    """One row per firm on the list, near it, eligible for it or excluded from it (RESULT_COLUMNS), and the funnel
    from the year's firms to those selected. `rows` holds the rows of `gated_query` kept in DuckDB; `marked` the
    firms each flag rule flagged and each list drawn before this one selected. What the funnel and the choice of the
    closest firms read comes into memory for every firm, every column only for the firms no gate fails (and those
    just below the `near` gate), and for the closest firms chosen."""
    passed = pl.all_horizontal([pl.col(f"gate_{g.id}") for g in tier.gates])
    exclusion = _exclusion(tier, marked)
    excluded = pl.format("不列为候选：{}", exclusion)
    every = rows.read(", ".join(["rowid AS kept_row", "credit_code", "city", "value", *_decisions(tier)]))
    firms = rows.read(where=_may_be_listed(tier))
    eligible = firms.filter(passed & excluded.is_null())
    allocated = allocate(rank_order(eligible), tier.allocation)
    quota = tier.allocation.quota
    if quota:
        allocated = near_misses(allocated, math.ceil(float(tier.value("near_share")) * quota))
    lowest = cast(float | None, allocated.filter(pl.col("status") == SELECTED)["value"].min())  # a Float64 column
    listed = allocated.with_columns(lacks=_lacks(tier, lowest))
    frames = [listed]
    if tier.near_sql is not None and not quota:
        frames.append(_near_below_gate(firms, tier, excluded))
    frames.append(
        firms.filter((passed | passed.is_null()) & excluded.is_not_null()).with_columns(
            status=pl.lit(EXCLUDED),
            rank=pl.lit(None, pl.Int64),
            position=pl.lit(None, pl.UInt32),
            lacks=excluded,
        )
    )
    frames.append(
        firms.filter(passed.is_null() & excluded.is_null()).with_columns(
            status=pl.lit(UNKNOWN),
            rank=pl.lit(None, pl.Int64),
            position=pl.lit(None, pl.UInt32),
            lacks=_open_gates(tier),
        )
    )
    del firms
    taken = pl.concat([f.select("credit_code") for f in frames])["credit_code"]
    frames.append(_closest(rows.take(_closest_rows(every, taken, tier)), tier))
    results = pl.concat([_worded(f, tier) for f in frames], how="vertical_relaxed")
    return Drawn(results, funnel(every, tier, exclusion, results))


def _decisions(tier: LoadedTier) -> list[str]:
    """The columns of `gated` that decide where a firm stands: its gates and the compiled exclusions."""
    return [*(f"gate_{g.id}" for g in tier.gates), *(c for c in tier.exclusion_columns if c is not None)]


def _may_be_listed(tier: LoadedTier) -> str:
    """Over the columns of `gated`: the firms no gate fails, and those failing only the `near` gate but near it (a
    list without a quota names them)."""
    gates = [f"gate_{g.id}" for g in tier.gates]
    condition = f"({' AND '.join(gates) or 'true'}) IS DISTINCT FROM false"
    if tier.pack.near is None:
        return condition
    near = f"gate_{tier.pack.near.gate}"
    below = " AND ".join([*(g for g in gates if g != near), f"NOT {near}", "near_ok"])
    return f"{condition} OR coalesce({below}, false)"


def _closest_rows(every: pl.DataFrame, taken: pl.Series, tier: LoadedTier) -> list[int]:
    """Per city, the firms not `taken` by another status that passed the most gates in order (then the highest
    ranking value): the row ids (`kept_row`) of those `_closest` shows, in its order."""
    passed = [pl.col(f"gate_{g.id}").fill_null(False) for g in tier.gates]
    reached = pl.sum_horizontal([pl.all_horizontal(passed[: i + 1]).cast(pl.Int32) for i in range(len(passed))])
    return (
        every.filter(~pl.col("credit_code").is_in(taken.implode()) & pl.col("city").is_not_null())
        .with_columns(reached=reached if passed else pl.lit(0))
        .sort(["reached", "value", "credit_code"], descending=[True, True, False], nulls_last=True)
        .group_by("city", maintain_order=True)
        .head(CLOSEST_PER_CITY)["kept_row"]
        .to_list()
    )


def _closest(failed: pl.DataFrame, tier: LoadedTier) -> pl.DataFrame:
    """The firms `_closest_rows` chose, with the first gate each failed: what a city whose list is empty is shown
    instead."""
    passed = [pl.col(f"gate_{g.id}").fill_null(False) for g in tier.gates]
    first_failed = pl.lit(None, pl.String)
    for gate, ok in reversed(list(zip(tier.gates, passed, strict=True))):
        said = pl.format("未通过门槛“{}”：{}", pl.lit(gate.title), message(gate.message, failed.schema))
        first_failed = pl.when(~ok).then(said).otherwise(first_failed)
    return failed.with_columns(
        status=pl.lit(CLOSEST),
        rank=pl.lit(None, pl.Int64),
        position=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("city"),  # its place among its city's
        lacks=first_failed,
    )


def _open_gates(tier: LoadedTier) -> pl.Expr:
    """For a firm whose gates are open for missing inputs: which gates, and what to fill in."""
    said = [
        pl.when(pl.col(f"gate_{g.id}").is_null()).then(
            pl.format("门槛“{}”缺少数据，请补填{}", pl.lit(g.title), to_fill_expr(missing(g.inputs), CRITERIA_FILL))
        )
        for g in tier.gates
    ]
    return pl.format("{}：{}", pl.lit(UNKNOWN_WORD), pl.concat_list(said).list.drop_nulls().list.join("；"))


def gated_query(tier: LoadedTier, year: int, scores: str, credit_code: str | None = None) -> exp.Expr:
    """Every firm of the year (or one) with each gate's outcome (`gate_<id>`), the compiled exclusions, the ranking
    value and the columns the gate messages show; `scores` names the relation holding the run's scores (credit_code,
    score, index, the four criteria, rd_intensity_needed)."""
    gates = ", ".join(f"{g.sql} AS gate_{g.id}" for g in tier.gates)
    compiled = {c: sql for (_, sql), c in zip(tier.exclusion_sql, tier.exclusion_columns, strict=True) if c and sql}
    conditions = list(compiled.values())
    exclusions = "".join(f", {sql} AS {column}" for column, sql in compiled.items())
    near = f", {tier.near_sql} AS near_ok" if tier.near_sql else ""
    shown = [c for c in tier.columns if c not in RUN_COLUMNS]
    view = view_for([g.sql for g in tier.gates] + conditions + [tier.near_sql or ""] + shown)
    firm = "" if credit_code is None else f" AND f.credit_code = {exp.Literal.string(credit_code).sql()}"
    # A criterion named as a feature (market_share) is not taken from the scores under its own name: the column of
    # that name is the feature's value. Every sub-judgement's verdict is also `criterion_<name>`, which the gate on
    # the number of sub-judgements reads to say which of them are open.
    criteria = "".join(f", s.{c}" for c in CRITERIA if c not in FEATURE_NAMES)
    criteria += "".join(f", s.{c} AS {CRITERION.format(c)}" for c in CRITERIA)
    return sqlglot.parse_one(
        f"""
        WITH f AS (
            SELECT f.*, s.score AS three_highs_score, s."index" AS innovation_index,
                   {" + ".join(f"coalesce(s.{c}::INTEGER, 0)" for c in CRITERIA)} AS criteria_met,
                   {" + ".join(f"(s.{c} IS NULL)::INTEGER" for c in CRITERIA)} AS criteria_open{criteria},
                   s.rd_intensity_needed
            FROM {view} AS f LEFT JOIN {scores} AS s USING (credit_code)
            WHERE f.year = {year:d}{firm}
        )
        SELECT {tier.pack.rank_by} AS value, rd_intensity_needed,
               {", ".join(dict.fromkeys(["credit_code", "city", "chain", "rd_intensity", *CRITERIA, *tier.columns]))},
               {gates}{exclusions}{near}
        FROM f
        """,
        read="duckdb",
    )


def kept_gated(
    con: duckdb.DuckDBPyConnection, tier: LoadedTier, year: int, scores: str
) -> AbstractContextManager[Kept]:
    """The rows of `gated_query` for every firm of the year, kept on DuckDB (`assess.store.batches`)."""
    return kept(con, render(gated_query(tier, year, scores), "duckdb"))


def gated(
    con: duckdb.DuckDBPyConnection, tier: LoadedTier, year: int, scores: str, credit_code: str | None = None
) -> pl.DataFrame:
    """The rows of `gated_query` on DuckDB."""
    return con.sql(render(gated_query(tier, year, scores, credit_code), "duckdb")).pl()


@dataclass(frozen=True)
class Marked:
    """Firms marked before a list is drawn: by each flag rule of the run, and as selected on each list drawn."""

    flagged: dict[str, set[str]]  # rule id -> credit codes
    selected: dict[str, set[str]]  # list id -> credit codes


def _exclusion(tier: LoadedTier, marked: Marked) -> pl.Expr:
    """The title of the first exclusion that applies to a firm; null when none does."""
    hits = []
    for (exclusion, _), column in zip(tier.exclusion_sql, tier.exclusion_columns, strict=True):
        if column is not None:
            hit = pl.col(column)
        else:
            switched_on = exclusion.when is None or bool(tier.value(exclusion.when))
            sources = [marked.flagged.get(rule, set()) for rule in exclusion.flagged_by]
            sources += [marked.selected.get(other, set()) for other in exclusion.selected_on]
            codes = set().union(*sources) if switched_on else set()
            hit = pl.col("credit_code").is_in(sorted(codes))
        hits.append((exclusion.title, hit))
    reason = pl.lit(None, pl.String)
    for title, hit in reversed(hits):
        reason = pl.when(hit).then(pl.lit(title)).otherwise(reason)
    return reason


# How a near miss's `lacks` begins: the list's quota or its chain's cap is full, or a gate is missed.
QUOTA_FULL = "名额{}家已满"
CHAIN_CAP_FULL = "所在产业链已达名额上限{}家"
GATE_MISSED = "未达门槛“{}”"


def lack_kind(lacks: str) -> str:
    """What a near miss lacks, without its own figures (the report counts these): 名额已满, 所在产业链名额已满, or
    the gate it misses, read from the forms above."""
    if re.search(QUOTA_FULL.format(r"\d+"), lacks):
        return "名额已满"
    if re.search(CHAIN_CAP_FULL.format(r"\d+"), lacks):
        return "所在产业链名额已满"
    missed = re.match(GATE_MISSED.format(".+?"), lacks)
    return missed.group(0) if missed else lacks


def _lacks(tier: LoadedTier, lowest: float | None) -> pl.Expr:
    """For a near miss: its place, why it has no seat, and how far it is below the last seat."""
    quota = tier.allocation.quota
    why = (
        pl.when(pl.col("held_back") == CHAIN_FULL)
        .then(pl.lit(CHAIN_CAP_FULL.format(tier.allocation.chain_cap)))
        .otherwise(pl.lit(QUOTA_FULL.format(quota)))
    )
    gap = (
        pl.format(
            "；入选最低{}{}，本企业{}，差{}",
            pl.lit(tier.rank_title),
            pl.lit(_number(lowest)),
            _value_text(pl.col("value")),
            _value_text(pl.lit(lowest) - pl.col("value")),
        )
        if lowest is not None
        else pl.lit("")
    )
    return pl.when(pl.col("status") == NEAR).then(pl.format("符合全部门槛，排名第{}：{}{}", "position", why, gap))


def _near_below_gate(firms: pl.DataFrame, tier: LoadedTier, excluded: pl.Expr) -> pl.DataFrame:
    """For a list without a quota: firms passing every gate but `near.gate`, close enough to it."""
    assert tier.pack.near is not None
    others = [pl.col(f"gate_{g.id}") for g in tier.gates if g.id != tier.pack.near.gate]
    below = pl.all_horizontal(others) & ~pl.col(f"gate_{tier.pack.near.gate}") & pl.col("near_ok") & excluded.is_null()
    failed = next(g for g in tier.gates if g.id == tier.pack.near.gate)
    rows = rank_order(firms.filter(below))
    lever = pl.format(
        "；其他指标不变，研发投入强度提高到{}以上可达评分线",
        display.expr(pl.col("rd_intensity_needed"), display.PERCENT),
    )
    return rows.with_columns(
        status=pl.lit(NEAR),
        rank=pl.lit(None, pl.Int64),
        lacks=pl.format(GATE_MISSED.format("{}") + "：{}", pl.lit(failed.title), message(failed.message, rows.schema))
        + pl.when(pl.col("rd_intensity_needed").is_not_null() & pl.col("rd_intensity_needed").is_not_nan())
        .then(lever)
        .otherwise(pl.lit("")),
    )


def _worded(frame: pl.DataFrame, tier: LoadedTier) -> pl.DataFrame:
    """The gates passed, each with the firm's value."""
    gates = pl.concat_list([message(g.message, frame.schema) for g in tier.gates]).list.join("；")
    return frame.with_columns(
        gates=gates,
        rank=pl.col("rank").cast(pl.Int64),
        position=pl.col("position").cast(pl.Int64),
    ).select(RESULT_COLUMNS)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def _value_text(value: pl.Expr) -> pl.Expr:
    return value.round(3).cast(pl.String)

"""The innovation-capacity index: for every firm with a filing in the year, a 0-100 weighted sum of component
scores, the weights chosen by the firm's stage (rules/scoring/innovation_index.yaml). Computed in one query, an
engine-neutral tree (`index_query`) that DuckDB runs here and Spark runs in assess.engines.spark; each firm keeps its
stage, and each component its score (0-1) and points, so that the index explains itself."""

from __future__ import annotations

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from assess.dialects import render
from assess.features import view_for
from assess.scoring.config import IndexConfig


def index_query(config: IndexConfig, year: int) -> exp.Expr:
    """credit_code, stage, per component c `value_c` (its raw value), `score_c` (0-1) and `points_c`, and index."""
    components = config.components
    values = ", ".join(f"({c.value_sql}) AS value_{c.component.id}" for c in components)
    scores = ", ".join(
        f"{_score(c.component.id, c.component.scoring, c.component.peers)} AS score_{c.component.id}"
        for c in components
    )
    points = ", ".join(
        f"{_weight(c.component.weights)} * score_{c.component.id} AS points_{c.component.id}" for c in components
    )
    total = " + ".join(f"points_{c.component.id}" for c in components)
    kept = ", ".join(f"{kind}_{c.component.id}" for kind in ("value", "score", "points") for c in components)
    view = view_for([config.stage_sql, *(c.value_sql for c in components)])
    return sqlglot.parse_one(
        f"""
        WITH valued AS (
            SELECT credit_code, division, {config.stage_sql} AS stage, {values} FROM {view} WHERE year = {year:d}
        ),
        scored AS (SELECT *, {scores} FROM valued),
        pointed AS (SELECT *, {points} FROM scored)
        SELECT credit_code, stage, {kept}, {_rounded(total, 6)} AS "index" FROM pointed
        """,
        read="duckdb",
    )


def compute_index(con: duckdb.DuckDBPyConnection, config: IndexConfig, year: int) -> pl.DataFrame:
    """The rows of `index_query` on DuckDB."""
    return con.sql(render(index_query(config, year), "duckdb")).pl()


def _score(component: str, scoring: str, peers: str) -> str:
    value = f"value_{component}"
    if scoring == "direct":
        return f"least(greatest(coalesce(CAST({value} AS DOUBLE), 0), 0), 1)"
    partition = "division, " if peers == "division" else ""
    rank = f"percent_rank() OVER (PARTITION BY {partition}{value} IS NULL ORDER BY {value})"
    return f"CASE WHEN {value} IS NULL THEN 0 ELSE {_rounded(rank, 12)} END"


def _rounded(value: str, digits: int) -> str:
    """`value` (0 or more: weights and scores are, and below 10^6) to `digits` decimals: value times 10^digits in
    double arithmetic, then half up, which both engines compute alike. Their round() differ at the half (DuckDB
    rounds the double's exact binary value, Spark its shortest decimal), which made a firm's index differ by 10^-6
    between them; against DuckDB's round() this moves a value whose shortest decimal ends in a 5 just past the
    digits kept (12.3456785 is now 12.345679) by 10^-digits."""
    scale = 10**digits
    return f"(floor(({value}) * {scale} + 0.5) / {scale})"


def _weight(weights: dict[str, float]) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {weight}" for stage, weight in weights.items())
    return f"(CASE stage {whens} ELSE 0 END)"

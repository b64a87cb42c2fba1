"""The innovation-capacity index: for every firm with a filing in the year, a 0-100 weighted sum of component
scores, the weights chosen by the firm's stage (rules/scoring/innovation_index.yaml). Computed in one DuckDB query;
each firm keeps its stage, and each component its score (0-1) and points, so that the index explains itself."""

from __future__ import annotations

import duckdb
import polars as pl

from assess.features import view_for
from assess.scoring.config import IndexConfig


def compute_index(con: duckdb.DuckDBPyConnection, config: IndexConfig, year: int) -> pl.DataFrame:
    """credit_code, stage, index and, per component c, `value_c` (its raw value), `score_c` (0-1) and `points_c`."""
    return con.sql(index_sql(config), params={"year": year}).pl()


def index_sql(config: IndexConfig) -> str:
    """The query of `compute_index`, for the year given as the parameter `$year`."""
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
    view = view_for([config.stage_sql, *(c.value_sql for c in components)])
    return f"""
        WITH valued AS (
            SELECT credit_code, division, {config.stage_sql} AS stage, {values} FROM {view} WHERE year = $year
        ),
        scored AS (SELECT *, {scores} FROM valued),
        pointed AS (SELECT *, {points} FROM scored)
        SELECT * EXCLUDE (division), round({total}, 6) AS "index" FROM pointed
        """


def _score(component: str, scoring: str, peers: str) -> str:
    value = f"value_{component}"
    if scoring == "direct":
        return f"least(greatest(coalesce(CAST({value} AS DOUBLE), 0), 0), 1)"
    partition = "division, " if peers == "division" else ""
    return (
        f"CASE WHEN {value} IS NULL THEN 0 ELSE round(percent_rank() OVER "
        f"(PARTITION BY {partition}{value} IS NULL ORDER BY {value}), 12) END"
    )


def _weight(weights: dict[str, float]) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {weight}" for stage, weight in weights.items())
    return f"(CASE stage {whens} ELSE 0 END)"

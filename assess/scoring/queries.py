"""The rows a year's scoring starts from, as an engine-neutral tree that DuckDB or Spark runs: every firm with a
filing in the year, whether the classifier scores it, and the model's features."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from assess.features import view_for
from assess.scoring.batch import LEVER
from assess.scoring.config import CRITERIA, ClassifierConfig
from assess.scoring.train import feature_select

IDENTITY = ("credit_code", "name", "city", "direction", "chain")
# A year's scores, one row per firm with a filing (see `assess.scoring.score.score_year`).
SCORE_COLUMNS = (
    *IDENTITY,
    "scored",
    "score",
    "score_source",
    "index",
    "stage",
    *CRITERIA,
    "factors",
    "index_factors",
    "rd_intensity",
    "rd_intensity_needed",
)


def base_query(config: ClassifierConfig, year: int) -> exp.Expr:
    """Identity columns, `scored` (in the classifier's population), each feature as a double and the lever."""
    view = view_for([config.population_sql, *config.feature_names])
    lever = "" if LEVER in config.feature_names else f", CAST(f.{LEVER} AS DOUBLE) AS {LEVER}"
    return sqlglot.parse_one(
        f"""SELECT {", ".join(f"f.{c}" for c in IDENTITY)}, {config.population_sql} AS scored,
                   {feature_select(config)}{lever}
            FROM {view} AS f WHERE f.year = {year:d}""",
        read="duckdb",
    )

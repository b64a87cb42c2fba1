"""Industry codes outside the chain map: the firms of a year that fall in no chain direction, by industry code, so
that a province can see what its map leaves out and extend it."""

from __future__ import annotations

import polars as pl

from assess.chains import read_chain_map
from assess.reference import industry_names
from assess.run.context import RunContext


def unmapped_industries(ctx: RunContext) -> pl.DataFrame:
    """industry_code, industry_name, firms, declared_chain (of them, firms that declared a chain without a
    direction), excluded_by (the rationale of the map row that takes the code out, if one does); most firms first."""
    counts = ctx.con.sql(
        """
        SELECT industry_code, count(*) AS firms, count(chain) AS declared_chain
        FROM features_base WHERE year = $year AND direction IS NULL
        GROUP BY industry_code
        """,
        params={"year": ctx.year},
    ).pl()
    names = industry_names()
    exclusions = sorted(
        (row for row in read_chain_map(ctx.config.chain_map, ctx.store.contract) if row.excludes),
        key=lambda row: len(row.code),
    )

    def excluded_by(code: str | None) -> str | None:
        matches = [row.rationale for row in exclusions if code is not None and code.startswith(row.code)]
        return matches[-1] if matches else None

    return (
        counts.with_columns(
            industry_name=pl.col("industry_code").replace_strict(names, default=None, return_dtype=pl.String),
            excluded_by=pl.col("industry_code").map_elements(excluded_by, return_dtype=pl.String),
        )
        .select("industry_code", "industry_name", "firms", "declared_chain", "excluded_by")
        .sort(["firms", "industry_code"], descending=[True, False])
    )

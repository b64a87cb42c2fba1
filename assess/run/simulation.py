"""What-if comparisons for the cultivation lists: other thresholds, one evaluation, nothing saved.

The lists are drawn twice from a run's stored scores on the filings in force: with the packs as they are and with
changed parameters. Each list's firms are counted by status, for the province and for every city, so that an analyst
sees how many firms a changed gate or quota lets onto a list, and where.
"""

from __future__ import annotations

import polars as pl

from assess.run import runs
from assess.run.context import RunContext
from assess.tiers.select import CLOSEST

STATUS_ORDER = ("selected", "near", "eligible", "unknown", "excluded")
KEY = ["list_id", "city", "status"]


def compare_lists(run: runs.Run, before: RunContext, after: RunContext) -> pl.DataFrame:
    """The lists drawn from the run's stored scores with each context's packs. Columns: list_id, city (null for the
    province), status, before, after, change; in list order, the province first, then the cities; a status no firm
    has on either side is left out."""
    with before.stored_scores(run.run_id) as scores:
        cities = before.con.sql(f"SELECT credit_code, city FROM {scores}").pl()
        counted = [_counted(ctx, scores, cities) for ctx in (before, after)]
    order = {tier.id: i for i, tier in enumerate(before.config.tiers)}
    return (
        counted[0]
        .join(counted[1], on=KEY, how="full", coalesce=True, suffix="_after", nulls_equal=True)
        .select(
            *KEY,
            before=pl.col("len").fill_null(0).cast(pl.Int64),
            after=pl.col("len_after").fill_null(0).cast(pl.Int64),
        )
        .with_columns(change=pl.col("after") - pl.col("before"))
        .sort(
            pl.col("list_id").replace_strict(order, default=len(order)),
            pl.col("city").is_not_null(),
            "city",
            pl.col("status").replace_strict({s: i for i, s in enumerate(STATUS_ORDER)}, default=len(STATUS_ORDER)),
        )
    )


def _counted(ctx: RunContext, scores: str, cities: pl.DataFrame) -> pl.DataFrame:
    lists = ctx.draw_lists(scores)
    firms = pl.concat(
        [drawn.results.select("credit_code", "status", list_id=pl.lit(list_id)) for list_id, drawn in lists.items()]
    ).join(cities, on="credit_code", how="left")
    firms = firms.filter(pl.col("status") != CLOSEST)  # a reference for empty city lists, not a place on a list
    province = firms.group_by("list_id", "status").len().with_columns(city=pl.lit(None, dtype=pl.String))
    return pl.concat([province.select(*KEY, "len"), firms.group_by(KEY).len().select(*KEY, "len")])

"""Evaluating compiled packs against the features of one year, in DuckDB.

All flag rules of all packs are evaluated in one scan of the feature view; DuckDB returns only the flagged firms (and
those whose verdict is unknown for a missing input) and the counts by province, city, direction, chain and
city-and-chain. Rubrics are scored the same way, one query per pack. A verdict is true, false or null (待补数据): SQL's
three-valued logic decides, and each null verdict carries the inputs that were missing.

The queries are engine-neutral trees (`flag_queries`, `rubric_query`) and what is made of their rows is shared
(`flag_result`, `rubric_result`), so that another engine (assess.engines.spark) runs the same queries rendered in its
own dialect and gives the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from assess.dialects import render
from assess.features import view_for
from assess.kernel import expressions
from assess.kernel.messages import message
from assess.kernel.unknown import UNKNOWN, missing, missing_where, nothing, to_fill_expr
from assess.rules.packs import CompiledRule, LoadedPack, RuleSet

IDENTITY = ("credit_code", "name", "year", "city", "direction", "chain")


@dataclass(frozen=True)
class FlagResult:
    hits: pl.DataFrame  # rule_id, identity columns, message, verdict (true, or null: 待补数据), missing
    # rule_id, year, level (province/city/direction/chain/city_chain), key, population, hits, unknown
    counts: pl.DataFrame


def _year_sql(year: int | None) -> str:
    """The filter on the year: one year, or (None) every year in the store."""
    return "true" if year is None else f"year = {year:d}"


def flag_queries(rules: RuleSet, year: int | None) -> tuple[exp.Expr, exp.Expr]:
    """The two queries over the same rule columns: the flagged firms with what their messages need, and the counts
    (`year` None: every year)."""
    compiled = rules.flag_rules
    read = {c for rule in compiled for c in (*rule.columns, *rule.inputs)}
    message_columns = sorted(read - set(IDENTITY))
    booleans = ", ".join(
        f"{rule.population_sql} AS pop_{i}, {rule.population_sql} AND {rule.condition_sql} AS hit_{i}"
        for i, rule in enumerate(compiled)
    )
    view = view_for([r.population_sql + r.condition_sql for r in compiled])
    source = f"FROM {view} WHERE {_year_sql(year)}"
    flagged = f"""
        SELECT * FROM (SELECT {", ".join((*IDENTITY, *message_columns))}, {booleans} {source}) AS rows
        WHERE {" OR ".join(f"hit_{i} IS NOT false" for i in range(len(compiled))) or "false"}
        """
    counted = ", ".join(
        f"count_if(pop_{i}) AS pop_{i}, count_if(coalesce(hit_{i}, false)) AS hit_{i},"
        f" count_if(hit_{i} IS NULL) AS unknown_{i}"
        for i in range(len(compiled))
    )
    grouped = f"""
        SELECT year, city, direction, chain,
               GROUPING(city) AS no_city, GROUPING(direction) AS no_direction, GROUPING(chain) AS no_chain,
               {counted}
        FROM (SELECT year, city, direction, chain, {booleans} {source}) AS rows
        GROUP BY GROUPING SETS ((year), (year, city), (year, direction), (year, chain), (year, city, chain))
        """
    return sqlglot.parse_one(flagged, read="duckdb"), sqlglot.parse_one(grouped, read="duckdb")


def evaluate_flags(con: duckdb.DuckDBPyConnection, rules: RuleSet, year: int | None) -> FlagResult:
    """`year` None evaluates every year in the store; nothing row by row is materialised between the two queries."""
    flagged, grouped = flag_queries(rules, year)
    return flag_result(con.sql(render(flagged, "duckdb")).pl(), con.sql(render(grouped, "duckdb")).pl(), rules)


def flag_result(flagged: pl.DataFrame, grouped: pl.DataFrame, rules: RuleSet) -> FlagResult:
    """The rows of the two `flag_queries` made into the flagged firms with their messages, and the counts."""
    return FlagResult(hits=flag_hits(flagged, rules), counts=flag_counts(grouped, rules))


def flag_hits(flagged: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """One row per firm and rule it is flagged by, or that cannot judge it for a missing input (verdict null, with
    the inputs missing and what to fill in), in no particular order: readers sort. Row by row: any part of the
    flagged rows gives that part's hits."""
    compiled = rules.flag_rules
    frames = [
        flagged.filter(pl.col(f"hit_{i}").is_null() | pl.col(f"hit_{i}"))
        .select(
            pl.lit(rule.id).alias("rule_id"),
            *IDENTITY,
            message=message(rule.message, flagged.schema),
            verdict=pl.col(f"hit_{i}"),
            missing=missing_where(pl.col(f"hit_{i}").is_null(), rule.inputs),
        )
        .with_columns(
            message=pl.when(pl.col("verdict")).then("message").otherwise(unknown_message(rule.title, pl.col("missing")))
        )
        for i, rule in enumerate(compiled)
    ]
    return pl.concat(frames)


def unknown_message(title: str, names: pl.Expr) -> pl.Expr:
    """The sentence for a verdict that a missing input leaves open."""
    return pl.format("{}：无法判断“{}”，请补填{}", pl.lit(UNKNOWN), pl.lit(title), to_fill_expr(names))


CITY_CHAIN = "city_chain"  # the level of counts by city and chain
CITY_CHAIN_SEPARATOR = "/"  # neither a city's nor a chain's name holds one


def city_chain_key(city: str, chain: str) -> str:
    """The key of a count by city and chain."""
    return f"{city}{CITY_CHAIN_SEPARATOR}{chain}"


def flag_counts(grouped: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """The counts of the flags from the rows of the grouped query (see `FlagResult.counts`)."""
    compiled = rules.flag_rules
    level = (
        pl.when((pl.col("no_city") == 0) & (pl.col("no_chain") == 0))
        .then(pl.lit(CITY_CHAIN))
        .when(pl.col("no_city") == 0)
        .then(pl.lit("city"))
        .when(pl.col("no_direction") == 0)
        .then(pl.lit("direction"))
        .when(pl.col("no_chain") == 0)
        .then(pl.lit("chain"))
        .otherwise(pl.lit("province"))
    )
    frames = [
        grouped.select(
            rule_id=pl.lit(rule.id),
            year="year",
            level=level,
            key=pl.when(level == CITY_CHAIN)
            .then(pl.concat_str(["city", "chain"], separator=CITY_CHAIN_SEPARATOR))
            .otherwise(pl.coalesce("city", "direction", "chain")),
            population=pl.col(f"pop_{i}").cast(pl.Int64),
            hits=pl.col(f"hit_{i}").cast(pl.Int64),
            unknown=pl.col(f"unknown_{i}").cast(pl.Int64),
        )
        for i, rule in enumerate(compiled)
    ]
    # A firm outside every direction (or chain) has no direction (or chain) row to count in.
    outside = pl.col("level").is_in(["direction", "chain", CITY_CHAIN]) & pl.col("key").is_null()
    return pl.concat(frames).filter(~outside)


def rubric_query(loaded: LoadedPack, year: int | None) -> exp.Expr:
    """The query scoring a rubric: one row per firm with a filing that year (None: every year), each gate, the points
    per indicator, the score, the verdicts and the inputs the open gates read (`input_<column>`)."""
    rubric = loaded.rubric
    assert rubric is not None
    gates = [f"{g.sql} AS gate_{g.id}" for g in rubric.gates]
    points = [f"{i.points_sql} AS points_{i.id}" for i in rubric.indicators]
    tracks = [f"{t.sql} AS track_{t.id}" for t in rubric.fast_track]
    score = " + ".join(f"points_{i.id}" for i in rubric.indicators) or "0"
    maxima = {i.id: i.max_points for i in loaded.pack.indicators}
    bounds = ", ".join(
        f"coalesce(points_{i.id}, 0) AS points_{i.id}_low, "
        f"coalesce(points_{i.id}, {maxima[i.id]}) AS points_{i.id}_high"
        for i in rubric.indicators
    )
    bounds = bounds or "NULL AS no_bounds"
    score_low = " + ".join(f"points_{i.id}_low" for i in rubric.indicators) or "0"
    score_high = " + ".join(f"points_{i.id}_high" for i in rubric.indicators) or "0"
    all_gates = " AND ".join(f"gate_{g.id}" for g in rubric.gates) or "true"
    any_track = " OR ".join(f"track_{t.id}" for t in rubric.fast_track) or "false"
    conditions = [c.sql for c in (*rubric.gates, *rubric.fast_track)]
    view = view_for([*conditions, *(i.points_sql for i in rubric.indicators)])
    return sqlglot.parse_one(
        f"""
        WITH base AS (
            SELECT *, {", ".join((*gates, *points, *tracks)) or "NULL AS nothing"}
            FROM {view} WHERE {_year_sql(year)}
        ),
        bounded AS (SELECT *, {bounds} FROM base),
        scored AS (SELECT *, {score} AS score, {score_low} AS score_low, {score_high} AS score_high FROM bounded)
        SELECT {", ".join(IDENTITY)}, {", ".join(c.split(" AS ")[-1] for c in (*gates, *points, *tracks))},
               score, {all_gates} AS gates_passed, {rubric.passing_sql} AS score_passed, {any_track} AS fast_track,
               {all_gates} AND ({rubric.passing_sql} OR {any_track}) AS verdict
               {"".join(f", {c} AS input_{c}" for c in _rubric_inputs(loaded))}
        FROM scored ORDER BY city, credit_code
        """,
        read="duckdb",
    )


def _rubric_inputs(loaded: LoadedPack) -> list[str]:
    """The feature columns an open gate or an unknown indicator reads, beyond the identity columns."""
    rubric = loaded.rubric
    assert rubric is not None
    read = [*(c for g in rubric.gates for c in g.inputs), *(c for i in rubric.indicators for c in i.inputs)]
    return [c for c in dict.fromkeys(read) if c not in IDENTITY]


def evaluate_rubric(con: duckdb.DuckDBPyConnection, loaded: LoadedPack, year: int) -> pl.DataFrame:
    """One row per firm with a filing that year: each gate, the points per indicator, score, verdicts, and for a
    verdict left open by a missing input (null), the inputs of the open gates that were missing (`missing`)."""
    return rubric_result(con.sql(render(rubric_query(loaded, year), "duckdb")).pl(), loaded)


def rubric_result(frame: pl.DataFrame, loaded: LoadedPack) -> pl.DataFrame:
    """The rows of `rubric_query` with, for each open verdict, the inputs that were missing; row by row, so any part
    of the rows gives that part's results."""
    rubric = loaded.rubric
    assert rubric is not None
    inputs = _rubric_inputs(loaded)
    open_inputs = [
        missing_where(pl.col(f"gate_{g.id}").is_null(), [f"input_{c}" for c in g.inputs if c in inputs])
        for g in rubric.gates
    ]
    open_inputs.append(  # an unknown indicator that leaves the pass condition open
        missing_where(
            pl.col("score_passed").is_null(),
            [f"input_{c}" for i in rubric.indicators for c in i.inputs if c in inputs],
        )
    )
    found = (
        pl.concat_list(open_inputs).list.eval(pl.element().str.strip_prefix("input_")).list.unique(maintain_order=True)
    )
    return frame.with_columns(missing=pl.when(pl.col("verdict").is_null()).then(found).otherwise(nothing())).drop(
        f"input_{c}" for c in inputs
    )


def evaluate_rules(
    con: duckdb.DuckDBPyConnection, rules: tuple[CompiledRule, ...], year: int, firms: Sequence[str] | None = None
) -> pl.DataFrame:
    """Per firm with a filing that year (or those of `firms`, credit codes) and per rule r: `applies_r` (in the
    rule's population and scope), `holds_r` (flagged) and `message_r` (the rule's message, or its 'otherwise'
    message where it applies but does not hold). Explanations use this where the hit list alone would leave a firm's
    near misses unexplained."""
    columns = sorted({c for rule in rules for c in (*rule.columns, *rule.inputs)} - {"credit_code"})
    booleans = ", ".join(
        f"{rule.population_sql} AS applies_{i}, {rule.population_sql} AND {rule.condition_sql} AS holds_{i}"
        for i, rule in enumerate(rules)
    )
    view = view_for([r.population_sql + r.condition_sql for r in rules])
    frame = con.sql(
        f"SELECT credit_code, {', '.join(columns) + ', ' if columns else ''}{booleans} FROM {view} WHERE year = $year"
        " AND ($firms IS NULL OR list_contains($firms, credit_code))",
        params={"year": year, "firms": None if firms is None else list(firms)},
    ).pl()
    outputs = [pl.col("credit_code")]
    for i, rule in enumerate(rules):
        short = rule.id.split(".", 1)[1]
        said = message(rule.message, frame.schema)
        otherwise = message(rule.otherwise, frame.schema) if rule.otherwise is not None else pl.lit(None, pl.String)
        outputs += [
            pl.col(f"applies_{i}").alias(f"applies_{short}"),
            pl.col(f"holds_{i}").alias(f"holds_{short}"),
            pl.when(pl.col(f"holds_{i}"))
            .then(said)
            .when(pl.col(f"applies_{i}") & pl.col(f"holds_{i}").is_null())
            .then(unknown_message(rule.title, missing(rule.inputs)))
            .when(pl.col(f"applies_{i}"))
            .then(otherwise)
            .alias(f"message_{short}"),
            missing_where(pl.col(f"applies_{i}") & pl.col(f"holds_{i}").is_null(), rule.inputs).alias(
                f"missing_{short}"
            ),
        ]
    return frame.select(outputs)


def outside(
    con: duckdb.DuckDBPyConnection, rules: tuple[CompiledRule, ...], year: int, credit_code: str
) -> dict[str, list[str]]:
    """Per rule that does not apply to the firm in that year, why: each population or scope it falls outside of."""
    parts = [(rule.id, said, expressions.to_sql(tree)) for rule in rules for said, tree in rule.parts]
    if not parts:
        return {}
    view = view_for([sql for _, _, sql in parts])
    selected = ", ".join(f"{sql} AS part_{i}" for i, (_, _, sql) in enumerate(parts))
    rows = con.execute(
        f"SELECT {selected} FROM {view} WHERE year = ? AND credit_code = ?", [year, credit_code]
    ).fetchall()
    if not rows:
        return {}
    found: dict[str, list[str]] = {}
    for (rule_id, said, _), inside in zip(parts, rows[0], strict=True):
        if not inside:
            found.setdefault(rule_id, []).append(said)
    return found

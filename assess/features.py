"""Features: the per-firm, per-year columns that rules, rubrics, scores and the index read, as SQL views.

Three views, each a superset of the one before, so that a query reads only as far as it needs:
`features_base` (the firm's own filing of the year), `features_history` (adds its earlier years) and `features`
(adds comparisons with its peers of the same year). Every column is defined, with its Chinese name, in
`schemas/features.yaml`; the SQL below is the one place that computes them. Reference data (industry sections, the
chain mapping) is loaded into temporary tables of the connection from `schemas/` and `rules/`, so a change to those
files takes effect at the next run without touching the stored filings. No policy threshold lives here.

The SQL is written once and compiled, like the packs, to engine-neutral sqlglot trees (`feature_views`), qualified
against the known schema of the filings, the supplements and the reference tables (stars expanded, every column
bound to its table); `install` renders them as DuckDB views, and the same trees render as Spark SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from assess.chains import read_chain_map
from assess.contract import Contract
from assess.dialects import Dialect, render
from assess.reference import Reference
from assess.resources import SCHEMAS_DIR, read_yaml
from assess.sizes import read_size_table, size_class_sql
from assess.store.schema import source_columns

FEATURES_FILE = SCHEMAS_DIR / "features.yaml"
LEADER, LITTLE_GIANT = "科技领军", "科技小巨人"  # designations (the contract's choices) the tier exclusions read
HISTORY_YEARS = 3  # the features of a year read the filings (and supplements) of up to this many years before it

Level = Literal["base", "history", "peer"]
VIEWS: dict[Level, str] = {"base": "features_base", "history": "features_history", "peer": "features"}
_ORDER: tuple[Level, ...] = ("base", "history", "peer")


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    title: str  # Chinese, for messages and documentation
    unit: str | None = None
    level: Level = "base"
    definition: str | None = None
    labels: str | None = None  # a rank's choice field: the rank is shown as the choice (国家级, ...)
    fill: str | None = None  # for a computed value: the filed fields to fill in when it is missing

    @property
    def to_fill(self) -> str:
        """What a firm must fill in when this value is missing."""
        return self.fill or self.title

    @property
    def history(self) -> bool:
        return self.level != "base"


def _load() -> tuple[FeatureSpec, ...]:
    return tuple(FeatureSpec(**item) for item in read_yaml(FEATURES_FILE)["features"])


FEATURES: tuple[FeatureSpec, ...] = _load()
FEATURE_NAMES = frozenset(f.name for f in FEATURES)
BY_NAME = {f.name: f for f in FEATURES}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def view_for(sql_fragments: Iterable[str]) -> str:
    """The lightest view that has every feature the SQL fragments name."""
    named = {word for text in sql_fragments for word in _WORD.findall(text)}
    levels = {BY_NAME[name].level for name in named if name in BY_NAME}
    return VIEWS[max(levels, key=_ORDER.index, default="base")]


# The reference tables the feature views read, with their columns (DuckDB types).
REFERENCE_COLUMNS: dict[str, dict[str, str]] = {
    "industry_codes": {"code": "VARCHAR", "section": "VARCHAR"},
    "chain_map": {"code": "VARCHAR", "direction": "VARCHAR", "chain": "VARCHAR", "ord": "BIGINT"},
    "chain_directions": {"direction": "VARCHAR", "chain": "VARCHAR"},
}


@dataclass(frozen=True)
class View:
    """One feature view: its name and its qualified, engine-neutral SELECT."""

    name: str
    tree: exp.Expr

    def sql(self, dialect: Dialect) -> str:
        return render(self.tree, dialect)


def reference_tables(contract: Contract, reference: Reference, chain_map: Path) -> dict[str, pl.DataFrame]:
    """The rows of each reference table: industry sections, the rule folder's chain map, the plan's directions."""
    directions = [(d, chain) for chain, ds in contract.chains.items() for d in ds]
    return {
        "industry_codes": pl.DataFrame(
            {"code": list(reference.industry_sections), "section": list(reference.industry_sections.values())}
        ),
        "chain_map": pl.DataFrame(
            [(r.code, r.direction, r.chain, i) for i, r in enumerate(read_chain_map(chain_map, contract))],
            schema={"code": pl.String, "direction": pl.String, "chain": pl.String, "ord": pl.Int64},
            orient="row",
        ),
        "chain_directions": pl.DataFrame(directions, schema=["direction", "chain"], orient="row"),
    }


def feature_views(contract: Contract, reference: Reference, size_classes: Path) -> tuple[View, ...]:
    """The feature views in the order they build on each other, each qualified against the tables before it."""
    schema: dict[str, object] = {**source_columns(contract), **REFERENCE_COLUMNS}
    filled = {
        "institution_rank": _rank_sql(contract, "rd_institution"),
        "award_rank": _rank_sql(contract, "award_level"),
        "leader": _designation(contract, LEADER),
        "little_giant": _designation(contract, LITTLE_GIANT),
        "size_class": size_class_sql(read_size_table(size_classes, reference), "p", "i.section"),
        "history_years": HISTORY_YEARS,
    }
    views = []
    for name, text in _VIEWS:
        tree = qualify(
            sqlglot.parse_one(text.format(**filled), read="duckdb"),
            schema=schema,
            dialect="duckdb",
            identify=False,
            quote_identifiers=False,
        )
        assert isinstance(tree, exp.Query)
        schema[name] = {column: "UNKNOWN" for column in tree.named_selects}
        views.append(View(name, tree))
    return tuple(views)


def install(
    con: duckdb.DuckDBPyConnection, contract: Contract, reference: Reference, chain_map: Path, size_classes: Path
) -> None:
    """Create the reference tables and the `features` view on this connection; `chain_map` is the rule folder's
    mapping of industry codes to chain directions, `size_classes` its table of size bands by sector."""
    for name, frame in reference_tables(contract, reference, chain_map).items():
        con.register(f"{name}_src", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_src")
        con.unregister(f"{name}_src")
    for view in feature_views(contract, reference, size_classes):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view.name} AS {view.sql('duckdb')}")


def _designation(contract: Contract, title: str) -> str:
    """A title of the contract's designation choices, as an SQL string literal (refused if the contract lacks it)."""
    if title not in contract.field("designation").choices:
        raise ValueError(f"填报合同的“已获称号”选项中没有「{title}」。")
    return "'" + title + "'"


def _rank_sql(contract: Contract, field: str) -> str:
    """A choice field as its position among the contract's choices, from 0 (the first, 无)."""
    choices = enumerate(contract.field(field).choices)
    whens = " ".join(f"WHEN {exp.Literal.string(label).sql()} THEN {i}" for i, label in choices)
    return f"CASE p.{field} {whens} END"


# Ratios are rounded to 12 places: a firm at exactly 3.000% must not fall one floating-point step below a 3% band.
# Multi-year sums take only the years that have both R&D and revenue, so that the two sums cover the same years.
# The most specific matching code wins (class over group over division); the file's order breaks remaining ties.
# Growth rates need a positive base and a positive current value; percent_rank ranks only the peers with a value.
_VIEWS: tuple[tuple[str, str], ...] = (
    (
        "industry_directions",
        """
SELECT industry_code, direction, chain FROM (
    SELECT DISTINCT f.industry_code, m.direction, m.chain, length(m.code) AS specificity, m.ord
    FROM (SELECT DISTINCT industry_code FROM filings) AS f
    JOIN chain_map AS m ON starts_with(f.industry_code, m.code)
)
QUALIFY row_number() OVER (PARTITION BY industry_code ORDER BY specificity DESC, ord) = 1
""",
    ),
    (
        "money_history",
        """
SELECT credit_code, year,
       coalesce(f.revenue, s.revenue) AS revenue,
       coalesce(f.rd_expense, s.rd_expense) AS rd_expense,
       coalesce(f.net_assets, s.net_assets) AS net_assets
FROM (SELECT credit_code, year, revenue, rd_expense, net_assets FROM filings) AS f
FULL JOIN (
    SELECT credit_code, year,
           max(value) FILTER (WHERE field = 'revenue') AS revenue,
           max(value) FILTER (WHERE field = 'rd_expense') AS rd_expense,
           max(value) FILTER (WHERE field = 'net_assets') AS net_assets
    FROM supplements GROUP BY credit_code, year
) AS s USING (credit_code, year)
""",
    ),
    (
        "features_base",
        """
WITH declared AS (
    SELECT f.*,
           d.direction AS declared_direction,
           coalesce(d.chain, k.chain) AS declared_chain
    FROM filings AS f
    LEFT JOIN chain_directions AS d ON d.direction = f.chain
    LEFT JOIN (SELECT DISTINCT chain FROM chain_directions) AS k ON k.chain = f.chain
),
placed AS (
    SELECT f.* EXCLUDE (chain),
           coalesce(f.declared_direction,
                    CASE WHEN f.declared_chain IS NULL OR m.chain = f.declared_chain THEN m.direction END)
               AS direction,
           coalesce(f.declared_chain, m.chain) AS chain
    FROM declared AS f LEFT JOIN industry_directions AS m USING (industry_code)
)
SELECT
    p.credit_code, p.name, p.year, p.city, p.county, p.industry_code,
    i.section, left(p.industry_code, 2) AS division, p.direction, p.chain, p.chain IS NOT NULL AS in_chain,
    {size_class} AS size_class,
    p.above_scale, p.revenue, p.main_revenue, p.rd_expense, p.rd_internal_expenditure,
    CASE WHEN p.rd_internal_expenditure IS NOT NULL THEN '统计口径：R&D经费内部支出、R&D人员'
         ELSE '会计口径：研发费用' END AS rd_activity_basis,
    coalesce(p.rd_internal_expenditure, p.rd_expense) AS rd_spending,
    p.total_cost, p.total_assets, p.total_liabilities,
    p.net_assets, p.hitech_revenue, p.employees, p.rd_staff, p.tech_staff, p.rd_institution,
    {institution_rank} AS rd_institution_rank,
    p.rd_institution <> '无' AS has_rd_institution,
    p.invention_patents, p.class2_ip,
    round((p.invention_patents + p.class2_ip) * 100.0 / nullif(p.employees, 0), 12) AS ip_per_100_staff,
    p.standards_led, p.award_level, {award_rank} AS award_rank,
    p.market_share, p.is_hte, p.is_tech_sme,
    coalesce(list_contains(p.designation, {leader}), false) AS designated_leader,
    coalesce(list_contains(p.designation, {little_giant}), false) AS designated_little_giant,
    year(p.founded) AS founded_year, p.year - year(p.founded) AS firm_age,
    round(CAST(p.rd_expense AS DOUBLE) / nullif(p.revenue, 0), 12) AS rd_intensity,
    round(CAST(p.rd_expense AS DOUBLE) / nullif(p.total_cost, 0), 12) AS rd_cost_share,
    round(CAST(p.tech_staff AS DOUBLE) / nullif(p.employees, 0), 12) AS tech_staff_share,
    round(CAST(p.rd_staff AS DOUBLE) / nullif(p.employees, 0), 12) AS rd_staff_share,
    round(CAST(p.hitech_revenue AS DOUBLE) / nullif(p.revenue, 0), 12) AS hitech_share
FROM placed AS p
LEFT JOIN industry_codes AS i ON i.code = p.industry_code
""",
    ),
    (
        "features_history",
        """
WITH history AS (
    SELECT h.credit_code, h.year,
           sum(p.rd_expense) FILTER (WHERE p.year >= h.year - 2 AND p.revenue IS NOT NULL
                                     AND p.rd_expense IS NOT NULL) AS rd_3y,
           sum(p.revenue) FILTER (WHERE p.year >= h.year - 2 AND p.revenue IS NOT NULL
                                  AND p.rd_expense IS NOT NULL) AS revenue_3y,
           sum(p.rd_expense) FILTER (WHERE p.year >= h.year - 1 AND p.revenue IS NOT NULL
                                     AND p.rd_expense IS NOT NULL) AS rd_2y,
           sum(p.revenue) FILTER (WHERE p.year >= h.year - 1 AND p.revenue IS NOT NULL
                                  AND p.rd_expense IS NOT NULL) AS revenue_2y,
           max(p.rd_expense) FILTER (WHERE p.year = h.year - 1) AS rd_prev1,
           max(p.revenue) FILTER (WHERE p.year = h.year - 1) AS revenue_prev1,
           max(p.revenue) FILTER (WHERE p.year = h.year - 2) AS revenue_prev2,
           max(p.revenue) FILTER (WHERE p.year = h.year - 3) AS revenue_prev3,
           max(p.net_assets) FILTER (WHERE p.year = h.year - 1) AS net_assets_prev1,
           max(p.net_assets) FILTER (WHERE p.year = h.year - 2) AS net_assets_prev2
    FROM (SELECT credit_code, year FROM filings) AS h
    JOIN money_history AS p ON p.credit_code = h.credit_code AND p.year BETWEEN h.year - {history_years} AND h.year
    GROUP BY h.credit_code, h.year
)
SELECT
    p.*,
    round(CAST(h.rd_prev1 AS DOUBLE) / nullif(h.revenue_prev1, 0), 12) AS rd_intensity_prev,
    round(CAST(h.rd_2y AS DOUBLE) / nullif(h.revenue_2y, 0), 12) AS rd_intensity_2y,
    h.rd_3y, h.revenue_3y,
    round(CAST(h.rd_3y AS DOUBLE) / nullif(h.revenue_3y, 0), 12) AS rd_3y_intensity,
    round(CAST(p.rd_expense AS DOUBLE) / nullif(h.rd_prev1, 0) - 1, 12) AS rd_growth,
    (CAST(h.revenue_prev1 AS DOUBLE) / nullif(h.revenue_prev2, 0)
        + CAST(p.revenue AS DOUBLE) / nullif(h.revenue_prev1, 0)) / 2 - 1 AS revenue_growth_3y,
    (CAST(h.net_assets_prev1 AS DOUBLE) / nullif(h.net_assets_prev2, 0)
        + CAST(p.net_assets AS DOUBLE) / nullif(h.net_assets_prev1, 0)) / 2 - 1 AS net_assets_growth_3y,
    CASE WHEN h.revenue_prev2 > 0 AND p.revenue > 0
         THEN round(pow(CAST(p.revenue AS DOUBLE) / h.revenue_prev2, 1 / 2) - 1, 12) END AS revenue_cagr_2y,
    CASE WHEN h.revenue_prev3 IS NOT NULL
         THEN CASE WHEN h.revenue_prev3 > 0 AND p.revenue > 0
                   THEN round(pow(CAST(p.revenue AS DOUBLE) / h.revenue_prev3, 1 / 3) - 1, 12) END
         WHEN h.revenue_prev2 > 0 AND p.revenue > 0
         THEN round(pow(CAST(p.revenue AS DOUBLE) / h.revenue_prev2, 1 / 2) - 1, 12) END AS revenue_cagr_3y
FROM features_base AS p
LEFT JOIN history AS h USING (credit_code, year)
""",
    ),
    (
        "features",
        """
WITH ranked AS (
    SELECT p.*,
           CASE WHEN p.rd_intensity IS NOT NULL THEN round(percent_rank() OVER (
               PARTITION BY p.year, p.division, p.rd_intensity IS NULL ORDER BY p.rd_intensity), 12) END
               AS rd_intensity_pct,
           CASE WHEN p.revenue_cagr_3y IS NOT NULL THEN round(percent_rank() OVER (
               PARTITION BY p.year, p.division, p.revenue_cagr_3y IS NULL ORDER BY p.revenue_cagr_3y), 12) END
               AS revenue_cagr_3y_pct,
           round(CAST(p.revenue AS DOUBLE) / nullif(sum(p.revenue) OVER (PARTITION BY p.year, p.division), 0), 12)
               AS revenue_share,
           CASE WHEN p.revenue IS NOT NULL THEN round(percent_rank() OVER (
               PARTITION BY p.year, p.division, p.revenue IS NULL ORDER BY p.revenue), 12) END
               AS revenue_share_pct
    FROM features_history AS p
)
SELECT *,
       coalesce(round(CAST(market_share AS DOUBLE) / 100, 12), revenue_share) AS market_share_est,
       market_share IS NULL AS market_share_proxy
FROM ranked
""",
    ),
)

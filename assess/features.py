"""Features: the per-firm, per-year columns that rules, rubrics and scores read, as SQL views over the filings.

The view `features` has one row per current filing. Reference data it needs (industry sections, the chain mapping)
is loaded into temporary tables of the connection from `schemas/` and `rules/`, so a change to those files takes
effect at the next run without touching the stored filings. Nothing here holds a policy threshold: those live in
the rule packs and `rules/populations.yaml`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import duckdb
import polars as pl

from assess.contract import Contract
from assess.paths import RULES_DIR
from assess.reference import Reference

CHAIN_MAP = RULES_DIR / "chain_map.csv"


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    title: str  # Chinese, for messages and documentation
    unit: str | None = None
    history: bool = False  # needs the firm's earlier years (the `features` view; else `features_base` suffices)


# Every column a rule may read. Identity columns come first; the order is the documentation's order.
FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("credit_code", "统一社会信用代码"),
    FeatureSpec("name", "企业名称"),
    FeatureSpec("year", "年度"),
    FeatureSpec("city", "所属地市"),
    FeatureSpec("county", "所属区县"),
    FeatureSpec("industry_code", "行业代码"),
    FeatureSpec("section", "行业门类（GB/T 4754-2017）"),
    FeatureSpec("division", "行业大类（2位代码）"),
    FeatureSpec("direction", "标志性产业链方向（29个之一；申报优先，否则按行业代码对照表）"),
    FeatureSpec("chain", "标志性产业链（11条之一）"),
    FeatureSpec("in_chain", "属于标志性产业链领域"),
    FeatureSpec("above_scale", "统计部门认定的规上企业标志（未填为空）"),
    FeatureSpec("revenue", "营业收入", "万元"),
    FeatureSpec("main_revenue", "主营业务收入", "万元"),
    FeatureSpec("rd_expense", "研发费用", "万元"),
    FeatureSpec("total_cost", "成本费用总额", "万元"),
    FeatureSpec("total_assets", "资产总额", "万元"),
    FeatureSpec("total_liabilities", "负债总额", "万元"),
    FeatureSpec("net_assets", "净资产", "万元"),
    FeatureSpec("hitech_revenue", "高新技术产品收入", "万元"),
    FeatureSpec("employees", "从业人员", "人"),
    FeatureSpec("rd_staff", "研发人员", "人"),
    FeatureSpec("tech_staff", "科技人员", "人"),
    FeatureSpec("rd_institution", "研发机构级别"),
    FeatureSpec("has_rd_institution", "有研发机构（任一级别，含企业自建）"),
    FeatureSpec("invention_patents", "有效发明专利", "件"),
    FeatureSpec("class2_ip", "Ⅱ类知识产权", "件"),
    FeatureSpec("standards_led", "主导制定标准", "项"),
    FeatureSpec("award_level", "科技奖励级别"),
    FeatureSpec("market_share", "主导产品市场占有率", "%"),
    FeatureSpec("is_hte", "高新技术企业"),
    FeatureSpec("is_tech_sme", "科技型中小企业"),
    FeatureSpec("founded_year", "成立年份"),
    FeatureSpec("rd_intensity", "研发投入强度（研发费用/营业收入）"),
    FeatureSpec("rd_cost_share", "研发费用占成本费用总额比例"),
    FeatureSpec("tech_staff_share", "科技人员占从业人员比例"),
    FeatureSpec("hitech_share", "高新技术产品收入占营业收入比例"),
    FeatureSpec("rd_3y", "近三年研发费用合计（同时有研发费用和营业收入的年份，有几年算几年）", "万元", history=True),
    FeatureSpec("revenue_3y", "近三年营业收入合计（与rd_3y同样的年份）", "万元", history=True),
    FeatureSpec("rd_3y_intensity", "近三年研发费用总额占营业收入总额比例", history=True),
    FeatureSpec("revenue_growth_3y", "营业收入增长率：½(Y2/Y1 + Y3/Y2) − 1（高企认定口径）", history=True),
    FeatureSpec("net_assets_growth_3y", "净资产增长率：½(Y2/Y1 + Y3/Y2) − 1（高企认定口径）", history=True),
)
FEATURE_NAMES = frozenset(f.name for f in FEATURES)
HISTORY_FEATURES = frozenset(f.name for f in FEATURES if f.history)


def _chain_map_rows() -> list[tuple[str, str, str, int]]:
    with CHAIN_MAP.open(encoding="utf-8") as handle:
        return [(r["code"], r["direction"], r["chain"], i) for i, r in enumerate(csv.DictReader(handle))]


def install(con: duckdb.DuckDBPyConnection, contract: Contract, reference: Reference) -> None:
    """Create the reference tables and the `features` view on this connection."""
    con.register(
        "industry_codes_src",
        pl.DataFrame(
            {"code": list(reference.industry_sections), "section": list(reference.industry_sections.values())}
        ).to_arrow(),
    )
    con.register(
        "chain_map_src",
        pl.DataFrame(_chain_map_rows(), schema=["code", "direction", "chain", "ord"], orient="row").to_arrow(),
    )
    directions = [(d, chain) for chain, ds in contract.chains.items() for d in ds]
    con.register("directions_src", pl.DataFrame(directions, schema=["direction", "chain"], orient="row").to_arrow())
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE industry_codes AS SELECT * FROM industry_codes_src;
        CREATE OR REPLACE TEMP TABLE chain_map AS SELECT * FROM chain_map_src;
        CREATE OR REPLACE TEMP TABLE chain_directions AS SELECT * FROM directions_src;
        """
    )
    for name in ("industry_codes_src", "chain_map_src", "directions_src"):
        con.unregister(name)
    con.execute(_FEATURES_SQL)


# Ratios are rounded to 12 places: a firm at exactly 3.000% must not fall one floating-point step below a 3% band.
# The three-year sums take only the years that have both R&D and revenue, so that the two sums cover the same years.
# The most specific matching code wins (class over group over division); the file's order breaks remaining ties.
_FEATURES_SQL = """
CREATE OR REPLACE TEMP VIEW industry_directions AS
SELECT industry_code, direction, chain FROM (
    SELECT DISTINCT f.industry_code, m.direction, m.chain, length(m.code) AS specificity, m.ord
    FROM (SELECT DISTINCT industry_code FROM filings) AS f
    JOIN chain_map AS m ON starts_with(f.industry_code, m.code)
)
QUALIFY row_number() OVER (PARTITION BY industry_code ORDER BY specificity DESC, ord) = 1;

CREATE OR REPLACE TEMP VIEW money_history AS
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
) AS s USING (credit_code, year);

CREATE OR REPLACE TEMP VIEW features_base AS
WITH declared AS (
    SELECT f.*,
           d.direction AS declared_direction,
           coalesce(d.chain, CASE WHEN f.chain IN (SELECT chain FROM chain_directions) THEN f.chain END)
               AS declared_chain
    FROM filings AS f LEFT JOIN chain_directions AS d ON d.direction = f.chain
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
    p.above_scale, p.revenue, p.main_revenue, p.rd_expense, p.total_cost, p.total_assets, p.total_liabilities,
    p.net_assets, p.hitech_revenue, p.employees, p.rd_staff, p.tech_staff, p.rd_institution,
    p.rd_institution <> '无' AS has_rd_institution,
    p.invention_patents, p.class2_ip, p.standards_led, p.award_level, p.market_share, p.is_hte, p.is_tech_sme,
    year(p.founded) AS founded_year,
    round(CAST(p.rd_expense AS DOUBLE) / nullif(p.revenue, 0), 12) AS rd_intensity,
    round(CAST(p.rd_expense AS DOUBLE) / nullif(p.total_cost, 0), 12) AS rd_cost_share,
    round(CAST(p.tech_staff AS DOUBLE) / nullif(p.employees, 0), 12) AS tech_staff_share,
    round(CAST(p.hitech_revenue AS DOUBLE) / nullif(p.revenue, 0), 12) AS hitech_share
FROM placed AS p
LEFT JOIN industry_codes AS i ON i.code = p.industry_code;

CREATE OR REPLACE TEMP VIEW features AS
WITH history AS (
    SELECT h.credit_code, h.year,
           sum(p.rd_expense) FILTER (WHERE p.revenue IS NOT NULL AND p.rd_expense IS NOT NULL) AS rd_3y,
           sum(p.revenue) FILTER (WHERE p.revenue IS NOT NULL AND p.rd_expense IS NOT NULL) AS revenue_3y,
           max(p.revenue) FILTER (WHERE p.year = h.year - 1) AS revenue_y2,
           max(p.revenue) FILTER (WHERE p.year = h.year - 2) AS revenue_y1,
           max(p.net_assets) FILTER (WHERE p.year = h.year - 1) AS net_assets_y2,
           max(p.net_assets) FILTER (WHERE p.year = h.year - 2) AS net_assets_y1
    FROM (SELECT credit_code, year FROM filings) AS h
    JOIN money_history AS p ON p.credit_code = h.credit_code AND p.year BETWEEN h.year - 2 AND h.year
    GROUP BY h.credit_code, h.year
)
SELECT
    p.*,
    h.rd_3y, h.revenue_3y,
    round(CAST(h.rd_3y AS DOUBLE) / nullif(h.revenue_3y, 0), 12) AS rd_3y_intensity,
    (CAST(h.revenue_y2 AS DOUBLE) / nullif(h.revenue_y1, 0)
        + CAST(p.revenue AS DOUBLE) / nullif(h.revenue_y2, 0)) / 2 - 1 AS revenue_growth_3y,
    (CAST(h.net_assets_y2 AS DOUBLE) / nullif(h.net_assets_y1, 0)
        + CAST(p.net_assets AS DOUBLE) / nullif(h.net_assets_y2, 0)) / 2 - 1 AS net_assets_growth_3y
FROM features_base AS p
LEFT JOIN history AS h USING (credit_code, year);
"""

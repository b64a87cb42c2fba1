"""The plan's headline targets beside the firm-level ones: 高新技术企业 against 50,000 and their flagship-chain
share against 80%, 科技小巨人 and 科技领军 designations since the plan's first year against 600 and 200 a year, and
the R&D expenditure and intensity of 规上工业 firms by city and chain with the growth on the year before.

The targets, with the sentence of the plan each comes from, are read from the rule folder's targets.yaml. The
figures are computed when a run is made and kept with it, so that `stats` and 汇总 read them as the run saw the
filings. Gaps are said in firms. R&D figures use the statistical expenditure where it is filed (rd_spending).
"""

from __future__ import annotations

import math

import sqlglot

from assess.contract import Contract
from assess.dialects import Rows, render
from assess.kernel.populations import population_tree
from assess.run.config import Config
from assess.run.targets import TargetsSpec


def headline(rows: Rows, year: int, config: Config, contract: Contract) -> dict:
    """The year's headline figures against the targets, for a run to keep; `rows` runs the queries (engine-neutral
    trees) on the engine that holds the features."""
    spec = config.targets
    query = f"""
        SELECT count(is_hte), count(*) FILTER (WHERE is_hte), count(*) FILTER (WHERE is_hte AND in_chain),
               (SELECT count(designation) FROM filings WHERE year = {year:d}),
               count(*) FILTER (WHERE designated_little_giant), count(*) FILTER (WHERE designated_leader)
        FROM features_base WHERE year = {year:d}
        """
    found = rows(sqlglot.parse_one(query, read="duckdb")).row(0)
    hte_stated, hte, hte_chain, designations_stated, little_giant, leader = found
    years = year - spec.first_year + 1
    hte_target, share_target = spec.number("hte_count"), spec.number("hte_chain_share")
    targets = [*_hte(spec, year, hte if hte_stated else None, hte_chain, hte_target, share_target)]
    for name, count, title in (
        ("little_giant_per_year", little_giant, "科技小巨人"),
        ("leader_per_year", leader, "科技领军"),
    ):
        target = spec.number(name) * years if years > 0 else None
        said = f"填报“已获称号”为{title}的企业{count}家（含{spec.first_year}年以前认定的，填报不记认定年份）"
        if not designations_stated:
            said += f"；{year}年的填报都没有填“已获称号”，可能未采集此项"
        if target is not None:
            said += f"；{spec.first_year}年起每年培育，累计应达{_n(target)}家，按此口径还差{{gap}}家"
        targets.append(_target(spec, name, count, target, said))
    return {"year": year, "targets": targets, "quotes": dict(spec.quotes), "rd": _rd(rows, year, config, contract)}


def _hte(
    spec: TargetsSpec, year: int, hte: int | None, hte_chain: int, hte_target: float, share_target: float
) -> tuple[dict, dict]:
    """高新技术企业 against the count and the chain share; unknown (None, 无数据) when no filing of the year states
    whether the firm is one: a file without the column is not a province without 高新技术企业."""
    if hte is None:
        unstated = f"{year}年的填报都没有填“高新技术企业”，无法统计"
        return (
            _target(spec, "hte_count", None, hte_target, f"高新技术企业数：{unstated}"),
            _target(spec, "hte_chain_share", None, share_target, f"高新技术企业中标志性产业链领域的占比：{unstated}"),
        )
    return (
        _target(
            spec,
            "hte_count",
            hte,
            hte_target,
            f"填报企业中的高新技术企业{hte}家，距{_n(hte_target)}家的目标还差{{gap}}家",
        ),
        _target(
            spec,
            "hte_chain_share",
            hte_chain / hte if hte else None,
            share_target,
            f"其中标志性产业链领域{hte_chain}家，按现有高企数，还需{{gap}}家属于产业链领域，占比方可达到{share_target:.0%}"
            if hte
            else "填报企业中没有高新技术企业，占比无从计算",
            gap=max(0, math.ceil(round(share_target * hte, 9)) - hte_chain) if hte else None,
        ),
    )


def _target(
    spec: TargetsSpec, name: str, value: float | None, target: float | None, said: str, gap: int | None = None
) -> dict:
    target_spec = spec.targets[name]
    if gap is None:
        gap = max(0, math.ceil(target - value)) if target is not None and value is not None else None
    return {
        "id": name,
        "title": target_spec.title,
        "value": value,
        "target": target,
        "gap": gap,
        "basis": target_spec.basis,
        "unit": target_spec.unit,
        "quote": target_spec.quote,
        "said": said.format(gap=_n(gap)),
    }


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _rd(rows: Rows, year: int, config: Config, contract: Contract) -> dict:
    """R&D expenditure, revenue and intensity of the population this year and the year before, for the province,
    each city and each flagship chain, with the growth of R&D expenditure."""
    populations = config.rules.populations
    population = population_tree(populations.path, "targets.population", [config.targets.population], populations)
    query = f"""
        SELECT year, city, chain, GROUPING(city) AS no_city, GROUPING(chain) AS no_chain,
               CAST(sum(rd_spending) AS DOUBLE),
               CAST(sum(revenue) FILTER (WHERE rd_spending IS NOT NULL) AS DOUBLE), count(*)
        FROM features_base WHERE year IN ({year:d}, {year - 1:d}) AND {render(population, "duckdb")}
        GROUP BY GROUPING SETS ((year), (year, city), (year, chain))
        """
    found: dict[tuple[str, str | None, int], tuple[float | None, float | None, int]] = {}
    for at, city, chain, no_city, no_chain, rd, revenue, firms in rows(sqlglot.parse_one(query, read="duckdb")).rows():
        level, key = ("city", city) if not no_city else ("chain", chain) if not no_chain else ("province", None)
        found[(level, key, at)] = (rd, revenue, firms)
    cities = list(dict.fromkeys(contract.cities.values()))
    result: dict = {"province": _rd_figure(found, "province", None, year)}
    result["by_city"] = {city: _rd_figure(found, "city", city, year) for city in cities}
    result["by_flagship_chain"] = {chain: _rd_figure(found, "chain", chain, year) for chain in contract.chains}
    return result


def _rd_figure(found: dict, level: str, key: str | None, year: int) -> dict:
    rd, revenue, firms = found.get((level, key, year), (None, None, 0))
    before = found.get((level, key, year - 1), (None, None, 0))[0]
    return {
        "firms": firms,
        "rd": rd,
        "revenue": revenue,
        "intensity": rd / revenue if rd is not None and revenue else None,
        "rd_previous": before,
        "growth": rd / before - 1 if rd is not None and before else None,
    }

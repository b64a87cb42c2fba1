"""The plan's two firm-level targets as figures: firms without R&D activity (target 0) and R&D-institution coverage
among the larger firms (target about 70%, the `yitisheng` pack's `coverage_target`), for the province, each city,
each of the 29 directions (`by_chain`) and each of the 11 flagship chains (`by_flagship_chain`, which also counts a
firm whose chain is known but not its direction). A firm whose inputs are missing is counted apart as 待补数据
(`unknown`), neither inside nor outside a target: coverage is over the firms that can be judged. Thresholds and
target come from the run's manifest, so old runs read as they ran; a run saved before chain counts were kept gives
its chains as the sums of their directions."""

from __future__ import annotations

import math

import polars as pl

from assess.contract import Contract
from assess.rules.engine import CITY_CHAIN, city_chain_key
from assess.rules.packs import Role

NO_RD: Role = "no_rd_activity"  # the roles of the two target packs
INSTITUTION: Role = "institution_coverage"


def role_pack(manifest: dict, role: str) -> dict:
    """The manifest's entry for the pack that played this role in the run: its id, rule ids and parameters."""
    found = [p for p in manifest["packs"] if p.get("role") == role]
    if not found:
        raise KeyError(f"评估记录中没有承担角色 {role} 的规则包。")
    return found[0]


def institution_levels(manifest: dict, contract: Contract) -> list[str]:
    """The institution levels the run's coverage counted; a run that named none (before the choice was a
    parameter) counted every level but 无."""
    levels = role_pack(manifest, INSTITUTION)["parameters"].get("institution_levels")
    return list(levels) if levels is not None else contract.institution_levels


def role_rule(manifest: dict, role: str) -> str:
    """The id of the flag rule that played this role in the run."""
    return str(role_pack(manifest, role)["rules"][0])


def _cities(contract: Contract) -> list[str]:
    return list(dict.fromkeys(contract.cities.values()))


def _directions(contract: Contract) -> list[str]:
    return [d for directions in contract.chains.values() for d in directions]


Counted = tuple[int, int, int]  # population, flagged, unknown
NONE: Counted = (0, 0, 0)


def _by(counts: pl.DataFrame, rule_id: str, level: str) -> dict[str | None, Counted]:
    rows = counts.filter((pl.col("rule_id") == rule_id) & (pl.col("level") == level))
    return {key: (p, h, u) for key, p, h, u in rows.select("key", "population", "hits", "unknown").iter_rows()}


def coverage(counted: Counted, target: float) -> dict:
    """Coverage among the firms that can be judged: those with an institution (`covered`), those whose institution
    level is not filed (`unknown`, 待补数据), the rate over the rest, and how many more firms need an institution for
    the rate to reach the target (`needed`)."""
    population, hits, unknown = counted
    judged = population - unknown
    covered = judged - hits
    needed = max(0, math.ceil(round(target * judged, 9)) - covered)
    return {
        "firms": population,
        "covered": covered,
        "unknown": unknown,
        "rate": covered / judged if judged else None,
        "needed": needed,
    }


def targets(counts: pl.DataFrame, year: int, contract: Contract, manifest: dict) -> dict:
    """The `assess stats` figures for one year from a run's counts (cities and directions without firms show 0),
    with the thresholds and target that run used."""
    counts = counts.filter(pl.col("year") == year)
    if "unknown" not in counts.columns:  # counts kept before verdicts could be unknown
        counts = counts.with_columns(unknown=pl.lit(0, pl.Int64))
    no_rd_pack, institution_pack = (
        role_pack(manifest, NO_RD)["parameters"],
        role_pack(manifest, INSTITUTION)["parameters"],
    )
    no_rd_rule, institution_rule = role_rule(manifest, NO_RD), role_rule(manifest, INSTITUTION)
    counts = _with_chain_counts(counts, contract)
    groups = {
        "by_city": ("city", _cities(contract)),
        "by_chain": ("direction", _directions(contract)),
        "by_flagship_chain": ("chain", list(contract.chains)),
    }

    target = float(institution_pack["coverage_target"])
    province_no_rd = _by(counts, no_rd_rule, "province").get(None, NONE)
    result: dict = {
        "year": year,
        "no_rd": {"province": province_no_rd[1]},
        "no_rd_unknown": {"province": province_no_rd[2]},
        "institution_coverage": {
            "province": coverage(_by(counts, institution_rule, "province").get(None, NONE), target)
        },
        "thresholds": {
            "no_rd_revenue_min": no_rd_pack["revenue_min"],
            "institution_revenue_min": institution_pack["revenue_min"],
            "coverage_target": institution_pack["coverage_target"],
            "institution_levels": institution_levels(manifest, contract),
        },
    }
    for name, (level, keys) in groups.items():
        no_rd_by = _by(counts, no_rd_rule, level)
        coverage_by = _by(counts, institution_rule, level)
        result["no_rd"][name] = {key: no_rd_by.get(key, NONE)[1] for key in keys}
        result["no_rd_unknown"][name] = {key: no_rd_by.get(key, NONE)[2] for key in keys}
        result["institution_coverage"][name] = {key: coverage(coverage_by.get(key, NONE), target) for key in keys}
    return result


def city_chain_coverage(
    counts: pl.DataFrame, year: int, city: str, contract: Contract, manifest: dict
) -> dict[str, dict] | None:
    """R&D-institution coverage in each flagship chain within one city; None for a run that kept no such counts."""
    rows = counts.filter((pl.col("year") == year) & (pl.col("level") == CITY_CHAIN))
    if rows.is_empty():
        return None
    if "unknown" not in rows.columns:
        rows = rows.with_columns(unknown=pl.lit(0, pl.Int64))
    found = _by(rows, role_rule(manifest, INSTITUTION), CITY_CHAIN)
    target = float(role_pack(manifest, INSTITUTION)["parameters"]["coverage_target"])
    return {chain: coverage(found.get(city_chain_key(city, chain), NONE), target) for chain in contract.chains}


def _with_chain_counts(counts: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """The counts, with chain rows summed from the directions when the run kept none."""
    if counts.filter(pl.col("level") == "chain").height:
        return counts
    chain_of = {direction: chain for chain, directions in contract.chains.items() for direction in directions}
    summed = (
        counts.filter(pl.col("level") == "direction")
        .with_columns(level=pl.lit("chain"), key=pl.col("key").replace_strict(chain_of, default=None))
        .group_by("rule_id", "year", "level", "key")
        .agg(pl.col("population").sum(), pl.col("hits").sum(), pl.col("unknown").sum())
    )
    return pl.concat([counts, summed.select(counts.columns)], how="vertical_relaxed")


def compare(baseline: pl.DataFrame, simulated: pl.DataFrame) -> pl.DataFrame:
    """Per rule and city (and the province): population and flagged firms before and after a change of thresholds."""
    keyed = ["rule_id", "year", "level", "key"]
    joined = baseline.join(simulated, on=keyed, how="full", coalesce=True, suffix="_new", nulls_equal=True)
    return (
        joined.filter(pl.col("level").is_in(["province", "city"]))
        .with_columns(pl.col("^(population|hits|unknown)(_new)?$").fill_null(0))
        .with_columns(change=pl.col("hits_new") - pl.col("hits"))
        .sort("rule_id", pl.col("level") != "province", "key")
    )

"""The two flag rules and their counts written out by hand in vectorised pandas: the baseline of bench/run.py.

The same definitions as the rule packs (rules/populations.yaml, rules/yiqingling.yaml, rules/yitisheng.yaml) and the
feature views (assess/features.py), with the same reference data:

- 规上工业 (above_scale_industrial): GB/T 4754-2017 section B, C or D, and the filing's above-scale flag where it is
  given, else main-business revenue (operating revenue where that is missing) of at least 2,000万元;
- in a flagship chain: a declared chain or direction, else the chain of the industry code in rules/chain_map.csv
  (the most specific matching code wins, then the file's order);
- yiqingling.no_rd_activity: revenue at least 5,000万元 and R&D expense 0;
- yitisheng.no_rd_institution: revenue at least 10,000万元 and R&D institution '无'.

A missing value satisfies no condition, as in the engine's SQL. `evaluate` returns the flagged firms with the
engine's columns and messages, and the population and flagged counts by year for the province, each city, each
direction, each chain and each city and chain.
"""

from __future__ import annotations

import csv

import duckdb
import pandas as pd
import pyarrow as pa
from common import RULE_COLUMNS  # bench/common.py, beside this module

from assess.contract import load_contract
from assess.reference import load_reference
from assess.resources import PACKAGED_RULES

MAIN_REVENUE_MIN = 2000  # 万元, above_scale_industrial
NO_RD_ACTIVITY, ACTIVITY_REVENUE_MIN = "yiqingling.no_rd_activity", 5000  # 万元
NO_RD_INSTITUTION, INSTITUTION_REVENUE_MIN = "yitisheng.no_rd_institution", 10000  # 万元
RULE_IDS = (NO_RD_ACTIVITY, NO_RD_INSTITUTION)  # in the order of the pop_<i> and hit_<i> flags
INDUSTRIAL_SECTIONS = ("B", "C", "D")
NO_INSTITUTION = "无"
# What `load` reads: the filing columns the rules read, and the firm's name for the table of flagged firms.
COLUMNS = (RULE_COLUMNS[0], "name", *RULE_COLUMNS[1:])
MONEY = ("main_revenue", "revenue", "rd_expense")
HIT_COLUMNS = ["rule_id", "credit_code", "name", "year", "city", "direction", "chain", "message"]
LEVELS = {
    "province": ["year"],
    "city": ["year", "city"],
    "direction": ["year", "direction"],
    "chain": ["year", "chain"],
    "city_chain": ["year", "city", "chain"],
}
IN_CHAINS = ("direction", "chain", "city_chain")  # levels a firm outside the flagship chains has no row in


def load(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The current filings of every year, only the columns the rules and their output read, through Arrow: amounts
    as float64 (DuckDB's DECIMAL would arrive as Python objects), the above-scale flag as a nullable boolean."""
    columns = [f"{c}::DOUBLE AS {c}" if c in MONEY else c for c in COLUMNS]
    table = con.sql(f"SELECT {', '.join(columns)} FROM filings").arrow().read_all()
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)


def evaluate(filings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flagged firms (rule_id, identity, message) and the counts (rule_id, year, level, key, population, hits)."""
    contract = load_contract()
    # A few hundred distinct industry codes: look each up once, then map the filings through a categorical.
    code = filings["industry_code"].astype("category")
    by_code = _by_code(code.cat.categories, load_reference(contract).industry_sections)
    direction, chain = _placed(
        filings["chain"], code.map(by_code["direction"]), code.map(by_code["chain"]), contract.chains
    )
    revenue = filings["revenue"]
    above_scale = filings["above_scale"].fillna(filings["main_revenue"].fillna(revenue) >= MAIN_REVENUE_MIN)
    industrial = code.map(by_code["section"]).isin(INDUSTRIAL_SECTIONS)
    base = industrial & above_scale.fillna(False).astype(bool) & chain.notna()
    flags = pd.DataFrame({"year": filings["year"], "city": filings["city"], "direction": direction, "chain": chain})
    flags["pop_0"] = base & (revenue >= ACTIVITY_REVENUE_MIN)
    flags["hit_0"] = flags["pop_0"] & (filings["rd_expense"] == 0)
    flags["pop_1"] = base & (revenue >= INSTITUTION_REVENUE_MIN)
    flags["hit_1"] = flags["pop_1"] & (filings["rd_institution"] == NO_INSTITUTION)

    placed = filings.assign(direction=direction, chain=chain)
    no_rd, no_institution = placed[flags["hit_0"]], placed[flags["hit_1"]]
    no_rd = no_rd.assign(
        rule_id=NO_RD_ACTIVITY,
        message="营业收入"
        + _plain(no_rd["revenue"])
        + f"万元，不低于{ACTIVITY_REVENUE_MIN}万元，但当年研发费用为0（无研发活动）",
    )
    no_institution = no_institution.assign(
        rule_id=NO_RD_INSTITUTION,
        message="营业收入"
        + _plain(no_institution["revenue"])
        + f"万元，不低于{INSTITUTION_REVENUE_MIN}万元，未建立任何级别的研发机构（填报为“"
        + no_institution["rd_institution"]
        + "”）",
    )
    hits = pd.concat([no_rd[HIT_COLUMNS], no_institution[HIT_COLUMNS]], ignore_index=True)
    hits = hits.sort_values(["rule_id", "year", "city", "credit_code"], ignore_index=True)
    return hits, _counts(flags)


def _by_code(codes: pd.Index, sections: dict[str, str]) -> pd.DataFrame:
    """Section, direction and chain of each industry code (the index). In rules/chain_map.csv the most specific
    matching code wins, then the file's order."""
    with (PACKAGED_RULES / "chain_map.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    table = {}
    for code in codes:
        matches = [(len(row["code"]), -i) for i, row in enumerate(rows) if code.startswith(row["code"])]
        best = rows[-max(matches)[1]] if matches else {"direction": None, "chain": None}
        table[code] = (sections.get(code), best["direction"], best["chain"])
    return pd.DataFrame.from_dict(table, orient="index", columns=["section", "direction", "chain"])


def _placed(
    declared: pd.Series, code_direction: pd.Series, code_chain: pd.Series, chains: dict[str, tuple[str, ...]]
) -> tuple[pd.Series, pd.Series]:
    """Each filing's direction and chain: what it declared (a direction, or a chain), else those of its industry
    code. A declared chain keeps the code's direction only when the code's chain is the declared one."""
    chain_of = {direction: chain for chain, directions in chains.items() for direction in directions}
    declared_direction = declared.where(declared.isin(list(chain_of)))
    declared_chain = declared_direction.map(chain_of).fillna(declared.where(declared.isin(list(chains))))
    direction = declared_direction.fillna(code_direction.where(declared_chain.isna() | (code_chain == declared_chain)))
    return direction, declared_chain.fillna(code_chain)


def _plain(amount: pd.Series) -> pd.Series:
    """An amount in 万元 as a person reads it: at most 2 decimals, no trailing zeros."""
    return amount.round(2).astype(str).str.removesuffix(".0")


def _counts(flags: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for level, keys in LEVELS.items():
        # A firm outside every direction (or chain) has no row there to count in; one without a city counts under none.
        grouped = flags.groupby(keys, dropna=level in IN_CHAINS)[["pop_0", "hit_0", "pop_1", "hit_1"]].sum()
        grouped = grouped.reset_index()
        if level == "city_chain":  # the engine's key: both names
            key = grouped["city"] + "/" + grouped["chain"]
        else:
            key = grouped[keys[1]] if len(keys) > 1 else pd.Series(None, index=grouped.index, dtype="str")
        for i, rule_id in enumerate(RULE_IDS):
            frames.append(
                pd.DataFrame(
                    {
                        "rule_id": rule_id,
                        "year": grouped["year"],
                        "level": level,
                        "key": key,
                        "population": grouped[f"pop_{i}"].astype("int64"),
                        "hits": grouped[f"hit_{i}"].astype("int64"),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)

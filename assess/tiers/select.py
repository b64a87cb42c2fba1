"""Who gets a seat: eligible firms in rank order, a quota, optional seats per city and a cap per chain.

Pure functions over polars frames, so that quotas, allocation and tie-breaks are tested on small fixtures. Ties are
broken deterministically: the higher ranking value first, then the higher R&D intensity, then the credit code in
ascending order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

SELECTED, NEAR, ELIGIBLE, EXCLUDED = "selected", "near", "eligible", "excluded"
UNKNOWN = "unknown"  # passes every gate it can be judged on, but an input of another is missing: never seated
CLOSEST = "closest"  # fails a gate, but went furthest through them of its city's firms: shown where none is selected
STATUS_TITLES: dict[str | None, str] = {
    SELECTED: "入选",
    NEAR: "接近（名额或评分线以下）",
    ELIGIBLE: "符合门槛，未入选",
    EXCLUDED: "不列为候选（被排除）",
    UNKNOWN: "待补数据（缺少门槛所需的数据，补填后才能判断）",
    CLOSEST: "未通过门槛（本市最接近的企业之一）",
    None: "未通过门槛",
}
# The firms shown where a city has none selected, closest first: past every gate, waiting for data, then furthest.
CLOSE = (NEAR, ELIGIBLE, UNKNOWN, CLOSEST)
CLOSE_ORDER = {status: i for i, status in enumerate(CLOSE)}
QUOTA_FULL, CHAIN_FULL = "quota", "chain_cap"


@dataclass(frozen=True)
class Allocation:
    quota: int  # 0: no quota, every eligible firm is selected (the chain cap still applies)
    city_minimum: int = 0  # seats each city gets first (up to its eligible firms); 0: none
    proportional: bool = False  # seats per city in proportion to its eligible firms (largest remainders)
    chain_cap: int = 0  # most seats per chain; 0: no cap


def rank_order(eligible: pl.DataFrame) -> pl.DataFrame:
    """Eligible firms (credit_code, value, rd_intensity, ...) in rank order, with their 1-based `position`."""
    return eligible.sort(
        ["value", "rd_intensity", "credit_code"], descending=[True, True, False], nulls_last=True
    ).with_row_index("position", offset=1)


def city_seats(eligible: pl.DataFrame, allocation: Allocation) -> dict[str, int]:
    """Seats reserved per city before the rest go by rank across the province. Proportional seats are whole
    numbers by largest remainder; equal remainders go to the city with more eligible firms, then by name."""
    counts = dict(eligible.group_by("city").len().iter_rows())
    if allocation.proportional and allocation.quota:
        total = sum(counts.values())
        exact = {city: allocation.quota * n / total for city, n in counts.items()}
        seats = {city: int(share) for city, share in exact.items()}
        left = min(allocation.quota, total) - sum(seats.values())
        by_remainder = sorted(exact, key=lambda c: (-(exact[c] - seats[c]), -counts[c], c))
        for city in by_remainder[:left]:
            seats[city] += 1
        return {city: min(n, counts[city]) for city, n in seats.items()}
    if allocation.city_minimum:
        return {city: min(allocation.city_minimum, n) for city, n in counts.items()}
    return {}


def allocate(eligible: pl.DataFrame, allocation: Allocation) -> pl.DataFrame:
    """`eligible` in rank order (see `rank_order`) with `status` (selected or eligible), `rank` (1.. among the
    selected) and `held_back` (why an eligible firm has no seat: the quota was full, or its chain's cap)."""
    rows = eligible.select("credit_code", "city", "chain").rows()
    limit = allocation.quota or len(rows)
    taken: set[int] = set()
    per_chain: Counter[str] = Counter()
    held: dict[int, str] = {}

    def take(i: int, chain: str | None) -> bool:
        if allocation.chain_cap and chain is not None and per_chain[chain] >= allocation.chain_cap:
            held[i] = CHAIN_FULL
            return False
        taken.add(i)
        if chain is not None:
            per_chain[chain] += 1
        return True

    for city, seats in sorted(city_seats(eligible, allocation).items()):
        got = 0
        for i, (_, row_city, chain) in enumerate(rows):
            if got >= seats or len(taken) >= limit:
                break
            if row_city == city and i not in taken and take(i, chain):
                got += 1
    for i, (_, _, chain) in enumerate(rows):
        if len(taken) >= limit:
            break
        if i not in taken:
            take(i, chain)
    selected = sorted(taken)
    rank = {i: r for r, i in enumerate(selected, start=1)}
    return eligible.with_columns(
        status=pl.Series([SELECTED if i in taken else ELIGIBLE for i in range(len(rows))], dtype=pl.String),
        rank=pl.Series([rank.get(i) for i in range(len(rows))], dtype=pl.Int64),
        held_back=pl.Series(
            [None if i in taken else held.get(i, QUOTA_FULL) for i in range(len(rows))], dtype=pl.String
        ),
    )


def near_misses(allocated: pl.DataFrame, count: int) -> pl.DataFrame:
    """The first `count` eligible firms without a seat, in rank order, marked `near`."""
    unseated = allocated.filter(pl.col("status") == ELIGIBLE).head(count)
    near = set(unseated["credit_code"].to_list())
    return allocated.with_columns(
        status=pl.when(pl.col("credit_code").is_in(list(near))).then(pl.lit(NEAR)).otherwise(pl.col("status"))
    )

"""Why a list is as long as it is: the firms of the year, those left after each gate in turn, those excluded, the
candidates and those selected, for the province and each city.

A list with 28 names for 600 places reads as a failure of the tool unless the reader sees where the firms fell away;
the funnel shows it, and names the gate that removes the most firms.
"""

from __future__ import annotations

import polars as pl

from assess.tiers.packs import LoadedTier
from assess.tiers.select import SELECTED, UNKNOWN

# A funnel row's kind: the year's firms, a gate, the firms a gate could not judge for missing data (after the gate,
# only where there are any), an exclusion, the candidates, the selected, those left open.
SCOPE, GATE, GATE_OPEN, EXCLUDED = "scope", "gate", "gate_open", "excluded"
CANDIDATES, CHOSEN, OPEN = "candidates", "selected", "unknown"
COLUMNS = ("city", "step", "kind", "label", "firms")  # city null: the province


def funnel(firms: pl.DataFrame, tier: LoadedTier, exclusion: pl.Expr, statuses: pl.DataFrame) -> pl.DataFrame:
    """Per step (in order) and area, how many firms are still in. `firms` holds every firm of the year with its
    `gate_<id>` outcomes and city; `exclusion` is the title of the first exclusion that applies (null for none);
    `statuses` the list's results (credit_code, status)."""
    gates = [pl.col(f"gate_{g.id}").fill_null(False) for g in tier.gates]
    passed = pl.all_horizontal(gates) if gates else pl.lit(True)
    steps: list[tuple[str, str, pl.Expr]] = [(SCOPE, "当年有填报的企业", pl.lit(True))]
    for i, gate in enumerate(tier.gates):
        before = pl.all_horizontal(gates[:i]) if i else pl.lit(True)
        steps.append((GATE, gate.title, before & gates[i]))
        steps.append(
            (GATE_OPEN, f"{gate.title}：缺数据、未能判断（不计入剩余）", before & pl.col(f"gate_{gate.id}").is_null())
        )
    steps += [(EXCLUDED, spec.title, passed & (exclusion == spec.title)) for spec, _ in tier.exclusions]
    steps += [
        (CANDIDATES, "符合全部门槛、未被排除的候选", passed & exclusion.is_null()),
        (CHOSEN, "入选", pl.col("status") == SELECTED),
        (OPEN, "待补数据（门槛所需数据缺失，未能判断）", pl.col("status") == UNKNOWN),
    ]
    marked = firms.join(statuses.select("credit_code", "status"), on="credit_code", how="left").select(
        "city", *(expr.fill_null(False).alias(f"step{i}") for i, (_, _, expr) in enumerate(steps))
    )
    counts = pl.concat(
        [
            marked.select(pl.lit(None, pl.String).alias("city"), pl.col("^step\\d+$").sum()),
            marked.filter(pl.col("city").is_not_null()).group_by("city").agg(pl.col("^step\\d+$").sum()),
        ],
        how="vertical_relaxed",
    )
    described = pl.DataFrame(
        {
            "column": [f"step{i}" for i in range(len(steps))],
            "step": list(range(len(steps))),
            "kind": [kind for kind, _, _ in steps],
            "label": [label for _, label, _ in steps],
        },
        schema={"column": pl.String, "step": pl.Int32, "kind": pl.String, "label": pl.String},
    )
    return (
        counts.unpivot(index="city", variable_name="column", value_name="firms")
        .join(described, on="column")
        .select(COLUMNS)
        .with_columns(pl.col("firms").cast(pl.Int64))
        .filter((pl.col("kind") != GATE_OPEN) | (pl.col("firms") > 0))
        .sort(pl.col("city").is_not_null(), "city", "step")
    )


def harshest_gate(steps: pl.DataFrame) -> tuple[str, int] | None:
    """The gate that removes the most firms (its title and how many), from one area's funnel in step order; a firm
    a gate could not judge for missing data is not counted as removed by it."""
    removed: dict[str, int] = {}
    previous: int | None = None
    gate: str | None = None
    for kind, label, firms in steps.select("kind", "label", "firms").iter_rows():
        if kind == GATE and previous is not None:
            removed[label], gate = previous - firms, label
        elif kind == GATE_OPEN and gate is not None:
            removed[gate] -= firms
        if kind in (SCOPE, GATE):
            previous = firms
    if not removed:
        return None
    worst = max(removed.values())
    return next((label, firms) for label, firms in removed.items() if firms == worst)


def funnel_text(steps: pl.DataFrame, quota: int) -> str:
    """One area's funnel in one line: 当年有填报的企业 1511 → 中小企业 1489 → … → 入选 24（名额 600）."""
    parts, unknown = [], 0
    for kind, label, firms in steps.select("kind", "label", "firms").iter_rows():
        if kind in (SCOPE, GATE, CANDIDATES):
            parts.append(f"{label} {firms}")
        elif kind == GATE_OPEN:
            parts[-1] += f"（另有{firms}家缺数据、未能判断）"
        elif kind == EXCLUDED and firms:
            parts.append(f"排除（{label}）{firms}")
        elif kind == CHOSEN:
            parts.append(f"入选 {firms}" + (f"（名额 {quota}）" if quota else ""))
        elif kind == OPEN:
            unknown = firms
    return " → ".join(parts) + (f"；另有待补数据 {unknown} 家。" if unknown else "。")

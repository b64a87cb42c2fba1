"""Why a firm is on (or off) a list: every rule's result for it, its score and index with their reasons, every tier
gate with its value and threshold, and its place on each list, all from the year's latest run (gates are
re-evaluated on the filings in force, against that run's scores)."""

from __future__ import annotations

import json

import polars as pl

from assess.kernel.messages import message
from assess.kernel.unknown import to_fill
from assess.rules.engine import evaluate_rules
from assess.rules.packs import RuleSet
from assess.run import runs
from assess.run.context import RunContext
from assess.run.staleness import changes_since, has_filing
from assess.store import Store, StoreError
from assess.tiers.evaluate import CRITERIA_FILL, gated
from assess.tiers.packs import LoadedTier
from assess.tiers.select import STATUS_TITLES


def explain_firm(ctx: RunContext, credit_code: str) -> dict:
    """The explanation of one firm in the context's year, against the year's latest run."""
    store, config, year = ctx.store, ctx.config, ctx.year
    run = runs.latest(store, year)
    found = _firm(store, run, credit_code)
    if not found:
        raise StoreError(
            f"统一社会信用代码 {credit_code} 在 {year} 年度第 {run.run_id} 次评估中没有记录（该年度没有有效填报）。"
        )
    [firm] = found
    filed = has_filing(store, credit_code, year)  # else nothing can be evaluated again: the run's results alone
    return {
        **{k: firm[k] for k in ("credit_code", "name", "city", "chain", "direction")},
        "year": year,
        "run_id": run.run_id,
        "changes_since_run": changes_since(ctx, run, credit_code),
        "rules": _rules(store, config.rules, year, credit_code) if filed else [],
        "rubrics": _rubrics(store, config.rules, run, credit_code),
        "score": {
            "score": firm["score"],
            "source": firm["score_source"],
            "index": firm["index"],
            "stage": firm["stage"],
            "three_highs": {k: firm[k] for k in ("rd_share", "growth", "market_share", "core_tech")},
            "reasons": firm["reasons"] or [],
            "index_reasons": firm["index_reasons"] or [],
        },
        "lists": _lists(ctx, run, credit_code, filed),
    }


def _lists(ctx: RunContext, run: runs.Run, credit_code: str, filed: bool) -> list[dict]:
    with ctx.stored_scores(run.run_id) as scores:
        return [_tier(ctx, run, tier, scores, credit_code, filed) for tier in ctx.config.tiers]


def _firm(store: Store, run: runs.Run, credit_code: str) -> list[dict]:
    return (
        store.con.sql(
            "SELECT * EXCLUDE (run_id) FROM scores WHERE run_id = $run AND credit_code = $code",
            params={"run": run.run_id, "code": credit_code},
        )
        .pl()
        .to_dicts()
    )


def _rules(store: Store, rules: RuleSet, year: int, credit_code: str) -> list[dict]:
    """Every flag rule that applies to the firm, flagged or not, with the sentence saying why."""
    found = []
    for pack in rules.packs:
        if not pack.rules:
            continue
        [row] = evaluate_rules(store.con, pack.rules, year, credit_code).to_dicts()
        for rule in pack.rules:
            short = rule.id.split(".", 1)[1]
            if row[f"applies_{short}"]:
                found.append(
                    {
                        "rule_id": rule.id,
                        "title": rule.title,
                        "flagged": row[f"holds_{short}"],  # null: 待补数据, the inputs in `missing`
                        "missing": row[f"missing_{short}"],
                        "to_fill": to_fill(row[f"missing_{short}"]),
                        "message": row[f"message_{short}"],
                    }
                )
    return found


def _rubrics(store: Store, rules: RuleSet, run: runs.Run, credit_code: str) -> list[dict]:
    rows = store.con.execute(
        "SELECT pack_id, result FROM rubric_results WHERE run_id = ? AND result->>'$.credit_code' = ?",
        [run.run_id, credit_code],
    ).fetchall()
    found = []
    for pack_id, text in rows:
        result = json.loads(text)
        missing = result.get("missing") or []  # a run saved before verdicts could be unknown kept none
        cannot_check = [p.pack.cannot_check for p in rules.packs if p.id == pack_id]
        found.append(
            {
                "pack_id": pack_id,
                "cannot_check": cannot_check[0] if cannot_check else [],
                "score": result["score"],
                "gates_passed": result["gates_passed"],
                "fast_track": result["fast_track"],
                "verdict": result["verdict"],  # null: 待补数据, the inputs in `missing`
                "missing": missing,
                "to_fill": to_fill(missing),
            }
        )
    return found


def _tier(ctx: RunContext, run: runs.Run, tier: LoadedTier, scores: str, credit_code: str, filed: bool) -> dict:
    """The firm's place on a list in the run, and each gate evaluated on its filing in force (if it has one)."""
    rows = gated(ctx.con, tier, ctx.year, scores, credit_code).to_dicts() if filed else []
    row = rows[0] if rows else {"value": None}
    placed = ctx.con.execute(
        "SELECT status, rank, position, value, lacks FROM tier_results WHERE run_id = ? AND list_id = ? "
        "AND credit_code = ?",
        [run.run_id, tier.id, credit_code],
    ).fetchall()
    status, rank, position, value, lacks = placed[0] if placed else (None, None, None, row["value"], None)
    frame = pl.DataFrame(rows)
    gates = []
    for gate in tier.gates if rows else ():
        missing = [c for c in gate.inputs if row.get(c, 0) is None]
        gates.append(
            {
                "id": gate.id,
                "title": gate.title,
                "passed": row[f"gate_{gate.id}"],  # null: 待补数据, the inputs in `missing`
                "missing": missing,
                "to_fill": to_fill(missing, CRITERIA_FILL),
                "detail": frame.select(message(gate.message, frame.schema)).item(),
            }
        )
    return {
        "list_id": tier.id,
        "title": tier.pack.title,
        "status": status,
        "status_text": STATUS_TITLES[status],
        "rank": rank,
        "position": position,
        "ranked_by": tier.rank_title,
        "value": value,
        "gates": gates,
        "lacks": lacks,
    }

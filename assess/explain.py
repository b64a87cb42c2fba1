"""Why a firm is on (or off) a list: every rule's result for it, its score and index with their reasons, every tier
gate with its value and threshold, and its place on each list, all from the year's latest run (gates are
re-evaluated on the filings in force, against that run's scores)."""

from __future__ import annotations

import json

import polars as pl

from assess import runs
from assess.config import Config
from assess.rules.engine import evaluate_rules, message
from assess.rules.packs import RuleSet
from assess.staleness import changes_since, has_filing
from assess.store import Store, StoreError
from assess.tiers.evaluate import gated
from assess.tiers.packs import LoadedTier

STATUS = {
    "selected": "入选",
    "near": "接近（名额或评分线以下）",
    "eligible": "符合门槛，未入选",
    "excluded": "符合门槛，但被排除",
    None: "未通过门槛",
}


def explain_firm(store: Store, config: Config, credit_code: str, year: int) -> dict:
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
        "changes_since_run": changes_since(store, run, config, credit_code),
        "rules": _rules(store, config.rules, year, credit_code) if filed else [],
        "rubrics": _rubrics(store, run, credit_code),
        "score": {
            "score": firm["score"],
            "source": firm["score_source"],
            "index": firm["index"],
            "stage": firm["stage"],
            "three_highs": {k: firm[k] for k in ("rd_share", "growth", "market_share", "core_tech")},
            "reasons": firm["reasons"] or [],
            "index_reasons": firm["index_reasons"] or [],
        },
        "lists": [_tier(store, run, tier, year, credit_code, filed) for tier in config.tiers],
    }


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
                        "flagged": row[f"holds_{short}"],
                        "message": row[f"message_{short}"],
                    }
                )
    return found


def _rubrics(store: Store, run: runs.Run, credit_code: str) -> list[dict]:
    rows = store.con.execute(
        "SELECT pack_id, result FROM rubric_results WHERE run_id = ? AND result->>'$.credit_code' = ?",
        [run.run_id, credit_code],
    ).fetchall()
    found = []
    for pack_id, text in rows:
        result = json.loads(text)
        found.append(
            {
                "pack_id": pack_id,
                "score": result["score"],
                "gates_passed": result["gates_passed"],
                "fast_track": result["fast_track"],
                "verdict": result["verdict"],
            }
        )
    return found


def _tier(store: Store, run: runs.Run, tier: LoadedTier, year: int, credit_code: str, filed: bool) -> dict:
    """The firm's place on a list in the run, and each gate evaluated on its filing in force (if it has one)."""
    scores = f"(SELECT * FROM scores WHERE run_id = {int(run.run_id)})"
    rows = gated(store.con, tier, year, scores, credit_code).to_dicts() if filed else []
    row = rows[0] if rows else {"value": None}
    placed = store.con.execute(
        "SELECT status, rank, position, value, lacks FROM tier_results WHERE run_id = ? AND list_id = ? "
        "AND credit_code = ?",
        [run.run_id, tier.id, credit_code],
    ).fetchall()
    status, rank, position, value, lacks = placed[0] if placed else (None, None, None, row["value"], None)
    frame = pl.DataFrame(rows)
    gates = [
        {
            "id": gate.id,
            "title": gate.title,
            "passed": bool(row[f"gate_{gate.id}"]),
            "detail": frame.select(message(gate.message, frame.schema)).item(),
        }
        for gate in (tier.gates if rows else ())
    ]
    return {
        "list_id": tier.id,
        "title": tier.pack.title,
        "status": status,
        "status_text": STATUS[status],
        "rank": rank,
        "position": position,
        "ranked_by": tier.rank_title,
        "value": value,
        "gates": gates,
        "lacks": lacks,
    }

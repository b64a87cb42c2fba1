"""Why a firm is on (or off) a list: every rule's result for it, its score and index with their reasons, every tier
gate with its value and threshold, and its place on each list, all from the year's latest run (gates are
re-evaluated on the filings in force, against that run's scores)."""

from __future__ import annotations

import json

import polars as pl

from assess.errors import InputError
from assess.kernel.messages import message
from assess.kernel.unknown import to_fill
from assess.rules.decided import decided_by
from assess.rules.engine import evaluate_rules
from assess.rules.engine import outside as outside_of
from assess.rules.packs import RuleSet
from assess.run import runs
from assess.run.context import RunContext
from assess.run.names import suggest
from assess.run.reasons import with_reasons
from assess.run.staleness import changes_since, has_filing
from assess.store import Store, StoreError
from assess.tiers.evaluate import CRITERIA_FILL, gated
from assess.tiers.packs import LoadedTier
from assess.tiers.select import CLOSEST, STATUS_TITLES
from assess.uscc import is_well_formed

CANDIDATES = 10  # firms named when a partial name matches several


def firm_code(store: Store, run: runs.Run, firm: str) -> str:
    """The credit code of the firm a user named in the run: by its code, its exact name, or a part of its name that
    only one firm's name holds. Several matches are an InputError listing them; none, one naming similar names."""
    typed = firm.strip()
    if is_well_formed(typed.upper()):
        return typed.upper()
    names = store.con.execute(
        "SELECT credit_code, name, city FROM scores WHERE run_id = ? AND name IS NOT NULL ORDER BY name",
        [run.run_id],
    ).fetchall()
    exact = [row for row in names if row[1] == typed]
    matched = exact or [row for row in names if typed and typed in row[1]]
    if len(matched) == 1:
        return str(matched[0][0])
    if not matched:
        close = suggest(typed, [row[1] for row in names])
        guess = f"是不是「{'」「'.join(close)}」？" if close else "请核对名称，或给出统一社会信用代码。"
        raise InputError(f"{run.year} 年度第 {run.run_id} 次评估中没有名称含「{typed}」的企业。{guess}")
    listed = "；".join(f"{name}（{city}，{code}）" for code, name, city in matched[:CANDIDATES])
    more = f"等 {len(matched)} 家" if len(matched) > CANDIDATES else f"共 {len(matched)} 家"
    raise InputError(f"名称含「{typed}」的企业不止一家：{listed}{more}。请给出完整名称或统一社会信用代码。")


def explain_firm(ctx: RunContext, firm: str) -> dict:
    """The explanation of one firm (a credit code or a name, see `firm_code`) in the context's year, against the
    year's latest run."""
    store, config, year = ctx.store, ctx.config, ctx.year
    run = runs.latest(store, year)
    credit_code = firm_code(store, run, firm)
    found = _firm(ctx, run, credit_code)
    if not found:
        raise StoreError(
            f"统一社会信用代码 {credit_code} 在 {year} 年度第 {run.run_id} 次评估中没有记录（该年度没有有效填报）。"
        )
    [row] = found
    filed = has_filing(store, credit_code, year)  # else nothing can be evaluated again: the run's results alone
    return {
        **{k: row[k] for k in ("credit_code", "name", "city", "chain", "direction")},
        "year": year,
        "run_id": run.run_id,
        "changes_since_run": changes_since(ctx, run, credit_code),
        "rules": _rules(store, config.rules, year, credit_code) if filed else [],
        "rubrics": _rubrics(store, config.rules, run, credit_code),
        "score": {
            "score": row["score"],
            "source": row["score_source"],
            "index": row["index"],
            "stage": row["stage"],
            "three_highs": {k: row[k] for k in ("rd_share", "growth", "market_share", "core_tech")},
            "reasons": row["reasons"] or [],
            "index_reasons": row["index_reasons"] or [],
        },
        "lists": _lists(ctx, run, credit_code, filed),
    }


def _lists(ctx: RunContext, run: runs.Run, credit_code: str, filed: bool) -> list[dict]:
    with ctx.stored_scores(run.run_id) as scores:
        return [_tier(ctx, run, tier, scores, credit_code, filed) for tier in ctx.config.tiers]


def _firm(ctx: RunContext, run: runs.Run, credit_code: str) -> list[dict]:
    """The firm's stored scores with their reasons as sentences (none: the run has no record of it)."""
    frame = ctx.con.sql(
        "SELECT * EXCLUDE (run_id) FROM scores WHERE run_id = $run AND credit_code = $code",
        params={"run": run.run_id, "code": credit_code},
    ).pl()
    return with_reasons(ctx, frame, run.manifest).to_dicts() if frame.height else []


def _rules(store: Store, rules: RuleSet, year: int, credit_code: str) -> list[dict]:
    """Every flag rule that applies to the firm, flagged or not, with the sentence saying why; and each rule of a
    policy target (一清零, 一提升) that does not apply, with what the firm falls outside of."""
    found = []
    for pack in sorted(rules.packs, key=lambda p: p.pack.role is None):  # the policy targets first
        if not pack.rules:
            continue
        [row] = evaluate_rules(store.con, pack.rules, year, [credit_code]).to_dicts()
        outside = outside_of(store.con, pack.rules, year, credit_code) if pack.pack.role else {}
        for rule in pack.rules:
            short = rule.id.split(".", 1)[1]
            if row[f"applies_{short}"] or rule.id in outside:
                found.append(
                    {
                        "rule_id": rule.id,
                        "title": rule.title,
                        "applies": bool(row[f"applies_{short}"]),
                        "outside": outside.get(rule.id, []),  # why the rule does not apply to the firm
                        "flagged": row[f"holds_{short}"],  # null: 待补数据, the inputs in `missing`
                        "missing": row[f"missing_{short}"],
                        "to_fill": to_fill(row[f"missing_{short}"]),
                        "message": row[f"message_{short}"],
                    }
                )
    return found


def _rubrics(store: Store, rules: RuleSet, run: runs.Run, credit_code: str) -> list[dict]:
    rows = store.con.execute(
        "SELECT pack_id, result FROM rubric_results WHERE run_id = ? AND credit_code = ?",
        [run.run_id, credit_code],
    ).fetchall()
    found = []
    for pack_id, text in rows:
        result = json.loads(text)
        missing = result.get("missing") or []  # a run saved before verdicts could be unknown kept none
        pack = next((p.pack for p in rules.packs if p.id == pack_id), None)  # None: a pack removed since
        found.append(
            {
                "pack_id": pack_id,
                "title": pack.title if pack else pack_id,
                "decided_by": decided_by(result, pack) if pack else None,
                "cannot_check": pack.cannot_check if pack else [],
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
    if status == CLOSEST:  # its place among its city's closest firms, not among the eligible
        position = None
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

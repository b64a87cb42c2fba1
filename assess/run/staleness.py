"""What changed since a run, as far as one firm's explanation is concerned.

`assess explain` shows a run's stored statuses, ranks and scores beside rule results and list gates evaluated again,
on the filings and rule files as they are now. Where those changed after the run, the two can disagree; this module
says so, in Chinese, from the run's manifest: the rule, population, chain-map and tier files it names (by SHA-256),
the uploads it read that have since been retracted, and the firm's filings that have since been replaced.
"""

from __future__ import annotations

from assess.run.context import RunContext
from assess.run.runs import HISTORY_YEARS, Run, manifest, tiers_manifest
from assess.store import Store


def changes_since(ctx: RunContext, run: Run, credit_code: str) -> list[str]:
    """One sentence per change that can make the explanation differ from the run's results; none when nothing did."""
    store = ctx.store
    said = []
    changed_files = _changed_files(ctx, run)
    if changed_files:
        said.append(f"第 {run.run_id} 次评估之后，规则文件有改动：{'、'.join(changed_files)}。")
    retracted = _retracted(store, run)
    if retracted:
        said.append(f"该次评估读取的上传批次已被撤回：{'、'.join(map(str, retracted))}。")
    if not has_filing(store, credit_code, run.year):
        said.append(f"该企业 {run.year} 年度的填报现已不在库中（上传批次已撤回），规则结果和清单门槛无法重算。")
    newer = _newer_filings(store, run, credit_code)
    if newer:
        said.append(f"该企业的填报在评估之后有更新（上传批次 {'、'.join(map(str, newer))}）。")
    return said


def has_filing(store: Store, credit_code: str, year: int) -> bool:
    """Whether the firm has a filing in force for the year, to evaluate rules and gates on."""
    found = store.con.execute("SELECT count(*) FROM filings WHERE credit_code = ? AND year = ?", [credit_code, year])
    return bool(found.fetchall()[0][0])


def _changed_files(ctx: RunContext, run: Run) -> list[str]:
    """The files whose digest in the run's manifest differs from the same manifest built today."""
    today = manifest(ctx)
    if "tiers" in run.manifest:  # a run without scoring drew no lists
        today["tiers"] = tiers_manifest(ctx.config.tiers)
    then, now = _file_digests(run.manifest), _file_digests(today)
    return sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))


def _file_digests(recorded: dict) -> dict[str, str]:
    tables = [recorded[name] for name in ("populations", "chain_map", "size_classes", "targets") if name in recorded]
    entries = [*recorded["packs"], *recorded.get("tiers", []), *tables]
    return {entry["file"]: entry["sha256"] for entry in entries}


def _retracted(store: Store, run: Run) -> list[int]:
    read = run.manifest["uploads"]
    if not read:
        return []
    rows = store.con.execute(
        "SELECT upload_id FROM uploads WHERE retracted_at IS NOT NULL AND list_contains(?, upload_id) "
        "ORDER BY upload_id",
        [read],
    ).fetchall()
    return [row[0] for row in rows]


def _newer_filings(store: Store, run: Run, credit_code: str) -> list[int]:
    """Uploads the run did not read that now hold the firm's filings or wide-year values of the years it used."""
    rows = store.con.execute(
        """
        SELECT DISTINCT upload_id FROM (
            SELECT upload_id, year FROM filings WHERE credit_code = $code
            UNION ALL SELECT upload_id, year FROM supplements WHERE credit_code = $code
        )
        WHERE year BETWEEN $year - $history AND $year AND NOT list_contains($read, upload_id)
        ORDER BY upload_id
        """,
        {"code": credit_code, "year": run.year, "history": HISTORY_YEARS, "read": run.manifest["uploads"]},
    ).fetchall()
    return [row[0] for row in rows]

"""What decided a rubric's verdict for a firm, in one Chinese sentence: the gate it failed, the fast track that let it
through, the score against the pass condition (the score itself is shown beside it), or the input whose absence
leaves it open.

A rubric's verdict is every gate AND (the pass condition OR any fast track); the sentence names the part that
settled it, so that 符合 beside a score of 34 is never left unexplained.
"""

from __future__ import annotations

from collections.abc import Mapping

from assess.kernel.unknown import UNKNOWN, to_fill
from assess.rules.packs import Pack


def decided_by(row: Mapping[str, object], pack: Pack) -> str:
    """The reason for the verdict of one firm's rubric result (`row` as the rubric evaluation returns it)."""
    failed = [g.title for g in pack.gates if row.get(f"gate_{g.id}") is False]
    if failed:
        return "未过门槛：" + "；".join(failed)
    verdict = row.get("verdict")
    if verdict is None:
        missing = row.get("missing") or []
        named = to_fill(missing) if isinstance(missing, list) else ""
        return f"{named}未填，{UNKNOWN}" if named else UNKNOWN
    tracks = [t.title for t in pack.fast_track if row.get(f"track_{t.id}")]
    if verdict:
        if row.get("score_passed") is not True and tracks:
            return f"直通：{tracks[0]}"
        return f"得分达标（{pack.passing_title}）" if pack.passing_title else "全部门槛符合"
    short = f"得分未达标（{pack.passing_title}）" if pack.passing_title else "得分未达标"
    return short + ("，且不符合任何直通条件" if pack.fast_track else "")

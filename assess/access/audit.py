"""The audit log: sign-ins (and failures), uploads, retractions, runs, downloads and refused accesses, each with the
user, the time and the object. Entries name objects (an upload's number, a firm's credit code, a year), never the
figures of a filing."""

from __future__ import annotations

import datetime as dt

import polars as pl

from assess.store import Store

ALLOWED, REFUSED, FAILED = "allowed", "refused", "failed"
OUTCOME_TITLES = {ALLOWED: "允许", REFUSED: "拒绝", FAILED: "失败"}
ACTION_TITLES = {
    "sign_in": "登录",
    "sign_out": "退出",
    "upload": "上传",
    "retract": "撤回",
    "run": "评估",
    "download": "下载",
    "read": "查看",
}


def record(
    store: Store, user: str | None, action: str, obj: str | None, outcome: str = ALLOWED, detail: str | None = None
) -> None:
    store.con.execute(
        "INSERT INTO audit_log VALUES (nextval('audit_seq'), ?, ?, ?, ?, ?, ?)",
        [dt.datetime.now(), user, action, obj, outcome, detail],
    )


def since(store: Store, start: dt.date | None = None) -> pl.DataFrame:
    """The entries from `start` on (all without one), oldest first."""
    return pl.DataFrame(
        store.con.sql(
            """
            SELECT logged_at, user_name, action, object, outcome, detail FROM audit_log
            WHERE $start IS NULL OR logged_at >= $start ORDER BY seq
            """,
            params={"start": start},
        )
    )

"""The web app's users and audit log at the command line: `assess user add | list | disable | token` and
`assess audit`. A password comes from stdin, never from an argument; nothing printed ever holds a secret."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assess.access import accounts, audit
from assess.cli import app
from assess.store import Store

runner = CliRunner()
PASSWORD = "济南的十个字符的密码"
USER_KEYS = {"name", "role", "city", "created_at", "disabled_at", "has_token"}
AUDIT_KEYS = {"logged_at", "user_name", "action", "object", "outcome", "detail"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "users.duckdb"


def run(*args: str | Path, stdin: str = "") -> Result:
    return runner.invoke(app, [str(a) for a in args], input=stdin, prog_name="assess")


def add(db: Path, name: str, *options: str, password: str = PASSWORD) -> Result:
    return run("user", "add", name, *options, "--db", db, stdin=password + "\n")


def stored_users(db: Path) -> list[dict]:
    with Store(db) as store:
        return accounts.users(store)


def test_a_user_added_with_a_piped_password_can_sign_in_and_is_listed_without_secrets(db: Path) -> None:
    added = add(db, "王芳", "--role", "city", "--city", "济南市")
    assert added.exit_code == 0 and "已添加用户「王芳」：地市·济南" in added.stderr
    assert add(db, "省厅李明", "--role", "province").exit_code == 0
    with Store(db) as store:
        assert accounts.signed_in(store, "王芳", PASSWORD) == accounts.User("王芳", "city", "济南")
        stored_hash = store.con.execute("SELECT password_hash FROM users WHERE name = '王芳'").fetchall()[0][0]
    table = run("user", "list", "--db", db)
    assert table.exit_code == 0
    assert "王芳" in table.stdout and "地市" in table.stdout and "济南" in table.stdout and "省级" in table.stdout
    listed = run("user", "list", "--json", "--db", db)
    found = json.loads(listed.stdout)
    assert [(u["name"], u["role"], u["city"], u["has_token"]) for u in found] == [
        ("王芳", "city", "济南", False),
        ("省厅李明", "province", None, False),
    ]
    assert all(set(u) == USER_KEYS for u in found)
    for shown in (added.output, table.output, listed.output):
        assert PASSWORD not in shown and stored_hash not in shown and "argon2" not in shown


def test_a_password_is_never_an_argument(db: Path) -> None:
    said = run("user", "add", "王芳", "--role", "analyst", "--password", PASSWORD, "--db", db)
    assert said.exit_code == 2 and "没有「--password」这个选项" in said.stderr
    assert stored_users(db) == []


def test_without_a_password_on_stdin_no_user_is_added(db: Path) -> None:
    said = run("user", "add", "王芳", "--role", "analyst", "--db", db)
    assert said.exit_code == 2 and "没有读到密码" in said.stderr
    assert stored_users(db) == []


def test_a_password_shorter_than_ten_characters_is_refused(db: Path) -> None:
    said = add(db, "王芳", "--role", "analyst", password="123456789")
    assert said.exit_code == 2 and f"密码至少 {accounts.MIN_PASSWORD} 个字符" in said.stderr
    assert stored_users(db) == []


def test_a_city_user_must_name_a_city_of_shandong(db: Path) -> None:
    nameless = add(db, "王芳", "--role", "city")
    assert nameless.exit_code == 2 and "地市用户须用 --city 指定所属地市" in nameless.stderr
    elsewhere = add(db, "王芳", "--role", "city", "--city", "杭州")
    assert elsewhere.exit_code == 2 and "没有名为「杭州」的地市（应为山东省16市之一）" in elsewhere.stderr
    assert stored_users(db) == []


def test_only_a_city_user_has_a_city(db: Path) -> None:
    said = add(db, "李明", "--role", "analyst", "--city", "济南")
    assert said.exit_code == 2 and "只有地市用户（--role city）有所属地市" in said.stderr
    assert stored_users(db) == []


def test_a_role_is_province_city_or_analyst(db: Path) -> None:
    said = add(db, "李明", "--role", "admin")
    assert said.exit_code == 2 and "角色「admin」不存在" in said.stderr
    assert all(role in said.stderr for role in ("province", "city", "analyst"))


def test_a_user_who_cannot_be_added_is_refused_before_the_password_is_asked_for(db: Path) -> None:
    assert add(db, "王芳", "--role", "analyst").exit_code == 0
    again = run("user", "add", "王芳", "--role", "analyst", "--db", db)  # no password on stdin
    assert again.exit_code == 2 and "用户「王芳」已存在" in again.stderr and "密码" not in again.stderr


def test_a_new_token_is_printed_on_the_last_line_and_the_previous_one_stops_working(db: Path) -> None:
    add(db, "王芳", "--role", "city", "--city", "济南")
    first = run("user", "token", "王芳", "--db", db)
    second = run("user", "token", "王芳", "--db", db)
    assert first.exit_code == second.exit_code == 0
    assert "旧令牌已作废" in second.stderr and "Authorization: Bearer" in second.stderr
    old, new = (said.output.splitlines()[-1] for said in (first, second))
    assert second.stdout == new + "\n" and old != new and len(new) >= 40
    with Store(db) as store:
        assert accounts.by_token(store, old) is None
        assert accounts.by_token(store, new) == accounts.User("王芳", "city", "济南")
    listed = run("user", "list", "--json", "--db", db)
    [user] = json.loads(listed.stdout)
    assert user["has_token"] is True and new not in listed.output


def test_a_disabled_user_can_neither_sign_in_nor_use_the_token_nor_get_a_new_one(db: Path) -> None:
    add(db, "王芳", "--role", "city", "--city", "济南")
    issued = run("user", "token", "王芳", "--db", db).stdout.strip()
    said = run("user", "disable", "王芳", "--db", db)
    assert said.exit_code == 0 and "已停用用户「王芳」" in said.stderr
    with Store(db) as store:
        assert accounts.signed_in(store, "王芳", PASSWORD) is None
        assert accounts.by_token(store, issued) is None
    [user] = json.loads(run("user", "list", "--json", "--db", db).stdout)
    assert user["disabled_at"] is not None and user["has_token"] is False
    refused = run("user", "token", "王芳", "--db", db)
    assert refused.exit_code == 2 and "已停用" in refused.stderr


def test_an_unknown_user_is_refused_with_where_to_look(db: Path) -> None:
    for command in ("disable", "token"):
        said = run("user", command, "无此人", "--db", db)
        assert said.exit_code == 1 and "没有用户「无此人」：请用 assess user list 查看" in said.stderr


def _log(db: Path, entries: list[tuple[dt.datetime, str | None, str, str | None, str, str | None]]) -> None:
    with Store(db) as store:
        for when, user, action, obj, outcome, detail in entries:
            audit.record(store, user, action, obj, outcome, detail)
            store.con.execute("UPDATE audit_log SET logged_at = ? WHERE seq = currval('audit_seq')", [when])


def test_audit_since_shows_the_entries_from_that_day_on_in_chinese(db: Path) -> None:
    _log(
        db,
        [
            (dt.datetime(2026, 11, 30, 23, 59), "王芳", "sign_in", None, audit.ALLOWED, None),
            (dt.datetime(2026, 12, 1, 0, 0), "王芳", "upload", "上传批次 3", audit.ALLOWED, None),
            (dt.datetime(2026, 12, 2, 9, 30), "王芳", "read", "企业 913701007058824123", audit.REFUSED, "他市企业"),
        ],
    )
    table = run("audit", "--since", "2026-12-01", "--db", db)
    assert table.exit_code == 0
    assert "2026-11-30" not in table.stdout and "登录" not in table.stdout
    assert "2026-12-01 00:00:00" in table.stdout and "上传" in table.stdout and "上传批次 3" in table.stdout
    assert "查看" in table.stdout and "拒绝" in table.stdout and "他市企业" in table.stdout
    every = json.loads(run("audit", "--json", "--db", db).stdout)
    assert [e["action"] for e in every] == ["sign_in", "upload", "read"]
    assert all(set(e) == AUDIT_KEYS for e in every)
    since = json.loads(run("audit", "--since", "2026-12-02", "--json", "--db", db).stdout)
    assert since == [
        {
            "logged_at": "2026-12-02T09:30:00",
            "user_name": "王芳",
            "action": "read",
            "object": "企业 913701007058824123",
            "outcome": "refused",
            "detail": "他市企业",
        }
    ]
    assert json.loads(run("audit", "--since", "2027-01-01", "--json", "--db", db).stdout) == []


def test_audit_since_must_be_a_date(db: Path) -> None:
    said = run("audit", "--since", "12月1日", "--db", db)
    assert said.exit_code == 2 and "--since 应为日期" in said.stderr and said.stdout == ""


def test_names_typed_into_the_log_are_shown_as_typed(db: Path) -> None:
    """A sign-in attempt records the name as typed: it is text in the table, never terminal markup."""
    _log(db, [(dt.datetime(2026, 12, 1, 8, 0), "[/bold]", "sign_in", None, audit.FAILED, "[red]密码错误")])
    said = run("audit", "--db", db)
    assert said.exit_code == 0 and "[/bold]" in said.stdout and "[red]密码错误" in said.stdout
    assert "失败" in said.stdout

"""Commands for the web app's users (add, list, disable, a personal API token) and its audit log. A password is never
an argument (a command line is seen by every user of the machine and kept in the shell's history): it is typed twice
on a terminal without echo, or piped as one line of stdin by a script."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from typing import Annotated

import typer

from assess import api
from assess.access import payloads
from assess.cli import render
from assess.cli.common import DbOption, JsonOption, app, new_app
from assess.errors import InputError

user_app = new_app("网页用户：添加、查看、停用用户，发放个人 API 令牌（密码从不写在命令行上）")
app.add_typer(user_app, name="user")

NameArgument = Annotated[str, typer.Argument(help="用户名（登录网页时用）", metavar="用户名", show_default=False)]


def _password() -> str:
    """Typed twice without echo on a terminal; otherwise the first line of stdin."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError("没有读到密码：请在终端中运行（会提示输入两次，不显示），或从标准输入传入一行密码。")
        return line
    try:
        typed = getpass.getpass("密码：")
        again = getpass.getpass("再输入一次密码：")
    except EOFError:
        raise InputError("没有读到密码：用户未添加。") from None
    if typed != again:
        raise InputError("两次输入的密码不一致：用户未添加，请重新运行。")
    return typed


@user_app.command()
def add(
    name: NameArgument,
    role: Annotated[
        str,
        typer.Option(
            help="角色：province（省级，全部权限）、city（地市，只看和上传本市的）或 analyst（分析人员，只读）",
            metavar="角色",
            show_default=False,
        ),
    ],
    city: Annotated[str | None, typer.Option(help="地市用户的所属地市（如 济南）")] = None,
    db: DbOption = None,
) -> None:
    """添加网页用户。密码从标准输入读取：在终端中提示输入两次（不显示），脚本可用管道传入一行。"""
    from assess.access import accounts

    city = api.city_name(city)
    # Refused before the password is typed; the database is not held while someone types.
    with api.open_store(db) as store:
        accounts.new_user(store, name, role, city)
    password = _password()
    with api.open_store(db) as store:
        user = accounts.add_user(store, name, role, city, password)
    render.notice(
        f"已添加用户「{user.name}」：{user.title}，可以登录网页；API 令牌用 assess user token {user.name} 发放。"
    )


@user_app.command(name="list")
def list_users(as_json: JsonOption = False, db: DbOption = None) -> None:
    """列出网页用户：角色、所属地市、添加和停用时间、是否有 API 令牌（不显示密码和令牌）。"""
    from assess.access import accounts

    with api.open_store(db) as store:
        found = accounts.users(store)
    if as_json:
        render.json_out(found)
    else:
        render.users_table(found)


@user_app.command()
def disable(name: NameArgument, db: DbOption = None) -> None:
    """停用用户：不能再登录网页，API 令牌作废；其上传和审计记录保留。"""
    from assess.access import accounts

    with api.open_store(db) as store:
        accounts.disable(store, name)
    render.notice(f"已停用用户「{name}」：不能再登录网页，API 令牌已作废；其上传和审计记录保留。")


@user_app.command()
def token(name: NameArgument, db: DbOption = None) -> None:
    """发放新的个人 API 令牌（输出的最后一行），旧令牌随即作废。"""
    from assess.access import accounts

    with api.open_store(db) as store:
        new = accounts.new_token(store, name)
    render.notice(
        f"用户「{name}」的新 API 令牌在下一行，旧令牌已作废。令牌只显示这一次，请妥善保管、不要转给他人；"
        "调用 /api/ 时放在请求头中：Authorization: Bearer 令牌"
    )
    print(new)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--since 应为日期，写成 年-月-日，如 2026-12-01；收到的是「{text}」。") from None


@app.command(name="audit")
def audit_command(
    since: Annotated[
        str | None, typer.Option("--since", help="只看该日（含）以来的记录，如 2026-12-01", metavar="日期")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """网页服务的审计日志：登录（含失败）、上传、撤回、评估、下载和被拒绝的访问，每条有用户、时间和对象。"""
    from assess.access import audit

    start = _date(since)
    with api.open_store(db) as store:
        frame = audit.since(store, start)
    if as_json:
        render.json_out(payloads.records(frame))
    else:
        render.audit_table(frame, start)

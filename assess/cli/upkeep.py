"""Keeping the database whole: `assess doctor` checks it, `assess backup` copies it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from assess import api
from assess.cli import render
from assess.cli.common import DbOption, JsonOption, app


@app.command()
def doctor(as_json: JsonOption = False, db: DbOption = None) -> None:
    """检查数据库：结构版本、无主文件和无主记录、每个上传文件和模型文件的 SHA-256；有问题时退出码 1。

    打开数据库时会先清理被强行中断的导入或训练留下的无主文件，并在这里列出。
    """
    with api.open_store(db) as store:
        checks = api.doctor(store)
        removed = store.removed_orphans
    if as_json:
        render.json_out({"removed_on_open": removed, "checks": [asdict(c) for c in checks]})
    else:
        if removed:
            render.notice(
                f"打开数据库时清理了 {len(removed)} 个中断的导入或训练留下的无主文件：{'、'.join(removed[:5])}"
            )
        render.checks_table(checks)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def backup(
    out: Annotated[Path, typer.Option("--out", help="备份的数据库文件（不能已存在）；上传文件和模型一同复制到它旁边")],
    db: DbOption = None,
) -> None:
    """备份数据库：写出一致的副本，连同保存的上传文件和评分模型。"""
    with api.open_store(db) as store:
        written = api.backup(store, out)
    render.notice(f"已备份到「{written}」（连同 {written.name}.files 和 {written.name}.models）。")

"""`assess rules init DIR`: the packaged rule folder copied out, for a province to edit and name with --rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assess import api
from assess.cli import render
from assess.cli.common import app, new_app
from assess.resources import RULES_ENV

rules_app = new_app("规则文件夹：复制出自带的规则包，修改阈值后用 --rules 或环境变量 ASSESS_RULES 指定")
app.add_typer(rules_app, name="rules")


@rules_app.command()
def init(target: Annotated[Path, typer.Argument(help="新的规则文件夹", metavar="文件夹")]) -> None:
    """把自带的规则包（规则、评分配置、清单规则、产业链对照表）复制到一个新文件夹，供修改阈值。"""
    written = api.init_rules(target)
    render.notice(f"已复制 {len(written)} 个规则文件到「{target}」。")
    render.notice(f"修改后用 --rules {target}，或设置环境变量 {RULES_ENV}={target}，命令就会使用这些规则。")

"""Commands for the cultivation lists: show them, explain a firm, write the managers' workbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assess import api
from assess.cli import render
from assess.cli.common import DbOption, JsonOption, RulesOption, YearOption, app


@app.command(name="lists")
def lists_command(
    year: YearOption,
    limit: Annotated[int, typer.Option(help="每张清单显示的企业数（--json 输出全部）")] = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """培育清单：清单规则中的每一张清单，如科技小巨人候选、科技领军候选、三高一核心企业（读该年度最近一次评估）。"""
    with api.open_store(db) as store:
        found = api.lists(store, year, rules)
    if as_json:
        render.json_out(render.lists_json(found.lists))
        return
    render.run_source(found.run)
    render.show_lists(found.lists, found.tiers, limit)


@app.command()
def explain(
    credit_code: Annotated[str, typer.Argument(help="统一社会信用代码", metavar="信用代码")],
    year: YearOption,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """一家企业为什么在（或不在）清单上：各规则结果、评分和指数及原因、各清单门槛的取值与阈值、排名。"""
    with api.open_store(db) as store:
        explained = api.explain(store, credit_code, year, rules)
    if as_json:
        render.json_out(explained)
        return
    render.explanation(explained)


@app.command()
def export(
    year: YearOption,
    out: Annotated[Path | None, typer.Option("--out", help="输出的 .xlsx 文件")] = None,
    city: Annotated[str | None, typer.Option(help="只含该地市的企业（如 济南）")] = None,
    by_city: Annotated[
        Path | None, typer.Option("--by-city", help="每市一个工作簿，写入该目录：<年度>_<城市>_培育清单.xlsx")
    ] = None,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """写出管理人员用的培育清单工作簿（说明、汇总、一清零、一提升、各清单、数据问题；读该年度最近一次评估）。"""
    with api.open_store(db) as store:
        written = api.export_workbooks(store, year, out, by_city, city, rules)
    for path in written:
        render.notice(f"培育清单已写入：{path}")

"""Commands for the cultivation lists: show them, explain a firm, write the managers' workbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assess import api
from assess.access import payloads
from assess.cli import render
from assess.cli.common import (
    ChainOption,
    CityOption,
    DbOption,
    JsonOption,
    RulesOption,
    YearOption,
    YearsOption,
    app,
)
from assess.cli.progress import progress_bar


@app.command(name="lists")
def lists_command(
    year: YearsOption,
    list_id: Annotated[
        str | None, typer.Option("--list", help="只看一张清单（如 little_giant 或 科技小巨人候选）")
    ] = None,
    city: CityOption = None,
    chain: ChainOption = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="清单状态，可多次：selected 入选（默认）、near 接近、eligible、excluded、unknown、closest 本市最接近"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="每张清单显示的企业数（--json 输出全部）")] = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """培育清单：清单规则中的每一张清单，如科技小巨人候选、科技领军候选、三高一核心企业（读该年度最近一次评估）。

    年度范围（如 2020-2024）逐年并列显示排名；--json 时输出逐年的对象列表，每个带 year。
    """
    from assess.run.names import years

    asked = years(year)
    with api.open_store(db) as store:
        found = {
            y: api.lists(store, y, rules, list_id=list_id, city=city, chain=chain, statuses=status or ("selected",))
            for y in asked
        }
    if as_json:
        said = [payloads.lists(f.lists) for f in found.values()]
        render.json_out(said[0] if len(asked) == 1 else [{"year": y, **s} for y, s in zip(asked, said, strict=True)])
        return
    for result in found.values():
        render.run_source(result.run)
    if len(asked) == 1:
        result = found[asked[0]]
        render.show_lists(result.lists, result.tiers, limit, result.statuses, result.funnels, result.nearest)
    else:
        render.lists_by_year({y: f.lists for y, f in found.items()}, found[asked[-1]].tiers, limit)


@app.command()
def explain(
    firm: Annotated[
        str, typer.Argument(help="统一社会信用代码，或企业名称（全称，或只有一家企业名称含有的部分）", metavar="企业")
    ],
    year: YearOption,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """一家企业为什么在（或不在）清单上：各规则结果、评分和指数及原因、各清单门槛的取值与阈值、排名。"""
    with api.open_store(db) as store:
        explained = api.explain(store, firm, year, rules)
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
    with api.open_store(db) as store, progress_bar(False) as progress:
        written = api.export_workbooks(store, year, out, by_city, city, rules, progress=progress)
    for path in written:
        render.notice(f"培育清单已写入：{path}")


@app.command()
def report(
    year: YearOption,
    out: Annotated[Path, typer.Option("--out", help="输出的 .html 文件（单个文件，离线可看、可打印）")],
    city: CityOption = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="同时写出可打印的 .pdf（A4）")] = None,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """写出评估报告：规划目标进展、清单构成、数据质量和方法，一个自带图表的网页（读该年度最近一次评估）。"""
    with api.open_store(db) as store:
        written = api.report(store, year, out, city, rules, pdf=pdf)
    render.notice(f"评估报告已写入：{written}")
    if pdf is not None:
        render.notice(f"可打印的 PDF 已写入：{pdf}")

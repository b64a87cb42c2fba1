"""Commands for the cultivation lists: show them, explain a firm, write the managers' workbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from assess import report, runs
from assess.cli.common import DbOption, JsonOption, app, fail, load_config, store_for
from assess.contract import load_contract
from assess.explain import explain_firm
from assess.outputs.lists_content import workbook_content
from assess.outputs.lists_workbook import write_lists_workbook
from assess.store import Store
from assess.tiers.packs import LoadedTier


def selected_lists(store: Store, run: runs.Run, tiers: tuple[LoadedTier, ...]) -> dict[str, pl.DataFrame]:
    """Each list's firms in rank order: the ones on the list only."""
    return {tier.id: runs.tier_results(store, run, tier.id, ("selected",)) for tier in tiers}


def lists_json(lists: dict[str, pl.DataFrame]) -> dict[str, list[dict]]:
    """`{"little_giant": [{"rank", "credit_code", "name", "city", "score"}, ...], ...}`, `score` being the value
    the list is ranked by."""
    return {
        list_id: frame.select("rank", "credit_code", "name", "city", score="value").to_dicts()
        for list_id, frame in lists.items()
    }


def show_lists(lists: dict[str, pl.DataFrame], tiers: tuple[LoadedTier, ...], limit: int) -> None:
    by_id = {tier.id: tier for tier in tiers}
    for list_id, frame in lists.items():
        tier = by_id[list_id]
        quota = tier.allocation.quota
        report.list_table(frame, tier.pack.title, tier.rank_title, quota, limit)


@app.command(name="lists")
def lists_command(
    year: Annotated[int, typer.Option(help="数据年度")],
    limit: Annotated[int, typer.Option(help="每张清单显示的企业数（--json 输出全部）")] = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """培育清单：科技小巨人候选、科技领军候选、三高一核心企业（读该年度最近一次评估）。"""
    config = load_config()
    with store_for(db) as store:
        latest = runs.latest(store, year)
        lists = selected_lists(store, latest, config.tiers)
    if as_json:
        report.json_out(lists_json(lists))
        return
    report.notice(f"以下结果来自 {year} 年度第 {latest.run_id} 次评估（{latest.created_at:%Y-%m-%d %H:%M}）。")
    show_lists(lists, config.tiers, limit)


@app.command()
def explain(
    credit_code: Annotated[str, typer.Argument(help="统一社会信用代码", metavar="信用代码")],
    year: Annotated[int, typer.Option(help="数据年度")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """一家企业为什么在（或不在）清单上：各规则结果、评分和指数及原因、各清单门槛的取值与阈值、排名。"""
    config = load_config()
    with store_for(db) as store:
        explained = explain_firm(store, config, credit_code.strip().upper(), year)
    if as_json:
        report.json_out(explained)
        return
    report.explanation(explained)


@app.command()
def export(
    year: Annotated[int, typer.Option(help="数据年度")],
    out: Annotated[Path | None, typer.Option("--out", help="输出的 .xlsx 文件")] = None,
    city: Annotated[str | None, typer.Option(help="只含该地市的企业（如 济南）")] = None,
    by_city: Annotated[
        Path | None, typer.Option("--by-city", help="每市一个工作簿，写入该目录：<年度>_<城市>_培育清单.xlsx")
    ] = None,
    db: DbOption = None,
) -> None:
    """写出管理人员用的培育清单工作簿（说明、汇总、一清零、一提升、三份清单、数据问题；读该年度最近一次评估）。"""
    if (out is None) == (by_city is None):
        raise fail("请给出 --out FILE.xlsx 或 --by-city DIR 之一。", 2)
    if out is not None and out.suffix.lower() != ".xlsx":
        raise fail("--out 只能是 .xlsx 文件。", 2)
    cities = list(dict.fromkeys(load_contract().cities.values()))
    wanted = city.removesuffix("市") if city else None
    if wanted is not None and wanted not in cities:
        raise fail(f"没有名为「{city}」的地市：应为山东省16市之一，如 济南。", 2)
    config = load_config()
    with store_for(db) as store:
        latest = runs.latest(store, year)
        if out is not None:
            written = [write_lists_workbook(workbook_content(store, latest, config, wanted), out)]
        else:
            assert by_city is not None
            by_city.mkdir(parents=True, exist_ok=True)
            written = [
                write_lists_workbook(
                    workbook_content(store, latest, config, name), by_city / f"{year}_{name}_培育清单.xlsx"
                )
                for name in ([wanted] if wanted else cities)
            ]
    for path in written:
        report.notice(f"培育清单已写入：{path}")

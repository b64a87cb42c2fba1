"""Commands for the cultivation lists: show them, explain a firm, write the managers' workbooks."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from assess import report, runs
from assess.cli.common import DbOption, JsonOption, app, load_config, store_for
from assess.explain import explain_firm
from assess.store import Store
from assess.tiers.packs import LoadedTier

LIST_ORDER = ("little_giant", "leader", "three_highs")


def selected_lists(store: Store, run: runs.Run, tiers: tuple[LoadedTier, ...]) -> dict[str, pl.DataFrame]:
    """Each list's firms in rank order: the ones on the list only."""
    by_id = {tier.id: tier for tier in tiers}
    return {
        list_id: runs.tier_results(store, run, list_id, ("selected",))
        for list_id in [*(i for i in LIST_ORDER if i in by_id), *(i for i in by_id if i not in LIST_ORDER)]
    }


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
    credit_code: Annotated[str, typer.Argument(help="统一社会信用代码")],
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

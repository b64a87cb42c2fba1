"""`assess chains unmapped`: the industry codes the chain map leaves out, for a province extending its map."""

from __future__ import annotations

from assess import api
from assess.access import payloads
from assess.cli import render
from assess.cli.common import DbOption, JsonOption, RulesOption, YearOption, app, new_app

chains_app = new_app("产业链对照表：查看哪些行业代码的企业不属于任何标志性产业链方向")
app.add_typer(chains_app, name="chains")


@chains_app.command()
def unmapped(year: YearOption, as_json: JsonOption = False, db: DbOption = None, rules: RulesOption = None) -> None:
    """列出该年度不属于任何产业链方向的企业的行业代码及企业数（多者在前），供扩充 chain_map.csv。"""
    with api.open_store(db) as store:
        frame = api.unmapped(store, year, rules)
    if as_json:
        render.json_out(payloads.records(frame))
        return
    render.unmapped_table(frame, year)

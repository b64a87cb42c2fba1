"""Commands for scoring: train the 三高一核心 classifier, score a year's firms with their reasons."""

from __future__ import annotations

from typing import Annotated

import typer

from assess import api
from assess.cli import render
from assess.cli.common import DbOption, JsonOption, RulesOption, YearOption, app
from assess.cli.progress import progress_bar


@app.command(name="train")
def train_command(as_json: JsonOption = False, db: DbOption = None, rules: RulesOption = None) -> None:
    """训练三高一核心评分模型：用库中全部专家评审结果，按企业分组交叉验证，写出模型和模型卡。"""
    if not as_json:
        render.notice("正在训练三高一核心评分模型（按企业分组交叉验证），约需半分钟到一分钟……")
    with api.open_store(db) as store, progress_bar(as_json) as progress:
        trained = api.train(store, rules, progress)
    payload = {**trained.report, "model_card": str(trained.model_card) if trained.model_card else None}
    if as_json:
        render.json_out(payload)
    else:
        render.train_summary(payload, trained.model_card)
    if trained.fallback and as_json:
        render.error(trained.report["message"])


@app.command()
def score(
    year: YearOption,
    limit: Annotated[int, typer.Option(help="表格显示的企业数（--json 输出全部）")] = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """三高一核心评分：标志性产业链领域的每家中小企业，评分、创新能力指数和原因（未保存；assess run 会保存）。"""
    import polars as pl

    with api.open_store(db) as store, progress_bar(as_json) as progress:
        found = api.score(store, year, rules, progress)
    if found.fallback:
        render.error(found.fallback)
    if as_json:
        render.json_out(
            found.frame.select(
                "credit_code",
                "name",
                "city",
                "chain",
                "score",
                "score_source",
                "index",
                three_highs=pl.struct(*found.criteria),
                reasons="reasons",
            ).to_dicts()
        )
        return
    render.scores_table(found.frame, limit)

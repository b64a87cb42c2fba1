"""Commands for scoring: train the 三高一核心 classifier, score a year's firms with their reasons."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from assess import report, runs
from assess.cli.common import DbOption, JsonOption, app, load_config, store_for
from assess.scoring import persist
from assess.scoring.score import CRITERIA, score_year
from assess.scoring.train import ensure_model, train


@app.command(name="train")
def train_command(as_json: JsonOption = False, db: DbOption = None) -> None:
    """训练三高一核心评分模型：用库中全部专家评审结果，按企业分组交叉验证，写出模型和模型卡。"""
    config = load_config().scoring
    with store_for(db) as store:
        runs.prepare(store)
        trained = train(store, config.classifier)
        card = (persist.models_dir(store) / trained.record.file).with_suffix(".md") if trained.record else None
    payload = {**trained.report, "model_card": str(card) if card else None}
    if as_json:
        report.json_out(payload)
    else:
        report.train_summary(payload, card)
    if trained.fallback and as_json:
        report.error(trained.report["message"])


@app.command()
def score(
    year: Annotated[int, typer.Option(help="数据年度")],
    limit: Annotated[int, typer.Option(help="表格显示的企业数（--json 输出全部）")] = 20,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """三高一核心评分：标志性产业链领域的每家中小企业，评分、创新能力指数和原因（未保存；assess run 会保存）。"""
    loaded = load_config()
    config = loaded.scoring
    with store_for(db) as store:
        runs.prepare(store)
        runs.require_year(store, year)
        trained = ensure_model(store, config.classifier)
        frame = score_year(store, loaded.rules, config, year, trained).frame
    scored = frame.filter(pl.col("scored")).sort(["score", "index", "credit_code"], descending=[True, True, False])
    if trained.fallback:
        report.error(trained.report["message"])
    if as_json:
        report.json_out(
            scored.select(
                "credit_code",
                "name",
                "city",
                "chain",
                "score",
                "score_source",
                "index",
                three_highs=pl.struct(*CRITERIA),
                reasons="reasons",
            ).to_dicts()
        )
        return
    report.scores_table(scored, limit)

"""Commands for assessment runs: run a year, read its flags, figures and rubrics, simulate thresholds, the demo."""

from __future__ import annotations

import shutil
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from assess import report, runs, simulation, stats
from assess.cli.common import DbOption, JsonOption, app, fail, load_config, load_packs, store_for
from assess.cli.filings import write_problem_workbooks
from assess.cli.lists import lists_json, selected_lists, show_lists
from assess.contract import load_contract
from assess.explain import STATUS
from assess.ingest import Options, ingest_files
from assess.outputs.lists_content import workbook_content
from assess.outputs.lists_workbook import write_lists_workbook
from assess.paths import SAMPLE_DIR
from assess.rules.engine import evaluate_flags
from assess.rules.expressions import Scalar
from assess.store import Store, StoreError

SYNTHETIC = "演示数据均为合成数据（sample_data/），企业名称、信用代码和数值都是随机生成的，不代表任何真实企业。"


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--dir", help="演示输出目录")] = Path("demo"),
    as_json: JsonOption = False,
) -> None:
    """演示：用自带的合成样例数据新建数据库，导入、逐年评估，输出汇总和一清零一提升目标进展。"""
    if out_dir.exists():
        if not _only_demo_outputs(out_dir):
            raise fail(f"目录「{out_dir}」里有不是演示输出的文件，未做任何改动：请用 --dir 换一个新目录。")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    db = out_dir / "assess.duckdb"
    files = [SAMPLE_DIR / "panel_2020-2024.xlsx", SAMPLE_DIR / "messy.xlsx"]
    config = load_config()
    with store_for(db) as store:
        results = ingest_files(store, files, Options())
        by_year = store.con.sql(
            "SELECT year, count(*) AS filings, count(DISTINCT city) AS cities FROM filings GROUP BY year ORDER BY year"
        ).pl()
        done = [
            runs.execute(store, config.rules, year, config.scoring, config.tiers) for year in by_year["year"].to_list()
        ]
        figures = [stats.targets(runs.counts(store, r), r.year, store.contract, r.manifest) for r in done]
        latest_scores = runs.scores(store, done[-1])
        lists = selected_lists(store, done[-1], config.tiers)
        workbook = write_lists_workbook(
            workbook_content(store, done[-1], config, notes=(SYNTHETIC,)),
            out_dir / f"{done[-1].year}_全省_培育清单.xlsx",
        )
    workbooks = write_problem_workbooks(results, None, out_dir)
    if as_json:
        report.json_out(
            {
                "db": str(db),
                "uploads": [r.as_json() for r in results],
                "by_year": report.records(by_year),
                "runs": [{"run_id": r.run_id, "year": r.year} for r in done],
                "stats": figures,
                "model": done[-1].manifest["scoring"]["model"],
                "lists": lists_json(lists),
                "workbook": str(workbook),
            }
        )
        return
    report.notice("演示数据均为合成数据，不代表真实企业。")
    report.ingest_summary(results, workbooks)
    report.year_table(by_year)
    counts = Counter(code for r in results for code in r.problems["code"].to_list())
    report.notice(f"样例中共发现 {sum(counts.values())} 个问题，涉及 {len(counts)} 种问题代码。")
    report.trend_table(figures)
    report.stats_summary(figures[-1])
    report.model_summary(done[-1].manifest["scoring"]["model"])
    report.scores_table(latest_scores, 10)
    show_lists(lists, config.tiers, 10)
    report.notice(f"数据库：{db}；逐年评估编号：{'、'.join(str(r.run_id) for r in done)}。")
    report.notice(f"{done[-1].year} 年度培育清单工作簿（合成数据）：{workbook}")


@app.command()
def run(
    year: Annotated[int, typer.Option(help="数据年度")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """评估该年度：运行全部规则包，保存评估结果（含规则版本、数据批次和软件版本）。"""
    config = load_config()
    with store_for(db) as store:
        done = runs.execute(store, config.rules, year, config.scoring, config.tiers)
        found = runs.counts(store, done)
        lists = selected_lists(store, done, config.tiers)
    summary = stats.targets(found, year, load_contract(), done.manifest)
    if as_json:
        payload = {"run_id": done.run_id, "year": year, "manifest": done.manifest, "stats": summary}
        report.json_out({**payload, "lists": lists_json(lists)})
        return
    report.notice(f"已完成 {year} 年度评估，评估编号 {done.run_id}。")
    report.stats_summary(summary)
    report.model_summary(done.manifest["scoring"]["model"])
    show_lists(lists, config.tiers, 10)


@app.command()
def flags(
    year: Annotated[int, typer.Option(help="数据年度")],
    rule: Annotated[str | None, typer.Option("--rule", help="只看某条规则，如 yiqingling.no_rd_activity")] = None,
    city: Annotated[str | None, typer.Option(help="只看该地市")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """列出被一清零、一提升规则标记的企业（读该年度最近一次评估）。"""
    with store_for(db) as store:
        latest = runs.latest(store, year)
        found = runs.hits(store, latest, rule, city.removesuffix("市") if city else None)
    if as_json:
        report.json_out(found.select("credit_code", "name", "city", "rule_id", "message").to_dicts())
        return
    report.notice(f"以下结果来自 {year} 年度第 {latest.run_id} 次评估（{latest.created_at:%Y-%m-%d %H:%M}）。")
    report.flags_table(found, {r.id: r.title for r in load_packs().flag_rules})


@app.command(name="stats")
def stats_command(
    year: Annotated[int, typer.Option(help="数据年度")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """一清零、一提升目标进展：全省、各市、各产业链方向（读该年度最近一次评估）。"""
    with store_for(db) as store:
        latest = runs.latest(store, year)
        summary = stats.targets(runs.counts(store, latest), year, load_contract(), latest.manifest)
    if as_json:
        report.json_out(summary)
        return
    report.notice(f"以下结果来自 {year} 年度第 {latest.run_id} 次评估（{latest.created_at:%Y-%m-%d %H:%M}）。")
    report.stats_summary(summary)


@app.command()
def rubric(
    year: Annotated[int, typer.Option(help="数据年度")],
    pack: Annotated[str, typer.Option("--pack", help="评分规则包：tech_sme 或 hte_ready")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """国家评价办法的定量预评：每家企业的门槛、各指标得分和结论（读该年度最近一次评估）。"""
    with store_for(db) as store:
        latest = runs.latest(store, year)
        frame = runs.rubric(store, latest, pack)
    if frame.is_empty():
        raise fail(f"第 {latest.run_id} 次评估中没有评分规则包「{pack}」的结果。")
    if as_json:
        report.json_out(report.records(frame))
        return
    loaded = load_packs().pack(pack)
    report.rubric_table(frame, loaded.pack.title, {i.id: i.title for i in loaded.pack.indicators})


@app.command()
def simulate(
    year: Annotated[int, typer.Option(help="数据年度")],
    assignments: Annotated[
        list[str],
        typer.Option("--set", help="改动的参数，如 yiqingling.revenue_min=3000 或 little_giant.quota=800"),
    ],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """假设分析：改动阈值后各市被标记的企业和培育清单如何变化（不保存评估）。"""
    overrides = dict(_assignment(text) for text in assignments)
    baseline, changed = load_config(), load_config(overrides)
    packs = {name.split(".")[0] for name in overrides}
    tiers_changed = bool(packs & {tier.id for tier in baseline.tiers})
    with store_for(db) as store:
        runs.prepare(store)
        before = evaluate_flags(store.con, baseline.rules, year)
        after = evaluate_flags(store.con, changed.rules, year)
        run = _latest_for_lists(store, year, required=tiers_changed)
        lists = None
        if run is not None:
            scenarios = simulation.Scenario(baseline.tiers, before), simulation.Scenario(changed.tiers, after)
            lists = simulation.compare_lists(store, run, year, *scenarios)
    compared = stats.compare(before.counts, after.counts)
    if as_json:
        payload = {"year": year, "set": overrides, "changes": compared.to_dicts()}
        report.json_out(payload | {"lists": None if lists is None else lists.to_dicts()})
        return
    shown = compared.filter(pl.col("rule_id").str.split(".").list.first().is_in(packs))  # the packs changed
    if not shown.is_empty():
        report.simulation_table(shown, overrides, {r.id: r.title for r in baseline.rules.flag_rules})
    if run is not None and lists is not None:
        titles = {tier.id: tier.pack.title for tier in baseline.tiers}
        report.list_simulation_table(lists, overrides, titles, STATUS, run.run_id)
    else:
        report.notice(f"{year} 年度还没有评估，未比较培育清单（先运行 assess run --year {year}）。")


# What `assess demo` writes into its folder; a folder holding anything else is not rebuilt.
DEMO_OUTPUTS = ("assess.duckdb*", "*_培育清单.xlsx", "*_问题清单.xlsx")  # the database, its files and models


def _only_demo_outputs(folder: Path) -> bool:
    return folder.is_dir() and all(any(fnmatch(e.name, p) for p in DEMO_OUTPUTS) for e in folder.iterdir())


def _latest_for_lists(store: Store, year: int, required: bool) -> runs.Run | None:
    """The run whose scores the lists are drawn from: required when a tier parameter changed, else used if there."""
    try:
        return runs.latest(store, year)
    except StoreError:
        if required:
            raise
        return None


def _assignment(text: str) -> tuple[str, Scalar]:
    name, sep, value = text.partition("=")
    if not sep or "." not in name:
        raise fail(f"--set 应写成“规则包.参数=值”，如 yiqingling.revenue_min=3000，收到的是「{text}」。", 2)
    for kind in (int, float):
        try:
            return name.strip(), kind(value)
        except ValueError:
            continue
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    return name.strip(), value.strip()

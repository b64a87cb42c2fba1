"""Commands for assessment runs: run a year, read its flags, figures and rubrics, simulate thresholds, the demo."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assess import api
from assess.access import accounts, payloads
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
from assess.errors import InputError

if TYPE_CHECKING:
    from assess.kernel.expressions import Scalar


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--dir", help="演示输出目录")] = Path("demo"),
    as_json: JsonOption = False,
    rules: RulesOption = None,
) -> None:
    """演示：用自带的合成样例数据新建数据库，导入、逐年评估，输出汇总和一清零一提升目标进展。"""
    if not as_json:
        render.notice("正在用合成样例数据新建演示数据库：导入、训练评分模型、逐年评估，约需半分钟……")
    with progress_bar(as_json) as progress:
        done = api.demo(out_dir, rules, progress)
    with api.open_store(done.db) as store:
        users = accounts.demo_users(store)
    serve = f"assess serve --db {done.db}"
    latest = done.runs[-1]
    if as_json:
        render.json_out(
            {
                "db": str(done.db),
                "uploads": [r.as_json() for r in done.uploads],
                "by_year": payloads.records(done.by_year),
                "runs": [{"run_id": r.run.run_id, "year": r.run.year} for r in done.runs],
                "stats": [r.stats for r in done.runs],
                "model": latest.run.manifest["scoring"]["model"],
                "lists": payloads.lists(latest.lists),
                "workbook": str(done.workbook),
                "report": str(done.report),
                "serve": serve,
                "users": [{"name": u.name, "role": u.role, "city": u.city, "password": p} for u, p in users],
            }
        )
        return
    render.notice("演示数据均为合成数据，不代表真实企业。")
    render.ingest_summary(done.uploads, done.problem_workbooks.written)
    render.year_table(done.by_year)
    counts = Counter(code for r in done.uploads for code in r.problems["code"].to_list())
    render.notice(f"样例中共发现 {sum(counts.values())} 个问题，涉及 {len(counts)} 种问题代码。")
    render.trend_table([r.stats for r in done.runs])
    render.stats_summary(latest.stats)
    render.model_summary(latest.run.manifest["scoring"]["model"])
    with api.open_store(done.db) as store:
        render.scores_table(api.run_scores(store, latest.run), 10)
    render.show_lists(latest.lists, latest.tiers, 10)
    render.notice(f"数据库：{done.db}；逐年评估编号：{'、'.join(str(r.run.run_id) for r in done.runs)}。")
    render.notice(f"{latest.run.year} 年度培育清单工作簿（合成数据）：{done.workbook}")
    render.notice(f"{latest.run.year} 年度评估报告（合成数据，浏览器打开）：{done.report}")
    render.notice(f"网页服务：.venv/bin/{serve}，浏览器打开 http://127.0.0.1:8000/ ；演示用户（密码只显示这一次）：")
    for user, password in users:
        render.notice(f"  {user.name}（{user.title}）  密码 {password}")


@app.command()
def run(
    year: YearOption,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
    engine: Annotated[
        api.Engine, typer.Option("--engine", help="计算引擎：duckdb（默认，内置）或 spark（需安装 assess[spark]）")
    ] = "duckdb",
    export: Annotated[
        Path | None, typer.Option("--input", help="spark：assess export-parquet 导出的文件夹", metavar="文件夹")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="spark：写出评估结果的文件夹（新的或空的）", metavar="文件夹")
    ] = None,
    master: Annotated[
        str | None, typer.Option("--master", help="spark：spark.master，如 local[2] 或集群地址；默认 local[*]")
    ] = None,
    spark_conf: Annotated[
        Path | None,
        typer.Option("--spark-conf", help="spark：Spark 设置文件（YAML，如 spark.driver.memory: 4g）", metavar="文件"),
    ] = None,
) -> None:
    """评估该年度：运行全部规则包，保存评估结果（含规则版本、数据批次和软件版本）。

    --engine spark 时从 --input（assess export-parquet 导出的文件夹）读数据，在 Spark 上评估，结果写到 --out 文件夹，
    再用 assess import-run 导入数据库。
    """
    api.require_engine(engine)
    if engine != "spark" and any(given is not None for given in (export, out, master, spark_conf)):
        raise InputError("--input、--out、--master、--spark-conf 只用于 --engine spark。")
    if engine == "spark":
        _run_on_spark(year, as_json, rules, export, out, master, spark_conf)
        return
    with api.open_store(db) as store, progress_bar(as_json) as progress:
        done = api.run_year(store, year, rules, progress)
    if as_json:
        payload = {"run_id": done.run.run_id, "year": year, "manifest": done.run.manifest, "stats": done.stats}
        render.json_out({**payload, "lists": payloads.lists(done.lists)})
        return
    render.notice(f"已完成 {year} 年度评估，评估编号 {done.run.run_id}。")
    render.stats_summary(done.stats)
    render.model_summary(done.run.manifest["scoring"]["model"])
    render.show_lists(done.lists, done.tiers, 10)


def _run_on_spark(
    year: int,
    as_json: bool,
    rules: Path | None,
    export: Path | None,
    out: Path | None,
    master: str | None,
    spark_conf: Path | None,
) -> None:
    if export is None or out is None:
        raise InputError(
            "用 Spark 评估须指定 --input（assess export-parquet 导出的文件夹）和 --out（写出结果的文件夹）。"
        )
    with progress_bar(as_json) as progress:
        done = api.run_on_spark(export, year, out, rules, spark_conf, master, progress)
    if as_json:
        render.json_out({"year": year, "out": str(done.out), "manifest": done.manifest})
        return
    render.notice(
        f"已在 Spark（{done.manifest['engine']['settings']['spark.master']}）上完成 {year} 年度评估，"
        f"结果写入「{done.out}」：{len(done.manifest['files'])} 个 Parquet 文件，清单见 manifest.json。"
    )
    render.model_summary(done.manifest["scoring"]["model"])
    render.notice(f"导入数据库：assess import-run {done.out}")


@app.command("import-run")
def import_run(
    folder: Annotated[Path, typer.Argument(help="assess run --engine spark 写出的文件夹", metavar="文件夹")],
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """把在 Spark 上完成的评估（assess run --engine spark 的结果文件夹）导入数据库。

    导入后与其他评估一样，可查看清单、导出工作簿、解释和生成报告。
    """
    with api.open_store(db) as store:
        done = api.import_run(store, folder, rules)
    if as_json:
        payload = {"run_id": done.run.run_id, "year": done.run.year, "stats": done.stats}
        render.json_out({**payload, "lists": payloads.lists(done.lists)})
        return
    render.notice(f"已导入 {done.run.year} 年度在 Spark 上完成的评估，评估编号 {done.run.run_id}。")
    render.stats_summary(done.stats)
    render.model_summary(done.run.manifest["scoring"]["model"])
    render.show_lists(done.lists, done.tiers, 10)


@app.command()
def flags(
    year: YearsOption,
    rule: Annotated[str | None, typer.Option("--rule", help="只看某条规则，如 yiqingling.no_rd_activity")] = None,
    city: CityOption = None,
    chain: ChainOption = None,
    every_rule: Annotated[bool, typer.Option("--all", help="列出全部标记规则的结果（含三高一核心四项子判断）")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """列出被一清零、一提升规则标记的企业和待补数据的企业（读该年度最近一次评估）；--all 列出全部标记规则。

    年度范围（如 2020-2024）逐年并列显示；--json 时输出逐年的对象列表，每个带 year 和 flags。
    """
    from assess.run.names import years

    asked = years(year)
    with api.open_store(db) as store:
        found = {y: api.flags(store, y, rule, city, rules, chain=chain, every_rule=every_rule) for y in asked}
    if as_json:
        said = {y: payloads.flags(f) for y, f in found.items()}
        render.json_out(said[asked[0]] if len(asked) == 1 else [{"year": y, "flags": s} for y, s in said.items()])
        return
    for result in found.values():
        render.run_source(result.run)
    if len(asked) == 1:
        render.flags_table(found[asked[0]].hits, found[asked[0]].titles)
    else:
        render.flags_by_year({y: f.hits for y, f in found.items()}, found[asked[-1]].titles)


@app.command(name="stats")
def stats_command(year: YearsOption, as_json: JsonOption = False, db: DbOption = None) -> None:
    """一清零、一提升目标进展：全省、各市、各产业链方向（读该年度最近一次评估）。

    年度范围（如 2020-2024）逐年并列显示；--json 时输出逐年的对象列表，每个带 year。
    """
    from assess.run.names import years

    asked = years(year)
    with api.open_store(db) as store:
        found = [api.stats(store, y) for y in asked]
    if as_json:
        render.json_out(found[0].figures if len(asked) == 1 else [f.figures for f in found])
        return
    for result in found:
        render.run_source(result.run)
    if len(asked) == 1:
        render.stats_summary(found[0].figures)
    else:
        render.stats_by_year([f.figures for f in found])


@app.command()
def rubric(
    year: YearOption,
    pack: Annotated[str, typer.Option("--pack", help="评分规则包：tech_sme 或 hte_ready")],
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """国家评价办法的定量预评：每家企业的结论及其依据（门槛、直通条件、得分或待补数据；读该年度最近一次评估）。"""
    with api.open_store(db) as store:
        found = api.rubric(store, year, pack, rules)
    if as_json:
        render.json_out(payloads.records(found.frame))
        return
    render.rubric_table(found.frame, found.title, found.indicators, found.cannot_check)


@app.command()
def simulate(
    year: YearOption,
    assignments: Annotated[
        list[str],
        typer.Option("--set", help="改动的参数，如 yiqingling.revenue_min=3000 或 little_giant.quota=800"),
    ],
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """假设分析：改动阈值后各市被标记的企业和培育清单如何变化（不保存评估）。"""
    import polars as pl

    from assess.tiers.select import STATUS_TITLES

    overrides = dict(_assignment(text) for text in assignments)
    with api.open_store(db) as store:
        found = api.simulate(store, year, overrides, rules)
    if as_json:
        payload = {"year": year, "set": overrides, "changes": found.changes.to_dicts()}
        render.json_out(payload | {"lists": None if found.lists is None else found.lists.to_dicts()})
        return
    shown = found.changes.filter(pl.col("rule_id").str.split(".").list.first().is_in(list(found.packs)))
    if not shown.is_empty():
        render.simulation_table(shown, overrides, found.flag_titles)
    if found.run is not None and found.lists is not None:
        render.list_simulation_table(found.lists, overrides, found.list_titles, STATUS_TITLES, found.run.run_id)
    else:
        render.notice(f"{year} 年度还没有评估，未比较培育清单（先运行 assess run --year {year}）。")


def _assignment(text: str) -> tuple[str, Scalar]:
    name, sep, value = text.partition("=")
    if not sep or "." not in name:
        raise InputError(f"--set 应写成“规则包.参数=值”，如 yiqingling.revenue_min=3000，收到的是「{text}」。")
    for kind in (int, float):
        try:
            return name.strip(), kind(value)
        except ValueError:
            continue
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    return name.strip(), value.strip()

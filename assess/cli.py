"""The `assess` command line: a thin shell over the library.

Exit status, for every command: 0 success; 1 a request that cannot be met (unknown upload, ...), with a Chinese
message on stderr; 2 unreadable input or a usage error. With --json, stdout holds only the JSON.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from assess import report, runs, stats
from assess.contract import load_contract
from assess.ingest import IngestResult, Options, ingest_files
from assess.outputs.problem_workbook import write_problem_workbook
from assess.outputs.template import write_template
from assess.paths import SAMPLE_DIR
from assess.rules.engine import evaluate_flags
from assess.rules.expressions import Scalar
from assess.rules.packs import PackError, RuleSet, load_rules
from assess.store import Store, StoreError, resolve_db

app = typer.Typer(
    help="山东省标志性产业链企业创新能力评估（assess）",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Path | None, typer.Option("--db", help="数据库文件；默认取环境变量 ASSESS_DB，否则 ./assess.duckdb")
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出（标准输出只有 JSON）")]
UNITS = ("元", "千元", "万元", "亿元")


def _open(db: Path | None) -> Store:
    return Store(resolve_db(db), load_contract())


@contextmanager
def _store(db: Path | None) -> Iterator[Store]:
    """The store, with a request it cannot meet reported in Chinese and exit status 1."""
    try:
        with _open(db) as store:
            yield store
    except StoreError as exc:
        raise _fail(str(exc)) from exc


def _fail(message: str, status: int = 1) -> typer.Exit:
    report.error(message)
    return typer.Exit(status)


@app.command()
def ingest(
    files: Annotated[
        list[Path], typer.Argument(help="要导入的 .xlsx / .xls / .csv / .parquet 文件", show_default=False)
    ],
    year: Annotated[int | None, typer.Option(help="整份文件的数据年度（表中没有“年度”列时使用）")] = None,
    unit: Annotated[str | None, typer.Option(help="金额单位：元、千元、万元或亿元（表头未注明单位时使用）")] = None,
    accept_bad_check: Annotated[
        list[str] | None, typer.Option("--accept-bad-check", help="确认校验位有误但属实的信用代码（可重复）")
    ] = None,
    errors_out: Annotated[Path | None, typer.Option("--errors-out", help="问题清单的输出路径（.xlsx）")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """导入企业填报文件：逐行校验，合格的行入库，问题写入问题清单。"""
    if unit is not None and unit not in UNITS:
        raise _fail(f"--unit 只能是 {'、'.join(UNITS)} 之一，收到的是「{unit}」。", 2)
    missing = [str(f) for f in files if not f.is_file()]
    options = Options(
        year=year, unit=unit, accept_bad_check=frozenset(c.strip().upper() for c in accept_bad_check or [])
    )
    with _open(db) as store:
        results = ingest_files(store, [f for f in files if f.is_file()], options)
    results = [IngestResult(file=name, error=f"找不到文件「{name}」。") for name in missing] + results
    workbooks = _write_problem_workbooks(results, errors_out)
    if as_json:
        report.json_out([r.as_json() for r in results])
    else:
        report.ingest_summary(results, workbooks)
    for result in results:
        if result.error:
            report.error(result.error)
    if any(r.error for r in results):
        raise typer.Exit(2)


def _write_problem_workbooks(
    results: list[IngestResult], errors_out: Path | None, directory: Path | None = None
) -> dict[int, Path]:
    """One 问题清单 per file with problems (named after the file; a name two files share gets the upload number), or
    all of them in --errors-out. Keyed by the result's position."""
    with_problems = {i: r for i, r in enumerate(results) if r.problems.height}
    if errors_out is not None and with_problems:
        path = write_problem_workbook(pl.concat([r.problems for r in with_problems.values()]), errors_out)
        return dict.fromkeys(with_problems, path)
    stems = Counter(Path(r.file).stem for r in with_problems.values())
    paths = {}
    for i, r in with_problems.items():
        stem = Path(r.file).stem
        name = f"{stem}_问题清单.xlsx" if stems[stem] == 1 else f"{stem}_第{r.upload_id or i + 1}批_问题清单.xlsx"
        paths[i] = write_problem_workbook(r.problems, (directory or Path.cwd()) / name)
    return paths


@app.command()
def filings(
    year: Annotated[int | None, typer.Option(help="只看该年度")] = None,
    city: Annotated[str | None, typer.Option(help="只看该地市（如 济南）")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """查看当前有效的企业填报。"""
    with _open(db) as store:
        frame = store.filings(year=year, city=city.removesuffix("市") if city else None)
    if as_json:
        report.json_out(report.records(frame))
    else:
        report.filings_table(frame)


@app.command()
def uploads(as_json: JsonOption = False, db: DbOption = None) -> None:
    """列出所有上传批次及其行数统计。"""
    with _open(db) as store:
        frame = store.uploads()
    if as_json:
        report.json_out(report.records(frame))
    else:
        report.uploads_table(frame)


@app.command()
def problems(
    upload_id: Annotated[int, typer.Argument(help="上传批次编号（见 assess uploads）")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """重新列出某个上传批次的问题。"""
    with _store(db) as store:
        frame = store.problems(upload_id)
    if as_json:
        report.json_out(report.records(frame.drop("file", "hint")))
    else:
        report.problems_table(frame)


@app.command()
def retract(
    upload_id: Annotated[int, typer.Argument(help="要撤回的上传批次编号")],
    db: DbOption = None,
) -> None:
    """撤回一个上传批次：其填报不再有效，被它替代的旧版本恢复有效；数据不删除。"""
    with _store(db) as store:
        store.retract(upload_id)
    report.notice(f"已撤回上传批次 {upload_id}。")


@app.command()
def template(out: Annotated[Path, typer.Option("--out", help="输出的 .xlsx 文件")]) -> None:
    """生成空白填报模板（含填报说明）。"""
    report.notice(f"空白填报模板已写入：{write_template(out)}")


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="输出文件：.xlsx、.csv 或 .parquet")],
    enterprises: Annotated[int, typer.Option(help="企业数")] = 1000,
    years: Annotated[str, typer.Option(help="年度范围，如 2020-2024")] = "2020-2024",
    seed: Annotated[int, typer.Option(help="随机种子：同一种子生成相同数据")] = 1,
) -> None:
    """生成合成的企业填报数据（非真实企业，供演示和测试）。"""
    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import write_panel

    match = re.fullmatch(r"(\d{4})-(\d{4})", years)
    if not match or int(match.group(1)) > int(match.group(2)):
        raise _fail(f"--years 应写成“起始年-结束年”，如 2020-2024，收到的是「{years}」。", 2)
    if enterprises < 1:
        raise _fail(f"--enterprises 应为正整数，收到的是 {enterprises}。", 2)
    if out.suffix.lower() not in (".xlsx", ".csv", ".parquet"):
        raise _fail("--out 只能是 .xlsx、.csv 或 .parquet 文件。", 2)
    panel = generate_panel(enterprises, int(match.group(1)), int(match.group(2)), seed)
    write_panel(panel, out)
    report.notice(f"已生成 {panel.height} 行合成数据（{enterprises} 家企业）：{out}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--dir", help="演示输出目录")] = Path("demo"),
    as_json: JsonOption = False,
) -> None:
    """演示：用自带的合成样例数据新建数据库，导入、逐年评估，输出汇总和一清零一提升目标进展。"""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    db = out_dir / "assess.duckdb"
    files = [SAMPLE_DIR / "panel_2020-2024.xlsx", SAMPLE_DIR / "messy.xlsx"]
    rules = _rules()
    with _open(db) as store:
        results = ingest_files(store, files, Options())
        by_year = store.con.sql(
            "SELECT year, count(*) AS filings, count(DISTINCT city) AS cities FROM filings GROUP BY year ORDER BY year"
        ).pl()
        done = [runs.execute(store, rules, year) for year in by_year["year"].to_list()]
        figures = [stats.targets(runs.counts(store, r), r.year, store.contract, r.manifest) for r in done]
    workbooks = _write_problem_workbooks(results, None, out_dir)
    if as_json:
        report.json_out(
            {
                "db": str(db),
                "uploads": [r.as_json() for r in results],
                "by_year": report.records(by_year),
                "runs": [{"run_id": r.run_id, "year": r.year} for r in done],
                "stats": figures,
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
    report.notice(f"数据库：{db}；逐年评估编号：{'、'.join(str(r.run_id) for r in done)}。")


def _rules(overrides: dict[str, Scalar] | None = None) -> RuleSet:
    try:
        return load_rules(overrides=overrides)
    except PackError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def run(
    year: Annotated[int, typer.Option(help="数据年度")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """评估该年度：运行全部规则包，保存评估结果（含规则版本、数据批次和软件版本）。"""
    rules = _rules()
    with _store(db) as store:
        done = runs.execute(store, rules, year)
        found = runs.counts(store, done)
    summary = stats.targets(found, year, load_contract(), done.manifest)
    if as_json:
        report.json_out({"run_id": done.run_id, "year": year, "manifest": done.manifest, "stats": summary})
        return
    report.notice(f"已完成 {year} 年度评估，评估编号 {done.run_id}。")
    report.stats_summary(summary)


@app.command()
def flags(
    year: Annotated[int, typer.Option(help="数据年度")],
    rule: Annotated[str | None, typer.Option("--rule", help="只看某条规则，如 yiqingling.no_rd_activity")] = None,
    city: Annotated[str | None, typer.Option(help="只看该地市")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """列出被一清零、一提升规则标记的企业（读该年度最近一次评估）。"""
    with _store(db) as store:
        latest = runs.latest(store, year)
        found = runs.hits(store, latest, rule, city.removesuffix("市") if city else None)
    if as_json:
        report.json_out(found.select("credit_code", "name", "city", "rule_id", "message").to_dicts())
        return
    report.notice(f"以下结果来自 {year} 年度第 {latest.run_id} 次评估（{latest.created_at:%Y-%m-%d %H:%M}）。")
    report.flags_table(found, {r.id: r.title for r in _rules().flag_rules})


@app.command(name="stats")
def stats_command(
    year: Annotated[int, typer.Option(help="数据年度")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """一清零、一提升目标进展：全省、各市、各产业链方向（读该年度最近一次评估）。"""
    with _store(db) as store:
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
    with _store(db) as store:
        latest = runs.latest(store, year)
        frame = runs.rubric(store, latest, pack)
    if frame.is_empty():
        raise _fail(f"第 {latest.run_id} 次评估中没有评分规则包「{pack}」的结果。")
    if as_json:
        report.json_out(report.records(frame))
        return
    loaded = _rules().pack(pack)
    report.rubric_table(frame, loaded.pack.title, {i.id: i.title for i in loaded.pack.indicators})


@app.command()
def simulate(
    year: Annotated[int, typer.Option(help="数据年度")],
    assignments: Annotated[list[str], typer.Option("--set", help="改动的参数，如 yiqingling.revenue_min=3000")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """假设分析：改动阈值后各市的企业数和覆盖率如何变化（不保存评估）。"""
    overrides = dict(_assignment(text) for text in assignments)
    baseline, changed = _rules(), _rules(overrides)
    rubrics = sorted({name.split(".")[0] for name in overrides} & {p.id for p in baseline.packs if p.rubric})
    if rubrics:
        raise _fail(
            f"假设分析只比较一清零、一提升的标记结果；评分规则包（{'、'.join(rubrics)}）的参数请改规则文件后重新评估。",
            2,
        )
    with _store(db) as store:
        runs.prepare(store)
        before = evaluate_flags(store.con, baseline, year).counts
        after = evaluate_flags(store.con, changed, year).counts
    compared = stats.compare(before, after)
    if as_json:
        report.json_out({"year": year, "set": overrides, "changes": compared.to_dicts()})
        return
    report.simulation_table(compared, overrides, {r.id: r.title for r in baseline.flag_rules})


def _assignment(text: str) -> tuple[str, Scalar]:
    name, sep, value = text.partition("=")
    if not sep or "." not in name:
        raise _fail(f"--set 应写成“规则包.参数=值”，如 yiqingling.revenue_min=3000，收到的是「{text}」。", 2)
    for kind in (int, float):
        try:
            return name.strip(), kind(value)
        except ValueError:
            continue
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    return name.strip(), value.strip()

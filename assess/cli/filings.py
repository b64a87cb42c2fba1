"""Commands for filings: ingest, look at what is stored, withdraw an upload, the blank template, sample data."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from assess import report
from assess.cli.common import UNITS, DbOption, JsonOption, app, fail, store_for
from assess.ingest import IngestResult, Options, ingest_files
from assess.outputs.problem_workbook import write_problem_workbook
from assess.outputs.template import write_template


@app.command()
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(help="要导入的 .xlsx / .xls / .csv / .parquet 文件", metavar="文件", show_default=False),
    ],
    year: Annotated[int | None, typer.Option(help="整份文件的数据年度（表中没有“年度”列时使用）")] = None,
    unit: Annotated[str | None, typer.Option(help="金额单位：元、千元、万元或亿元（表头未注明单位时使用）")] = None,
    accept_bad_check: Annotated[
        list[str] | None, typer.Option("--accept-bad-check", help="确认校验位有误但属实的信用代码")
    ] = None,
    errors_out: Annotated[Path | None, typer.Option("--errors-out", help="问题清单的输出路径（.xlsx）")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """导入企业填报文件：逐行校验，合格的行入库，问题写入问题清单。"""
    if unit is not None and unit not in UNITS:
        raise fail(f"--unit 只能是 {'、'.join(UNITS)} 之一，收到的是「{unit}」。", 2)
    missing = [str(f) for f in files if not f.is_file()]
    options = Options(
        year=year, unit=unit, accept_bad_check=frozenset(c.strip().upper() for c in accept_bad_check or [])
    )
    with store_for(db) as store:
        results = ingest_files(store, [f for f in files if f.is_file()], options)
    results = [IngestResult(file=name, error=f"找不到文件「{name}」。") for name in missing] + results
    workbooks = write_problem_workbooks(results, errors_out)
    if as_json:
        report.json_out([r.as_json() for r in results])
    else:
        report.ingest_summary(results, workbooks)
    for result in results:
        if result.error:
            report.error(result.error)
    if any(r.error for r in results):
        raise typer.Exit(2)


def write_problem_workbooks(
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
    with store_for(db) as store:
        frame = store.filings(year=year, city=city.removesuffix("市") if city else None)
    if as_json:
        report.json_out(report.records(frame))
    else:
        report.filings_table(frame)


@app.command()
def uploads(as_json: JsonOption = False, db: DbOption = None) -> None:
    """列出所有上传批次及其行数统计。"""
    with store_for(db) as store:
        frame = store.uploads()
    if as_json:
        report.json_out(report.records(frame))
    else:
        report.uploads_table(frame)


@app.command()
def problems(
    upload_id: Annotated[int, typer.Argument(help="上传批次编号（见 assess uploads）", metavar="上传批次编号")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """重新列出某个上传批次的问题。"""
    with store_for(db) as store:
        frame = store.problems(upload_id)
    if as_json:
        report.json_out(report.records(frame.drop("file", "hint")))
    else:
        report.problems_table(frame)


@app.command()
def retract(
    upload_id: Annotated[int, typer.Argument(help="要撤回的上传批次编号", metavar="上传批次编号")],
    db: DbOption = None,
) -> None:
    """撤回一个上传批次：其填报不再有效，被它替代的旧版本恢复有效；数据不删除。"""
    with store_for(db) as store:
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
        raise fail(f"--years 应写成“起始年-结束年”，如 2020-2024，收到的是「{years}」。", 2)
    if enterprises < 1:
        raise fail(f"--enterprises 应为正整数，收到的是 {enterprises}。", 2)
    if out.suffix.lower() not in (".xlsx", ".csv", ".parquet"):
        raise fail("--out 只能是 .xlsx、.csv 或 .parquet 文件。", 2)
    panel = generate_panel(enterprises, int(match.group(1)), int(match.group(2)), seed)
    write_panel(panel, out)
    report.notice(f"已生成 {panel.height} 行合成数据（{enterprises} 家企业）：{out}")

"""Commands for filings: ingest, look at what is stored, withdraw an upload, the blank template, sample data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from assess import api
from assess.access import payloads
from assess.cli import render
from assess.cli.common import UNITS, DbOption, JsonOption, RulesOption, app
from assess.cli.progress import progress_bar
from assess.errors import InputError


@app.command()
def ingest(
    files: Annotated[
        list[Path],
        # readable=False: a file that may not be read is the library's refusal, in its own words (and in --json)
        typer.Argument(
            help="要导入的 .xlsx / .xls / .csv / .parquet 文件", metavar="文件", show_default=False, readable=False
        ),
    ],
    year: Annotated[int | None, typer.Option(help="整份文件的数据年度（表中没有“年度”列时使用）")] = None,
    unit: Annotated[str | None, typer.Option(help="金额单位：元、千元、万元或亿元（表头未注明单位时使用）")] = None,
    accept_bad_check: Annotated[
        list[str] | None, typer.Option("--accept-bad-check", help="确认校验位有误但属实的信用代码")
    ] = None,
    city: Annotated[
        str | None,
        typer.Option(help="本市的文件：“所属地市”为空的行按该市导入，填了其他地市的行拒收（如 济南）"),
    ] = None,
    errors_out: Annotated[Path | None, typer.Option("--errors-out", help="问题清单的输出路径（.xlsx）")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """导入企业填报文件：逐行校验，合格的行入库，问题写入问题清单。"""
    from assess.ingest import Options

    if unit is not None and unit not in UNITS:
        raise InputError(f"--unit 只能是 {'、'.join(UNITS)} 之一，收到的是「{unit}」。")
    options = Options(
        year=year,
        unit=unit,
        accept_bad_check=frozenset(c.strip().upper() for c in accept_bad_check or []),
        city=api.city_name(city),
    )
    with api.open_store(db) as store, progress_bar(as_json) as progress:
        results = api.ingest(store, files, options, progress)
    workbooks = api.problem_workbooks(results, errors_out)
    if as_json:
        render.json_out([r.as_json() for r in results])
    else:
        render.ingest_summary(results, workbooks.written)
    for i, why in workbooks.failed.items():  # the upload is committed: its result stands, exit status unchanged
        again = f"，可用 assess problems {results[i].upload_id} 重新列出" if results[i].upload_id else ""
        render.warning(f"「{results[i].file}」的问题清单未能写出{again}：{why}")
    for result in results:
        if result.error:
            render.error(result.error)
    if any(r.error for r in results):
        raise typer.Exit(2)


@app.command()
def filings(
    year: Annotated[int | None, typer.Option(help="只看该年度")] = None,
    city: Annotated[str | None, typer.Option(help="只看该地市（如 济南）")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """查看当前有效的企业填报。"""
    with api.open_store(db) as store:
        frame = store.filings(year=year, city=api.city_name(city))
    if as_json:
        render.json_out(payloads.records(frame))
    else:
        render.filings_table(frame)


@app.command()
def uploads(as_json: JsonOption = False, db: DbOption = None) -> None:
    """列出所有上传批次及其行数统计。"""
    with api.open_store(db) as store:
        frame = store.uploads()
    if as_json:
        render.json_out(payloads.records(frame))
    else:
        render.uploads_table(frame)


@app.command()
def problems(
    upload_id: Annotated[int, typer.Argument(help="上传批次编号（见 assess uploads）", metavar="上传批次编号")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """重新列出某个上传批次的问题。"""
    with api.open_store(db) as store:
        frame = store.problems(upload_id, placed=as_json)
    if as_json:
        render.json_out(payloads.problems(frame))
    else:
        render.problems_table(frame)


@app.command()
def retract(
    upload_id: Annotated[int, typer.Argument(help="要撤回的上传批次编号", metavar="上传批次编号")],
    db: DbOption = None,
) -> None:
    """撤回一个上传批次：其填报不再有效，被它替代的旧版本恢复有效；数据不删除。"""
    with api.open_store(db) as store:
        api.retract(store, upload_id)
    render.notice(f"已撤回上传批次 {upload_id}。")


@app.command()
def template(out: Annotated[Path, typer.Option("--out", help="输出的 .xlsx 文件")]) -> None:
    """生成空白填报模板（含填报说明）。"""
    render.notice(f"空白填报模板已写入：{api.template(out)}")


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="输出文件：.xlsx、.csv 或 .parquet")],
    enterprises: Annotated[int, typer.Option(help="企业数")] = 1000,
    years: Annotated[str, typer.Option(help="年度范围，如 2020-2024")] = "2020-2024",
    seed: Annotated[int, typer.Option(help="随机种子：同一种子生成相同数据")] = 1,
) -> None:
    """生成合成的企业填报数据（非真实企业，供演示和测试）。"""
    match = re.fullmatch(r"(\d{4})-(\d{4})", years)
    if not match:
        raise InputError(f"--years 应写成“起始年-结束年”，如 2020-2024，收到的是「{years}」。")
    rows = api.sample(out, enterprises, int(match.group(1)), int(match.group(2)), seed)
    render.notice(f"已生成 {rows} 行合成数据（{enterprises} 家企业）：{out}")


@app.command("export-parquet")
def export_parquet(
    out: Annotated[Path, typer.Option("--out", help="输出文件夹（新的或空的）")],
    year: Annotated[
        str | None, typer.Option("--year", help="数据年度或范围（如 2020-2024）；默认全部年度", metavar="年度")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """把有效填报（及特征要读的补充数据）导出为按年度、地市分区的 Parquet，附清单（批次号、每个文件的 SHA-256），
    供 Spark 等其他引擎评估；所选年度之前特征要读的年份一并导出，评分模型（按库中专家评审结果和规则文件夹训练的）
    也一并导出。"""
    from assess.run.names import years

    with api.open_store(db) as store:
        done = api.export_parquet(store, out, years(year) if year else None, rules)
    if as_json:
        render.json_out(done.manifest)
        return
    manifest = done.manifest
    first, last = manifest["years_written"]
    render.notice(
        f"已导出 {first}—{last} 年度的有效填报到「{done.out}」：{len(manifest['files'])} 个 Parquet 文件，"
        f"来自 {len(manifest['upload_ids'])} 个上传批次；清单见 manifest.json。"
    )
    render.notice(render.exported_model(manifest["model"]))

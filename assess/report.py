"""What the command line prints: Chinese tables for people (on stdout), notices and errors on stderr, JSON on stdout.

Tables show only what a reader needs to act on; full data goes to --json and the Excel files.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from assess.ingest.upload import IngestResult

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LEVELS = {"error": "错误", "warning": "警告", "info": "提示"}


def notice(message: str) -> None:
    err.print(message)


def error(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_out(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=_default))
    sys.stdout.write("\n")


def records(frame: pl.DataFrame) -> list[dict]:
    """Rows as dicts for JSON: decimals (money in 万元) become numbers."""
    decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_dicts()


def ingest_summary(results: list[IngestResult], workbooks: dict[str, Path]) -> None:
    for r in results:
        if r.error:
            out.print(f"[bold]{r.file}[/bold]：[red]未导入[/red]（{r.error}）")
            continue
        again = f"（与第 {r.upload_id} 批完全相同，未重复导入）" if r.duplicate_upload else ""
        out.print(
            f"[bold]{r.file}[/bold]{again}：上传批次 {r.upload_id}；读取 {r.rows_read} 行，"
            f"接收 {r.accepted}，拒收 {r.rejected}，跳过 {r.skipped}，警告 {r.warnings}。"
        )
        common = Counter(r.problems["code"].to_list()).most_common(5) if r.problems.height else []
        if common:
            out.print("  最常见的问题：" + "，".join(f"{code} × {n}" for code, n in common))
        if r.file in workbooks:
            out.print(f"  问题清单已写入：{workbooks[r.file]}")


def _table(title: str, frame: pl.DataFrame, columns: dict[str, str]) -> None:
    table = Table(title=title, show_lines=False)
    for header in columns.values():
        table.add_column(header)
    for row in frame.select(list(columns)).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    out.print(table)


def filings_table(frame: pl.DataFrame) -> None:
    _table(
        f"当前有效的填报（共 {frame.height} 条）",
        frame,
        {
            "year": "年度",
            "city": "地市",
            "credit_code": "统一社会信用代码",
            "name": "企业名称",
            "industry_code": "行业代码",
            "revenue": "营业收入（万元）",
            "rd_expense": "研发费用（万元）",
            "rd_institution": "研发机构",
        },
    )


def uploads_table(frame: pl.DataFrame) -> None:
    shown = frame.with_columns(
        state=pl.when(pl.col("retracted_at").is_null()).then(pl.lit("有效")).otherwise(pl.lit("已撤回")),
        uploaded_at=pl.col("uploaded_at").dt.strftime("%Y-%m-%d %H:%M"),
    )
    _table(
        "上传批次",
        shown,
        {
            "upload_id": "批次",
            "file_name": "文件",
            "uploaded_at": "时间",
            "rows_read": "读取",
            "accepted": "接收",
            "rejected": "拒收",
            "skipped": "跳过",
            "warnings": "警告",
            "state": "状态",
        },
    )


def problems_table(frame: pl.DataFrame) -> None:
    shown = frame.with_columns(level=pl.col("level").replace_strict(LEVELS))
    _table(f"问题（共 {frame.height} 个）", shown, {"code": "代码", "level": "级别", "message": "说明"})


def year_table(frame: pl.DataFrame) -> None:
    _table("各年度当前有效填报", frame, {"year": "年度", "filings": "企业数", "cities": "地市数"})

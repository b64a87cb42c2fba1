"""Writing a synthetic panel as a file people open: .xlsx, .csv or .parquet, each labelled as synthetic.

Headers are the contract's canonical headers with their units, in contract order, so the files are also valid
uploads. The workbook and the CSV carry a title row above the header (the ingest skips title rows); Parquet has no
room for one and says it in its key-value metadata. In the workbook and the CSV, yes/no fields read 是/否 as people
fill them in; the CSV starts with a byte-order mark so that Excel opens its Chinese text correctly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from assess.contract import FieldSpec, load_contract
from assess.outputs.xlsx import TEXT_FORMAT, as_cell

TITLE = "合成数据（非真实企业）：山东省企业创新能力填报样例"
SHEET = "填报数据"
METADATA = {"synthetic": "true", "description": TITLE, "generator": "assess.synthetic"}
DATE_FORMAT = "yyyy-mm-dd"
TEXT_KINDS = ("credit_code", "industry")  # code columns Excel must keep as text
YES_NO = {True: "是", False: "否"}


def write_panel(df: pl.DataFrame, out: Path) -> None:
    """Write `df` (columns named by contract field names) to `out`, in the format its suffix names."""
    writers: dict[str, Callable[[pl.DataFrame, list[FieldSpec], Path], None]] = {
        ".xlsx": _write_xlsx,
        ".csv": _write_csv,
        ".parquet": _write_parquet,
    }
    writer = writers.get(out.suffix.lower())
    if writer is None:
        raise ValueError(f"unsupported file type {out.suffix!r}: use .xlsx, .csv or .parquet")
    specs = [spec for spec in load_contract().fields if spec.name in df.columns]
    out.parent.mkdir(parents=True, exist_ok=True)
    writer(df.select(spec.name for spec in specs), specs, out)


def _as_filled_in(df: pl.DataFrame) -> pl.DataFrame:
    """Yes/no fields as 是/否."""
    flags = [name for name, dtype in df.schema.items() if dtype == pl.Boolean]
    return df.with_columns(pl.col(name).replace_strict(YES_NO, return_dtype=pl.String) for name in flags)


def _write_xlsx(df: pl.DataFrame, specs: list[FieldSpec], out: Path) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    for index, spec in enumerate(specs):
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(10, 2 * len(spec.header_with_unit) + 2)
    sheet.append([_cell(sheet, TITLE, font=Font(bold=True, size=14))])
    sheet.append([_cell(sheet, spec.header_with_unit, font=Font(bold=True)) for spec in specs])
    formats = [_number_format(spec, dtype) for spec, dtype in zip(specs, df.dtypes, strict=True)]
    for row in _as_filled_in(df).iter_rows():
        sheet.append(
            [
                value if fmt is None or value is None else _cell(sheet, value, number_format=fmt)
                for value, fmt in zip(row, formats, strict=True)
            ]
        )
    workbook.save(out)


def _number_format(spec: FieldSpec, dtype: pl.DataType) -> str | None:
    if spec.kind in TEXT_KINDS:
        return TEXT_FORMAT
    if dtype == pl.Date:
        return DATE_FORMAT
    return None


def _cell(
    sheet: WriteOnlyWorksheet, value: object, *, font: Font | None = None, number_format: str | None = None
) -> Cell:
    cell = as_cell(sheet, value)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _write_csv(df: pl.DataFrame, specs: list[FieldSpec], out: Path) -> None:
    table = _as_filled_in(df).rename(_headers(specs)).write_csv()
    out.write_text(f"{TITLE}\n{table}", encoding="utf-8-sig")


def _write_parquet(df: pl.DataFrame, specs: list[FieldSpec], out: Path) -> None:
    table = df.rename(_headers(specs)).to_arrow()
    metadata = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in METADATA.items()}}
    pq.write_table(table.replace_schema_metadata(metadata), out)


def _headers(specs: list[FieldSpec]) -> dict[str, str]:
    return {spec.name: spec.header_with_unit for spec in specs}

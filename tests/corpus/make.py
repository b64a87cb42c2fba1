"""The files of the hostile corpus, each made by the builder its case in `cases.yaml` names.

No file of the corpus is committed: each is made at test time into a folder the tests own (the large ones are a
sparse file, a zip of a few hundred KB and workbooks whose stray cell is one line of XML, so the whole corpus is made
in seconds). `python -m tests.corpus.make DIR` makes them all into DIR, to look at them by hand.
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl
import xlwt
import yaml

from tests.conftest import HEADER, Rows, firm_row, write_xlsx

CASES_FILE = Path(__file__).with_name("cases.yaml")
SEED_FILE = "已导入.xlsx"  # the upload every case's database already holds (firms 1-5)
Builder = Callable[..., None]
BUILDERS: dict[str, Builder] = {}


def builder(make: Builder) -> Builder:
    BUILDERS[make.__name__] = make
    return make


def load_cases() -> list[dict]:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def make(case: dict, folder: Path) -> Path:
    """The case's file (or folder), made in `folder`."""
    path = folder / case["file"]
    BUILDERS[case["make"]](path, **case.get("args", {}))
    return path


def firms(first: int = 11, count: int = 5, **overrides: object) -> Rows:
    """A header and `count` clean filings of firms `first`, `first` + 1, ...: none of them is in the seed upload."""
    return [HEADER, *(firm_row(serial, **overrides) for serial in range(first, first + count))]


def _lines(rows: Rows, separator: str = ",") -> str:
    return "\n".join(separator.join("" if v is None else str(v) for v in row) for row in rows) + "\n"


def _edit_sheet(path: Path, edit: Callable[[str], str], sheet: str = "xl/worksheets/sheet1.xml") -> None:
    """Change a workbook's sheet XML, for what openpyxl cannot write (cached formula values, far cells)."""
    with zipfile.ZipFile(path) as book:
        parts = {info.filename: book.read(info) for info in book.infolist()}
    parts[sheet] = edit(parts[sheet].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)


def seed(path: Path) -> None:
    """The file of the upload every case's database holds before the case's file is ingested."""
    write_xlsx(path, {"填报": firms(first=1)})


# --- files of the wrong kind ---------------------------------------------------------------------------------------


@builder
def text(path: Path, content: str, encoding: str = "utf-8") -> None:
    path.write_bytes(content.encode(encoding))


@builder
def folder(path: Path) -> None:
    path.mkdir()
    write_xlsx(path / "济南.xlsx", {"填报": firms()})


@builder
def pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


@builder
def zip_of_text(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("说明.txt", "这是一个压缩包，不是工作簿。")


@builder
def zip_bomb(path: Path, megabytes: int) -> None:
    """A workbook whose sheet unpacks to `megabytes` MB of spaces around its five filings."""
    write_xlsx(path, {"填报": firms()})
    with zipfile.ZipFile(path) as book:
        parts = {info.filename: book.read(info) for info in book.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            if name != sheet:
                book.writestr(name, data)
                continue
            head, tail = data.split(b"<sheetData>")
            with book.open(name, "w") as part:
                part.write(head + b"<sheetData>")
                for _ in range(megabytes):
                    part.write(b" " * (1 << 20))
                part.write(tail)


@builder
def truncated(path: Path) -> None:
    write_xlsx(path, {"填报": firms()})
    path.write_bytes(path.read_bytes()[:1500])


@builder
def xls(path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("填报")
    for r, row in enumerate(firms()):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))


@builder
def xlsx(path: Path) -> None:
    write_xlsx(path, {"填报": firms()})


@builder
def parquet(path: Path, nested: bool = False) -> None:
    rows = firms()
    frame = pl.DataFrame({h: [str(r[i]) for r in rows[1:]] for i, h in enumerate(HEADER)})
    if nested:
        frame = frame.with_columns(财务=pl.struct(营业收入=pl.lit(1.0), 研发费用=pl.lit(0.1)))
    frame.write_parquet(path)


@builder
def sparse(path: Path, gigabytes: int) -> None:
    """A header line, then a hole: zero bytes that take no disk."""
    with path.open("wb") as file:
        file.write(_lines(firms()[:1]).encode())
        file.truncate(gigabytes << 30)


# --- encodings ------------------------------------------------------------------------------------------------------


@builder
def csv(path: Path, encoding: str = "utf-8", separator: str = ",", rows: Rows | None = None, before: str = "") -> None:
    path.write_bytes((before + _lines(rows or firms(), separator)).encode(encoding))


@builder
def csv_rare_characters(path: Path) -> None:
    """GB18030 with characters outside GBK (four-byte sequences): 䶮 and 𠀾."""
    csv(path, "gb18030", rows=[HEADER, firm_row(11, 企业名称="䶮𠀾科技有限公司"), *firms(12, 4)[1:]])


@builder
def undecodable(path: Path) -> None:
    path.write_bytes(_lines(firms()).encode() + bytes([0x81, 0x20, 0xFF, 0xFE, 0x0A]))


# --- headers --------------------------------------------------------------------------------------------------------


@builder
def without_column(path: Path, column: str) -> None:
    index = HEADER.index(column)
    write_xlsx(path, {"填报": [[v for i, v in enumerate(row) if i != index] for row in firms()]})


@builder
def repeated_column(path: Path) -> None:
    write_xlsx(path, {"填报": [[*row, row[5] if i else "营业收入"] for i, row in enumerate(firms())]})


@builder
def header_at_row(path: Path, row: int) -> None:
    above: Rows = [["2024年企业创新能力填报表"], ["填报单位：（盖章）"], *([[]] * (row - 3))]
    write_xlsx(path, {"填报": [*above, *firms()]})


@builder
def two_row_header(path: Path) -> None:
    groups = ["企业信息", None, None, None, None, "经营情况（万元）", None, "人员", "研发"]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "填报"
    for row in [groups, *firms()]:  # the sub-headers are the template's
        sheet.append(list(row))
    sheet.merge_cells("A1:E1")
    sheet.merge_cells("F1:G1")
    book.save(path)


# --- values ---------------------------------------------------------------------------------------------------------


@builder
def values(path: Path, column: str, cells: list) -> None:
    """One filing per value, the value in `column` (added after the others when the header lacks it); a CSV file
    where the name asks for one (a workbook cannot hold control characters)."""
    header = HEADER if column in HEADER else [*HEADER, column]
    rows: Rows = [header]
    for serial, value in enumerate(cells, start=11):
        row = firm_row(serial, **({column: value} if column in HEADER else {}))
        rows.append(row if column in HEADER else [*row, value])
    if path.suffix == ".csv":
        csv(path, rows=rows)
    else:
        write_xlsx(path, {"填报": rows})


@builder
def long_name(path: Path, length: int) -> None:
    write_xlsx(path, {"填报": [*firms(count=4), firm_row(15, 企业名称="长" * length)]})


@builder
def formulas(path: Path, cached: bool) -> None:
    """营业收入 as formulas, with the values Excel cached when it saved (or none: written by a program, never
    calculated); and a name that a user typed beginning with =, which Excel keeps as text."""
    rows: Rows = [HEADER, firm_row(11, 企业名称="=合成企业11", 营业收入=0), *firms(12, 4, 营业收入=0)[1:]]
    write_xlsx(path, {"填报": rows})
    value = "<v>5000</v>" if cached else ""
    _edit_sheet(
        path, lambda xml: re.sub(r'<c r="F([2-6])" t="n"><v>0</v></c>', rf'<c r="F\1"><f>4000+1000</f>{value}</c>', xml)
    )


@builder
def merged_name(path: Path) -> None:
    """Two filings of one firm name merged over both rows: the lower row's cell is empty."""
    write_xlsx(path, {"填报": firms(企业名称="合成集团")})
    book = openpyxl.load_workbook(path)
    book["填报"].merge_cells("B2:B3")
    book.save(path)


@builder
def hidden(path: Path) -> None:
    """A hidden row in the table, and a hidden sheet with filings of its own."""
    write_xlsx(path, {"填报": firms(), "隐藏": firms(first=21, count=2)})
    book = openpyxl.load_workbook(path)
    book["填报"].row_dimensions[3].hidden = True
    book["隐藏"].sheet_state = "hidden"
    book.save(path)


@builder
def error_cells(path: Path) -> None:
    write_xlsx(path, {"填报": firms()})
    _edit_sheet(path, lambda xml: re.sub(r'<c r="F3"[^>]*>.*?</c>', '<c r="F3" t="e"><v>#DIV/0!</v></c>', xml))


# --- structure ------------------------------------------------------------------------------------------------------


@builder
def stray_cell(path: Path, cell: str) -> None:
    """The five filings, and one value far from them (written as Excel writes a cell typed there)."""
    write_xlsx(path, {"填报": firms()})
    row = re.sub(r"[A-Z]", "", cell)
    _edit_sheet(
        path,
        lambda xml: xml.replace(
            "</sheetData>", f'<row r="{row}"><c r="{cell}" t="inlineStr"><is><t>备注</t></is></c></row></sheetData>'
        ),
    )


@builder
def blank_lines(path: Path, lines: int) -> None:
    rows = _lines(firms()).splitlines()
    path.write_text("\n".join(rows[:3]) + "\n" * (lines + 1) + "\n".join(rows[3:]) + "\n" + "\n" * lines)


@builder
def wide_line(path: Path, separators: int, value: str = "") -> None:
    """A total line followed by `separators` separators, then `value`."""
    path.write_text(_lines(firms()) + "合计" + "," * separators + value + "\n", encoding="utf-8")


@builder
def sheets(path: Path, count: int) -> None:
    write_xlsx(path, {"填报": firms(), **{f"附表{i}": [["附表"]] for i in range(1, count)}})


@builder
def with_empty_sheet(path: Path) -> None:
    write_xlsx(path, {"空表": [], "填报": firms()})


@builder
def title_only(path: Path) -> None:
    write_xlsx(path, {"填报": [["2024年企业创新能力填报表"]]})


@builder
def header_only(path: Path) -> None:
    write_xlsx(path, {"填报": [HEADER]})


@builder
def duplicates(path: Path) -> None:
    rows = firms()
    write_xlsx(path, {"填报": [*rows, rows[2]]})


@builder
def copy_of_seed(path: Path, seed_folder: Path) -> None:
    shutil.copy(seed_folder / SEED_FILE, path)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    seed(out / SEED_FILE)
    for case in load_cases():
        if case["make"] != "copy_of_seed":  # the repeated upload is the seed file itself
            make(case, out)

"""The blank filing template, generated from the contract so that it always matches what the reader accepts.

Sheet 填报表 carries the header row (every field's header with its unit, in contract order; required fields in red,
notes as header comments), text format on the text-like columns and drop-down lists on the choice and yes/no
columns. Sheet 填报说明 explains every field: its header, the other headers accepted, type, unit, whether required.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from assess.contract import Contract, FieldSpec, Kind, load_contract
from assess.outputs.saving import save_workbook
from assess.outputs.xlsx import HEADER_FONT, TEXT_FORMAT, write_table

FORM_SHEET = "填报表"
GUIDE_SHEET = "填报说明"
TEMPLATE_ROWS = 1000
GUIDE_HEADERS = ("字段", "表头", "也接受的表头", "类型", "单位", "是否必填", "说明")
GUIDE_LINES = (
    "填报说明",
    "1. 每行填写一家企业一个年度的数据；同一企业同一年度只填一行。",
    "2. 红色表头为必填项；表头文字不要改动（括号里的单位除外），列的顺序不限，不需要的非必填列可以删除。",
    "3. 单位写在表头括号里，如“营业收入（万元）”；金额按元、千元或亿元填报时，把括号里的单位改成实际单位即可。",
    "4. 统一社会信用代码、行业代码等代码列须为“文本”格式（本模板已设置），否则代码会丢失精度或首位的0。",
    "5. 有下拉列表的列请从列表中选择；模板以外的列会原样保存，但不参与评估。",
    "6. 导入后发现的问题会列在问题清单中，每个问题附问题代码（如 E-USCC-FORMAT）、所在行列和修改建议。",
)
KIND_NAMES: dict[Kind, str] = {
    "credit_code": "18位代码（文本）",
    "text": "文本",
    "year": "4位年度",
    "city": "地市名称或6位区划代码",
    "industry": "行业代码（文本）",
    "boolean": "是/否",
    "choice": "单选",
    "chain": "产业链名称",
    "money": "金额",
    "count": "非负整数",
    "percent": "百分数（0-100）",
    "set": "多选",
    "date": "日期",
}
NUMBER_FORMATS: dict[Kind, str] = {
    "credit_code": TEXT_FORMAT,
    "text": TEXT_FORMAT,
    "city": TEXT_FORMAT,
    "industry": TEXT_FORMAT,
    "boolean": TEXT_FORMAT,
    "choice": TEXT_FORMAT,
    "chain": TEXT_FORMAT,
    "set": TEXT_FORMAT,
    "date": "yyyy-mm-dd",
}
BOOLEAN_CHOICES = ("是", "否")
REQUIRED_FONT = Font(bold=True, color="C00000")
_LAST_EXCEL_ROW = 1_048_576


def write_template(path: Path) -> Path:
    """Write the blank filing template to `path`."""
    contract = load_contract()
    workbook = Workbook()
    form = workbook.active
    assert isinstance(form, Worksheet)  # a new workbook opens on its one worksheet
    form.title = FORM_SHEET
    _write_form(form, contract)
    _write_guide(workbook.create_sheet(GUIDE_SHEET), contract)
    return save_workbook(workbook, path)


def _write_form(sheet: Worksheet, contract: Contract) -> None:
    formats = {
        index: NUMBER_FORMATS[spec.kind] for index, spec in enumerate(contract.fields) if spec.kind in NUMBER_FORMATS
    }
    blank = [None] * len(contract.fields)
    write_table(
        sheet,
        [spec.header_with_unit for spec in contract.fields],
        (blank for _ in range(TEMPLATE_ROWS)),
        number_formats=formats,
    )
    for index, spec in enumerate(contract.fields, start=1):
        _describe_header(sheet, index, spec)
        if index - 1 in formats:
            sheet.column_dimensions[get_column_letter(index)].number_format = formats[index - 1]
        _add_drop_down(sheet, index, spec, contract)


def _describe_header(sheet: Worksheet, column: int, spec: FieldSpec) -> None:
    """Required headers in red; the field's note, and whether it is required, as the header's comment."""
    cell = sheet.cell(row=1, column=column)
    if spec.required:
        cell.font = REQUIRED_FONT
    text = "；".join(part for part in ("＊必填" if spec.required else None, spec.note) if part)
    if text:
        cell.comment = Comment(text, "填报模板", width=320, height=110)


def _choices(spec: FieldSpec, contract: Contract) -> tuple[str, ...]:
    if spec.kind == "boolean":
        return BOOLEAN_CHOICES
    if spec.kind == "choice":
        return tuple(spec.choices)
    if spec.kind == "city":  # the 16 cities in their official order; a region code is still accepted (a warning)
        return tuple(dict.fromkeys(contract.cities.values()))
    return ()


def _add_drop_down(sheet: Worksheet, column: int, spec: FieldSpec, contract: Contract) -> None:
    choices = _choices(spec, contract)
    if not choices:
        return
    listed = "、".join(choices)
    validation = DataValidation(
        type="list",
        formula1='"{}"'.format(",".join(choices)),
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="不在可选值中",
        error=f"「{spec.header}」可选：{listed}。",
    )
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}{_LAST_EXCEL_ROW}")
    sheet.add_data_validation(validation)


def _aliases(spec: FieldSpec) -> str | None:
    """The other accepted headers joined by 、; one that itself contains 、 is put in quotes to keep it whole."""
    quoted = (f"“{alias}”" if "、" in alias else alias for alias in spec.aliases)
    return "、".join(quoted) or None


def _write_guide(sheet: Worksheet, contract: Contract) -> None:
    rows = [
        (
            spec.name,
            spec.header_with_unit,
            _aliases(spec),
            KIND_NAMES[spec.kind],
            spec.unit,
            "是" if spec.required else "否",
            spec.note,
        )
        for spec in contract.fields
    ]
    write_table(sheet, GUIDE_HEADERS, rows, preamble=GUIDE_LINES)
    sheet["A1"].font = HEADER_FONT

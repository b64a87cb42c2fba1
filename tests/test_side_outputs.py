"""Files around the result: a 问题清单 that cannot be written never hides an upload that committed, a workbook is
written whole or not at all, every failure of the file system is one Chinese sentence, and a file that is not what
its name says (a web page or an XML workbook saved as .xls, a folder, nested Parquet) or that may not be read is named
for what it is."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from assess.cli import app
from assess.errors import OutputError
from assess.outputs import problem_workbook
from assess.outputs.saving import save_workbook
from tests.conftest import HEADER, firm_row, write_xlsx


def _cli(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], prog_name="assess")
    return result.exit_code, result.stdout, result.stderr


def _with_problems(folder: Path) -> Path:
    return write_xlsx(folder / "有问题.xlsx", {"表1": [HEADER, firm_row(1), firm_row(2, 营业收入="约500")]})


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_an_unwritable_problem_list_leaves_the_committed_upload_reported(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "占位.txt"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    errors_out = tmp_path if where == "a folder" else blocker / "问题清单.xlsx"
    db = tmp_path / "a.duckdb"
    status, stdout, stderr = _cli("ingest", _with_problems(tmp_path), "--errors-out", errors_out, "--json", "--db", db)
    [result] = json.loads(stdout)
    assert status == 0 and (result["accepted"], result["rejected"]) == (1, 1) and result["upload_id"] == 1
    assert "问题清单未能写出" in stderr and "assess problems 1" in stderr and "Traceback" not in stderr
    status, stdout, _ = _cli("problems", "1", "--json", "--db", db)
    assert status == 0 and [p["code"] for p in json.loads(stdout)] == ["E-NUMBER"]


def test_a_problem_list_longer_than_a_sheet_continues_on_further_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(problem_workbook, "SHEET_ROWS", 3)  # Excel's 1,048,575 rows, scaled down
    problems = pl.DataFrame(
        {
            "file": ["f.xlsx"] * 7,
            "sheet": ["表1"] * 7,
            "row": list(range(2, 9)),
            "column": ["营业收入"] * 7,
            "code": ["E-NUMBER"] * 7,
            "level": ["error"] * 7,
            "value": ["约500"] * 7,
            "message": ["不是数字"] * 7,
            "hint": ["只填数字"] * 7,
        }
    )
    book = openpyxl.load_workbook(problem_workbook.write_problem_workbook(problems, tmp_path / "p.xlsx"))
    listed = [name for name in book.sheetnames if name.startswith("问题清单")]
    assert listed == ["问题清单", "问题清单（续1）", "问题清单（续2）"]
    rows = [r for name in listed for r in book[name].iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in rows] == list(range(1, 8)) and [r[3] for r in rows] == list(range(2, 9))


class _FullDisk:
    """A workbook whose saving runs out of disk space half-way, as a full disk does."""

    def save(self, filename: str) -> None:
        Path(filename).write_bytes(b"PK half a workbook")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_save_leaves_the_earlier_workbook_whole_and_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "2024_全省_培育清单.xlsx"
    target.write_bytes(b"the workbook of yesterday")
    with pytest.raises(OutputError, match="磁盘空间不足"):
        save_workbook(_FullDisk(), target)
    assert target.read_bytes() == b"the workbook of yesterday" and [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize("where", ["onto a folder", "under a file"])
def test_a_template_that_cannot_be_written_is_one_chinese_sentence(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "占位.txt"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    out = tmp_path if where == "onto a folder" else blocker / "模板.xlsx"
    status, _, stderr = _cli("template", "--out", out)
    assert status == 1 and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert ("是一个文件夹" if where == "onto a folder" else "不是文件夹，而是一个文件") in stderr


def test_brackets_in_a_message_are_shown_as_written(tmp_path: Path) -> None:
    """A path or file name with square brackets is text, not the terminal's markup."""
    folder = tmp_path / "[" / "报表]"  # its path holds "[/报表]", which the terminal's markup reads as a closing tag
    folder.mkdir(parents=True)
    status, _, stderr = _cli("template", "--out", folder)
    assert status == 1 and "[/报表]" in stderr


def test_a_workbook_is_readable_as_any_new_file(tmp_path: Path) -> None:
    """Saved through a private temporary file, it still gets the permissions of a file made in the ordinary way."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    workbook = openpyxl.Workbook()
    saved = save_workbook(workbook, tmp_path / "x.xlsx")
    assert saved.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def _ingest_json(path: Path, db: Path) -> tuple[int, list[dict], str]:
    status, stdout, stderr = _cli("ingest", path, "--json", "--db", db)
    return status, json.loads(stdout), stderr


def test_a_web_page_saved_as_xls_is_named_for_what_it_is(tmp_path: Path) -> None:
    """What many government systems export: an HTML table under an .xls name."""
    page = tmp_path / "导出名单.xls"
    page.write_text(
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>统一社会信用代码</td><td>企业名称</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    status, results, stderr = _ingest_json(page, tmp_path / "a.duckdb")
    assert status == 2 and results[0]["upload_id"] is None and "网页表格" in results[0]["error"]
    assert "另存为 .xlsx" in stderr and "Traceback" not in stderr


def test_a_folder_given_as_a_file_is_said_so_with_a_json_object(tmp_path: Path) -> None:
    folder = tmp_path / "各市报表"
    folder.mkdir()
    status, results, stderr = _ingest_json(folder, tmp_path / "a.duckdb")
    assert status == 2 and "是一个文件夹" in results[0]["error"] and "是一个文件夹" in stderr


def test_a_parquet_file_with_nested_columns_is_refused_with_their_names(tmp_path: Path) -> None:
    path = tmp_path / "嵌套.parquet"
    pl.DataFrame(
        {"统一社会信用代码": ["91370100MA3C00000X"], "企业名称": ["甲"], "财务": [{"营业收入": 1.0, "研发费用": 0.1}]}
    ).write_parquet(path)
    status, results, _ = _ingest_json(path, tmp_path / "a.duckdb")
    assert status == 2 and "「财务」是嵌套结构" in results[0]["error"]


def test_an_excel_2003_xml_workbook_saved_as_xls_is_named_for_what_it_is(tmp_path: Path) -> None:
    """The other export of many older systems: an XML Spreadsheet 2003 under an .xls name, which is no web page."""
    book = tmp_path / "导出名单.xls"
    book.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"><Table><Row>'
        '<Cell><Data ss:Type="String">统一社会信用代码</Data></Cell></Row></Table></Worksheet></Workbook>',
        encoding="utf-8",
    )
    status, results, stderr = _ingest_json(book, tmp_path / "a.duckdb")
    assert status == 2 and results[0]["upload_id"] is None
    assert "XML 表格" in results[0]["error"] and "网页" not in results[0]["error"] and "另存为 .xlsx" in stderr


def _binding_file_permissions() -> list[str]:
    """A command prefix under which a file's permissions bind as they do for the people who use the tool: root reads
    any file unless it drops the capabilities that override them (setpriv, from util-linux)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a file without read permission is still readable")
    dropped = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={dropped}", f"--bounding-set={dropped}"]


def test_a_file_without_read_permission_is_said_so_and_nothing_is_stored(tmp_path: Path) -> None:
    path = _with_problems(tmp_path)
    db = tmp_path / "a.duckdb"
    assess = Path(sys.executable).with_name("assess")
    path.chmod(0)
    try:
        done = subprocess.run(
            [*_binding_file_permissions(), str(assess), "ingest", str(path), "--json", "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        path.chmod(0o644)
    [result] = json.loads(done.stdout)
    assert done.returncode == 2 and result["upload_id"] is None and result["rows_read"] == 0
    assert "没有读取文件「有问题.xlsx」的权限" in result["error"] and "数据库旁" not in result["error"]
    assert "没有读取文件" in done.stderr and "Traceback" not in done.stderr
    status, stdout, _ = _cli("uploads", "--json", "--db", db)
    assert status == 0 and json.loads(stdout) == []

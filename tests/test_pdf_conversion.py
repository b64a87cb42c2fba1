"""LibreOffice opens a workbook written by the project and converts it to PDF.

LibreOffice Calc (headless) and a CJK font are installed by `make test` through scripts/ensure-debs. A missing
soffice fails this test rather than skipping it, so that a machine without it is noticed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import openpyxl

from assess.outputs.xlsx import write_table
from tests.conftest import make_code

CONVERT_TIMEOUT = 120  # seconds; a cold start of LibreOffice with a fresh profile takes a few
MIN_PDF_BYTES = 5_000
HEADERS = ["序号", "统一社会信用代码", "企业名称", "营业收入（万元）", "研发投入强度"]
ROWS = [
    [1, make_code(1), "济南合成科技有限公司", 12345.678, 0.0345],
    [2, make_code(2), '=HYPERLINK("http://x","y")', 5000, 0.02],
    [3, make_code(3), "青岛示例制造股份有限公司", 987654.3, None],
]


def write_workbook(path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("企业名单")
    write_table(sheet, HEADERS, ROWS, number_formats={3: "#,##0.00", 4: "0.00%"})
    workbook.save(path)


def soffice() -> str:
    path = shutil.which("soffice")
    assert path, "找不到 soffice（LibreOffice）：`make test` 会通过 scripts/ensure-debs 安装它，请先运行 make test。"
    return path


def convert_to_pdf(source: Path, outdir: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    """Run soffice headless in its own profile and process group; on a timeout, end the whole group."""
    command = [
        soffice(),
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(outdir),
        str(source),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=CONVERT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_libreoffice_converts_a_project_workbook_to_pdf(tmp_path: Path) -> None:
    source = tmp_path / "企业名单.xlsx"
    write_workbook(source)
    outdir = tmp_path / "pdf"

    result = convert_to_pdf(source, outdir, tmp_path / "lo-profile")

    output = f"stdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.returncode == 0, output
    pdf = outdir / "企业名单.pdf"
    assert pdf.is_file(), output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF"), output
    assert len(data) > MIN_PDF_BYTES, f"PDF 只有 {len(data)} 字节\n{output}"

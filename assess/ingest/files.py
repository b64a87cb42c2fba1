"""What a file is, before anything reads it: a folder, a file this process may not read, one too large, or one whose
first bytes show it is not what its name says (a web page or a PDF under an Excel name, binary bytes in a CSV).

These checks run before the upload is copied beside the database, and read at most the first and last few KB of the
file: a refused file costs neither a copy nor a read of its contents, however large it is.
"""

from __future__ import annotations

from pathlib import Path

from assess.contract import Limits

MB = 1 << 20
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".parquet")
_HEAD = 1 << 16  # how much of the start of a file the checks read
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class UnreadableFile(Exception):
    """The file cannot be read at all; the message is Chinese and names the file."""


def count(n: int) -> str:
    """A count as the refusals write it: 1,000,001."""
    return f"{n:,}"


def check_file(path: Path, limits: Limits) -> None:
    """Refuse, each in words of its own, a folder given as a file, a file this process may not read, a file larger
    than the limit, and a file whose first bytes say it is something else (before anything is copied, so that the
    sentence is about the file, not about the database's folder)."""
    if path.is_dir():
        raise UnreadableFile(f"「{path.name}」是一个文件夹，不是文件：请给出要导入的文件。")
    if not path.is_file():  # missing, or a pipe or device (which opening would wait on): the copy says why
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
    except PermissionError as exc:
        raise UnreadableFile(
            f"没有读取文件「{path.name}」的权限，未导入任何内容：请让文件的所有者或管理员开放读取权限，"
            "或把文件另存一份到自己的文件夹后再上传。"
        ) from exc
    size = path.stat().st_size
    if size > limits.file_mb * MB:
        raise UnreadableFile(
            f"文件「{path.name}」有 {count(-(-size // MB))} MB，超过上限 {count(limits.file_mb)} MB，未导入任何内容："
            "请拆分成几个较小的文件后再上传。"
        )
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(f"文件「{path.name}」的格式不受支持：只接受 .xlsx、.xls、.csv 和 .parquet 文件。")
    if size == 0:
        raise UnreadableFile(f"文件「{path.name}」是空文件，未导入任何内容。")
    if head.startswith(b"%PDF"):
        raise UnreadableFile(
            f"文件「{path.name}」是 PDF 文件，只是扩展名写成了 {suffix}：PDF 中的表格无法导入，"
            "请上传原始的 Excel 或 CSV 文件。"
        )
    if suffix in EXCEL_SUFFIXES and excel_kind(head) is None:
        _refuse_markup(path, head, suffix)
        raise UnreadableFile(
            f"文件「{path.name}」不是 Excel 文件（开头没有 Excel 文件的格式标记），可能已损坏或是改了扩展名的其他文件，"
            "未导入任何内容。"
        )
    if suffix == ".parquet" and not head.startswith(b"PAR1"):
        raise UnreadableFile(
            f"文件「{path.name}」不是 Parquet 文件（开头没有 Parquet 的格式标记），可能已损坏或是改了扩展名的其他文件，"
            "未导入任何内容。"
        )
    if suffix == ".csv" and b"\x00" in head and not head.startswith(_UTF16_BOMS):
        raise UnreadableFile(
            f"文件「{path.name}」含有空字节，不是文本格式的 CSV 文件（可能已损坏，或是改了扩展名的其他文件），"
            "未导入任何内容。"
        )


def excel_kind(head: bytes) -> str | None:
    """Which Excel format the first bytes of a file show, whatever its name says: .xlsx (a zip archive) or .xls (an
    OLE compound file)."""
    if head.startswith(b"PK\x03\x04"):
        return ".xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return ".xls"
    return None


def _refuse_markup(path: Path, head: bytes, suffix: str) -> None:
    """Text markup under an Excel name, where an Excel file starts with its binary signature (PK for .xlsx, D0 CF 11
    E0 for .xls): an HTML table, as many government systems export their lists, or an Excel 2003 XML workbook."""
    head = head[:4096].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").lower()
    if not head.startswith(b"<"):
        return
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head and b"<workbook" in head:
        raise UnreadableFile(
            f"文件「{path.name}」是 Excel 2003 XML 表格，只是扩展名写成了 {suffix}，不是本系统能读的 Excel 文件："
            "请在 Excel 中打开它，另存为 .xlsx 后再上传。"
        )
    if b"<table" in head or b"<html" in head:
        raise UnreadableFile(
            f"文件「{path.name}」是网页表格（HTML），只是扩展名写成了 {suffix}，不是 Excel 文件："
            "请在 Excel 中打开它，另存为 .xlsx 后再上传。"
        )


def check_sheets(name: str, sheets: int, limits: Limits) -> None:
    if sheets > limits.sheets:
        raise UnreadableFile(
            f"文件「{name}」有 {count(sheets)} 个工作表，超过上限 {count(limits.sheets)} 个，未导入任何内容："
            "请把数据放在少数几个工作表中后再上传。"
        )

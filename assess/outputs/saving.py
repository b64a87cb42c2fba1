"""Writing a finished workbook to the place a user named, whole or not at all.

The workbook is saved to a temporary file in the target's folder and renamed over the target, so a full disk, a
killed process or a file held open elsewhere never leaves a truncated workbook behind, and an earlier one stays as
it was. Every failure of the file system is said in one Chinese sentence (`OutputError`).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Protocol

from assess.errors import OutputError


class Saveable(Protocol):
    def save(self, filename: str) -> None: ...


_WHY = {
    errno.EACCES: "没有写入权限（文件可能正在 Excel 等程序中打开，或文件夹只读）",
    errno.EPERM: "没有写入权限（文件可能正在 Excel 等程序中打开，或文件夹只读）",
    errno.EROFS: "所在的磁盘是只读的",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "磁盘配额已用完",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EISDIR: "这是一个文件夹",
    errno.ENAMETOOLONG: "文件名太长",
}


def why(exc: OSError) -> str:
    """The reason of a file-system failure in Chinese; the system's own words where no better ones are known."""
    return _WHY.get(exc.errno or 0, f"系统提示：{exc.strerror or exc}")


def check_target(path: Path) -> None:
    """Refuse, before anything is built, a target that can never be a workbook: a folder, or a path through a file."""
    if path.is_dir():
        raise OutputError(f"「{path}」是一个文件夹，不能写成工作簿：请给出以 .xlsx 结尾的文件名。")
    blocking = next((p for p in path.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise OutputError(f"工作簿「{path.name}」无法写入：「{blocking}」不是文件夹，而是一个文件。")


def save_workbook(workbook: Saveable, path: Path) -> Path:
    """Save `workbook` at `path` through a temporary file beside it; OutputError in Chinese when it cannot."""
    check_target(path)
    partial: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".partial.xlsx")
        os.close(handle)
        partial = Path(name)
        workbook.save(str(partial))
        os.replace(partial, path)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise OutputError(f"工作簿「{path.name}」无法写入「{path.parent}」：{why(exc)}。") from exc
    return path

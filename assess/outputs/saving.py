"""Writing a finished workbook to the place a user named, whole or not at all.

The workbook is saved to a temporary file in the target's folder and renamed over the target, so a full disk, a
killed process or a file held open elsewhere never leaves a truncated workbook behind, and an earlier one stays as
it was. Every failure of the file system is said in one Chinese sentence (`OutputError`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from assess.errors import OutputError, describe_os_error


class Saveable(Protocol):
    def save(self, filename: str) -> None: ...


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        partial.chmod(0o666 & ~_umask())  # as an ordinary new file: mkstemp makes it readable by its owner alone
        os.replace(partial, path)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise OutputError(f"工作簿「{path.name}」无法写入「{path.parent}」：{describe_os_error(exc)}。") from exc
    return path

"""The errors the library raises for requests it cannot meet, each with a Chinese message for the user. They live in
this light module so that a face can catch them without importing DuckDB, pydantic or sqlglot (the command line's
error handler is loaded by every command, `assess --help` included); the modules that raise them re-export them."""

import errno


class StoreError(Exception):
    """A request the store cannot meet (unknown upload, already retracted, a database it cannot open)."""


class PackError(Exception):
    """A pack that cannot be used; the message names the file, the rule and the reason."""


class ResourceError(Exception):
    """A reference file of the product (or of a rule folder the user named) is missing or unreadable."""


class OutputError(Exception):
    """A file the user asked for (a workbook, a report) cannot be written: the folder, the disk or the file itself."""


_WHY = {
    errno.EACCES: "没有权限（文件可能正在 Excel 等程序中打开，或文件夹只读）",
    errno.EPERM: "没有权限（文件可能正在 Excel 等程序中打开，或文件夹只读）",
    errno.EROFS: "所在的磁盘是只读的",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "磁盘配额已用完",
    errno.ENOENT: "找不到该文件或文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EISDIR: "这是一个文件夹",
    errno.EEXIST: "同名的文件已存在",
    errno.ENAMETOOLONG: "文件名太长",
}


def describe_os_error(exc: OSError) -> str:
    """Why the file system refused, in Chinese; the error number where no better words are known."""
    return _WHY.get(exc.errno or 0, f"操作系统拒绝了这次读写（错误号 {exc.errno}）")


class InputError(ValueError):
    """Input that cannot be used as given (an unknown city or rule, a file of the wrong kind). The command line exits
    with status 2 on it, as on a usage error."""

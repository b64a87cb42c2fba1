"""Usage errors in Chinese.

The command-line parser writes its own errors ("Missing argument 'files'.") in English; whoever runs `assess` reads
Chinese. The group below lets the parser run as usual, catches its usage errors and says them again in Chinese, with
exit status 2 as before. The exception classes live in Typer's bundled copy of Click (`typer._click`), which is not a
public module: Typer is pinned, and tests/test_cli.py runs every kind of error through the real parser.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from difflib import get_close_matches
from enum import Enum
from pathlib import Path
from typing import Any

from typer import Abort
from typer._click.core import Command, Context, Parameter
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.formatting import HelpFormatter
from typer.core import TyperGroup

from assess.cli import render
from assess.cli.help import argument_name, help_text
from assess.cli.logs import LOG_ENV, log_failure, route_logs
from assess.errors import InputError, OutputError, PackError, ResourceError, StoreError

_EXPECTED = {int: "应为整数", float: "应为数字", Path: "应为文件或目录的路径", str: "应为文字"}


class ChineseUsageGroup(TyperGroup):
    """The `assess` command group, reporting usage errors in Chinese on stderr and drawing its help in Chinese."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        formatter.write(help_text(self, ctx, [(n, c) for n, c in commands if c is not None and not c.hidden]))

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            similar = get_close_matches(name, self.list_commands(ctx))
            guess = f"是不是「{similar[0]}」？" if similar else ""
            raise UsageError(f"没有「{name}」这个命令。{guess}", ctx)
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        route_logs()
        if not standalone_mode:  # the caller handles the parser's exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # `assess` alone: the help, as the parser shows it
            exc.show()
            status = exc.exit_code
        except UsageError as exc:
            render.error(usage_message(exc))
            status = exc.exit_code
        except ClickException as exc:
            render.error(exc.format_message())
            status = exc.exit_code
        except (Abort, KeyboardInterrupt):  # Ctrl-C: the upload or run in progress was rolled back
            render.error("已中止。")
            status = 1
        except Exception as exc:
            render.error(failure_message(exc, self._command_path(args)))
            status = 2 if _is_input_error(exc) else 1
        else:
            status = result if isinstance(result, int) else 0
        sys.exit(status)

    def _command_path(self, args: Sequence[str] | None) -> str:
        """`assess <command>` as typed, for the sentence that says what failed."""
        words = [word for word in (sys.argv[1:] if args is None else args) if not word.startswith("-")]
        known = words[:1] if words and self.get_command(Context(self), words[0]) is not None else []
        return " ".join(["assess", *known])


# Requests the library refuses with a Chinese message of its own: said as they are, exit status 1 (2 for input).
_SAID = (StoreError, PackError, ResourceError, OutputError, InputError)


def _is_input_error(exc: Exception) -> bool:
    return isinstance(exc, InputError)


def failure_message(exc: Exception, command: str) -> str:
    """The library's own message for a request it refuses; for a failure of the program, one sentence saying what
    failed and where the details are (the traceback, which may quote a filing, goes only to the ASSESS_LOG file)."""
    if isinstance(exc, _SAID):
        return str(exc)
    where = log_failure(exc, command)
    details = (
        f"详情已写入日志文件「{where}」" if where else f"设置环境变量 {LOG_ENV}（日志文件路径）后重新运行可查看详情"
    )
    return f"「{command}」执行失败，程序内部出错（{type(exc).__name__}）：{details}。"


def usage_message(exc: UsageError) -> str:
    """What went wrong, in Chinese, and where to read how the command is used."""
    if isinstance(exc, MissingParameter):
        said = f"缺少{_named(exc.param)}。"
    elif isinstance(exc, BadParameter):
        said = f"{_named(exc.param)}的值无效：{_expected(exc.param)}。"
    elif isinstance(exc, NoSuchOption):
        similar = sorted(exc.possibilities or [])
        guess = f"是不是「{similar[0]}」？" if similar else ""
        said = f"没有「{exc.option_name}」这个选项。{guess}"
    elif isinstance(exc, BadOptionUsage):
        said = f"选项「{exc.option_name}」后面缺少它的值（或者给不带值的开关选项写了值）。"
    elif re.search(r"[\u4e00-\u9fff]", exc.format_message()):  # ours, already Chinese
        said = exc.format_message().rstrip("。") + "。"
    else:  # the parser's own English, about nothing a user can be told more precisely
        said = "命令行的写法不对。"
    if exc.ctx is None:
        return said
    return f"{said}用「{exc.ctx.command_path} --help」可查看用法。"


def _named(param: Parameter | None) -> str:
    if param is None:
        return "参数"
    if param.param_type_name == "option":
        return f"选项「{param.opts[0]}」"
    return f"参数「{argument_name(param)}」"


def _expected(param: Parameter | None) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "可选：" + "、".join(str(member.value) for member in annotation)
    return _EXPECTED.get(annotation, "格式不对")  # type: ignore[arg-type]

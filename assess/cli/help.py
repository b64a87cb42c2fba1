"""Help screens in Chinese.

Typer draws help with English chrome ("Usage:", "Options", "[required]", "Show this message and exit.") and Python type
names (`<int>`, `<list[Path]>`). The command classes below draw it from the same parameters in Chinese instead: the
usage line, the command's description, then its arguments, options and sub-commands as aligned columns.
"""

from __future__ import annotations

import io
import shutil
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer._click.core import Command, Context, Parameter
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand

TYPE_NAMES: dict[Any, str] = {int: "整数", float: "数字", Path: "路径", str: "文字"}
HELP_OPTION_TEXT = "显示本帮助并退出。"


class ChineseHelpCommand(TyperCommand):
    """A command whose --help is drawn in Chinese, and which names extra arguments in Chinese."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        ctx.allow_extra_args = True  # the parser's own refusal is English: the same check is made below
        rest = super().parse_args(ctx, args)
        if rest and not ctx.resilient_parsing:
            raise UsageError(f"多出了参数：{' '.join(rest)}。", ctx)
        return rest

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write(help_text(self, ctx))


def help_text(command: Command, ctx: Context, commands: list[tuple[str, Command]] | None = None) -> str:
    """The whole help screen of `command`; `commands` lists a group's sub-commands."""
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    usage = [ctx.command_path, *(["[选项]"] if options else []), *(_argument_usage(p) for p in arguments)]
    if commands:
        usage.append("命令 [参数]...")
    blocks = [f"用法：{' '.join(usage)}"]
    if command.help:
        blocks.append(command.help.strip())
    help_option = command.get_help_option(ctx)
    if arguments:
        blocks.append(_section("参数", [(_argument_usage(p), "", _described(p, ctx)) for p in arguments]))
    if options:
        rows = [
            (", ".join(p.opts), _type_name(p), HELP_OPTION_TEXT if p is help_option else _described(p, ctx))
            for p in options
        ]
        blocks.append(_section("选项", rows))
    if commands:
        blocks.append(
            _section(
                "命令", [(name, "", next(iter((sub.help or "").strip().splitlines()), "")) for name, sub in commands]
            )
        )
    return "\n\n".join(blocks) + "\n"


def _summary(command: Command) -> str:
    """A command's first line of help, for the list of commands."""
    return next(iter((command.help or "").strip().splitlines()), "")


def _section(title: str, rows: list[tuple[str, str, str]]) -> str:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    used = [i for i in range(3) if any(row[i] for row in rows)]  # a column empty in every row takes no room
    for _ in used:
        table.add_column(overflow="fold")
    for row in rows:
        table.add_row(*(Text(row[i]) for i in used))  # plain text: a help text such as [0-9] is not markup
    width = max(60, shutil.get_terminal_size().columns)
    buffer = io.StringIO()
    Console(file=buffer, width=width - 2, color_system=None, soft_wrap=False).print(table)
    body = "\n".join("  " + line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
    return f"{title}：\n{body}"


def argument_name(param: Parameter) -> str:
    """An argument as help and messages name it: its Chinese metavar, else its name."""
    return param.metavar or (param.name or "").upper()


def _argument_usage(param: Parameter) -> str:
    name = argument_name(param) + ("..." if param.nargs != 1 else "")
    return name if param.required else f"[{name}]"


def _type_name(param: Parameter) -> str:
    """The kind of value an option takes, in words; a switch takes none."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    origin_args = get_args(annotation) if get_origin(annotation) is list else ()
    inner = origin_args[0] if origin_args else annotation
    if isinstance(inner, type) and issubclass(inner, Enum):
        name = "|".join(str(member.value) for member in inner)
    else:
        name = TYPE_NAMES.get(inner, "值")
    return name + ("（可重复）" if origin_args else "")


def _described(param: Parameter, ctx: Context) -> str:
    """The parameter's own help, then whether it is required or what it defaults to."""
    said = [getattr(param, "help", None) or ""]
    default = param.get_default(ctx, call=True)
    if param.required:
        said.append("［必填］")
    elif getattr(param, "show_default", True) and default not in (None, False, (), []):
        shown = default.value if isinstance(default, Enum) else default
        said.append(f"［默认：{shown}］")
    return " ".join(s for s in said if s)

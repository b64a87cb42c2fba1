"""What every command shares: the Typer app and the --db, --rules and --json options.

Exit status, for every command: 0 success; 1 a request that cannot be met (unknown upload, a rule folder with an
error, a failure of the program itself), with a Chinese message on stderr; 2 unreadable input or a usage error. With
--json, stdout holds only the JSON. The errors are turned into messages in one place, `ChineseUsageGroup.main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from assess.cli.help import ChineseHelpCommand
from assess.cli.usage import ChineseUsageGroup


class _App(typer.Typer):
    """The Typer app whose commands draw their help in Chinese."""

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or ChineseHelpCommand, **kwargs)


def new_app(help_text: str) -> _App:
    return _App(
        cls=ChineseUsageGroup,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


app = new_app("山东省标志性产业链企业创新能力评估（assess）")

DbOption = Annotated[
    Path | None, typer.Option("--db", help="数据库文件；默认取环境变量 ASSESS_DB，否则 ./assess.duckdb")
]
RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="规则文件夹（见 assess rules init）；默认取环境变量 ASSESS_RULES，否则用自带的规则"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出（标准输出只有 JSON）")]
YearOption = Annotated[int, typer.Option(help="数据年度")]
UNITS = ("元", "千元", "万元", "亿元")
YearsOption = Annotated[
    str, typer.Option("--year", help="数据年度，或年度范围如 2020-2024（逐年并列显示）", metavar="年度")
]
CityOption = Annotated[str | None, typer.Option("--city", help="只看该地市（如 济南）")]
ChainOption = Annotated[
    str | None, typer.Option("--chain", help="只看该标志性产业链或产业链方向（如 高端化工、集成电路）")
]


def _show_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        print(f"assess {version('assess')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", help="显示版本号后退出", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    pass

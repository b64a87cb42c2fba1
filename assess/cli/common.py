"""What every command shares: the Typer app, the --db and --json options, opening the store, failing in Chinese.

Exit status, for every command: 0 success; 1 a request that cannot be met (unknown upload, ...), with a Chinese
message on stderr; 2 unreadable input or a usage error. With --json, stdout holds only the JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from assess import report
from assess.cli.help import ChineseHelpCommand
from assess.cli.usage import ChineseUsageGroup
from assess.config import Config
from assess.config import load_config as load_all
from assess.contract import load_contract
from assess.rules.expressions import Scalar
from assess.rules.packs import PackError, RuleSet, load_rules
from assess.store import Store, StoreError, resolve_db


class _App(typer.Typer):
    """The Typer app whose commands draw their help in Chinese."""

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or ChineseHelpCommand, **kwargs)


app = _App(
    cls=ChineseUsageGroup,
    help="山东省标志性产业链企业创新能力评估（assess）",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Path | None, typer.Option("--db", help="数据库文件；默认取环境变量 ASSESS_DB，否则 ./assess.duckdb")
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出（标准输出只有 JSON）")]
UNITS = ("元", "千元", "万元", "亿元")


@contextmanager
def store_for(db: Path | None) -> Iterator[Store]:
    """The store, with a request it cannot meet (or a database it cannot open) reported in Chinese, exit status 1."""
    try:
        with Store(resolve_db(db), load_contract()) as store:
            yield store
    except StoreError as exc:
        raise fail(str(exc)) from exc


def fail(message: str, status: int = 1) -> typer.Exit:
    report.error(message)
    return typer.Exit(status)


def load_packs() -> RuleSet:
    try:
        return load_rules()
    except PackError as exc:
        raise fail(str(exc)) from exc


def load_config(overrides: dict[str, Scalar] | None = None) -> Config:
    """The rule packs, the scoring configuration and the tier packs, or a Chinese message and exit status 1."""
    try:
        return load_all(overrides)
    except PackError as exc:
        raise fail(str(exc)) from exc

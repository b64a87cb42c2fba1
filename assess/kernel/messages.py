"""Message templates: a pack's sentence with {parameter} and {column} placeholders. Parameters are filled in when
the pack loads; the columns are filled per firm, each value shown as `display` shows its unit."""

from __future__ import annotations

import string
from pathlib import Path

import polars as pl

from assess import display
from assess.features import BY_NAME, FEATURE_NAMES
from assess.kernel.spec import PackError, Parameter


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill_parameters(
    path: Path, label: str, template: str, parameters: dict[str, Parameter], extra_columns: frozenset[str] = frozenset()
) -> tuple[str, tuple[str, ...]]:
    """The template with the pack's parameters filled in, and the columns (features or `extra_columns`) it still
    names; an unknown placeholder is refused with the file and the rule."""
    names = _placeholders(template)
    unknown = sorted(set(names) - FEATURE_NAMES - extra_columns - set(parameters))
    if unknown:
        raise PackError(f"规则文件「{path.name}」中「{label}」的提示语引用了未知的列或参数：{'、'.join(unknown)}。")
    for name, parameter in parameters.items():
        template = template.replace("{" + name + "}", display.value(parameter.value, parameter.unit))
    return template, tuple(dict.fromkeys(n for n in names if n not in parameters))


def _unit(column: str) -> str | None:
    return BY_NAME[column].unit if column in BY_NAME else display.RUN_UNITS.get(column)


def message(template: str, schema: pl.Schema) -> pl.Expr:
    """A message template (parameters already filled) filled per firm with the columns it names."""
    pattern, values = "", []
    for literal, column, _, _ in string.Formatter().parse(template):
        pattern += literal
        if column:
            pattern += "{}"
            values.append(display.expr(pl.col(column), _unit(column), schema[column]).fill_null(display.MISSING))
    return pl.format(pattern, *values) if values else pl.lit(template)

"""Rule expressions: parsed with sqlglot, checked against a whitelist of node types and the known columns, and
compiled to an engine-neutral tree with parameters and named populations substituted as parsed trees, never as
text, and rendered as DuckDB or Spark SQL (`assess.dialects`).

A condition may compare, combine with AND/OR/NOT, test IS NULL, IN a list or BETWEEN two values, do arithmetic,
and use COALESCE, CASE, GREATEST, LEAST and ABS; a CASE whose outcomes are conditions or NULL is a condition.
A function only one engine has is refused by name when the pack loads; anything else (a subquery, an aggregate, a
second statement) is refused as well.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from assess.dialects import ENGINE_TITLES, Dialect, foreign_functions, render

_ALLOWED: tuple[type[exp.Expr], ...] = (
    exp.And, exp.Or, exp.Not, exp.Paren,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg,
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null,
    exp.Coalesce, exp.Case, exp.If, exp.Greatest, exp.Least, exp.Abs,  # of the functions both engines share
)  # fmt: skip
_PREDICATES: tuple[type[exp.Expr], ...] = (
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between,
    exp.Boolean,
)  # fmt: skip

Levels = tuple[str, ...]  # a set of choices a condition tests with IN, such as the institution levels counted
Scalar = bool | int | float | str | Levels


class ExpressionError(ValueError):
    """Why an expression is refused, in Chinese."""


def parse(text: str) -> exp.Expr:
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except ParseError as exc:
        raise ExpressionError(
            f"表达式「{text}」无法解析：{exc.errors[0]['description'] if exc.errors else exc}"
        ) from exc
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionError(f"表达式「{text}」只能是一个条件，不能含有多条语句。")
    tree = statements[0]
    foreign = foreign_functions(tree)
    if foreign:
        engines = "、".join(ENGINE_TITLES.values())
        raise ExpressionError(
            f"表达式「{text}」用了函数「{foreign[0]}」：它不是 {engines} 共有的函数，"
            f"规则须在两种引擎上得出同样的结果，只能用两者共有的函数。"
        )
    for node in tree.walk():
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"表达式「{text}」含有不允许的成分「{node.sql(dialect='duckdb')}」：只能是条件和算术。"
            )
        if isinstance(node, exp.Column) and node.table:
            raise ExpressionError(f"表达式「{text}」中的「{node.sql()}」不能带表名。")
    return tree


def names(tree: exp.Expr) -> set[str]:
    return {column.name for column in tree.find_all(exp.Column)}


def check(
    text: str,
    columns: frozenset[str],
    parameters: Mapping[str, Scalar],
    populations: Mapping[str, exp.Expr],
    *,
    predicate: bool,
) -> exp.Expr:
    """Parse and check an expression; return it with parameters and populations substituted."""
    tree = parse(text)
    unknown = sorted(names(tree) - columns - set(parameters) - set(populations))
    if unknown:
        raise ExpressionError(f"表达式「{text}」引用了未知的列或参数：{'、'.join(unknown)}。")
    if predicate and not _is_predicate(tree, populations):
        raise ExpressionError(f"表达式「{text}」不是条件（应得出“是/否”，如 revenue >= revenue_min）。")
    return substitute(tree, parameters, populations)


def _is_predicate(tree: exp.Expr, populations: Mapping[str, exp.Expr]) -> bool:
    """A condition: a comparison or combination, a population, a yes/no column, or a CASE whose every outcome is
    one of these or NULL (the way a pack says 待补数据)."""
    node = tree.unnest()
    if isinstance(node, exp.Column):
        return node.name in populations or node.name.startswith(("is_", "has_", "in_"))
    if isinstance(node, exp.Case):
        outcomes = [branch.args["true"] for branch in node.args.get("ifs", [])] + [node.args.get("default")]
        return all(o is None or isinstance(o, exp.Null) or _is_predicate(o, populations) for o in outcomes)
    return isinstance(node, _PREDICATES)


def substitute(tree: exp.Expr, parameters: Mapping[str, Scalar], populations: Mapping[str, exp.Expr]) -> exp.Expr:
    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name in parameters:
            return literal(parameters[node.name])
        if isinstance(node, exp.Column) and node.name in populations:
            return exp.paren(populations[node.name].copy())
        return node

    return tree.copy().transform(replace)


def literal(value: Scalar) -> exp.Expr:
    if isinstance(value, tuple):
        return exp.Tuple(expressions=[exp.Literal.string(item) for item in value])
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def to_sql(tree: exp.Expr, dialect: Dialect = "duckdb") -> str:
    return render(tree, dialect)

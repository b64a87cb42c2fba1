"""The two SQL engines an assessment runs on, and the one list of functions both of them share.

Features and packs are compiled once, to an engine-neutral sqlglot tree; the tree is rendered as DuckDB SQL (the
embedded default and the reference) or as Spark SQL. sqlglot carries what differs between the two dialects (the
default order of nulls, QUALIFY, how a function is spelled), but only a function both engines compute the same way
may appear in a tree: `foreign_functions` names any other, so a pack is refused at load and a test walks every
feature and pack for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from sqlglot import exp

if TYPE_CHECKING:
    import polars as pl

Dialect = Literal["duckdb", "spark"]
Rows = Callable[[exp.Expr], "pl.DataFrame"]  # runs a tree on one engine and gives its rows
ENGINE_TITLES: dict[Dialect, str] = {"duckdb": "DuckDB", "spark": "Spark"}

# Row functions: what a pack's condition or value may call (besides comparisons, logic and arithmetic).
SHARED_ROW_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {
        exp.Abs, exp.Case, exp.Cast, exp.Coalesce, exp.Greatest, exp.If, exp.Least, exp.Nullif, exp.Pow,
        exp.Round, exp.Left, exp.Length, exp.StartsWith, exp.ArrayContains, exp.Year,
    }
)  # fmt: skip
# Aggregate and window functions, for the features (a pack's expression reads one firm's row and calls none).
SHARED_SET_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {exp.Sum, exp.Max, exp.Min, exp.Count, exp.CountIf, exp.PercentRank, exp.RowNumber}
)
SHARED_FUNCTIONS = SHARED_ROW_FUNCTIONS | SHARED_SET_FUNCTIONS


def calls(tree: exp.Expr) -> list[exp.Func]:
    """The function calls of a tree (sqlglot counts AND and OR as functions too: they are not calls)."""
    return [node for node in tree.find_all(exp.Func) if not isinstance(node, exp.Connector)]


def function_name(node: exp.Func) -> str:
    """A function call's name as the SQL spells it (lower case)."""
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def foreign_functions(tree: exp.Expr) -> list[str]:
    """The functions a tree calls that are not among those both engines share, each named once, in tree order."""
    found = (function_name(node) for node in calls(tree) if type(node) not in SHARED_FUNCTIONS)
    return list(dict.fromkeys(found))


def render(tree: exp.Expr, dialect: Dialect) -> str:
    """The tree as SQL of one engine."""
    return tree.sql(dialect=dialect)

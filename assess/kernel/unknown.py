"""Unknown is not "no": a condition whose inputs are missing is neither met nor failed but 待补数据.

Conditions keep SQL's three-valued logic (NULL AND false is false, NULL AND true is NULL), so a firm that fails a
gate it can be judged on is still 不符合, and one that passes every gate it can be judged on but misses an input is
待补数据. These helpers name, per firm, the inputs that were missing and what to fill in for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from assess.features import BY_NAME

UNKNOWN = "待补数据"
VERDICT_TITLES: dict[bool | None, str] = {True: "符合", False: "不符合", None: UNKNOWN}


def nothing() -> pl.Expr:
    """No input missing: the empty list."""
    return pl.lit([], dtype=pl.List(pl.String))


def missing(inputs: Sequence[str]) -> pl.Expr:
    """The inputs (feature columns) that are null in the row, in the given order; an empty list when none is."""
    if not inputs:
        return nothing()
    return pl.concat_list([pl.when(pl.col(c).is_null()).then(pl.lit(c)) for c in inputs]).list.drop_nulls()


def missing_where(open_: pl.Expr, inputs: Sequence[str]) -> pl.Expr:
    """`missing(inputs)` where the verdict `open_` says is open, else the empty list."""
    return pl.when(open_).then(missing(inputs)).otherwise(nothing())


def _words(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {name: spec.to_fill for name, spec in BY_NAME.items()} | dict(extra or {})


def to_fill(names: Sequence[str], extra: Mapping[str, str] | None = None) -> str:
    """What to fill in for these missing inputs, in words: the filed fields they come from, each named once;
    `extra` words inputs that are not features."""
    words = _words(extra)
    return "、".join(dict.fromkeys(words.get(n, n) for n in names))


def to_fill_expr(names: pl.Expr, extra: Mapping[str, str] | None = None) -> pl.Expr:
    """`to_fill` for a column of lists of input names; `extra` words inputs that are not features."""
    return (
        names.list.eval(pl.element().replace_strict(_words(extra), default=pl.element()))
        .list.unique(maintain_order=True)
        .list.join("、")
    )


def verdict_text(verdict: pl.Expr, names: pl.Expr, cannot_check: Sequence[str] = ()) -> pl.Expr:
    """A rubric's verdict in words: 符合 (with what the filings cannot show, if the rubric names any), 不符合, or
    待补数据 with what to fill in."""
    passed = "符合" + (f"（仅为预筛；另须核查：{'；'.join(cannot_check)}）" if cannot_check else "")
    return (
        pl.when(verdict)
        .then(pl.lit(passed))
        .when(verdict.is_null())
        .then(pl.format("{}：请补填{}", pl.lit(UNKNOWN), to_fill_expr(names)))
        .otherwise(pl.lit("不符合"))
    )

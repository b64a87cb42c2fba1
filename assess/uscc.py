"""统一社会信用代码 (GB 32100-2015) and its embedded organisation code (GB 11714).

Scalar functions serve the generator and the tests; `check_expr` and `org_check_expr` are the same checks as polars
expressions, for validating a whole column without a Python loop.
"""

from __future__ import annotations

import polars as pl

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
PATTERN = f"^[{ALPHABET}]{{18}}$"

ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ORG_VALUE = {ch: i for i, ch in enumerate(ORG_ALPHABET)}


def check_char(first17: str) -> str:
    """The 18th character for the first 17."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(org8: str) -> str:
    """The organisation-code check character (position 17 of a USCC) for positions 9-16."""
    c = 11 - sum(_ORG_VALUE[ch] * w for ch, w in zip(org8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def is_well_formed(code: str) -> bool:
    return len(code) == 18 and all(ch in _VALUE for ch in code)


def is_valid(code: str) -> bool:
    """Well formed and the 18th character checks."""
    return is_well_formed(code) and check_char(code[:17]) == code[17]


def org_check_ok(code: str) -> bool:
    return org_check_char(code[8:16]) == code[16]


def _char_values(code: pl.Expr, positions: range, table: dict[str, int], weights: tuple[int, ...]) -> pl.Expr:
    terms = [
        code.str.slice(pos, 1).replace_strict(table, default=None, return_dtype=pl.Int64) * weight
        for pos, weight in zip(positions, weights, strict=True)
    ]
    return pl.sum_horizontal(terms, ignore_nulls=False)


def check_expr(code: pl.Expr) -> pl.Expr:
    """True where a well-formed code's 18th character checks (null where the code is not well formed)."""
    total = _char_values(code, range(17), _VALUE, WEIGHTS)
    expected = ((31 - total % 31) % 31).replace_strict(dict(enumerate(ALPHABET)), return_dtype=pl.String)
    return expected == code.str.slice(17, 1)


def org_check_expr(code: pl.Expr) -> pl.Expr:
    """True where positions 9-17 of a well-formed code form a valid organisation code."""
    total = _char_values(code, range(8, 16), _ORG_VALUE, ORG_WEIGHTS)
    c = 11 - total % 11
    expected = pl.when(c == 10).then(pl.lit("X")).when(c == 11).then(pl.lit("0")).otherwise(c.cast(pl.String))
    return expected == code.str.slice(16, 1)

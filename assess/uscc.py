"""统一社会信用代码 (GB 32100-2015) and its embedded organisation code (GB 11714).

Scalar functions serve the generator and the tests; `check_expr` and `org_check_expr` are the same checks as polars
expressions, for validating a whole column without a Python loop.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

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


_LUT = np.full(256, 0, dtype=np.int64)
_LUT[[ord(ch) for ch in ALPHABET]] = np.arange(len(ALPHABET))
_ORG_LUT = np.full(256, 0, dtype=np.int64)
_ORG_LUT[[ord(ch) for ch in ORG_ALPHABET]] = np.arange(len(ORG_ALPHABET))
_PLACEHOLDER = "0" * 18


def _code_bytes(codes: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The codes as an (n, 18) byte matrix, and which rows are well formed (the others hold a placeholder)."""
    well_formed = codes.str.contains(PATTERN).fill_null(False)
    if not len(codes):
        return np.empty((0, 18), dtype=np.uint8), well_formed.to_numpy()
    filled = pl.select(pl.when(well_formed).then(codes).otherwise(pl.lit(_PLACEHOLDER))).to_series()
    # Every value is now 18 ASCII bytes, so the Arrow value buffer is the matrix itself: no Python object per code.
    array = filled.to_arrow().cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    values = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return values.reshape(-1, 18), well_formed.to_numpy()


def _checks_batch(codes: pl.Series) -> pl.Series:
    """Both checks of every code in one pass over its bytes; null where the code is not well formed."""
    matrix, well_formed = _code_bytes(codes)
    total = _LUT[matrix[:, :17]] @ np.asarray(WEIGHTS)
    expected = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)[(31 - total % 31) % 31]
    c = 11 - (_ORG_LUT[matrix[:, 8:16]] @ np.asarray(ORG_WEIGHTS)) % 11
    org_expected = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), ord("0") + c))
    missing = pl.Series(~well_formed)
    return pl.select(
        check=pl.lit(pl.Series(expected == matrix[:, 17]).set(missing, None)),
        org=pl.lit(pl.Series(org_expected == matrix[:, 16]).set(missing, None)),
    ).to_struct("checks")


def checks_expr(code: pl.Expr) -> pl.Expr:
    """A struct of `check` (the 18th character checks) and `org` (positions 9-17 form a valid organisation code),
    each null where the code is not well formed."""
    return code.map_batches(
        _checks_batch, return_dtype=pl.Struct({"check": pl.Boolean, "org": pl.Boolean}), is_elementwise=True
    )


def check_expr(code: pl.Expr) -> pl.Expr:
    return checks_expr(code).struct.field("check")


def org_check_expr(code: pl.Expr) -> pl.Expr:
    return checks_expr(code).struct.field("org")

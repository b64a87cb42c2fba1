"""Cell parsers, one per field kind, as polars expressions over a column of text.

A parser turns the text column `raw` into typed values and a list of checks (problem code, where it fails, a detail
for the message). Everything is an expression, so a sheet of any size is parsed without a Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from assess import uscc
from assess.contract import Contract, FieldSpec, fold
from assess.reference import Reference

RAW = pl.col("raw")
NUMERIC_CELL = pl.col("numeric_cell")  # the file held this cell as a number (credit-code column only)
MONEY = pl.Decimal(38, 6)
_WIDE = pl.Decimal(38, 12)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_NO_DETAIL = pl.lit("")


@dataclass(frozen=True, eq=False)
class Check:
    code: str
    failed: pl.Expr
    detail: pl.Expr = _NO_DETAIL


@dataclass(frozen=True, eq=False)
class Parsed:
    value: pl.Expr
    checks: list[Check] = field(default_factory=list)
    column_checks: list[Check] = field(default_factory=list)  # reported once for the column, not per row


@dataclass(frozen=True)
class ColumnContext:
    spec: FieldSpec
    unit: str | None  # the header's unit, else the upload's stated unit, else the field's own
    contract: Contract
    reference: Reference
    accept_bad_check: frozenset[str]


def text(raw: pl.Expr, contract: Contract) -> pl.Expr:
    """Trimmed, full-width folded text; the contract's missing markers become null."""
    value = raw.str.normalize("NFKC").str.strip_chars()
    return pl.when(value.is_in(list(contract.missing))).then(None).otherwise(value)


def parse(ctx: ColumnContext) -> Parsed:
    return _PARSERS[ctx.spec.kind](ctx)


def _parse_text(ctx: ColumnContext) -> Parsed:
    return Parsed(text(RAW, ctx.contract))


def _folded(contract: Contract) -> pl.Expr:
    return text(RAW, contract).str.replace_all(r"\s", "").str.to_uppercase()


def _parse_credit_code(ctx: ColumnContext) -> Parsed:
    code = _folded(ctx.contract)
    numeric = NUMERIC_CELL | code.str.contains(r"^\d+(\.\d+)?E\+?\d+$|^\d+\.\d+$")
    well_formed = code.str.contains(uscc.PATTERN) & ~numeric
    bad_check = well_formed & ~uscc.check_expr(code)
    acknowledged = code.is_in(list(ctx.accept_bad_check))
    region = code.str.slice(2, 2)
    return Parsed(
        code,
        [
            Check("E-USCC-NUMERIC", numeric),
            Check("E-USCC-FORMAT", code.is_not_null() & ~numeric & ~well_formed, _format_detail(code)),
            Check("E-USCC-CHECK", bad_check & ~acknowledged),
            Check("W-USCC-ACCEPTED", bad_check & acknowledged),
            Check("W-ORG-CHECK", well_formed & ~uscc.org_check_expr(code)),
            Check(
                "W-USCC-REGION",
                well_formed & (region != ctx.contract.province_prefix),
                pl.lit("「") + code.str.slice(2, 6) + pl.lit("」"),
            ),
        ],
    )


def _format_detail(code: pl.Expr) -> pl.Expr:
    length = code.str.len_chars()
    return pl.when(length != 18).then(pl.format("（共{}位）", length)).otherwise(pl.lit("（含有不允许的字符）"))


def looks_float_derived(code: pl.Expr) -> pl.Expr:
    """18 digits that are exactly what Excel's 15 significant digits, read back as a double, would give. Text that
    looks like this rarely is text, so only then is the file asked for the cells' real types."""
    digits = code.str.contains(r"^\d{18}$")
    value = code.cast(pl.Int64, strict=False)
    rounded = ((value + 500) // 1000) * 1000
    return digits & (rounded.cast(pl.Float64).cast(pl.Int64) == value)


def _parse_year(ctx: ColumnContext) -> Parsed:
    cleaned = text(RAW, ctx.contract).str.replace(r"年度?$", "").str.replace(r"\.0+$", "")
    year = cleaned.cast(pl.Int32, strict=False)
    bounds = ctx.reference.year_bounds
    bad = cleaned.is_not_null() & (year.is_null() | ~year.is_between(*bounds))
    return Parsed(
        pl.when(bad).then(None).otherwise(year),
        [Check("E-YEAR", bad, pl.lit(f"{bounds[0]}年至{bounds[1]}年"))],
    )


def _parse_city(ctx: ColumnContext) -> Parsed:
    value = _folded(ctx.contract).str.replace(r"^山东省?", "")
    by_code = value.str.slice(0, 4).replace_strict(ctx.contract.cities, default=None)
    names = set(ctx.contract.cities.values())
    by_name = value.str.replace(r"市$", "")
    city = (
        pl.when(value.str.contains(r"^\d{6}$"))
        .then(by_code)
        .when(by_name.is_in(list(names)))
        .then(by_name)
        .otherwise(None)
    )
    return Parsed(city, [Check("E-CITY", value.is_not_null() & city.is_null())])


def _parse_industry(ctx: ColumnContext) -> Parsed:
    value = _folded(ctx.contract).str.replace(r"\.0+$", "")
    digits = value.str.replace(r"^[A-Z]", "")
    letter = value.str.extract(r"^([A-Z])\d", 1)
    sections = ctx.reference.industry_sections
    section = digits.replace_strict(sections, default=None)
    ok = section.is_not_null() & (letter.is_null() | (letter == section))
    padded = pl.lit("0") + digits
    lost_zero = digits.str.contains(r"^\d{1,3}$") & padded.is_in(list(sections))
    detail = pl.when(lost_zero).then(pl.format("（可能丢失了首位的0，应为「{}」）", padded)).otherwise(_NO_DETAIL)
    return Parsed(pl.when(ok).then(digits), [Check("E-INDUSTRY", value.is_not_null() & ~ok, detail)])


def _choice_table(spec: FieldSpec, contract: Contract) -> dict[str, str]:
    table: dict[str, str] = {}
    if spec.kind == "boolean":
        table |= {fold(word): key for key, words in contract.booleans.items() for word in words}
    table |= {fold(word): key for key, words in spec.choices.items() for word in words}
    return table


def _choices_detail(spec: FieldSpec, contract: Contract) -> pl.Expr:
    allowed = "是/否" if spec.kind == "boolean" else "/".join(spec.choices)
    return pl.lit(f"（可填：{allowed}）")


def _parse_choice(ctx: ColumnContext) -> Parsed:
    value = _folded(ctx.contract)
    mapped = value.replace_strict(_choice_table(ctx.spec, ctx.contract), default=None, return_dtype=pl.String)
    if ctx.spec.kind == "boolean":
        mapped = mapped.replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)
    return Parsed(
        mapped, [Check("E-VALUE", value.is_not_null() & mapped.is_null(), _choices_detail(ctx.spec, ctx.contract))]
    )


def _parse_chain(ctx: ColumnContext) -> Parsed:
    value = _folded(ctx.contract).str.replace(r"产业链$", "")
    known = value.is_in(list(ctx.contract.chain_names))
    return Parsed(
        pl.when(known).then(value),
        [Check("E-VALUE", value.is_not_null() & ~known, pl.lit("（应为标志性产业链或方向的名称，如“集成电路”）"))],
    )


def _parse_set(ctx: ColumnContext) -> Parsed:
    table = _choice_table(ctx.spec, ctx.contract)
    separated = text(RAW, ctx.contract).str.replace_all(r"[\s、,;/]+", "、").str.to_uppercase()
    items = separated.str.strip_chars("、").str.split("、")
    mapped = items.list.eval(pl.element().replace_strict(table, default=None, return_dtype=pl.String))
    bad = mapped.list.eval(pl.element().is_null()).list.any()
    value = pl.when(~bad).then(mapped.list.unique().list.sort())
    return Parsed(value, [Check("E-VALUE", bad.fill_null(False), _choices_detail(ctx.spec, ctx.contract))])


def _parse_date(ctx: ColumnContext) -> Parsed:
    value = text(RAW, ctx.contract)
    cleaned = value.str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "").str.replace_all(r"[年月/.]", "-")
    cleaned = cleaned.str.replace("日", "")
    date = pl.coalesce(cleaned.str.to_date("%Y-%m-%d", strict=False), cleaned.str.to_date("%Y%m%d", strict=False))
    return Parsed(date, [Check("E-VALUE", value.is_not_null() & date.is_null(), pl.lit("（应为日期，如2015-03-01）"))])


@dataclass(frozen=True)
class Number:
    """A cell read as a number: cleaned text, whether it parses, whether it carried a % sign."""

    cleaned: pl.Expr
    valid: pl.Expr
    percent_sign: pl.Expr


def number(raw: pl.Expr, contract: Contract) -> Number:
    value = text(raw, contract).str.replace_all(r"[\s,]", "").str.replace_all("−", "-")
    value = pl.when(value.str.contains(r"^\(.+\)$")).then(pl.lit("-") + value.str.strip_chars("()")).otherwise(value)
    percent_sign = value.str.ends_with("%")
    value = value.str.strip_suffix("%")
    value = pl.when(value.is_in(list(contract.missing))).then(None).otherwise(value)
    return Number(value, value.str.contains(_NUMBER), percent_sign)


def _not_a_number(n: Number, what: str) -> Check:
    return Check("E-NUMBER", n.cleaned.is_not_null() & ~n.valid, pl.lit(what))


def _parse_money(ctx: ColumnContext) -> Parsed:
    n = number(RAW, ctx.contract)
    factor = ctx.contract.money_units[ctx.unit or "万元"]
    amount = _decimal(n) * pl.lit(factor, dtype=pl.Decimal(38, 4))
    value = amount.cast(MONEY)
    checks = [_not_a_number(n, "数字")]
    if not ctx.spec.signed:
        checks.append(Check("E-NEGATIVE", value < 0))
    return Parsed(value, checks)


def _decimal(n: Number) -> pl.Expr:
    return pl.when(n.valid).then(n.cleaned).cast(_WIDE, strict=False)


def _parse_count(ctx: ColumnContext) -> Parsed:
    n = number(RAW, ctx.contract)
    as_float = pl.when(n.valid).then(n.cleaned).cast(pl.Float64, strict=False)
    integral = as_float == as_float.floor()
    return Parsed(
        pl.when(integral & (as_float >= 0)).then(as_float.cast(pl.Int64, strict=False)),
        [
            _not_a_number(n, "数字"),
            Check("E-NUMBER", n.valid & ~integral, pl.lit("整数")),
            Check("E-NEGATIVE", integral & (as_float < 0)),
        ],
    )


def _parse_percent(ctx: ColumnContext) -> Parsed:
    n = number(RAW, ctx.contract)
    value = _decimal(n)
    plain = pl.when(~n.percent_sign).then(value)
    fractions = (plain.max() <= 1) & (plain > 0).any() & (plain >= 0).all()
    scaled = pl.when(fractions & ~n.percent_sign).then(value * pl.lit(Decimal(100), dtype=pl.Decimal(38, 0)))
    percent = scaled.otherwise(value).cast(MONEY)
    return Parsed(
        pl.when(percent.is_between(0, 100)).then(percent),
        [_not_a_number(n, "数字"), Check("E-PERCENT", ~percent.is_between(0, 100))],
        [Check("W-PERCENT-FRACTION", fractions.fill_null(False))],
    )


_PARSERS = {
    "credit_code": _parse_credit_code,
    "text": _parse_text,
    "year": _parse_year,
    "city": _parse_city,
    "industry": _parse_industry,
    "boolean": _parse_choice,
    "choice": _parse_choice,
    "chain": _parse_chain,
    "money": _parse_money,
    "count": _parse_count,
    "percent": _parse_percent,
    "set": _parse_set,
    "date": _parse_date,
}

"""Cell parsers, one per field kind, as polars expressions over a column of text.

A parser turns the text column `raw` into typed values and a list of checks (problem code, where it fails, a detail
for the message). Everything is an expression, so a sheet of any size is parsed without a Python loop per row.

Parsers build their work in stages: each stage is a set of named columns computed from the columns before it. The
validator materialises one stage at a time, so an intermediate result used by several checks is computed once
rather than re-expanded inside every expression that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

import polars as pl
import polars.selectors as cs

from assess import display, uscc
from assess.contract import Contract, FieldSpec, fold
from assess.reference import Reference

RAW = pl.col("raw")
TEXT = pl.col("text")  # trimmed, folded, missing markers as null: every parser's first stage
VALUE = pl.col("value")  # the parsed value, available to the checks
NUMERIC_CELL = pl.col("numeric_cell")  # the file held this cell as a number (credit-code column only)
MONEY = pl.Decimal(38, 6)
_WIDE = pl.Decimal(38, 12)
_WIDE_LIMIT = Decimal(10) ** (38 - 12)  # every parsed number is below this in magnitude, or null
# Digits are spelled [0-9] in every pattern here: polars' \d also matches other scripts' digits (٥, ५), which
# NFKC leaves as they are and no cast reads.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_NO_DETAIL = pl.lit("")

Stage = dict[str, pl.Expr]


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
    stages: list[Stage] = field(default_factory=list)  # computed in order after the `text` stage
    needs_cell_types: bool = False  # whether a number-typed cell is itself an error (the credit code)
    keep: tuple[str, ...] = ()  # stage columns the caller reads after evaluation
    per_value: bool = False  # value and checks depend on the cell's text alone: parse each distinct text once
    plain: bool = False  # every filled cell is a plain decimal number (ColumnContext.plain_numbers)


@dataclass(frozen=True)
class ColumnContext:
    spec: FieldSpec
    unit: str | None  # the header's unit, else the upload's stated unit, else the field's own
    contract: Contract
    reference: Reference
    accept_bad_check: frozenset[str]
    plain_numbers: bool = False  # every filled cell reads as a number as it is written (`as_number`): no cleaning
    fractions: bool | None = None  # a percent column's plain numbers are fractions, as the whole sheet settles it


# Beside `raw`, a plain number column gives its cells as `as_number` reads them (ColumnContext.plain_numbers).
AS_NUMBER = "as_number"


def as_number(raw: pl.Expr) -> pl.Expr:
    """A cell read as a number just as it is written, null where it is not one. What this reads is exactly what the
    cleaning would leave as it is and then read the same way (digits, a sign, a point, an exponent), so a column whose
    every filled cell reads so is plain, and these are its numbers."""
    return raw.cast(_WIDE, strict=False)


# Characters a person cannot see but a program reads: control characters (tab and line breaks, which a cell may hold
# as separators, excepted), bidirectional overrides and isolates (which can make a name display as another),
# zero-width spaces and joiners, the byte-order mark.
_INVISIBLE = (
    r"[\x{00}-\x{08}\x{0B}\x{0C}\x{0E}-\x{1F}\x{7F}-\x{9F}"  # control characters
    r"\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]"  # zero-width, bidi, BOM
)


def text(raw: pl.Expr, contract: Contract) -> pl.Expr:
    """Trimmed, full-width folded text without invisible characters; the contract's missing markers (and a cell
    of nothing but invisible characters) become null."""
    value = raw.str.normalize("NFKC").str.replace_all(_INVISIBLE, "").str.strip_chars()
    return pl.when(value.is_in(list(contract.missing)) | (value == "")).then(None).otherwise(value)


def evaluate(frame: pl.LazyFrame, parsed: Parsed, contract: Contract, details: bool = True) -> pl.LazyFrame:
    """Run a parser over a frame with a `raw` column. The result keeps `row` (where given), `raw`, `value`, `given`
    (the cell was filled), per check i the columns `f{i}` (failed) and, with `details`, `d{i}` (detail), and the
    parser's `keep` columns; the intermediate stages are dropped so that a large sheet's columns do not hold them all
    at once. A detail is a message's text: a large column leaves them out and asks again for its failing rows."""
    # A column of plain numbers has no spaces, nothing to fold and no missing markers: its text is the cell.
    frame = frame.with_columns(text=RAW if parsed.plain else text(RAW, contract))
    for stage in parsed.stages:
        frame = frame.with_columns(**stage)
    frame = frame.with_columns(value=parsed.value)
    checks = [*parsed.checks, *parsed.column_checks]
    return frame.select(
        cs.by_name("row", "raw", "numeric_cell", require_all=False),
        *parsed.keep,
        value=VALUE,
        given=TEXT.is_not_null(),
        **{f"f{i}": check.failed.fill_null(False) for i, check in enumerate(checks)},
        **({f"d{i}": check.detail for i, check in enumerate(checks)} if details else {}),
    )


# Kinds whose value and checks depend on a cell's text alone: a column of them is parsed once per distinct text
# (a multi-year panel repeats a firm's code, name and county in each of its years).
PER_VALUE_KINDS = ("credit_code", "text", "year", "city", "industry", "boolean", "choice", "chain", "set", "date")


def parse(ctx: ColumnContext) -> Parsed:
    parsed = _PARSERS[ctx.spec.kind](ctx)
    return replace(parsed, per_value=True) if ctx.spec.kind in PER_VALUE_KINDS else parsed


def _parse_text(ctx: ColumnContext) -> Parsed:
    removed = RAW.str.count_matches(_INVISIBLE)  # `text` has taken them out already
    checks = [Check("W-TEXT-CLEANED", TEXT.is_not_null() & (removed > 0), removed.cast(pl.String))]
    if ctx.spec.max_length is not None:
        length = TEXT.str.len_chars()
        checks.append(Check("E-TOO-LONG", length > ctx.spec.max_length, length.cast(pl.String)))
    return Parsed(TEXT, checks)


def _folded() -> pl.Expr:
    return TEXT.str.replace_all(r"\s", "").str.to_uppercase()


def _parse_credit_code(ctx: ColumnContext) -> Parsed:
    code, numeric, well_formed = pl.col("code"), pl.col("numeric"), pl.col("well_formed")
    bad_check = well_formed & ~pl.col("check_ok")
    acknowledged = code.is_in(list(ctx.accept_bad_check))
    return Parsed(
        code,
        [
            Check("E-USCC-NUMERIC", numeric),
            Check("E-USCC-FORMAT", code.is_not_null() & ~numeric & ~well_formed, _format_detail(code)),
            Check("E-USCC-CHECK", bad_check & ~acknowledged),
            Check("W-USCC-ACCEPTED", bad_check & acknowledged),
            Check("W-ORG-CHECK", well_formed & ~pl.col("org_ok")),
            Check(
                "W-USCC-REGION",
                well_formed & (code.str.slice(2, 2) != ctx.contract.province_prefix),
                pl.lit("「") + code.str.slice(2, 6) + pl.lit("」"),
            ),
        ],
        stages=[
            {"code": _folded()},
            {"numeric": NUMERIC_CELL | pl.col("code").str.contains(r"^[0-9]+(\.[0-9]+)?E\+?[0-9]+$|^[0-9]+\.[0-9]+$")},
            {"well_formed": pl.col("code").str.contains(uscc.PATTERN) & ~pl.col("numeric")},
            {"checks": uscc.checks_expr(pl.col("code"))},
            {
                "check_ok": pl.col("checks").struct.field("check").fill_null(False),
                "org_ok": pl.col("checks").struct.field("org").fill_null(False),
            },
        ],
        needs_cell_types=True,
        keep=("code", "check_ok"),
    )


def _format_detail(code: pl.Expr) -> pl.Expr:
    length = code.str.len_chars()
    return pl.when(length != 18).then(pl.format("（共{}位）", length)).otherwise(pl.lit("（含有不允许的字符）"))


def looks_float_derived(code: pl.Expr) -> pl.Expr:
    """18 digits that are exactly what Excel's 15 significant digits, read back as a double, would give. Text that
    looks like this rarely is text, so only then is the file asked for the cells' real types."""
    digits = code.str.contains(r"^[0-9]{18}$")
    value = code.cast(pl.Int64, strict=False)
    rounded = ((value + 500) // 1000) * 1000
    return digits & (rounded.cast(pl.Float64).cast(pl.Int64) == value)


def _parse_year(ctx: ColumnContext) -> Parsed:
    cleaned, year = pl.col("cleaned"), pl.col("year")
    bounds = ctx.reference.year_bounds
    bad = cleaned.is_not_null() & (year.is_null() | ~year.is_between(*bounds))
    return Parsed(
        pl.when(~bad).then(year),
        [Check("E-YEAR", bad, pl.lit(f"{bounds[0]}年至{bounds[1]}年"))],
        stages=[
            {"cleaned": TEXT.str.replace(r"年度?$", "").str.replace(r"\.0+$", "")},
            {"year": pl.col("cleaned").cast(pl.Int32, strict=False)},
        ],
    )


def _parse_city(ctx: ColumnContext) -> Parsed:
    value, name = pl.col("city_text"), pl.col("city_name")
    names = sorted(set(ctx.contract.cities.values()))
    return Parsed(
        pl.when(value.str.contains(r"^[0-9]{6}$"))
        .then(value.str.slice(0, 4).replace_strict(ctx.contract.cities, default=None))
        .when(name.is_in(names))
        .then(name),
        [Check("E-CITY", value.is_not_null() & VALUE.is_null())],
        stages=[
            {"city_text": _folded().str.replace(r"^山东省?", "")},
            {"city_name": pl.col("city_text").str.replace(r"市$", "")},
        ],
    )


def _parse_industry(ctx: ColumnContext) -> Parsed:
    sections = ctx.reference.industry_sections
    value, digits = pl.col("industry_text"), pl.col("digits")
    section = digits.replace_strict(sections, default=None)
    letter = value.str.extract(r"^([A-Z])[0-9]", 1)
    padded = pl.lit("0") + digits
    lost_zero = digits.str.contains(r"^[0-9]{1,3}$") & padded.is_in(list(sections))
    detail = pl.when(lost_zero).then(pl.format("（可能丢失了首位的0，应为「{}」）", padded)).otherwise(_NO_DETAIL)
    return Parsed(
        pl.when(section.is_not_null() & (letter.is_null() | (letter == section))).then(digits),
        [Check("E-INDUSTRY", value.is_not_null() & VALUE.is_null(), detail)],
        stages=[
            {"industry_text": _folded().str.replace(r"\.0+$", "")},
            {"digits": pl.col("industry_text").str.replace(r"^[A-Z]", "")},
        ],
    )


def _choice_table(spec: FieldSpec, contract: Contract) -> dict[str, str]:
    table: dict[str, str] = {}
    if spec.kind == "boolean":
        table |= {fold(word): key for key, words in contract.booleans.items() for word in words}
    table |= {fold(word): key for key, words in spec.choices.items() for word in words}
    return table


def _choices_detail(spec: FieldSpec) -> pl.Expr:
    allowed = "是/否" if spec.kind == "boolean" else "/".join(spec.choices)
    return pl.lit(f"（可填：{allowed}）")


def _parse_choice(ctx: ColumnContext) -> Parsed:
    choice = pl.col("choice")
    value = choice
    if ctx.spec.kind == "boolean":
        value = choice.replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)
    table = _choice_table(ctx.spec, ctx.contract)
    return Parsed(
        value,
        [Check("E-VALUE", TEXT.is_not_null() & choice.is_null(), _choices_detail(ctx.spec))],
        stages=[{"choice": _folded().replace_strict(table, default=None, return_dtype=pl.String)}],
    )


def _parse_chain(ctx: ColumnContext) -> Parsed:
    name = pl.col("chain_name")
    known = name.is_in(sorted(ctx.contract.chain_names))
    return Parsed(
        pl.when(known).then(name),
        [Check("E-VALUE", name.is_not_null() & ~known, pl.lit("（应为标志性产业链或方向的名称，如“集成电路”）"))],
        stages=[{"chain_name": _folded().str.replace(r"产业链$", "")}],
    )


def _parse_set(ctx: ColumnContext) -> Parsed:
    table = _choice_table(ctx.spec, ctx.contract)
    items = pl.col("items")
    bad = items.list.eval(pl.element().is_null()).list.any()
    return Parsed(
        pl.when(~bad).then(items.list.unique().list.sort()),
        [Check("E-VALUE", bad, _choices_detail(ctx.spec))],
        stages=[
            {"separated": TEXT.str.replace_all(r"[\s、,;/]+", "、").str.to_uppercase().str.strip_chars("、")},
            {
                "items": pl.col("separated")
                .str.split("、")
                .list.eval(pl.element().replace_strict(table, default=None, return_dtype=pl.String))
            },
        ],
    )


def _parse_date(ctx: ColumnContext) -> Parsed:
    cleaned = pl.col("date_text")
    return Parsed(
        pl.coalesce(cleaned.str.to_date("%Y-%m-%d", strict=False), cleaned.str.to_date("%Y%m%d", strict=False)),
        [Check("E-VALUE", TEXT.is_not_null() & VALUE.is_null(), pl.lit("（应为日期，如2015-03-01）"))],
        stages=[
            {
                "date_text": TEXT.str.replace(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$", "")
                .str.replace_all(r"[年月/.]", "-")
                .str.replace("日", "")
            }
        ],
    )


# --- numbers -----------------------------------------------------------------------------------------------------

NUMBER_KINDS = ("money", "count", "percent")
NUMBER_TEXT = pl.col("number_text")  # cleaned: no separators, "(123)" as -123, no % sign
NUMBER_VALID = pl.col("number_valid")
PERCENT_SIGN = pl.col("percent_sign")


def _number_stages(ctx: ColumnContext) -> list[Stage]:
    """Full-width already folded; then thousands separators and spaces out, accounting negatives in, % off."""
    if ctx.plain_numbers:
        return [
            {"number_text": RAW, "number_valid": RAW.is_not_null(), "percent_sign": pl.lit(False)},
            {"decimal": pl.col(AS_NUMBER)},
        ]
    unbracketed = pl.col("n0")
    return [
        {"n0": TEXT.str.replace_all(r"[\s,]", "").str.replace_all("−", "-", literal=True)},
        {
            "n1": pl.when(unbracketed.str.contains(r"^\(.+\)$"))
            .then(pl.lit("-") + unbracketed.str.strip_chars("()"))
            .otherwise(unbracketed)
        },
        {"percent_sign": pl.col("n1").str.ends_with("%"), "n2": pl.col("n1").str.strip_suffix("%")},
        {"number_text": pl.when(pl.col("n2").is_in(list(ctx.contract.missing))).then(None).otherwise(pl.col("n2"))},
        {"number_valid": NUMBER_TEXT.str.contains(_NUMBER)},
        {"decimal": pl.when(NUMBER_VALID).then(NUMBER_TEXT).cast(_WIDE, strict=False)},
    ]


def _not_a_number(what: str) -> Check:
    return Check("E-NUMBER", NUMBER_TEXT.is_not_null() & ~NUMBER_VALID, pl.lit(what))


# A number written correctly but too large for the stored type (1e308, a run of 40 digits): refused, never NULL.
_TOO_LARGE = "可保存范围内的数字（绝对值太大，请核对数值和单位）"


def _too_large(fits: pl.Expr) -> Check:
    """E-NUMBER where the text is a number but `fits` (the parsed value within its stored type) does not hold."""
    return Check("E-NUMBER", NUMBER_VALID & ~fits.fill_null(False), pl.lit(_TOO_LARGE))


def _implausible(spec: FieldSpec, stored: pl.Expr, converted: bool = True) -> list[Check]:
    """W-IMPLAUSIBLE beyond the field's plausible_max, which is in the field's unit, as `stored` is: above it, or for
    a field that may be negative (net assets), further from zero than it either way. `converted`: the cell may be in
    another unit (money), so the message says what it came to."""
    if spec.plausible_max is None:
        return []
    unit = spec.unit or ""
    limit = f"{spec.plausible_max.normalize():,f}{unit}"  # 10,000,000,000万元
    beyond, than = (stored.abs(), "绝对值大于") if spec.signed else (stored, "大于")
    came_to = pl.format("（折合{}{}）", display.expr(stored, spec.unit, pl.Float64()), pl.lit(unit))
    said = pl.format("{}{}{}，不合常理", came_to if converted else pl.lit(""), pl.lit(than), pl.lit(limit))
    return [Check("W-IMPLAUSIBLE", (beyond > float(spec.plausible_max)).fill_null(False), said)]


def _parse_money(ctx: ColumnContext) -> Parsed:
    factor = ctx.contract.money_units[ctx.unit or "万元"]
    checks = [_not_a_number("数字")]
    if not ctx.spec.signed:
        checks.append(Check("E-NEGATIVE", VALUE < 0))
    checks += [_too_large(VALUE.is_not_null()), *_implausible(ctx.spec, VALUE)]  # the field's unit is 万元, as stored
    decimal = pl.col("decimal")
    if factor > 1:  # 亿元: a number that would not fit once converted is left out here, and refused as too large
        decimal = pl.when(decimal.abs() < _WIDE_LIMIT / factor).then(decimal)
    scaled = decimal if factor == 1 else decimal * pl.lit(factor, dtype=pl.Decimal(38, 4))
    return Parsed(scaled.cast(MONEY, strict=False), checks, stages=_number_stages(ctx), plain=ctx.plain_numbers)


def _parse_count(ctx: ColumnContext) -> Parsed:
    # Exactly from the decimal: a count above 2^53 would change its last digits on the way through a double.
    decimal, whole = pl.col("decimal"), pl.col("whole")
    return Parsed(
        pl.when(whole & (decimal >= 0)).then(decimal.cast(pl.Int64, strict=False)),
        [
            _not_a_number("数字"),
            Check("E-NUMBER", NUMBER_VALID & ~whole, pl.lit("整数")),
            Check("E-NEGATIVE", whole & (decimal < 0)),
            _too_large(decimal.is_not_null() & (~whole | (decimal < 0) | VALUE.is_not_null())),
            *_implausible(ctx.spec, VALUE, converted=False),
        ],
        stages=[*_number_stages(ctx), {"whole": decimal == decimal.floor()}],
        plain=ctx.plain_numbers,
    )


def _parse_percent(ctx: ColumnContext) -> Parsed:
    value, plain = pl.col("decimal"), pl.col("plain")
    own = (plain.max() <= 1) & (plain > 0).any() & (plain >= 0).all()  # what the rows at hand say
    fractions = own if ctx.fractions is None else pl.lit(ctx.fractions)
    scaled = pl.when(fractions & ~PERCENT_SIGN).then(value * pl.lit(Decimal(100), dtype=pl.Decimal(38, 0)))
    return Parsed(
        pl.when(pl.col("percent").is_between(0, 100)).then(pl.col("percent")),
        [
            _not_a_number("数字"),
            Check("E-PERCENT", ~pl.col("percent").is_between(0, 100)),
            _too_large(pl.col("decimal").is_not_null()),
        ],
        [Check("W-PERCENT-FRACTION", fractions.fill_null(False))],
        stages=[
            *_number_stages(ctx),
            {"plain": pl.when(~PERCENT_SIGN).then(value)},
            {"percent": scaled.otherwise(value).cast(MONEY)},
        ],
        plain=ctx.plain_numbers,
        keep=("plain",),  # so that what the whole sheet says can be settled from every chunk's rows
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

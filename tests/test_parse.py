"""Property tests for the cell parsers: however a number is written, it reads back exactly."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from assess.contract import load_contract
from assess.ingest import parse
from assess.reference import load_reference

CONTRACT = load_contract()
REFERENCE = load_reference(CONTRACT)
FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")

amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


def _parse(field: str, cells: list[str | None], unit: str | None = None, plain: bool = False) -> pl.DataFrame:
    context = parse.ColumnContext(CONTRACT.field(field), unit, CONTRACT, REFERENCE, frozenset(), plain_numbers=plain)
    parsed = parse.parse(context)
    frame = pl.DataFrame({"raw": cells}, schema={"raw": pl.String}).with_columns(numeric_cell=pl.lit(False))
    if plain:
        frame = frame.with_columns(parse.as_number(pl.col("raw")).alias(parse.AS_NUMBER))
    return parse.evaluate(frame.lazy(), parsed, CONTRACT).collect()


def _written(amount: Decimal, style: str) -> str:
    plain = f"{amount:f}"
    if style == "thousands":
        return f"{amount:,f}"
    if style == "parentheses" and amount < 0:
        return f"({-amount:,f})"
    if style == "full-width":
        return plain.translate(FULL_WIDTH)
    if style == "spaces":
        return f"  {plain} "
    return plain


@given(
    amounts,
    st.sampled_from(["plain", "thousands", "parentheses", "full-width", "spaces"]),
    st.sampled_from(["元", "千元", "万元", "亿元"]),
)
def test_money_reads_back_exactly_in_wan_yuan(amount: Decimal, style: str, unit: str) -> None:
    frame = _parse("net_assets", [_written(amount, style)], unit)
    expected = (amount * CONTRACT.money_units[unit]).quantize(Decimal("0.000001"))
    assert frame["value"][0] == expected


# A number as a program writes it: a sign, digits with or without a point, an exponent ("+1", "1.", ".5", "2E-3").
numbers_as_written = st.from_regex(
    r"[+-]?([0-9]{1,14}\.?[0-9]{0,14}|\.[0-9]{1,14})([eE][+-]?[0-9]{1,2})?", fullmatch=True
)


@given(
    st.lists(
        st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=8).map(lambda a: f"{a:f}")
        | numbers_as_written
        | st.none(),
        min_size=1,
    ),
    st.sampled_from(["revenue", "net_assets", "employees", "market_share"]),
    st.sampled_from(["元", "千元", "万元", "亿元"]),
)
def test_a_column_of_plain_numbers_reads_the_same_without_the_cleaning(
    cells: list[str | None], field: str, unit: str
) -> None:
    """The shortcut for columns whose every cell reads as a number as written changes nothing: values, rounding,
    checks (a number too large to store reads as none, and then the column is not plain)."""
    read = pl.Series(cells, dtype=pl.String).to_frame("raw").select(parse.as_number(pl.col("raw")))
    if read.to_series().null_count() > sum(cell is None for cell in cells):
        return
    assert_frame_equal(_parse(field, cells, unit, plain=True), _parse(field, cells, unit))


@given(st.text(alphabet="0123456789.+-eE ,%()", min_size=1, max_size=8))
def test_a_cell_that_reads_as_a_number_as_written_reads_the_same_cleaned(cell: str) -> None:
    """What `as_number` reads, the cleaning leaves as it is and reads alike; what it does not read, it leaves to
    the cleaning (which may still find a number: "1,000", "(5)", "12%")."""
    plain = pl.select(parse.as_number(pl.lit(cell, dtype=pl.String))).item()
    if plain is not None:
        assert _parse("net_assets", [cell], plain=True).equals(_parse("net_assets", [cell]))


@given(amounts.filter(lambda a: a < 0))
def test_a_negative_amount_is_an_error_except_for_net_assets(amount: Decimal) -> None:
    assert _parse("revenue", [str(amount)])["f1"][0]  # E-NEGATIVE
    assert _parse("net_assets", [str(amount)])["value"][0] == amount


@given(st.text(alphabet="约以上万元abc？", min_size=1, max_size=6))
def test_words_are_not_numbers(text: str) -> None:
    frame = _parse("revenue", [text])
    assert frame["value"][0] is None and frame["f0"][0]  # E-NUMBER


@given(st.integers(min_value=0, max_value=10**9), st.booleans())
def test_counts_accept_integers_written_as_excel_floats(count: int, as_float: bool) -> None:
    frame = _parse("employees", [f"{count}.0" if as_float else f"{count:,}"])
    assert frame["value"][0] == count


@given(st.sampled_from(["٥٠٠١", "५०००", "৫০০০"]), st.sampled_from(["revenue", "employees"]))
def test_digits_of_other_scripts_are_not_numbers_to_store_as_empty(text: str, field: str) -> None:
    frame = _parse(field, [text])
    assert frame["value"][0] is None and frame["f0"][0]  # E-NUMBER, not a silent empty value


@given(st.sampled_from(["", "—", "-", "/", "  "]))
def test_missing_markers_are_missing_not_errors(text: str) -> None:
    frame = _parse("revenue", [text])
    assert frame["value"][0] is None and not frame["f0"][0]


@given(st.sampled_from(sorted(CONTRACT.cities)), st.integers(min_value=0, max_value=99))
def test_any_county_code_maps_to_its_city(prefix: str, county: int) -> None:
    frame = _parse("city", [f"{prefix}{county:02d}"])
    assert frame["value"][0] == CONTRACT.cities[prefix]


# --- numbers of any size: stored exactly, or refused with the problem that says why ---------------------------------

STORED_DIGITS = 32  # DECIMAL(38,6): a stored amount in 万元 has at most 32 digits before the point
LARGEST_COUNT = 2**63 - 1  # BIGINT
REFUSALS = {"E-NUMBER", "E-NEGATIVE"}


def _outcome(field: str, cells: list[str], unit: str | None = None) -> list[tuple[object, set[str]]]:
    """Per cell: the value stored (None when none is) and the codes of the checks that failed."""
    context = parse.ColumnContext(CONTRACT.field(field), unit, CONTRACT, REFERENCE, frozenset())
    parsed = parse.parse(context)
    codes = [check.code for check in (*parsed.checks, *parsed.column_checks)]
    frame = pl.DataFrame({"raw": cells}, schema={"raw": pl.String}).with_columns(numeric_cell=pl.lit(False))
    rows = parse.evaluate(frame.lazy(), parsed, CONTRACT).collect().iter_rows(named=True)
    return [(row["value"], {code for i, code in enumerate(codes) if row[f"f{i}"]}) for row in rows]


def _spelled(number: Decimal, style: str) -> str:
    """A number as a spreadsheet, a CSV export or a person may write it."""
    if style == "scientific":
        return f"{number:E}"  # 1.234500E+40
    if style == "lower-scientific":
        return f"{number:e}".replace("e+", "e")  # 1.2345e40
    if style == "thousands":
        return f"{number:,f}"
    return f"{number:f}"  # a long run of digits


# Amounts with at most 2 decimals (so that even in 元 the value in 万元 has at most 6) and of every magnitude, up to
# and far beyond what a DECIMAL(38,6) holds.
any_amount = st.builds(
    lambda mantissa, exponent, negative: Decimal(-mantissa if negative else mantissa).scaleb(exponent),
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=-2, max_value=320),
    st.booleans(),
)
NUMBER_STYLES = st.sampled_from(["plain", "thousands", "scientific", "lower-scientific"])


@given(
    any_amount,
    NUMBER_STYLES,
    st.sampled_from(["元", "千元", "万元", "亿元"]),
    st.sampled_from(["revenue", "net_assets"]),
)
@example(Decimal("1e23"), "scientific", "亿元", "revenue")  # fits the parsed decimal, not once converted to 万元
@example(Decimal("-2e10"), "plain", "万元", "net_assets")  # implausibly negative
def test_an_amount_of_any_size_is_stored_exactly_or_refused(amount: Decimal, style: str, unit: str, field: str) -> None:
    """However large, an amount is never kept as an empty cell without a problem: it is stored exactly (in 万元) or
    the row is refused with E-NUMBER (or E-NEGATIVE); above the field's plausible bound it carries W-IMPLAUSIBLE."""
    if style == "plain" and amount.adjusted() > 60:
        style = "scientific"  # nobody types a run of three hundred digits; 40 of them are covered below
    spec = CONTRACT.field(field)
    wan = amount * CONTRACT.money_units[unit]
    [(value, codes)] = _outcome(field, [_spelled(amount, style)], unit)
    refused = bool(codes & REFUSALS)
    if not refused:
        assert value == wan
        assert ("W-IMPLAUSIBLE" in codes) == (spec.plausible_max is not None and abs(wan) > spec.plausible_max)
    if abs(wan) >= Decimal(10) ** STORED_DIGITS or (amount < 0 and not spec.signed):
        assert refused
    if abs(amount) < Decimal("1e20") and (amount >= 0 or spec.signed):
        assert not refused  # every amount a filing can hold is read


@given(
    st.integers(min_value=-(10**30), max_value=10**30) | st.integers(min_value=2**53 - 10, max_value=2**63 + 10),
    st.sampled_from(["plain", "thousands", "excel float", "scientific"]),
    st.sampled_from(["employees", "invention_patents"]),
)
@example(2**53 + 1, "plain", "employees")  # the first integer a double cannot hold
def test_a_count_of_any_size_is_stored_exactly_or_refused(count: int, style: str, field: str) -> None:
    """A count is stored as written, digit for digit (a BIGINT holds it), or refused; never rounded through a
    floating-point number, never kept as an empty cell."""
    text = f"{count}.0" if style == "excel float" else _spelled(Decimal(count), style)
    [(value, codes)] = _outcome(field, [text])
    if 0 <= count <= LARGEST_COUNT:
        assert value == count and not codes & REFUSALS
        bound = CONTRACT.field(field).plausible_max
        assert ("W-IMPLAUSIBLE" in codes) == (bound is not None and count > bound)
    else:
        assert codes & REFUSALS


@given(st.lists(any_amount.map(str), min_size=1, max_size=5), st.sampled_from(["元", "亿元"]))
@example(["1e23"], "亿元")
def test_a_huge_amount_refuses_its_own_row_only(amounts: list[str], unit: str) -> None:
    """One absurd cell is that row's problem: the other rows of the column are still read (the conversion to 万元
    never fails for the whole column)."""
    cells = [*amounts, "5000"]
    outcome = _outcome("revenue", cells, unit)
    assert outcome[-1] == (Decimal(5000) * CONTRACT.money_units[unit], set())


@given(any_amount, NUMBER_STYLES)
def test_a_percentage_of_any_size_is_stored_within_0_to_100_or_refused(number: Decimal, style: str) -> None:
    [(value, codes)] = _outcome("market_share", [_spelled(number, style), "50"])[:1]
    if value is None:
        assert codes & {"E-NUMBER", "E-PERCENT"}
    else:
        assert isinstance(value, Decimal) and 0 <= value <= 100

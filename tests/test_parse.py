"""Property tests for the cell parsers: however a number is written, it reads back exactly."""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl
from hypothesis import given
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


@given(
    st.lists(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=8) | st.none(), min_size=1),
    st.sampled_from(["revenue", "net_assets", "employees", "market_share"]),
    st.sampled_from(["元", "千元", "万元", "亿元"]),
)
def test_a_column_of_plain_numbers_reads_the_same_without_the_cleaning(
    amounts: list[Decimal | None], field: str, unit: str
) -> None:
    """The shortcut for columns that hold only plain numbers changes nothing: values, rounding, checks."""
    cells = [None if amount is None else f"{amount:f}" for amount in amounts]
    assert all(cell is None or re.fullmatch(parse.PLAIN_NUMBER, cell) for cell in cells)
    assert_frame_equal(_parse(field, cells, unit, plain=True), _parse(field, cells, unit))


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

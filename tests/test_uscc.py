"""The credit-code check (GB 32100-2015) and the organisation-code check inside it (GB 11714)."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from assess import uscc

PUBLISHED_VALID = ["914403001922038216", "91440300708461136T", "91330100799655058B"]

first17 = st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17)


def test_the_three_codes_in_the_domain_reference_pass() -> None:
    assert all(uscc.is_valid(code) for code in PUBLISHED_VALID)
    frame = pl.DataFrame({"code": PUBLISHED_VALID})
    assert frame.select(uscc.check_expr(pl.col("code"))).to_series().all()
    assert frame.select(uscc.org_check_expr(pl.col("code"))).to_series().all()


@given(first17)
def test_a_code_with_its_computed_check_character_passes(prefix: str) -> None:
    assert uscc.is_valid(prefix + uscc.check_char(prefix))


@given(first17, st.integers(min_value=0, max_value=16), st.sampled_from(uscc.ALPHABET))
def test_changing_any_one_character_is_detected(prefix: str, position: int, replacement: str) -> None:
    code = prefix + uscc.check_char(prefix)
    changed = code[:position] + replacement + code[position + 1 :]
    assert uscc.is_valid(changed) == (changed == code)


@given(st.lists(first17, min_size=1, max_size=30), st.lists(st.booleans(), min_size=30, max_size=30))
def test_the_vectorised_check_agrees_with_the_scalar_one(prefixes: list[str], corrupt: list[bool]) -> None:
    codes = [
        p + (uscc.ALPHABET[(uscc.ALPHABET.index(uscc.check_char(p)) + 1) % 31] if bad else uscc.check_char(p))
        for p, bad in zip(prefixes, corrupt, strict=False)
    ]
    frame = pl.DataFrame({"code": codes}).with_columns(
        check=uscc.check_expr(pl.col("code")), org=uscc.org_check_expr(pl.col("code"))
    )
    assert frame["check"].to_list() == [uscc.is_valid(c) for c in codes]
    assert frame["org"].to_list() == [uscc.org_check_ok(c) for c in codes]


@given(st.text(max_size=20))
def test_anything_not_18_characters_of_the_alphabet_is_not_well_formed(text: str) -> None:
    expected = len(text) == 18 and all(ch in uscc.ALPHABET for ch in text)
    assert uscc.is_well_formed(text) == expected
    assert pl.Series([text]).str.contains(uscc.PATTERN).item() == expected

"""The synthetic panel looks like real filings, the writers round-trip it, and the messy workbook reports exactly the
problems its README promises."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from assess import uscc
from assess.contract import Contract
from assess.outputs.lists_rows import TO_FILL
from assess.reference import load_reference
from assess.synthetic import messy
from assess.synthetic.panel import generate_panel
from assess.synthetic.writers import TITLE, write_panel
from tests.conftest import Ingester

FIRST, LAST = 2020, 2024


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return generate_panel(3000, FIRST, LAST, seed=11)


def test_the_same_seed_gives_the_same_panel_and_another_seed_another() -> None:
    first = generate_panel(300, FIRST, LAST, seed=5)
    assert first.equals(generate_panel(300, FIRST, LAST, seed=5))
    assert not first.equals(generate_panel(300, FIRST, LAST, seed=6))


def test_one_row_per_firm_and_year_in_contract_columns(panel: pl.DataFrame, contract: Contract) -> None:
    assert panel.columns == [spec.name for spec in contract.fields]
    assert panel.height == 3000 * (LAST - FIRST + 1)
    assert panel.select(pl.struct("credit_code", "year").is_unique().all()).item()
    assert set(panel["year"]) == set(range(FIRST, LAST + 1))
    per_firm = panel.group_by("credit_code").agg(pl.col("name").n_unique(), pl.col("city").n_unique())
    assert (per_firm["name"] == 1).all() and (per_firm["city"] == 1).all()
    assert panel["name"].n_unique() == 3000


def test_types_follow_the_contract(panel: pl.DataFrame) -> None:
    schema = panel.schema
    assert schema["revenue"] == pl.Float64 and schema["net_assets"] == pl.Float64
    assert all(schema[c] == pl.Int64 for c in ("employees", "rd_staff", "tech_staff", "invention_patents"))
    assert all(schema[c] == pl.Boolean for c in ("is_hte", "is_tech_sme", "expert_label", "above_scale"))
    assert schema["founded"] == pl.Date
    assert panel["chain"].null_count() == panel.height
    money = panel.select("revenue", "rd_expense", "total_assets").to_numpy()
    finite = money[~np.isnan(money)]
    assert np.allclose(finite, np.round(finite, 2))


def test_credit_codes_are_valid_and_registered_in_the_firms_city(panel: pl.DataFrame, contract: Contract) -> None:
    codes = panel["credit_code"].unique().to_list()
    assert all(uscc.is_valid(code) and uscc.org_check_ok(code) for code in codes)
    assert all(code.startswith("9137") for code in codes)
    registered = panel.select(pl.col("credit_code").str.slice(2, 4).replace_strict(contract.cities), "city")
    assert (registered["credit_code"] == registered["city"]).all()


def test_firms_are_in_the_16_cities_weighted_by_economic_size(panel: pl.DataFrame, contract: Contract) -> None:
    cities = set(contract.cities.values())
    assert set(panel["city"]) == cities and len(cities) == 16
    firms = panel.filter(pl.col("year") == FIRST)["city"].value_counts().sort("count", descending=True)
    count = dict(zip(firms["city"], firms["count"], strict=True))
    assert set(firms["city"].head(3)) == {"青岛", "济南", "烟台"}
    assert count["青岛"] > 3 * max(count["日照"], count["枣庄"])


def test_industry_codes_exist_and_are_mostly_manufacturing(panel: pl.DataFrame, contract: Contract) -> None:
    sections = load_reference(contract).industry_sections
    codes = panel["industry_code"]
    assert codes.is_in(list(sections)).all()
    by_section = codes.replace_strict(sections).value_counts(normalize=True)
    share = dict(zip(by_section["industry_code"], by_section["proportion"], strict=True))
    assert share["C"] > 0.6
    assert {"B", "D", "I", "M"} <= set(share)


def test_staff_never_exceed_employees(panel: pl.DataFrame) -> None:
    assert (panel["employees"] > 0).all()
    assert (panel["tech_staff"] <= panel["employees"]).all()
    assert (panel["rd_staff"] <= panel["employees"]).all()


def test_amounts_are_consistent(panel: pl.DataFrame) -> None:
    assert (panel["main_revenue"] <= panel["revenue"]).all()
    assert (panel["main_revenue"] >= 0.85 * panel["revenue"] - 0.01).all()
    assert (panel["rd_expense"] < panel["revenue"]).all()
    balance = panel.drop_nulls("net_assets")
    difference = balance["total_assets"] - balance["total_liabilities"] - balance["net_assets"]
    assert (difference.abs() < 0.011).all()
    assert (panel["founded"] < dt.date(FIRST, 1, 1)).all()


def test_zero_rd_is_common_among_small_firms_and_rare_among_large_ones(panel: pl.DataFrame) -> None:
    zero = pl.col("rd_expense") == 0
    small = panel.filter(pl.col("revenue") < 2000).select(zero.mean()).item()
    large = panel.filter(pl.col("revenue") >= 40000).select(zero.mean()).item()
    assert 0.5 < small < 0.8
    assert large < 0.25


def test_revenue_follows_a_growth_path_rather_than_fresh_draws(panel: pl.DataFrame) -> None:
    wide = panel.pivot(on="year", index="credit_code", values="revenue")
    log = wide.select(pl.col(str(FIRST)).log(), pl.col(str(LAST)).log())
    assert log.select(pl.corr(str(FIRST), str(LAST))).item() > 0.9
    ratio = panel.sort("credit_code", "year").select(
        (pl.col("revenue") / pl.col("revenue").shift(1).over("credit_code")).drop_nulls()
    )
    assert ratio.select(pl.col("revenue").is_between(0.1, 10).all()).item()


def test_expert_label_is_given_for_a_subset_and_follows_rd_intensity(panel: pl.DataFrame) -> None:
    labelled = panel.filter(pl.col("expert_label").is_not_null())
    assert 0.03 < labelled.height / panel.height < 0.3
    positive = labelled["expert_label"].mean()
    assert isinstance(positive, float)  # Series.mean is typed as any Python literal or None
    assert 0.15 < positive < 0.6
    intensity = labelled.select(pl.col("rd_expense") / pl.col("revenue")).to_series().to_numpy()
    label = labelled["expert_label"].to_numpy().astype(bool)
    assert 0.65 < _auc(intensity, label) < 0.95


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pl.Series(score).rank().to_numpy()
    positives, negatives = label.sum(), (~label).sum()
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


# --- writers -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_panel() -> pl.DataFrame:
    return generate_panel(60, 2022, 2024, seed=3)


def _as_written(frame: pl.DataFrame, original: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """A file read back, with the contract's field names, 是/否 as booleans and the original types."""
    names = {spec.header_with_unit: spec.name for spec in contract.fields}
    frame = frame.rename(names)
    yes_no = [
        name for name, dtype in original.schema.items() if dtype == pl.Boolean and frame.schema[name] == pl.String
    ]
    frame = frame.with_columns(
        pl.col(name).replace_strict({"是": True, "否": False}, return_dtype=pl.Boolean) for name in yes_no
    )
    return frame.cast(dict(original.schema))  # type: ignore[arg-type]


def _read_schema(original: pl.DataFrame, contract: Contract) -> dict[str, pl.DataType]:
    headers = {spec.name: spec.header_with_unit for spec in contract.fields}
    return {headers[name]: pl.String() if dtype == pl.Boolean else dtype for name, dtype in original.schema.items()}


def test_xlsx_round_trips_below_a_synthetic_title(
    tmp_path: Path, small_panel: pl.DataFrame, contract: Contract
) -> None:
    path = tmp_path / "panel.xlsx"
    write_panel(small_panel, path)
    title = pl.read_excel(path, engine="calamine", has_header=False, read_options={"n_rows": 1})
    assert title.item(0, 0) == TITLE
    back = pl.read_excel(
        path,
        engine="calamine",
        read_options={"header_row": 1},
        schema_overrides=_read_schema(small_panel, contract),
    )
    assert _as_written(back, small_panel, contract).equals(small_panel)


def test_csv_round_trips_below_a_synthetic_title(tmp_path: Path, small_panel: pl.DataFrame, contract: Contract) -> None:
    path = tmp_path / "panel.csv"
    write_panel(small_panel, path)
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == TITLE
    back = pl.read_csv(path, skip_rows=1, schema_overrides=_read_schema(small_panel, contract))
    assert _as_written(back, small_panel, contract).equals(small_panel)


def test_parquet_round_trips_and_says_it_is_synthetic(
    tmp_path: Path, small_panel: pl.DataFrame, contract: Contract
) -> None:
    path = tmp_path / "panel.parquet"
    write_panel(small_panel, path)
    assert pq.read_schema(path).metadata[b"synthetic"] == b"true"
    back = pl.read_parquet(path)
    assert back.columns[8] == "营业收入（万元）"
    assert _as_written(back, small_panel, contract).equals(small_panel)


def test_an_unknown_suffix_is_refused(tmp_path: Path, small_panel: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"\.json"):
        write_panel(small_panel, tmp_path / "panel.json")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".parquet"])
def test_a_written_panel_ingests_without_a_single_problem(
    tmp_path: Path, small_panel: pl.DataFrame, ingest: Ingester, suffix: str
) -> None:
    path = tmp_path / f"panel{suffix}"
    write_panel(small_panel, path)
    result = ingest(path)
    assert result.error is None
    assert result.accepted == small_panel.height
    assert result.problems.height == 0


# --- the messy workbook --------------------------------------------------------------------------------------------


def _codes_by_row(problems: pl.DataFrame) -> dict[tuple[str, int | None], set[str]]:
    found: dict[tuple[str, int | None], set[str]] = {}
    for sheet, row, code in problems.select("sheet", "row", "code").iter_rows():
        found.setdefault((sheet, row), set()).add(code)
    return found


@pytest.mark.parametrize("seed", [7, 8])
def test_the_messy_workbook_reports_exactly_the_expected_problems(tmp_path: Path, ingest: Ingester, seed: int) -> None:
    path = tmp_path / "messy.xlsx"
    messy.write_messy_workbook(path, seed=seed)
    result = ingest(path)
    assert _codes_by_row(result.problems) == messy.expected_problems(seed)
    assert (result.rows_read, result.accepted, result.rejected, result.skipped) == (43, 24, 17, 2)


def test_acknowledging_the_bad_check_character_accepts_that_row(
    tmp_path: Path, ingest: Ingester, contract: Contract
) -> None:
    path = tmp_path / "messy.xlsx"
    messy.write_messy_workbook(path)
    result = ingest(path, accept_bad_check=frozenset({messy.ACCEPTED_CODE}))
    expected = messy.expected_problems()
    expected[("2024年填报", 26)] = {"W-USCC-ACCEPTED"}
    assert _codes_by_row(result.problems) == expected
    assert (result.accepted, result.rejected) == (25, 16)
    every_code = set().union(*messy.expected_problems().values(), {"W-USCC-ACCEPTED"})
    # Every upload problem but two: 待补数据 comes from a run, E-CITY-OTHER from an upload made with --city.
    assert every_code == set(contract.problems) - {TO_FILL, "E-CITY-OTHER"}

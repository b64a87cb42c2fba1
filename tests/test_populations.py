"""The named populations on real filings: 规上工业 by flag or revenue, and the 2017 size classes."""

from __future__ import annotations

from pathlib import Path

from assess.kernel.expressions import to_sql
from assess.kernel.populations import load_populations
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.run.context import install_features
from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, firm_row, make_code, write_xlsx

SIZES = ("large_enterprise", "medium_enterprise", "small_enterprise", "micro_enterprise", "sme")


def _members(store: Store, population: str) -> set[str]:
    install_features(store, load_config(PACKAGED_RULES))
    tree = load_populations(PACKAGED_RULES / "populations.yaml").trees[population]
    sql = f"SELECT credit_code FROM features_base WHERE coalesce({to_sql(tree)}, false)"
    return {row[0] for row in store.con.execute(sql).fetchall()}


def test_size_classes_follow_the_2017_bands_with_both_bounds(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    rows: Rows = [
        HEADER,
        firm_row(1, 从业人员=1000, 营业收入=40000),  # large: both bounds
        firm_row(2, 从业人员=1000, 营业收入=39999.99),  # medium: revenue short of large
        firm_row(3, 从业人员=300, 营业收入=2000),  # medium
        firm_row(4, 从业人员=299, 营业收入=90000),  # small: staff short of medium
        firm_row(5, 从业人员=19, 营业收入=90000),  # micro: staff short of small
        firm_row(6, 行业代码="6511", 从业人员=300, 营业收入=10000),  # software: large by its own bands
    ]
    assert ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows})).accepted == 6
    code = {i: make_code(i) for i in range(1, 7)}
    members = {name: _members(store, name) for name in SIZES}
    assert members["large_enterprise"] == {code[1], code[6]}
    assert members["medium_enterprise"] == {code[2], code[3]}
    assert members["small_enterprise"] == {code[4]}
    assert members["micro_enterprise"] == {code[5]}
    assert members["sme"] == {code[2], code[3], code[4], code[5]}


def test_the_statistics_bureaus_flag_decides_above_scale_status(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    header = [*HEADER, "规上企业", "主营业务收入"]
    rows: Rows = [
        header,
        [*firm_row(1, 营业收入=1500), "是", None],  # flagged 规上 although small
        [*firm_row(2, 营业收入=9000), "否", None],  # flagged not 规上 although large
        [*firm_row(3, 营业收入=9000), None, 1999.99],  # no flag: main-business revenue decides
        [*firm_row(4, 营业收入=2000), None, None],  # no flag, no main revenue: revenue decides
        [*firm_row(5, 营业收入=9000, 行业代码="4710"), "是", None],  # construction: never 规上工业
    ]
    assert ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows})).accepted == 5
    assert _members(store, "above_scale_industrial") == {make_code(1), make_code(4)}

"""The named populations on real filings: 规上工业 by flag or revenue, and the 2017 size classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from assess.errors import PackError
from assess.kernel.expressions import to_sql
from assess.kernel.populations import load_populations
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.run.context import install_features
from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, firm_row, make_code, rule_folder, write_xlsx

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
        # 信息传输业 (divisions 63, 64) has bands of its own: 500 staff and 5亿 are medium there (large needs 2,000
        # staff and 10亿), although the software bands would make the firm large.
        firm_row(7, 行业代码="6410", 从业人员=500, 营业收入=50000),
        firm_row(8, 行业代码="5211", 从业人员=60, 营业收入=600),  # retail: medium from 50 staff and 500万
        firm_row(9, 行业代码="5111", 从业人员=5, 营业收入=1000),  # wholesale: small from 5 staff and 1,000万
    ]
    # Construction is banded by revenue and total assets: without 资产总额 a firm with the revenue of a medium one
    # has no class (待补数据), while one below the small revenue bound is micro whatever its assets.
    rows += [
        [*firm_row(10, 行业代码="4710", 从业人员=50, 营业收入=8000), None],
        [*firm_row(11, 行业代码="4710", 从业人员=50, 营业收入=200), None],
        [*firm_row(12, 行业代码="4710", 从业人员=50, 营业收入=8000), 6000],
    ]
    rows[0] = [*HEADER, "资产总额"]
    assert ingest(write_xlsx(tmp_path / "f.xlsx", {"表1": rows})).accepted == 12
    code = {i: make_code(i) for i in range(1, 13)}
    members = {name: _members(store, name) for name in SIZES}
    assert members["large_enterprise"] == {code[1], code[6]}
    assert members["medium_enterprise"] == {code[2], code[3], code[7], code[8], code[12]}
    assert members["small_enterprise"] == {code[4], code[9]}
    assert members["micro_enterprise"] == {code[5], code[11]}
    assert members["sme"] == set(code.values()) - {code[1], code[6]}  # an unknown size counts as an SME


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


@pytest.mark.parametrize(
    ("sector", "said"),
    [
        ('{title: 试验, codes: ["9999"], employees: [300, 100, 10]}', "9999 不是 GB/T 4754-2017 的门类或代码"),
        ('{title: 试验, codes: ["65"]}', "至少要有一项指标"),
        ('{title: 试验, codes: ["65"], employees: [10, 100, 300]}', "从大到小"),
    ],
)
def test_a_wrong_size_band_is_refused_before_a_run(tmp_path: Path, store: Store, sector: str, said: str) -> None:
    rules = rule_folder(tmp_path / "rules", {})
    table = rules / "size_classes.yaml"
    table.write_text(table.read_text(encoding="utf-8") + f"  - {sector}\n", encoding="utf-8")
    with pytest.raises(PackError, match=said):
        install_features(store, load_config(rules))

"""The targets' figures by the plan's 11 flagship chains, beside its 29 directions: a firm whose chain is known but
not its direction counts in its chain."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from assess import stats
from assess.cli import app
from assess.contract import load_contract
from assess.stats import NO_INSTITUTION_RULE, NO_RD_RULE
from tests.conftest import HEADER, firm_row, write_xlsx

runner = CliRunner()


def _stats(tmp_path: Path) -> dict:
    header = [*HEADER, "所属产业链"]
    rows = [
        header,
        # Revenue of 6,000万 and no R&D expense: each is flagged by 一清零 if it is in a flagship chain.
        [*firm_row(1, 营业收入=6000, 研发费用=0), None],  # 3562: direction 集成电路 of 新一代信息技术
        [*firm_row(2, 营业收入=6000, 研发费用=0), "高端装备"],  # declares a chain its industry code is not in
        [*firm_row(3, 营业收入=6000, 研发费用=0, 行业代码="1310"), None],  # grain milling: no flagship chain
    ]
    db = tmp_path / "a.duckdb"
    for args in (["ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": rows})], ["run", "--year", "2024"]):
        result = runner.invoke(app, [*map(str, args), "--db", str(db)])
        assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["stats", "--year", "2024", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_every_flagged_firm_in_a_chain_counts_in_its_chain(tmp_path: Path) -> None:
    no_rd = _stats(tmp_path)["no_rd"]
    assert no_rd["province"] == 2  # the grain mill is outside the flagship-chain fields
    assert len(no_rd["by_flagship_chain"]) == 11
    assert no_rd["by_flagship_chain"]["新一代信息技术"] == 1 and no_rd["by_flagship_chain"]["高端装备"] == 1
    assert sum(no_rd["by_flagship_chain"].values()) == no_rd["province"]
    # By direction, the firm that declared only its chain is in no bucket.
    assert no_rd["by_chain"]["集成电路"] == 1 and sum(no_rd["by_chain"].values()) == 1


def test_a_run_saved_before_chain_counts_gives_its_chains_as_sums_of_their_directions() -> None:
    contract = load_contract()
    rows = [
        ("province", None, 5, 3),
        ("direction", "集成电路", 2, 1),
        ("direction", "高性能服务器", 3, 2),  # both in 新一代信息技术
    ]
    counts = pl.DataFrame(
        [
            (rule, 2024, level, key, population, hits)
            for rule in (NO_RD_RULE, NO_INSTITUTION_RULE)
            for level, key, population, hits in rows
        ],
        schema=["rule_id", "year", "level", "key", "population", "hits"],
        orient="row",
    )
    manifest = {
        "packs": [
            {"id": "yiqingling", "parameters": {"revenue_min": 5000}},
            {"id": "yitisheng", "parameters": {"revenue_min": 10000, "coverage_target": 0.7}},
        ]
    }
    figures = stats.targets(counts, 2024, contract, manifest)
    assert figures["no_rd"]["by_flagship_chain"]["新一代信息技术"] == 3
    assert figures["institution_coverage"]["by_flagship_chain"]["新一代信息技术"] == {
        "firms": 5,
        "covered": 2,
        "rate": 0.4,
    }
    assert figures["no_rd"]["by_flagship_chain"]["高端装备"] == 0

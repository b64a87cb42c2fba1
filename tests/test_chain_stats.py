"""The targets' figures by the plan's 11 flagship chains, beside its 29 directions: a firm whose chain is known but
not its direction counts in its chain."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl
from typer.testing import CliRunner

from assess.cli import app
from assess.contract import load_contract
from assess.run import stats
from tests.conftest import HEADER, Rows, firm_row, write_xlsx

runner = CliRunner()


def _stats(tmp_path: Path) -> dict:
    header = [*HEADER, "所属产业链"]
    rows: Rows = [
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
            for rule in ("yiqingling.no_rd_activity", "yitisheng.no_rd_institution")
            for level, key, population, hits in rows
        ],
        schema=["rule_id", "year", "level", "key", "population", "hits"],
        orient="row",
    )
    manifest = {
        "packs": [
            {
                "id": "yiqingling",
                "role": "no_rd_activity",
                "rules": ["yiqingling.no_rd_activity"],
                "parameters": {"revenue_min": 5000},
            },
            {
                "id": "yitisheng",
                "role": "institution_coverage",
                "rules": ["yitisheng.no_rd_institution"],
                "parameters": {"revenue_min": 10000, "coverage_target": 0.7},
            },
        ]
    }
    figures = stats.targets(counts, 2024, contract, manifest)
    assert figures["no_rd"]["by_flagship_chain"]["新一代信息技术"] == 3
    assert figures["institution_coverage"]["by_flagship_chain"]["新一代信息技术"] == {
        "firms": 5,
        "covered": 2,
        "unknown": 0,  # counts kept before verdicts could be unknown
        "rate": 0.4,
        "needed": 2,  # 70% of 5 firms is 3.5: 4 firms with an institution, 2 more than today
    }
    assert figures["no_rd"]["by_flagship_chain"]["高端装备"] == 0


def test_a_city_workbook_shows_institution_coverage_by_chain(tmp_path: Path) -> None:
    """Firms of 1亿元 and more, all in 新一代信息技术: two in 济南 (one with an R&D institution), one in 青岛."""
    rows: Rows = [
        HEADER,
        firm_row(1, 营业收入=20000, 研发机构级别="省级"),
        firm_row(2, 营业收入=20000, 研发机构级别="无"),
        firm_row(3, 营业收入=20000, 研发机构级别="无", 所属地市="青岛"),
    ]
    db, folder = tmp_path / "a.duckdb", tmp_path / "各市"
    for args in (
        ["ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": rows})],
        ["run", "--year", "2024"],
        ["export", "--year", "2024", "--by-city", folder],
    ):
        result = runner.invoke(app, [*map(str, args), "--db", str(db)])
        assert result.exit_code == 0, result.stderr

    def chain_row(city: str) -> dict[object, object]:
        sheet = openpyxl.load_workbook(folder / f"2024_{city}_培育清单.xlsx")["汇总"]
        table = list(sheet.iter_rows(values_only=True))
        header = next(row for row in table if row[0] == "产业链")
        found = next(row for row in table[table.index(header) :] if row[0] == "新一代信息技术")
        return dict(zip(header, found, strict=True))

    jinan, qingdao = chain_row("济南"), chain_row("青岛")
    assert (jinan["有研发机构（家）"], jinan["研发机构覆盖率"]) == (1, 0.5)
    assert (qingdao["有研发机构（家）"], qingdao["研发机构覆盖率"]) == (0, 0)

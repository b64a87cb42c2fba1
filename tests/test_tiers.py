"""The cultivation lists: quotas, allocation, exclusions and tie-breaks on small fixtures, then the lists of a real
run read through the command line (lists, explain)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import cast

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from assess.contract import Contract, load_contract
from assess.errors import PackError
from assess.resources import RULES_ENV, rules_dir
from assess.run import runs
from assess.run.config import load_config
from assess.run.context import RunContext
from assess.run.staleness import changes_since
from assess.store import Store
from assess.tiers.funnel import funnel_text, harshest_gate
from assess.tiers.select import CHAIN_FULL, QUOTA_FULL, Allocation, allocate, near_misses, rank_order
from tests.conftest import HEADER, firm_row, fixture_names, read_fixture, rule_folder, write_filings, write_xlsx

FIXTURES = Path(__file__).parent / "fixtures" / "tiers"


# (credit_code, city, chain, value, rd_intensity)
Candidate = tuple[str, str, str | None, float, float | None]


def _eligible(rows: list[Candidate]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["credit_code", "city", "chain", "value", "rd_intensity"], orient="row").pipe(
        rank_order
    )


def _selected(frame: pl.DataFrame) -> list[str]:
    return frame.filter(pl.col("status") == "selected").sort("rank")["credit_code"].to_list()


def test_ties_go_to_the_higher_rd_intensity_then_the_smaller_credit_code() -> None:
    ranked = _eligible(
        [("C", "济南", None, 0.8, 0.05), ("B", "济南", None, 0.8, 0.05), ("A", "济南", None, 0.8, 0.03),
         ("D", "济南", None, 0.9, None), ("E", "济南", None, 0.8, None)]
    )  # fmt: skip
    assert ranked["credit_code"].to_list() == ["D", "B", "C", "A", "E"]
    assert ranked["position"].to_list() == [1, 2, 3, 4, 5]


def test_a_quota_seats_the_best_and_the_next_ones_are_near_misses() -> None:
    eligible = _eligible([(c, "济南", None, v, 0.03) for c, v in zip("ABCDEF", (6, 5, 4, 3, 2, 1), strict=True)])
    allocated = near_misses(allocate(eligible, Allocation(quota=3)), 2)
    assert _selected(allocated) == ["A", "B", "C"]
    assert allocated.filter(pl.col("status") == "near")["credit_code"].to_list() == ["D", "E"]
    assert allocated.filter(pl.col("credit_code") == "F")["status"].item() == "eligible"
    assert set(allocated.filter(pl.col("status") != "selected")["held_back"]) == {QUOTA_FULL}


def test_no_quota_seats_every_eligible_firm() -> None:
    eligible = _eligible([(c, "济南", None, 1.0, 0.03) for c in "ABC"])
    assert _selected(allocate(eligible, Allocation(quota=0))) == ["A", "B", "C"]


def test_a_city_minimum_reserves_seats_before_the_province_wide_ranking() -> None:
    eligible = _eligible(
        [("A1", "济南", None, 9, 0.03), ("A2", "济南", None, 8, 0.03), ("A3", "济南", None, 7, 0.03),
         ("B1", "菏泽", None, 1, 0.03), ("B2", "菏泽", None, 0.5, 0.03)]
    )  # fmt: skip
    assert _selected(allocate(eligible, Allocation(quota=3))) == ["A1", "A2", "A3"]
    assert _selected(allocate(eligible, Allocation(quota=3, city_minimum=1))) == ["A1", "A2", "B1"]


def test_proportional_seats_follow_each_citys_eligible_firms_by_largest_remainder() -> None:
    rows: list[Candidate] = [(f"A{i}", "济南", None, 10 - i, 0.03) for i in range(6)]
    rows += [(f"B{i}", "青岛", None, 3 - i, 0.03) for i in range(3)]
    rows += [("C0", "烟台", None, 0.1, 0.03)]
    allocated = allocate(_eligible(rows), Allocation(quota=5, proportional=True))
    # 5 seats for 6 / 3 / 1 eligible firms: 3.0 / 1.5 / 0.5 -> 3 / 1 / 0; the remainders 0.5 tie, and the fifth seat
    # goes to the city with more eligible firms (青岛), however low its firms rank against 济南's.
    assert _selected(allocated) == ["A0", "A1", "A2", "B0", "B1"]


def test_a_chain_cap_passes_over_firms_of_a_full_chain() -> None:
    eligible = _eligible(
        [("A", "济南", "高端装备", 9, 0.03), ("B", "济南", "高端装备", 8, 0.03), ("C", "济南", "医药", 7, 0.03)]
    )
    allocated = allocate(eligible, Allocation(quota=2, chain_cap=1))
    assert _selected(allocated) == ["A", "C"]
    assert allocated.filter(pl.col("credit_code") == "B")["held_back"].item() == CHAIN_FULL


runner = CliRunner()


def _cli(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def listed(tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict, dict[str, str]]:
    """The fixture's filings ingested and run. Every command of the test reads the rule folder of the fixture's `set:`
    (through ASSESS_RULES): the packaged rules with the thresholds the fixture's firms are built around."""
    fixture = read_fixture(FIXTURES / "lists.yaml")
    monkeypatch.setenv(RULES_ENV, str(rule_folder(tmp_path / "rules", fixture["set"])))
    db = tmp_path / "lists.duckdb"
    assert _cli("ingest", write_filings(tmp_path / "f.xlsx", fixture, contract), "--db", db)[0] == 0
    assert _cli("run", "--year", str(fixture["year"]), "--db", db)[0] == 0
    return db, fixture, fixture_names(fixture)


def test_gates_and_exclusions_decide_who_is_on_each_list(listed: tuple[Path, dict, dict[str, str]]) -> None:
    db, fixture, names = listed
    status, stdout, _ = _cli("lists", "--year", "2024", "--json", "--db", db)
    lists = json.loads(stdout)
    assert status == 0 and set(lists) == {"little_giant", "leader", "three_highs"}
    for list_id, expected in fixture["expect"].items():
        assert sorted(names[f["credit_code"]] for f in lists[list_id]) == sorted(expected["selected"]), list_id
        assert [f["rank"] for f in lists[list_id]] == list(range(1, len(lists[list_id]) + 1))
        assert all(set(f) == {"rank", "credit_code", "name", "city", "score", "status"} for f in lists[list_id])
        assert {f["status"] for f in lists[list_id]} <= {"selected"}
        for firm, exclusion in expected["excluded"].items():
            code = next(c for c, n in names.items() if n == firm)
            explained = json.loads(_cli("explain", code, "--year", "2024", "--json", "--db", db)[1])
            placed = next(x for x in explained["lists"] if x["list_id"] == list_id)
            assert placed["status"] == "excluded" and placed["lacks"] == f"不列为候选：{exclusion}", firm
    scores = [f["score"] for f in lists["leader"]]
    assert scores == sorted(scores, reverse=True)


def test_explain_names_every_gate_with_the_firms_value(listed: tuple[Path, dict, dict[str, str]]) -> None:
    db, _, names = listed
    code = next(c for c, n in names.items() if n == "上年研发投入强度2.9%")
    status, stdout, _ = _cli("explain", code, "--year", "2024", "--json", "--db", db)
    explained = json.loads(stdout)
    assert status == 0 and explained["credit_code"] == code
    giant = next(x for x in explained["lists"] if x["list_id"] == "little_giant")
    # It fails one gate but went further than most of 济南's firms: kept as one of the city's closest.
    assert giant["status"] == "closest" and giant["rank"] is None and giant["position"] is None
    gates = {g["id"]: g for g in giant["gates"]}
    assert gates["rd_two_years"]["passed"] is False
    assert gates["rd_two_years"]["detail"] == "研发投入强度本年5%、上年2.9%（均不低于3%）"
    assert all(g["passed"] for i, g in gates.items() if i != "rd_two_years")
    assert {r["rule_id"] for r in explained["rules"]} >= {"three_highs_criteria.rd_share"}
    assert explained["score"]["source"] == "index" and explained["score"]["reasons"]
    assert _cli("explain", "91370100000000000X", "--year", "2024", "--db", db)[0] == 1


def test_explain_says_what_changed_since_the_run(listed: tuple[Path, dict, dict[str, str]], tmp_path: Path) -> None:
    """The statuses are the run's; gates and rule results are evaluated again on today's filings and files, so the
    explanation names every change in between."""
    db, _, names = listed
    code = next(c for c, n in names.items() if n == "上年研发投入强度2.9%")
    other = next(c for c in names if c != code)

    def changes(credit_code: str) -> list[str]:
        return json.loads(_cli("explain", credit_code, "--year", "2024", "--json", "--db", db)[1])["changes_since_run"]

    assert changes(code) == []
    newer = write_xlsx(tmp_path / "更正.xlsx", {"表1": [HEADER, firm_row(1, 统一社会信用代码=code, 营业收入=9000)]})
    assert _cli("ingest", newer, "--db", db)[0] == 0
    assert changes(code) == ["该企业的填报在评估之后有更新（上传批次 2）。"]
    assert changes(other) == []  # another firm's explanation is not affected
    assert _cli("retract", "1", "--db", db)[0] == 0
    assert "该次评估读取的上传批次已被撤回：1。" in changes(other)
    # Its only filing is gone: nothing can be evaluated again, and the run's results are shown alone.
    gone = json.loads(_cli("explain", other, "--year", "2024", "--json", "--db", db)[1])
    assert (
        "该企业 2024 年度的填报现已不在库中（上传批次已撤回），规则结果和清单门槛无法重算。"
        in gone["changes_since_run"]
    )
    assert gone["rules"] == [] and all(listed["gates"] == [] for listed in gone["lists"])
    status, stdout, _ = _cli("explain", other, "--year", "2024", "--db", db)
    assert status == 0 and "注意" in stdout and "重新评估" in stdout


def test_a_changed_rule_file_is_named(listed: tuple[Path, dict, dict[str, str]]) -> None:
    db, _, names = listed
    config = load_config(rules_dir())  # the fixture's rule folder, as the commands read it
    with Store(db, load_contract()) as store:
        run = runs.latest(store, 2024)
        packs = [p | {"sha256": "0" * 64} if p["id"] == "yitisheng" else p for p in run.manifest["packs"]]
        tiers = [t | {"sha256": "0" * 64} if t["id"] == "leader" else t for t in run.manifest["tiers"]]
        edited = dataclasses.replace(run, manifest=run.manifest | {"packs": packs, "tiers": tiers})
        said = changes_since(RunContext(store, config, 2024), edited, next(iter(names)))
    assert said == [f"第 {run.run_id} 次评估之后，规则文件有改动：tiers/leader.yaml、yitisheng.yaml。"]


def test_the_workbook_and_the_city_workbooks(listed: tuple[Path, dict, dict[str, str]], tmp_path: Path) -> None:
    db, fixture, _ = listed
    out = tmp_path / "清单.xlsx"
    assert _cli("export", "--year", "2024", "--out", out, "--db", db)[0] == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "说明",
        "汇总",
        "研发活动清零",
        "研发机构提升",
        "三高一核心",
        "科技小巨人候选",
        "科技领军候选",
        "数据问题",
    ]
    giants = book["科技小巨人候选"]
    header = [c.value for c in giants[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in giants.iter_rows(min_row=2)]
    chosen = sorted(cast(str, r["企业名称"]) for r in rows if r["状态"] == "入选")  # firm names are text cells
    assert chosen == sorted(fixture["expect"]["little_giant"]["selected"])
    formula = next(
        row for row in giants.iter_rows(min_row=2) if str(row[header.index("企业名称")].value).startswith("=")
    )
    assert formula[header.index("企业名称")].data_type == "s"
    assert all(isinstance(r["统一社会信用代码"], str) for r in rows)
    for name in ("三高一核心", "科技小巨人候选", "科技领军候选"):  # 入选 by rank, then the others by their place
        ranked = [(row[1] != "入选", row[2]) for row in book[name].iter_rows(min_row=2, values_only=True) if row[0]]
        assert ranked == sorted(ranked, key=lambda r: (r[0], r[1] is None, r[1] or 0)), name
    summary = [row[0] for row in book["汇总"].iter_rows(values_only=True)]
    assert "规划目标进展" in summary and any(str(c).startswith("规上工业企业研发经费，按地市") for c in summary)
    thresholds = " ".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value is not None)
    assert "revenue_min" in thresholds and "5000万元" in thresholds and "[政策]" in thresholds
    directory = tmp_path / "各市"
    assert _cli("export", "--year", "2024", "--by-city", directory, "--db", db)[0] == 0
    jinan = openpyxl.load_workbook(directory / "2024_济南_培育清单.xlsx")
    # A city's workbook has its own R&D figures, not the province's targets.
    city_summary = [row[0] for row in jinan["汇总"].iter_rows(values_only=True)]
    assert "规划目标进展" not in city_summary and "济南" in city_summary
    for sheet in ("研发活动清零", "研发机构提升", "三高一核心", "科技小巨人候选", "科技领军候选"):
        header = [c.value for c in jinan[sheet][1]]
        cells = list(jinan[sheet].iter_rows(min_row=2, values_only=True))
        # the table's rows (with a 序号), not the funnel below it
        assert {r[header.index("地市")] for r in cells if r[0] is not None} <= {"济南"}
    assert len(list(directory.glob("2024_*_培育清单.xlsx"))) == 16
    assert _cli("export", "--year", "2024", "--out", out, "--city", "杭州", "--db", db)[0] == 2


def test_a_firm_whose_gate_input_is_missing_is_unknown_not_failed(
    listed: tuple[Path, dict, dict[str, str]], tmp_path: Path
) -> None:
    db, fixture, names = listed
    lists = json.loads(_cli("lists", "--year", "2024", "--json", "--db", db)[1])
    out = tmp_path / "清单.xlsx"
    assert _cli("export", "--year", "2024", "--out", out, "--db", db)[0] == 0
    book = openpyxl.load_workbook(out)
    problem_sheet = book["数据问题"]
    titles = [c.value for c in problem_sheet[1]]
    problems = [dict(zip(titles, row, strict=True)) for row in problem_sheet.iter_rows(min_row=2, values_only=True)]
    to_fill_rows = [row for row in problems if row["问题代码"] == "I-TO-FILL"]
    for list_id, firms in fixture["unknown"].items():
        for firm, to_fill in firms.items():
            code = next(c for c, n in names.items() if n == firm)
            assert code not in {f["credit_code"] for f in lists[list_id]}  # never selected
            explained = json.loads(_cli("explain", code, "--year", "2024", "--json", "--db", db)[1])
            placed = next(x for x in explained["lists"] if x["list_id"] == list_id)
            assert placed["status"] == "unknown" and placed["rank"] is None and placed["position"] is None
            [open_gate] = [g for g in placed["gates"] if g["passed"] is None]
            assert open_gate["to_fill"] == to_fill and all(g["passed"] for g in placed["gates"] if g is not open_gate)
            assert placed["lacks"] == f"待补数据：门槛“{open_gate['title']}”缺少数据，请补填{to_fill}"
            # The list's sheet shows the firm as 待补数据; 数据问题 says, at its row, what to fill in.
            sheet = book[next(t for t in load_config(rules_dir(None)).tiers if t.id == list_id).pack.sheet]
            header = [c.value for c in sheet[1]]
            rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
            assert [r["状态"] for r in rows if r["统一社会信用代码"] == code] == ["待补数据"]
            assert any(row["统一社会信用代码"] == code and to_fill in str(row["说明"]) for row in to_fill_rows)


def _province(lists: list[dict], list_id: str, status: str) -> tuple[int, int]:
    row = next(r for r in lists if r["list_id"] == list_id and r["city"] is None and r["status"] == status)
    return row["before"], row["after"]


def test_what_if_a_gate_or_a_quota_moves_counts_the_lists_again_without_a_run(
    listed: tuple[Path, dict, dict[str, str]],
) -> None:
    db, _, _ = listed
    # The two firms on the 小巨人 list file 8,000万 of revenue: a 10,000万 floor takes both off it.
    status, stdout, _ = _cli(
        "simulate", "--year", "2024", "--set", "little_giant.revenue_min=10000", "--json", "--db", db
    )
    lists = json.loads(stdout)["lists"]
    assert status == 0 and _province(lists, "little_giant", "selected") == (2, 0)
    assert _province(lists, "leader", "selected") == (2, 2)  # another list, untouched
    qingdao = next(r for r in lists if r["list_id"] == "little_giant" and r["city"] == "青岛")
    assert (qingdao["before"], qingdao["after"], qingdao["change"]) == (1, 0, -1)
    # A quota of one seats the better of the two; the other becomes the near miss.
    lists = json.loads(_cli("simulate", "--year", "2024", "--set", "little_giant.quota=1", "--json", "--db", db)[1])[
        "lists"
    ]
    assert _province(lists, "little_giant", "selected") == (2, 1)
    assert _province(lists, "little_giant", "near")[1] == 1
    assert len(json.loads(_cli("lists", "--year", "2024", "--json", "--db", db)[1])["little_giant"]) == 2  # unsaved
    # Without one firm, one tier, the firm 科技领军 took and the designated 科技领军 stand on 小巨人 too.
    lists = json.loads(
        _cli("simulate", "--year", "2024", "--set", "little_giant.one_tier=false", "--json", "--db", db)[1]
    )["lists"]
    assert _province(lists, "little_giant", "selected") == (2, 4)
    status, stdout, _ = _cli("simulate", "--year", "2024", "--set", "little_giant.quota=1", "--db", db)
    province = [line for line in stdout.splitlines() if "科技小巨人候选" in line and "全省" in line]
    assert status == 0 and any("入选" in line and "-1" in line for line in province), stdout


@pytest.mark.parametrize(
    ("assignment", "said"),
    [
        ("little_giant.quota=很多", "参数「little_giant.quota」应为数字"),
        ("little_giant.quorum=1", "没有参数：quorum"),
        ("classifier.cutoff=0.4", "不能做假设分析"),
        ("tech_sme.employees_max=400", "评分规则包（tech_sme）的参数请改规则文件"),
        ("little_giant.quota=-5", "quota 应为不小于 0 的整数"),
        ("little_giant.quota=1.5", "quota 应为不小于 0 的整数"),
        ("little_giant.near_share=2", "near_share 应为 0 到 1 之间的比例"),
        ("yiqingling.revenue_min=nan", "应为有限的数字"),
        ("yitisheng.institution_levels=省级、区级", "institution_levels 应是 企业自建、市级、省级、国家级 中的"),
    ],
)
def test_what_if_refuses_what_it_cannot_compare(
    listed: tuple[Path, dict, dict[str, str]], assignment: str, said: str
) -> None:
    db, _, _ = listed
    status, stdout, stderr = _cli("simulate", "--year", "2024", "--set", assignment, "--db", db)
    assert status == 1 and stdout == "" and said in stderr


@pytest.mark.parametrize(
    ("selected_on", "said"),
    [
        ("little_giant", "selected_on 互相等待：little_giant、leader、little_giant"),
        ("champions", "引用了未知的清单：champions"),
    ],
)
def test_lists_that_wait_for_each_other_or_for_no_list_are_refused(tmp_path: Path, selected_on: str, said: str) -> None:
    rules = rule_folder(tmp_path / "rules", {})
    leader = rules / "tiers" / "leader.yaml"
    leader.write_text(
        leader.read_text(encoding="utf-8")
        + f"  - id: lower\n    title: 已列入另一清单\n    selected_on: [{selected_on}]\n",
        encoding="utf-8",
    )
    with pytest.raises(PackError, match=said):
        load_config(rules)


def test_three_highs_needs_enough_of_the_four_attributes(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = read_fixture(FIXTURES / "three_highs.yaml")
    monkeypatch.setenv(RULES_ENV, str(rule_folder(tmp_path / "rules", fixture["set"])))
    db = tmp_path / "three_highs.duckdb"
    assert _cli("ingest", write_filings(tmp_path / "f.xlsx", fixture, contract), "--db", db)[0] == 0
    assert _cli("run", "--year", "2024", "--db", db)[0] == 0
    names = fixture_names(fixture)
    listed = json.loads(_cli("lists", "--year", "2024", "--json", "--db", db)[1])["three_highs"]
    assert [names[f["credit_code"]] for f in listed] == fixture["expect"]["selected"]
    out = tmp_path / "清单.xlsx"
    assert _cli("export", "--year", "2024", "--out", out, "--db", db)[0] == 0
    sheet = openpyxl.load_workbook(out)["三高一核心"]
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("企业名称")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    attributes = ["研发投入占比高", "复合增长率高", "市场占有率高", "拥有核心硬科技", "满足项数"]
    for firm, expected in fixture["expect"]["attributes"].items():
        assert [rows[firm][header.index(a)] for a in attributes] == expected, firm
    [unknown] = fixture["expect"]["unknown"]
    assert rows[unknown][header.index("状态")] == "待补数据"
    assert "“复合增长率高”所需的数据" in str(rows[unknown][header.index("差距")])  # the open sub-judgement, named
    guide = " ".join(str(c) for row in openpyxl.load_workbook(out)["说明"].iter_rows(values_only=True) for c in row)
    assert "四项子判断" in guide and "至少满足2项" in guide
    # One attribute is enough in a what-if: the firm meeting one joins, and so does the one whose other is open.
    moved = json.loads(
        _cli("simulate", "--year", "2024", "--set", "three_highs.min_criteria=1", "--json", "--db", db)[1]
    )["lists"]
    assert _province(moved, "three_highs", "selected") == (1, 3)
    assert _province(moved, "three_highs", "unknown") == (1, 0)


def test_an_open_count_of_sub_judgements_asks_only_for_the_open_ones(
    tmp_path: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A firm that filed no market share is judged on the substitute (its revenue's percentile), so 市场占有率高 is
    decided, not open: with 复合增长率高 open, its gap names that one and asks for no market-share data."""
    fixture = read_fixture(FIXTURES / "three_highs.yaml")
    firm = "未填市场占有率且增长待补数据"
    fixture["filings"].append(
        {
            "name": firm,
            "revenue": 1000,  # the lowest revenue of its industry: the substitute judges 市场占有率 not high
            "rd_expense": 20,
            "invention_patents": 2,
            "history": [{"year": 2023, "revenue": 950, "rd_expense": 19}],
        }
    )
    monkeypatch.setenv(RULES_ENV, str(rule_folder(tmp_path / "rules", fixture["set"])))
    db = tmp_path / "three_highs.duckdb"
    assert _cli("ingest", write_filings(tmp_path / "f.xlsx", fixture, contract), "--db", db)[0] == 0
    assert _cli("run", "--year", "2024", "--db", db)[0] == 0
    out = tmp_path / "清单.xlsx"
    assert _cli("export", "--year", "2024", "--out", out, "--db", db)[0] == 0
    sheet = openpyxl.load_workbook(out)["三高一核心"]
    header = [c.value for c in sheet[1]]
    [row] = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[header.index("企业名称")] == firm]
    attributes = ["研发投入占比高", "复合增长率高", "市场占有率高", "拥有核心硬科技", "满足项数"]
    assert [row[header.index(a)] for a in attributes] == ["不符合", "待补数据", "不符合", "符合", 1]
    assert row[header.index("状态")] == "待补数据"
    gap = str(row[header.index("差距")])
    assert "“复合增长率高”所需的数据" in gap and "市场占有率" not in gap


def test_the_funnel_says_where_the_firms_fell_away(listed: tuple[Path, dict, dict[str, str]]) -> None:
    """From the year's 11 firms to the 2 小巨人: two large firms are not SMEs, one is no 高新技术企业, one fell short
    of 3% R&D the year before, one grew 4.9%, one lacks the revenue two years back (open, not failed); three that
    pass every gate are excluded (designated, or taken by 科技领军)."""
    db, fixture, _ = listed
    with api.open_store(db) as store:
        found = api.lists(store, fixture["year"])
        nowhere = api.lists(store, fixture["year"], city="青岛")
    steps = found.funnels["little_giant"]
    assert steps.select("kind", "firms").rows() == [
        ("scope", 11),
        ("gate", 9),  # 中小企业
        ("gate", 8),  # 有效高新技术企业
        ("gate", 8),  # 属于标志性产业链领域
        ("gate", 8),  # 营业收入达到下限
        ("gate", 7),  # 近两年研发投入强度均达到下限
        ("gate", 5),  # 两年营业收入复合增长率达到下限 (4.9% fails it)
        ("gate_open", 1),  # the firm without the revenue of 2022: not judged, not removed
        ("excluded", 1),  # 已认定为科技小巨人
        ("excluded", 1),  # 已认定为科技领军（更高层级）
        ("excluded", 1),  # 已列入本年度科技领军候选
        ("excluded", 0),  # 被“一清零”标记
        ("candidates", 2),
        ("selected", 2),
        ("unknown", 1),
    ]
    assert harshest_gate(steps) == ("中小企业", 2)  # the first of the gates that remove the most
    assert "两年营业收入复合增长率达到下限 5（另有1家缺数据、未能判断）" in funnel_text(steps, 600)
    assert found.nearest == {}  # the province: nothing stands in for the lists
    # 青岛's one firm is a 小巨人 but no 科技领军 (8,000万 of revenue under the 50,000万 line): named as the closest.
    assert set(nowhere.nearest) == {"leader", "three_highs"}
    [closest] = nowhere.nearest["leader"].to_dicts()
    assert closest["status"] == "closest" and closest["lacks"].startswith("未通过门槛“营业收入达到下限”")
    status, stdout, _ = _cli("lists", "--year", "2024", "--city", "青岛", "--list", "leader", "--db", db)
    assert status == 0 and "本市无入选企业" in stdout and "筛掉企业最多的门槛" in stdout


def test_the_workbook_says_why_a_list_is_short(listed: tuple[Path, dict, dict[str, str]], tmp_path: Path) -> None:
    """汇总 and each list sheet carry the funnel; 青岛's workbook says it has no 科技领军 and names its closest firm."""
    db = listed[0]
    qingdao = tmp_path / "青岛.xlsx"
    assert _cli("export", "--year", "2024", "--city", "青岛", "--out", qingdao, "--db", db)[0] == 0
    book = openpyxl.load_workbook(qingdao)
    leader = next(t for t in load_config(rules_dir(None)).tiers if t.id == "leader")
    cells = [str(v) for row in book[leader.pack.sheet].iter_rows(values_only=True) for v in row if v is not None]
    assert "本市无入选企业；上表为本市最接近入选的企业及其差距。" in cells and "未入选（本市最接近）" in cells
    funnel = cells[cells.index("剩余企业数（家）") + 1 :]
    assert funnel[funnel.index("当年有填报的企业") + 1] == "1"
    summary = [str(v) for row in book["汇总"].iter_rows(values_only=True) for v in row if v is not None]
    assert all(f"{t.pack.title}：筛选过程" in summary for t in load_config(rules_dir(None)).tiers)
    assert "排除：已认定为科技领军" in summary


def test_a_gate_no_filing_can_answer_is_not_the_one_that_removes_the_most() -> None:
    """A city template without the 高新技术企业 column: every SME is open at that gate, none is removed by it."""
    steps = pl.DataFrame(
        {
            "kind": ["scope", "gate", "gate", "gate_open", "candidates", "selected"],
            "label": ["当年有填报的企业", "中小企业", "有效高新技术企业", "有效高新技术企业：缺数据", "候选", "入选"],
            "firms": [1500, 1476, 0, 1476, 0, 0],
        }
    )
    assert harshest_gate(steps) == ("中小企业", 24)
    assert "有效高新技术企业 0（另有1476家缺数据、未能判断）" in funnel_text(steps, 600)

"""The command line as a new user meets it: typos are usage errors with the nearest name, years side by side, a firm
found by its name, verdicts with what decided them, a progress bar only on a terminal, tables that fit 80 columns."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from assess import display
from assess.cli import render
from tests.conftest import HEADER, Rows, firm_row, make_code, write_xlsx
from tests.test_cli import INSTITUTION_FLOOR, NO_RD_FLOOR, run

YEARS = (2023, 2024)
NAMED = {3: "济南精工机械有限公司", 4: "济南精工材料有限公司"}
EXTRA = ["资产总额", "高新技术企业"]


def _year_rows(year: int) -> Rows:
    return [
        [*firm_row(1, 年度=year, 营业收入=NO_RD_FLOOR + 1000, 研发费用=0), None, "否"],  # 一清零
        [*firm_row(2, 年度=year, 营业收入=2 * INSTITUTION_FLOOR, 研发机构级别="无", 所属地市="青岛"), None, "否"],
        [*firm_row(3, 年度=year, 企业名称=NAMED[3], 营业收入=NO_RD_FLOOR - 1000, 研发费用=0), None, "否"],
        # 6% R&D intensity, neither 资产总额 nor 科技人员 filed: the 科技型中小企业 verdict waits for both.
        [*firm_row(4, 年度=year, 企业名称=NAMED[4], 研发费用=300), None, "否"],
        # A valid 高新技术企业 with its assets filed: through the fast track whatever its score.
        [*firm_row(5, 年度=year, 研发费用=0), 3000, "是"],
    ]


@pytest.fixture(scope="module")
def two_years(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with a run for each of 2023 and 2024."""
    folder = tmp_path_factory.mktemp("two_years")
    db = folder / "cli.duckdb"
    rows: Rows = [[*HEADER, *EXTRA], *(row for year in YEARS for row in _year_rows(year))]
    assert run("ingest", write_xlsx(folder / "f.xlsx", {"表1": rows}), "--db", db)[0] == 0
    for year in YEARS:
        assert run("run", "--year", str(year), "--db", db)[0] == 0
    return db


@pytest.mark.parametrize(
    ("args", "nearest"),
    [
        (["flags", "--year", "2024", "--rule", "yiqingling.no_rd"], "yiqingling.no_rd_activity"),
        (["flags", "--year", "2024", "--city", "青到"], "青岛"),
        (["flags", "--year", "2024", "--chain", "化工"], "高端化工"),
        (["lists", "--year", "2024", "--list", "小巨人"], "科技小巨人候选"),
        (["lists", "--year", "2024", "--status", "selectd"], "selected"),
        (["lists", "--year", "2024", "--chain", "集成电"], "集成电路"),
        (["lists", "--year", "2024", "--city", "青到"], "青岛"),
        (["filings", "--city", "青到"], "青岛"),
        (["rubric", "--year", "2024", "--pack", "tech"], "tech_sme"),
        (["export", "--year", "2024", "--city", "青到", "--out", "x.xlsx"], "青岛"),
        (["explain", "精工机器", "--year", "2024"], NAMED[3]),
    ],
)
def test_a_name_that_matches_nothing_is_a_usage_error_naming_the_nearest(
    two_years: Path, args: list[str], nearest: str
) -> None:
    """ "共 0 家" after a typo would read as a fact about the firms: it is exit status 2 and the nearest valid name."""
    status, stdout, stderr = run(*args, "--db", two_years)
    assert status == 2 and not stdout
    assert f"「{nearest}」" in stderr and "是不是" in stderr


def test_a_year_range_is_each_year_side_by_side_and_a_list_of_the_single_years_in_json(two_years: Path) -> None:
    for command in ("stats", "flags", "lists"):
        single = {y: json.loads(run(command, "--year", str(y), "--json", "--db", two_years)[1]) for y in YEARS}
        status, stdout, _ = run(command, "--year", "2023-2024", "--json", "--db", two_years)
        assert status == 0
        ranged = json.loads(stdout)
        assert [entry["year"] for entry in ranged] == list(YEARS)
        for entry in ranged:
            alone = single[entry["year"]]
            if command == "stats":
                assert entry == alone
            elif command == "flags":
                assert entry == {"year": entry["year"], "flags": alone}
            else:
                assert entry == {"year": entry["year"], **alone}
        status, stdout, _ = run(command, "--year", "2023-2024", "--db", two_years)
        assert status == 0 and "2023" in stdout and "2024" in stdout
    flagged = run("flags", "--year", "2023-2024", "--db", two_years)[1]
    assert "逐年标记情况" in flagged and "合成企业1" in flagged  # the firm, with its mark for each year
    assert run("stats", "--year", "2024-2023", "--db", two_years)[0] == 2
    assert run("stats", "--year", "2023-2030", "--db", two_years)[0] == 1  # no run for 2025: said, not skipped


def test_explain_finds_a_firm_by_its_name(two_years: Path) -> None:
    def explained(firm: str) -> dict:
        status, stdout, stderr = run("explain", firm, "--year", "2024", "--json", "--db", two_years)
        assert status == 0, stderr
        return json.loads(stdout)

    assert explained(NAMED[3])["credit_code"] == make_code(3)  # the whole name
    assert explained("精工机械")["credit_code"] == make_code(3)  # a part only one name holds
    assert explained(make_code(4).lower())["name"] == NAMED[4]  # the code, as typed
    assert explained("合成企业1")["credit_code"] == make_code(1)  # an exact name wins over 合成企业1x
    status, stdout, stderr = run("explain", "精工", "--year", "2024", "--db", two_years)
    assert status == 2 and not stdout
    assert make_code(3) in stderr and make_code(4) in stderr and "不止一家" in stderr


def test_explain_says_why_a_policy_does_not_apply(two_years: Path) -> None:
    found = json.loads(run("explain", NAMED[3], "--year", "2024", "--json", "--db", two_years)[1])
    rules = {r["rule_id"]: r for r in found["rules"]}
    no_rd = rules["yiqingling.no_rd_activity"]
    assert no_rd["applies"] is False
    assert no_rd["outside"] == [f"不在“标志性产业链领域、营业收入不低于{NO_RD_FLOOR:g}万元”范围内"]
    assert rules["yitisheng.no_rd_institution"]["applies"] is False
    said = run("explain", NAMED[3], "--year", "2024", "--db", two_years)[1]
    assert "不适用" in said and f"营业收入不低于{NO_RD_FLOOR:g}万元" in said
    flagged = json.loads(run("explain", make_code(1), "--year", "2024", "--json", "--db", two_years)[1])
    assert {r["rule_id"]: r["applies"] for r in flagged["rules"]}["yiqingling.no_rd_activity"] is True


def test_a_rubric_verdict_says_what_decided_it(two_years: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = run("rubric", "--year", "2024", "--pack", "tech_sme", "--json", "--db", two_years)[1]
    decided = {row["credit_code"]: (row["verdict"], row["decided_by"]) for row in json.loads(stdout)}
    assert decided[make_code(5)] == (True, "直通：有效期内的高新技术企业")
    assert decided[make_code(4)] == (None, "资产总额、科技人员未填，待补数据")
    monkeypatch.setattr(render.out, "width", 200)  # each cell on one line
    table = run("rubric", "--year", "2024", "--pack", "tech_sme", "--db", two_years)[1]
    assert "直通：有效期内的高新技术企业" in table and "资产总额、科技人员未填，待补数据" in table
    explained = run("explain", make_code(5), "--year", "2024", "--db", two_years)[1]
    assert "科技型中小企业评价（按填报数据预评定量条件）：得分 —，符合（直通：有效期内的高新技术企业）" in explained


def test_a_score_is_shown_with_three_decimals_and_never_rounded_up_to_a_line() -> None:
    assert display.score(0.4999) == "0.499" and display.score(0.5) == "0.500"
    assert display.value(0.5, display.SCORE) == "0.500"


def _on_a_terminal(args: list[str]) -> tuple[str, str]:
    """Run `assess` with stderr on a pseudo-terminal (stdout a pipe): what stdout and the terminal received."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    command = [str(Path(sys.executable).with_name("assess")), *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, env=env) as process:
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the command has ended
                break
            if not chunk:
                break
            seen += chunk
        stdout = process.stdout.read() if process.stdout else b""
    os.close(controller)
    return stdout.decode(), seen.decode(errors="replace")


def test_a_progress_bar_on_a_terminal_and_none_with_json(two_years: Path, tmp_path: Path) -> None:
    db = shutil.copytree(two_years.parent, tmp_path / "copy") / two_years.name  # the store with its model files
    _, terminal = _on_a_terminal(["run", "--year", "2024", "--db", str(db)])
    assert "2024 年度：" in terminal and "━" in terminal
    stdout, terminal = _on_a_terminal(["run", "--year", "2024", "--json", "--db", str(db)])
    assert json.loads(stdout)["year"] == 2024
    assert "年度：" not in terminal and "━" not in terminal


def test_version(two_years: Path) -> None:
    status, stdout, _ = run("--version")
    assert status == 0 and stdout.strip() == f"assess {version('assess')}"


def test_a_citys_own_file_fills_its_city_and_refuses_another(tmp_path: Path) -> None:
    db = tmp_path / "city.duckdb"
    no_city = [firm_row(11, 所属地市=None), firm_row(12, 所属地市=None)]
    rows: Rows = [HEADER, *no_city, firm_row(13, 所属地市="青岛")]
    path = write_xlsx(tmp_path / "济南.xlsx", {"表1": rows})
    status, stdout, _ = run("ingest", path, "--city", "济南市", "--json", "--db", db)
    [result] = json.loads(stdout)
    assert status == 0 and (result["accepted"], result["rejected"]) == (2, 1)
    [problem] = result["problems"]
    assert problem["code"] == "E-CITY-OTHER" and problem["row"] == 4 and "「济南」" in problem["message"]
    filed = json.loads(run("filings", "--json", "--db", db)[1])
    assert {(f["credit_code"], f["city"]) for f in filed} == {(make_code(11), "济南"), (make_code(12), "济南")}
    # Without --city the blank 所属地市 is the required field missing, as before.
    other = tmp_path / "other.duckdb"
    [plain] = json.loads(run("ingest", path, "--json", "--db", other)[1])
    assert plain["accepted"] == 1 and {p["code"] for p in plain["problems"]} == {"E-REQUIRED"}
    # A corrected file replaces the filings in force, and says how many.
    fixed = write_xlsx(tmp_path / "济南_更正.xlsx", {"表1": [HEADER, firm_row(11, 营业收入=6000, 所属地市=None)]})
    status, stdout, _ = run("ingest", fixed, "--city", "济南", "--db", db)
    assert status == 0 and "替换了 1 条已有填报" in stdout
    assert run("ingest", fixed, "--city", "济宁2", "--db", db)[0] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["filings", "--year", "2024"],
        ["uploads"],
        ["problems", "1"],
        ["flags", "--year", "2024"],
        ["flags", "--year", "2023-2024"],
        ["stats", "--year", "2024"],
        ["stats", "--year", "2023-2024"],
        ["rubric", "--year", "2024", "--pack", "tech_sme"],
        ["lists", "--year", "2024", "--status", "near", "--status", "unknown"],
        ["score", "--year", "2024"],
    ],
)
def test_terminal_tables_fit_80_columns_and_keep_codes_whole(
    two_years: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every table the command prints, drawn on an 80-column terminal: no line wider, no credit code cut in two."""
    tables: list[Table] = []
    printed = render.out.print

    def print_and_keep(*objects: object, **options: Any) -> None:
        tables.extend(o for o in objects if isinstance(o, Table))
        printed(*objects, **options)

    monkeypatch.setattr(render.out, "print", print_and_keep)
    status, _, stderr = run(*args, "--db", two_years)
    assert status == 0, stderr
    assert tables
    terminal = Console(width=80, file=io.StringIO(), record=True)
    for table in tables:
        terminal.print(table)
    drawn = terminal.export_text()
    assert max(cell_len(line.rstrip()) for line in drawn.splitlines()) <= 80
    assert all(len(code) == 18 for code in re.findall(r"91[0-9A-Z]{6,}", drawn))  # each code whole on its line
    if args[0] == "filings":
        assert "5,000.00" in drawn  # money with thousands separators

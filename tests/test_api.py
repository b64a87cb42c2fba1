"""The library API and the rule folder a province edits: an analyst's Python session, `assess rules init` with
--rules and ASSESS_RULES, a list file added beside the three, and failures of the program told in one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from tests.conftest import SMALL_YEAR, copy_store

YEAR = SMALL_YEAR


def _cli(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], prog_name="assess")
    return result.exit_code, result.stdout, result.stderr


def test_an_analyst_runs_a_year_and_reads_it_back_in_python(small_store: Path, tmp_path: Path) -> None:
    db = copy_store(small_store, tmp_path)
    with api.open_store(db) as store:
        done = api.run_year(store, YEAR)
        figures = api.stats(store, YEAR)
        lists = api.lists(store, YEAR)
        what_if = api.simulate(store, YEAR, {"yiqingling.revenue_min": 3000})
    assert figures.run.run_id == done.run.run_id and figures.figures == done.stats
    assert list(lists.lists) == [tier.id for tier in lists.tiers] == ["three_highs", "little_giant", "leader"]
    lowered = what_if.changes.filter(level="province", rule_id="yiqingling.no_rd_activity")
    assert lowered["population_new"].item() >= lowered["population"].item()  # a lower floor takes in more firms
    assert what_if.lists is not None and what_if.run == done.run


def test_a_list_file_added_to_the_rule_folder_is_drawn_shown_and_written(small_store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "规则"
    api.init_rules(rules)
    spec = yaml.safe_load((rules / "tiers" / "three_highs.yaml").read_text(encoding="utf-8"))
    spec |= {"id": "watch", "title": "重点关注企业", "sheet": "重点关注", "order": 4}
    (rules / "tiers" / "watch.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    db = copy_store(small_store, tmp_path)
    with api.open_store(db) as store:
        done = api.run_year(store, YEAR, rules)
        [book] = api.export_workbooks(store, YEAR, out=tmp_path / "清单.xlsx", rules=rules)
    assert list(done.lists) == ["three_highs", "little_giant", "leader", "watch"]
    workbook = openpyxl.load_workbook(book, read_only=True)
    assert workbook.sheetnames.index("重点关注") == workbook.sheetnames.index("科技领军候选") + 1
    headers = next(workbook["汇总"].iter_rows(max_row=1, values_only=True))
    assert "重点关注（家）" in headers
    folder = done.run.manifest["rules_folder"]
    assert folder["path"] == str(rules.resolve()) and len(folder["files"]["tiers/watch.yaml"]) == 64


def test_rules_init_then_rules_option_or_environment(
    small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "省规则"
    status, _, said = _cli("rules", "init", rules)
    assert status == 0 and "--rules" in said and (rules / "tiers" / "leader.yaml").is_file()
    pack = rules / "yiqingling.yaml"
    pack.write_text(pack.read_text(encoding="utf-8").replace("value: 5000", "value: 3000", 1), encoding="utf-8")
    db = copy_store(small_store, tmp_path)

    def floor(*extra: str | Path) -> int:
        status, stdout, stderr = _cli("run", "--year", str(YEAR), "--db", db, "--json", *extra)
        assert status == 0, stderr
        return int(json.loads(stdout)["stats"]["thresholds"]["no_rd_revenue_min"])

    packaged = floor()
    assert floor("--rules", rules) == 3000 != packaged
    monkeypatch.setenv("ASSESS_RULES", str(rules))
    assert floor() == 3000
    status, _, said = _cli("rules", "init", rules)
    assert status == 2 and "已存在" in said
    status, _, said = _cli("lists", "--year", str(YEAR), "--db", db, "--rules", tmp_path / "没有这个文件夹")
    assert status == 1 and "规则文件夹" in said and "Traceback" not in said


def test_a_broken_reference_file_in_the_rule_folder_is_one_chinese_sentence(small_store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "规则"
    api.init_rules(rules)
    (rules / "chain_map.csv").unlink()
    status, _, said = _cli("run", "--year", str(YEAR), "--db", copy_store(small_store, tmp_path), "--rules", rules)
    assert status == 1 and "chain_map.csv" in said and "Traceback" not in said and len(said.strip().splitlines()) == 1


# A failure of the program itself, injected deep in a library the command calls.
FAILURES = {
    "train": ("sklearn.calibration", "CalibratedClassifierCV", "fit"),
    "export": ("openpyxl.workbook.workbook", "Workbook", "save"),
}


@pytest.mark.parametrize("command", sorted(FAILURES))
def test_a_failure_deep_inside_is_one_chinese_line_and_its_traceback_only_in_the_log(
    command: str, small_store: Path, tmp_path: Path
) -> None:
    db = copy_store(small_store, tmp_path)
    if command == "export":
        with api.open_store(db) as store:
            api.run_year(store, YEAR)
    module, owner, method = FAILURES[command]
    args = {"train": ["train"], "export": ["export", "--year", str(YEAR), "--out", str(tmp_path / "x.xlsx")]}[command]
    script = (
        f"import {module} as m\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('injected: 91370100MA3C00000X')\n"
        f"m.{owner}.{method} = broken\n"
        "from assess.cli import app\n"
        f"app({[*args, '--db', str(db)]!r}, prog_name='assess')\n"
    )
    log = tmp_path / "assess.log"
    for env in ({"ASSESS_LOG": ""}, {"ASSESS_LOG": str(log)}):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **env}, check=False
        )
        errors = [line for line in done.stderr.splitlines() if line.startswith("错误：")]
        assert done.returncode == 1 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"「assess {command}」执行失败" in errors[0] and "91370100MA3C00000X" not in done.stderr
        assert ("ASSESS_LOG" in errors[0]) == (not env["ASSESS_LOG"])
    logged = log.read_text(encoding="utf-8")
    assert "Traceback" in logged and "injected" in logged


@pytest.mark.parametrize(
    ("file", "edit", "said"),
    [
        ("yitisheng.yaml", ("role: institution_coverage", ""), "没有承担角色 institution_coverage"),
        ("tiers/leader.yaml", ("sheet: 科技领军候选", "sheet: 科技/领军"), "sheet"),
    ],
)
def test_a_rule_folder_the_figures_cannot_use_is_refused_before_the_run(
    small_store: Path, tmp_path: Path, file: str, edit: tuple[str, str], said: str
) -> None:
    rules = tmp_path / "规则"
    api.init_rules(rules)
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    db = copy_store(small_store, tmp_path)
    status, _, stderr = _cli("run", "--year", str(YEAR), "--db", db, "--rules", rules)
    assert status == 1 and said in stderr and "Traceback" not in stderr
    with api.open_store(db) as store:  # nothing was run
        assert store.con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]


def test_a_log_file_that_cannot_be_opened_is_said_and_the_command_runs(tmp_path: Path) -> None:
    env = {**os.environ, "ASSESS_LOG": str(tmp_path / "没有这个文件夹" / "assess.log")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("assess")), "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert (
        done.returncode == 0 and "日志文件" in done.stderr and "Traceback" not in done.stderr and "用法" in done.stdout
    )

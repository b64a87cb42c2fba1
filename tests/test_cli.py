"""The command line as users call it: JSON shapes, exit statuses, the problem workbook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from assess.contract import load_contract
from assess.kernel.spec import single
from assess.resources import PACKAGED_RULES, SAMPLE_DIR
from assess.run.config import load_config
from assess.synthetic.panel import generate_panel
from assess.synthetic.writers import write_panel
from tests.conftest import HEADER, Rows, firm_row, make_code, rule_folder, write_xlsx

runner = CliRunner()
CONFIG = load_config(PACKAGED_RULES)
NO_RD_FLOOR = float(
    single("revenue_min", CONFIG.rules.pack("yiqingling").pack.parameters["revenue_min"].value)
)  # 一清零 (万元)
INSTITUTION_FLOOR = float(
    single("revenue_min", CONFIG.rules.pack("yitisheng").pack.parameters["revenue_min"].value)
)  # 一提升 (万元)
# Labelled firms, 通过 and 未通过 by turns: fewer of each than the classifier needs, so scores fall back to the index.
LABELLED = 2 * min(3, int(CONFIG.scoring.classifier.spec.value("min_per_class")) - 1)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.duckdb"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], prog_name="assess")
    return result.exit_code, result.stdout, result.stderr


def test_ingest_json_has_one_object_per_file_and_nothing_else_on_stdout(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    good = write_xlsx(tmp_path / "good.xlsx", {"表1": [HEADER, firm_row(1), firm_row(2, 所属地市="杭州")]})
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00garbage\x00")
    status, stdout, stderr = run("ingest", good, broken, "--json", "--db", db)
    assert status == 2
    payload = json.loads(stdout)
    assert [p["file"] for p in payload] == ["good.xlsx", "broken.csv"]
    first, second = payload
    assert set(first) == {
        "file",
        "sha256",
        "upload_id",
        "rows_read",
        "accepted",
        "rejected",
        "skipped",
        "warnings",
        "duplicate_upload",
        "replaced",
        "error",
        "problems",
    }
    assert (first["rows_read"], first["accepted"], first["rejected"], first["error"]) == (2, 1, 1, None)
    [problem] = first["problems"]
    assert problem == {
        "code": "E-CITY",
        "level": "error",
        "sheet": "表1",
        "row": 3,
        "column": "所属地市",
        "value": "杭州",
        "message": problem["message"],
    }
    assert second["error"] and second["rows_read"] == 0 and second["upload_id"] is None
    assert "broken.csv" in stderr
    assert (tmp_path / "good_问题清单.xlsx").exists()


def test_ingest_writes_the_problem_workbook_where_asked(tmp_path: Path, db: Path) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 营业收入="约500")]})
    out = tmp_path / "问题.xlsx"
    status, stdout, _ = run("ingest", path, "--errors-out", out, "--db", db)
    assert status == 0 and "问题清单已写入" in stdout
    sheet = openpyxl.load_workbook(out).worksheets[0]
    values = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert "E-NUMBER" in values and "约500" in values


def test_filings_json_uses_field_names_money_as_numbers_and_cities_without_shi(tmp_path: Path, db: Path) -> None:
    run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 所属地市="青岛市")]}), "--db", db)
    status, stdout, _ = run("filings", "--year", "2024", "--city", "青岛市", "--json", "--db", db)
    assert status == 0
    [filing] = json.loads(stdout)
    assert (filing["credit_code"], filing["city"], filing["year"], filing["revenue"]) == (
        make_code(1),
        "青岛",
        2024,
        5000.0,
    )


def test_uploads_problems_and_retract(tmp_path: Path, db: Path) -> None:
    run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1, 所属地市="杭州")]}), "--db", db)
    [upload] = json.loads(run("uploads", "--json", "--db", db)[1])
    assert (upload["upload_id"], upload["rejected"], upload["retracted_at"]) == (1, 1, None)
    [problem] = json.loads(run("problems", "1", "--json", "--db", db)[1])
    assert problem["code"] == "E-CITY" and problem["row"] == 2
    assert run("retract", "1", "--db", db)[0] == 0
    assert run("retract", "1", "--db", db)[0] == 1
    status, _, stderr = run("problems", "9", "--db", db)
    assert status == 1 and "9" in stderr


def test_usage_errors_exit_2(tmp_path: Path, db: Path) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1)]})
    assert run("ingest", path, "--unit", "美元", "--db", db)[0] == 2
    assert run("ingest", "--db", db)[0] == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["filings", "--year", "二〇二四"], "选项「--year」的值无效：应为整数。用「assess filings --help」可查看"),
        (["ingest"], "缺少参数「文件」。"),
        (["problems", "第一批"], "参数「上传批次编号」的值无效：应为整数。"),
        (["uploads", "extra"], "多出了参数：extra。用「assess uploads --help」可查看用法。"),
        (["filng"], "没有「filng」这个命令。是不是「filings」？"),
        (["filings", "--town", "历下区"], "没有「--town」这个选项。"),
        (["filings", "--year"], "选项「--year」后面缺少它的值"),
    ],
)
def test_usage_errors_are_told_in_chinese(args: list[str], said: str) -> None:
    status, stdout, stderr = run(*args)
    assert status == 2 and stdout == ""
    assert said in stderr and "错误：" in stderr
    assert not any(word in stderr for word in ("Usage", "Error", "Missing", "Invalid", "No such", "Got"))


ENGLISH_CHROME = ("Usage", "Options", "Arguments", "Commands", "required", "default", "Show this message")
PYTHON_TYPE = re.compile(r"<[A-Za-z\[\]]+>")  # the parser's own type labels: <int>, <list[Path]>


def test_the_help_screens_are_chinese() -> None:
    status, stdout, _ = run("--help")
    assert status == 0 and stdout.startswith("用法：assess [选项] 命令")
    listed = [
        line.split()[0] for line in stdout.split("命令：\n")[1].splitlines() if line.startswith("  ") and line[2] != " "
    ]
    assert {"ingest", "filings", "run", "lists", "export", "simulate"} <= set(listed)
    for command in listed:
        status, stdout, _ = run(command, "--help")
        assert status == 0 and stdout.startswith(f"用法：assess {command} "), command
        assert "--help  " in stdout and "显示本帮助并退出。" in stdout, command
        assert not any(word in stdout for word in ENGLISH_CHROME), (command, stdout)
        assert not PYTHON_TYPE.search(stdout), (command, stdout)


def test_a_help_screen_names_each_value_its_kind_and_default() -> None:
    ingest = run("ingest", "--help")[1]
    assert "用法：assess ingest [选项] 文件..." in ingest
    assert "--year" in ingest and "整数" in ingest and "--accept-bad-check" in ingest and "文字（可重复）" in ingest
    assert "［必填］" in ingest.split("选项：")[0]  # the files themselves
    sample = run("sample", "--help")[1]
    assert "［默认：1000］" in sample and "--out" in sample


def test_a_database_in_use_by_another_process_is_refused_in_chinese(tmp_path: Path, db: Path) -> None:
    assert run("uploads", "--db", db)[0] == 0  # creates it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        status, stdout, stderr = run(
            "ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1)]}), "--db", db
        )
    finally:
        holder.communicate("")
    assert status == 1 and stdout == ""
    assert "正被另一个程序使用" in stderr and "Traceback" not in stderr
    assert run("uploads", "--db", db)[0] == 0  # free again


def test_a_file_that_is_no_database_is_refused_in_chinese(tmp_path: Path) -> None:
    notes = tmp_path / "notes.duckdb"
    notes.write_text("这不是数据库", encoding="utf-8")
    status, _, stderr = run("filings", "--db", notes)
    assert status == 1 and "不是本系统的数据库" in stderr
    assert notes.read_text(encoding="utf-8") == "这不是数据库"


def test_a_path_holding_the_word_lock_is_not_taken_for_a_locked_database(tmp_path: Path) -> None:
    junk = tmp_path / "blocklist" / "a.duckdb"
    junk.parent.mkdir()
    junk.write_text("junk", encoding="utf-8")
    status, _, stderr = run("uploads", "--db", junk)
    assert status == 1 and "不是本系统的数据库" in stderr and "另一个程序" not in stderr


def test_a_program_error_goes_to_the_log_file_never_to_the_terminal(tmp_path: Path) -> None:
    """The user reads one Chinese sentence; the traceback (which may quote a cell) goes only to ASSESS_LOG."""
    upload = write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1)]})
    db = tmp_path / "a.duckdb"
    (tmp_path / "a.duckdb.files").write_text("a file where the kept files' folder should be", encoding="utf-8")
    command = [str(Path(sys.executable).with_name("assess")), "ingest", str(upload), "--db", str(db)]
    quiet = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "ASSESS_LOG": ""})
    log = tmp_path / "assess.log"
    logged = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "ASSESS_LOG": str(log)})
    for finished in (quiet, logged):
        assert finished.returncode == 2 and "无法复制到数据库旁的文件夹" in finished.stderr
        assert "Traceback" not in finished.stderr and "staged" not in finished.stderr
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_db_defaults_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSESS_DB", str(tmp_path / "env.duckdb"))
    run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": [HEADER, firm_row(1)]}))
    assert (tmp_path / "env.duckdb").exists()


def test_template_round_trips_through_ingest(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "模板.xlsx"
    assert run("template", "--out", out)[0] == 0
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    values = dict(zip(HEADER, firm_row(1), strict=True))
    headers = [c.value for c in sheet[1]]
    for col, header in enumerate(headers, start=1):
        assert isinstance(header, str)
        for name, value in values.items():
            if header.startswith(name):
                assert isinstance(value, str | int)  # firm_row holds text and whole numbers only
                sheet.cell(row=2, column=col, value=value)
    book.save(out)
    status, stdout, _ = run("ingest", out, "--json", "--db", db)
    assert status == 0
    [result] = json.loads(stdout)
    assert (result["rows_read"], result["accepted"]) == (1, 1), result["problems"]


def test_a_second_demo_starts_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole demo on the bundled sample runs once per suite, from the installed wheel (test_packaging.py); here a
    small synthetic sample stands in for it, run twice into the same folder."""
    sample = tmp_path / "样例"
    sample.mkdir()
    assert (
        run("sample", "--out", sample / "panel_2020-2024.xlsx", "--enterprises", "40", "--years", "2023-2024")[0] == 0
    )
    shutil.copy(SAMPLE_DIR / "messy.xlsx", sample / "messy.xlsx")
    monkeypatch.setattr(api, "SAMPLE_DIR", sample)
    target = tmp_path / "demo"
    for _ in range(2):  # a second run starts afresh rather than repeating uploads
        status, stdout, _ = run("demo", "--dir", target, "--json")
        assert status == 0
    panel, messy = json.loads(stdout)["uploads"]
    assert not panel["duplicate_upload"] and panel["upload_id"] == 1 and messy["upload_id"] == 2
    assert sorted(p.name for p in target.iterdir() if p.suffix == ".xlsx") == [
        "2024_全省_培育清单.xlsx",
        "messy_问题清单.xlsx",
    ]


def test_demo_never_empties_a_folder_holding_other_files(tmp_path: Path) -> None:
    (tmp_path / "我的报表.xlsx").write_bytes(b"not the demo's")
    status, _, stderr = run("demo", "--dir", tmp_path)
    assert status == 1 and "不是演示输出的文件" in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["我的报表.xlsx"]


def _ingest_fixture(tmp_path: Path, db: Path) -> None:
    rows: Rows = [
        HEADER,
        firm_row(1, 营业收入=NO_RD_FLOOR + 1000, 研发费用=0),  # flagged by 一清零
        firm_row(2, 营业收入=2 * INSTITUTION_FLOOR, 研发机构级别="无", 所属地市="青岛"),  # flagged by 一提升
        firm_row(3, 营业收入=NO_RD_FLOOR - 1000, 研发费用=0),  # short of 一清零's revenue floor
    ]
    assert run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": rows}), "--db", db)[0] == 0


def test_run_flags_stats_and_rubric(tmp_path: Path, db: Path) -> None:
    _ingest_fixture(tmp_path, db)
    status, stdout, _ = run("flags", "--year", "2024", "--json", "--db", db)
    assert status == 1  # no run yet
    status, stdout, _ = run("run", "--year", "2024", "--json", "--db", db)
    assert status == 0 and json.loads(stdout)["run_id"] == 1 and json.loads(stdout)["year"] == 2024
    flagged = json.loads(run("flags", "--year", "2024", "--json", "--db", db)[1])
    policy = [f for f in flagged if f["rule_id"].startswith(("yiqingling", "yitisheng"))]
    targets = {(f["credit_code"], f["rule_id"]) for f in policy}
    assert targets == {
        (make_code(1), "yiqingling.no_rd_activity"),
        (make_code(2), "yitisheng.no_rd_institution"),
    }
    assert set(flagged[0]) == {"credit_code", "name", "city", "rule_id", "verdict", "missing", "message"}
    assert all(f["verdict"] is True and f["missing"] == [] for f in policy)
    assert policy == flagged  # without --rule, the 一清零 and 一提升 rules only
    every = json.loads(run("flags", "--year", "2024", "--all", "--json", "--db", db)[1])
    assert {f["rule_id"].split(".")[0] for f in every} > {"yiqingling", "yitisheng"}  # the sub-judgements too
    only = json.loads(run("flags", "--year", "2024", "--rule", "yitisheng.no_rd_institution", "--json", "--db", db)[1])
    assert [f["city"] for f in only] == ["青岛"]
    figures = json.loads(run("stats", "--year", "2024", "--json", "--db", db)[1])
    assert figures["no_rd"]["province"] == 1 and figures["no_rd"]["by_chain"]["集成电路"] == 1
    assert figures["institution_coverage"]["by_city"]["青岛"] == {
        "firms": 1,
        "covered": 0,
        "unknown": 0,
        "rate": 0.0,
        "needed": 1,
    }
    assert figures["institution_coverage"]["by_city"]["烟台"]["rate"] is None
    assert len(figures["no_rd"]["by_chain"]) == 29
    scored = json.loads(run("rubric", "--year", "2024", "--pack", "tech_sme", "--json", "--db", db)[1])
    assert {row["credit_code"] for row in scored} == {make_code(i) for i in (1, 2, 3)}
    status, _, stderr = run("rubric", "--year", "2024", "--pack", "tech_sm", "--db", db)
    assert status == 2 and "是不是「tech_sme」" in stderr  # a typo is a usage error, with the closest name
    assert run("rubric", "--year", "2024", "--pack", "yiqingling", "--db", db)[0] == 2  # not a rubric


def test_simulate_shows_what_moves_without_writing_a_run(tmp_path: Path, db: Path) -> None:
    _ingest_fixture(tmp_path, db)
    lower = f"yiqingling.revenue_min={NO_RD_FLOOR - 2000:g}"  # takes in the third firm
    status, stdout, _ = run("simulate", "--year", "2024", "--set", lower, "--json", "--db", db)
    assert status == 0
    changes = json.loads(stdout)["changes"]
    province = next(c for c in changes if c["rule_id"] == "yiqingling.no_rd_activity" and c["level"] == "province")
    assert (province["hits"], province["hits_new"], province["change"]) == (1, 2, 1)
    assert json.loads(stdout)["lists"] is None  # no run yet: no scores to draw the lists from
    status, _, stderr = run("simulate", "--year", "2024", "--set", "little_giant.quota=1", "--db", db)
    assert status == 1 and "assess run" in stderr
    assert run("flags", "--year", "2024", "--db", db)[0] == 1  # still no run
    assert run("simulate", "--year", "2024", "--set", "yiqingling.nothing=1", "--db", db)[0] == 1
    assert run("simulate", "--year", "2024", "--set", "revenue_min", "--db", db)[0] == 2


def test_train_and_score_json_and_a_changed_model_refused(db: Path) -> None:
    assert run("ingest", SAMPLE_DIR / "panel_2020-2024.xlsx", "--db", db)[0] == 0
    status, stdout, _ = run("train", "--json", "--db", db)
    trained = json.loads(stdout)
    assert status == 0 and trained["fallback"] is False and trained["n_train"] > 500
    assert 0 < trained["n_positive"] < trained["n_train"]
    assert set(trained["cv"]) >= {"roc_auc", "pr_auc", "brier"} and trained["cv"]["roc_auc"] > 0.7
    status, stdout, _ = run("score", "--year", "2024", "--json", "--db", db)
    scored = json.loads(stdout)
    assert status == 0 and len(scored) > 500
    first = scored[0]
    assert set(first) >= {"credit_code", "name", "score", "index", "three_highs", "reasons"}
    assert set(first["three_highs"]) == {"rd_share", "growth", "market_share", "core_tech"}
    assert 0 <= first["score"] <= 1 and 0 <= first["index"] <= 100 and all(isinstance(r, str) for r in first["reasons"])
    assert [s["score"] for s in scored] == sorted((s["score"] for s in scored), reverse=True)
    model = Path(f"{db}.models") / Path(trained["model_card"]).with_suffix(".skops").name
    model.write_bytes(model.read_bytes() + b"\0")
    status, stdout, stderr = run("score", "--year", "2024", "--json", "--db", db)
    assert status == 1 and stdout == "" and "拒绝使用" in stderr


def _too_few_labels(**overrides: object) -> Rows:
    rows: Rows = [[*HEADER, "三高一核心评审结果"]]
    rows += [
        [*firm_row(i, **{"研发费用": 50 * i, **overrides}), "通过" if i % 2 else "未通过"]
        for i in range(1, LABELLED + 1)
    ]
    return rows


def test_too_few_labels_fall_back_to_the_index(tmp_path: Path, db: Path) -> None:
    assert run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": _too_few_labels()}), "--db", db)[0] == 0
    status, stdout, stderr = run("train", "--json", "--db", db)
    trained = json.loads(stdout)
    assert status == 0 and trained["fallback"] is True and trained["cv"] is None and "标注不足" in stderr
    status, stdout, _ = run("score", "--year", "2024", "--json", "--db", db)
    scored = json.loads(stdout)
    assert status == 0 and len(scored) == LABELLED
    for firm in scored:
        assert firm["score"] == pytest.approx(firm["index"] / 100) and firm["score_source"] == "index"
        assert "指数" in firm["reasons"][0]
    assert run("run", "--year", "2024", "--db", db)[0] == 0


def test_fewer_labels_than_folds_fall_back_instead_of_failing(tmp_path: Path, db: Path) -> None:
    """A province that lowers min_per_class below the folds of the grouped cross-validation still gets the index
    fallback, not a failure: every fold needs each class."""
    folds = int(CONFIG.scoring.classifier.spec.value("cv_folds"))
    rules = rule_folder(tmp_path / "规则", {"classifier.min_per_class": 2})
    rows: Rows = [[*HEADER, "三高一核心评审结果"]]
    rows += [[*firm_row(i, 研发费用=50 * i), "通过" if i % 2 else "未通过"] for i in range(1, 2 * (folds - 1) + 1)]
    assert run("ingest", write_xlsx(tmp_path / "f.xlsx", {"表1": rows}), "--db", db)[0] == 0
    status, stdout, stderr = run("train", "--json", "--db", db, "--rules", rules)
    assert status == 0 and json.loads(stdout)["fallback"] is True and f"至少需要 {folds} 条" in stderr


def test_a_foreign_panel_trains_and_runs_on_what_it_can_teach(tmp_path: Path, db: Path) -> None:
    """A labelled panel from another system: no optional column but the expert verdict, and Ⅱ类知识产权 filed only
    from the latest year on. `train --json` names each feature it left out with why, in Chinese; `run` scores with
    the model instead of stopping on scikit-learn's 'window shape' error."""
    label = CONFIG.scoring.classifier.spec.label
    optional = [spec.name for spec in load_contract().fields if not spec.required and spec.name != label]
    panel = generate_panel(300, 2021, 2024, 5)
    panel = panel.drop([name for name in optional if name != "class2_ip"]).with_columns(
        class2_ip=pl.when(pl.col("year") == 2024).then(pl.col("class2_ip"))
    )
    write_panel(panel, tmp_path / "外省样本.xlsx")
    assert run("ingest", tmp_path / "外省样本.xlsx", "--db", db)[0] == 0
    status, stdout, stderr = run("train", "--json", "--db", db)
    trained = json.loads(stdout)
    assert status == 0 and trained["fallback"] is False and "class2_ip" in trained["features"]
    left_out = trained["left_out"]
    configured = set(CONFIG.scoring.classifier.feature_names)
    assert set(trained["features"]) | set(left_out) == configured and not set(trained["features"]) & set(left_out)
    assert "standards_led" in left_out and "主导制定标准在训练样本中没有任何取值" in left_out["standards_led"]
    assert "未使用的特征" not in stdout and "Traceback" not in stderr
    status, stdout, stderr = run("run", "--year", "2024", "--json", "--db", db)
    assert status == 0 and "Traceback" not in stderr
    status, stdout, _ = run("score", "--year", "2024", "--json", "--db", db)
    scored = json.loads(stdout)
    assert status == 0 and scored and {firm["score_source"] for firm in scored} == {"model"}
    assert not [r for firm in scored for r in firm["reasons"] if r.startswith(("主导制定标准", "科技奖励"))]


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with one run of 2024: too few labelled firms, so the score falls back to the index; the firms
    differ only in name and code and have no R&D institution, so every index (and score) is 0."""
    folder = tmp_path_factory.mktemp("assessed")
    db = folder / "cli.duckdb"
    rows = _too_few_labels(研发费用=100, 研发机构级别="无")
    assert run("ingest", write_xlsx(folder / "f.xlsx", {"表1": rows}), "--db", db)[0] == 0
    assert run("run", "--year", "2024", "--db", db)[0] == 0
    return db


@pytest.mark.parametrize(
    "args",
    [
        ["filings", "--year", "2024"],
        ["uploads"],
        ["problems", "1"],
        ["flags", "--year", "2024"],
        ["stats", "--year", "2024"],
        ["rubric", "--year", "2024", "--pack", "tech_sme"],
        ["simulate", "--year", "2024", "--set", "yiqingling.revenue_min=3000"],
        ["train"],
        ["score", "--year", "2024"],
        ["lists", "--year", "2024"],
        ["explain", make_code(1), "--year", "2024"],
    ],
)
def test_every_command_prints_its_human_output(assessed: Path, args: list[str]) -> None:
    """Without --json each command prints its tables: none of them may break on the way to the terminal."""
    status, stdout, stderr = run(*args, "--db", assessed)
    assert status == 0, stderr
    assert stdout.strip()


def test_a_what_if_on_lists_nobody_is_on_says_so(assessed: Path) -> None:
    """The small store's firms have no history (so no growth) and a score of 0, below the cut-off and its near band:
    no list has anyone, and the comparison says that, not an empty table. (tests/test_tiers.py shows the table where
    the lists have firms.)"""
    status, stdout, _ = run("simulate", "--year", "2024", "--set", "little_giant.quota=1", "--db", assessed)
    assert status == 0 and "科技小巨人候选" not in stdout
    assert "改动前后都没有企业进入任何培育清单" in stdout


def test_a_rubric_whose_every_verdict_is_unknown_reads_as_such(tmp_path: Path) -> None:
    # Neither 资产总额 nor 科技人员 is filed: with 6% R&D intensity the 科技型中小企业 score could reach 60 or not,
    # and the asset gate cannot be judged; every verdict is 待补数据.
    rows: Rows = [HEADER, firm_row(1, 营业收入=5000, 研发费用=300), firm_row(2, 营业收入=5000, 研发费用=300)]
    db = str(tmp_path / "a.duckdb")
    for args in (["ingest", str(write_xlsx(tmp_path / "f.xlsx", {"表1": rows}))], ["run", "--year", "2024"]):
        assert runner.invoke(app, [*args, "--db", db]).exit_code == 0
    result = runner.invoke(app, ["rubric", "--year", "2024", "--pack", "tech_sme", "--db", db])
    assert result.exit_code == 0, result.stderr
    assert "符合 0 家，不符合 0 家，待补数据 2 家" in result.stdout
    found = json.loads(
        runner.invoke(app, ["rubric", "--year", "2024", "--pack", "tech_sme", "--json", "--db", db]).stdout
    )
    assert {r["verdict_text"] for r in found} == {"待补数据：请补填资产总额、科技人员"}

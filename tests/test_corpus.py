"""The hostile corpus (tests/corpus/cases.yaml) through the command line, as users meet it: each file gets the exit
status, the counts or the Chinese sentence its case expects, and a refused file leaves the database exactly as it
was (every table's rows and the kept files), as does the same file uploaded again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from assess.cli import app
from tests.corpus.doc import render
from tests.corpus.make import CASES_FILE, SEED_FILE, load_cases, make, seed

CASES = load_cases()
ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "reliability.md"


def _ingest(path: Path, db: Path) -> tuple[int, dict]:
    done = CliRunner().invoke(app, ["ingest", str(path), "--db", str(db), "--json"], prog_name="assess")
    assert "Traceback" not in done.stderr
    [result] = json.loads(done.stdout)
    return done.exit_code, result


def _state(db: Path) -> dict[str, object]:
    """What the database holds: the rows of every table, and the files kept beside it."""
    with duckdb.connect(str(db), read_only=True) as connection:
        tables = [name for (name,) in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        rows = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] for name in tables}
    kept = db.with_name(db.name + ".files")
    return {**rows, "files": sorted((p.name, p.stat().st_size) for p in kept.rglob("*"))}


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the seed file and a database holding its upload (firms 1-5), copied for each case."""
    folder = tmp_path_factory.mktemp("corpus")
    seed(folder / SEED_FILE)
    status, result = _ingest(folder / SEED_FILE, folder / "db" / "assess.duckdb")
    assert status == 0 and result["accepted"] == 5
    return folder


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_each_hostile_file_gets_what_its_case_expects(
    case: dict, seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(seeded / "db", tmp_path / "db")
    db = tmp_path / "db" / "assess.duckdb"
    files = tmp_path / "files"
    files.mkdir()
    monkeypatch.chdir(files)  # the file is named as a user in its folder names it: assess ingest 名单.xlsx
    if case["make"] == "copy_of_seed":
        case = {**case, "args": {"seed_folder": seeded}}
    path = make(case, files)
    before = _state(db)
    status, result = _ingest(Path(path.name), db)
    after = _state(db)
    expect = case["expect"]
    assert status == expect["exit"], result["error"]
    if "refusal" in expect:
        assert (result["error"], result["upload_id"], result["rows_read"]) == (expect["refusal"], None, 0)
        assert after == before
        return
    counts = expect["counts"]
    assert [result[k] for k in ("rows_read", "accepted", "rejected", "skipped")] == list(counts.values())
    assert sorted({p["code"] for p in result["problems"]}) == sorted(expect["codes"])
    assert result["duplicate_upload"] == expect.get("duplicate", False)
    if result["duplicate_upload"]:
        assert after == before
        return
    grew = {name: after[name] - before[name] for name in ("uploads", "filing_versions")}  # type: ignore[operator]
    assert grew == {"uploads": 1, "filing_versions": counts["accepted"]}


def test_the_corpus_covers_forty_cases_with_distinct_files() -> None:
    assert len(CASES) >= 40
    assert len({case["id"] for case in CASES}) == len({case["file"] for case in CASES}) == len(CASES)


def test_docs_reliability_lists_every_case_as_the_corpus_says() -> None:
    stale = "docs/reliability.md is stale: run .venv/bin/python -m tests.corpus.doc docs/reliability.md"
    assert DOC.read_text(encoding="utf-8") == render(), stale


def test_each_fault_the_document_describes_is_a_test_that_exists() -> None:
    for fault in yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["faults"]:
        file, name = fault["test"].split("::")
        assert f"def {name}(" in (ROOT / file).read_text(encoding="utf-8"), fault["test"]

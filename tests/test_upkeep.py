"""A killed process loses nothing and leaves nothing: an upload or a run killed at any point is either whole or absent,
and the files it was writing are gone once the store opens again; `assess doctor` says what it finds and `assess
backup` writes a copy that opens and checks clean."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from assess.ingest import Options
from assess.store import Store
from tests.conftest import HEADER, copy_store, firm_row, write_xlsx

runner = CliRunner()

# A child process that ingests (or runs) and kills itself with SIGKILL right after the step named by KILL_AFTER,
# as a power cut or `kill -9` would, before anything is committed.
_CHILD = """
import os, pathlib, shutil, signal, sys
from assess import api
from assess.ingest import Options

db, what, kill_after = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if kill_after == "staging copy":
    copy = shutil.copyfile
    shutil.copyfile = lambda *a, **k: (copy(*a, **k), die())
elif kill_after == "file kept":
    replace = pathlib.Path.replace
    def kept(self, target):
        moved = replace(self, target)
        if pathlib.Path(target).parent.name.endswith(".files"):
            die()
        return moved
    pathlib.Path.replace = kept
elif kill_after == "half the run saved":
    from assess.run.writer import StagedRun
    move = StagedRun._move
    def half(self, run_id, table):
        move(self, run_id, table)
        if table == "scores":  # the run's row, its flags, figures and rubrics are written, not yet committed
            die()
    StagedRun._move = half

with api.open_store(db) as store:
    if what == "ingest":
        api.ingest(store, [pathlib.Path(sys.argv[4])], Options())
    else:
        api.run_year(store, int(sys.argv[4]))
"""


def _killed(db: Path, what: str, kill_after: str, argument: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(db), what, kill_after, argument],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr


@pytest.mark.parametrize("kill_after", ["staging copy", "file kept"])
def test_an_upload_killed_before_its_commit_leaves_neither_rows_nor_files(tmp_path: Path, kill_after: str) -> None:
    db = tmp_path / "assess.duckdb"
    first = write_xlsx(tmp_path / "first.xlsx", {"表1": [HEADER, firm_row(1)]})
    second = write_xlsx(tmp_path / "second.xlsx", {"表1": [HEADER, firm_row(2)]})
    with api.open_store(db) as store:
        [kept] = api.ingest(store, [first], Options())
    _killed(db, "ingest", kill_after, str(second))
    with Store(db) as store:
        assert store.removed_orphans  # the killed process's copy was found and removed
        assert store.uploads()["file_name"].to_list() == ["first.xlsx"]
        assert all(check.ok for check in api.doctor(store)), api.doctor(store)
    assert sorted(p.name for p in db.with_name(db.name + ".files").iterdir()) == [f"{kept.sha256}.xlsx"]


@pytest.fixture
def small_store_copy(small_store: Path, tmp_path: Path) -> Path:
    return copy_store(small_store, tmp_path)


def test_a_run_killed_midway_leaves_no_part_of_itself(small_store_copy: Path) -> None:
    with Store(small_store_copy) as store:
        before = store.con.execute("SELECT count(*) FROM runs").fetchall()
    _killed(small_store_copy, "run", "half the run saved", "2024")
    with Store(small_store_copy) as store:
        assert store.con.execute("SELECT count(*) FROM runs").fetchall() == before
        assert all(check.ok for check in api.doctor(store)), api.doctor(store)


def test_doctor_names_a_kept_file_whose_content_changed_and_exits_1(small_store_copy: Path) -> None:
    with Store(small_store_copy) as store:
        [kept] = store.uploads()["upload_id"].to_list()
        stored = store.upload(kept)["stored_file"]
    (small_store_copy.with_name(small_store_copy.name + ".files") / stored).write_bytes(b"changed afterwards")
    said = runner.invoke(app, ["doctor", "--json", "--db", str(small_store_copy)])
    assert said.exit_code == 1
    failed = [c for c in json.loads(said.stdout)["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["上传文件及其 SHA-256"] and f"批次 {kept}" in failed[0]["detail"]


def test_a_backup_opens_checks_clean_and_holds_the_same_filings_runs_and_models(
    small_store_copy: Path, tmp_path: Path
) -> None:
    with Store(small_store_copy) as store:
        api.run_year(store, 2024)
    copy = tmp_path / "备份" / "assess-backup.duckdb"
    said = runner.invoke(app, ["backup", "--out", str(copy), "--db", str(small_store_copy)])
    assert said.exit_code == 0, said.stderr
    tables = ("filing_versions", "runs", "scores", "models", "uploads")
    with Store(small_store_copy) as original, Store(copy) as backed_up:
        for table in tables:
            query = f"SELECT * FROM {table} ORDER BY ALL"
            assert original.con.execute(query).fetchall() == backed_up.con.execute(query).fetchall(), table
        assert all(c.ok for c in api.doctor(backed_up)), api.doctor(backed_up)
        assert api.stats(backed_up, 2024).figures == api.stats(original, 2024).figures
    again = runner.invoke(app, ["backup", "--out", str(copy), "--db", str(small_store_copy)])
    assert again.exit_code == 1 and "已存在" in again.stderr

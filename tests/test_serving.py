"""While `assess serve` holds the database, every command on it, reading or writing, says that the server holds it and
what to do instead (the pages, /api/, or stop the server). The server says so with a marker beside the database; a
marker left by a server that was killed blames nobody."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assess.errors import StoreError
from assess.store import Store, serving
from tests.conftest import HEADER, firm_row, write_xlsx

ASSESS = Path(sys.executable).with_name("assess")
# Another process holding the database open for writing: as `assess serve` does (with its marker), or without one.
HOLDER = """
import sys, time
from pathlib import Path
import duckdb
from assess.store import serving
db = Path(sys.argv[1])
con = duckdb.connect(str(db))
if sys.argv[2] == "serve":
    serving.mark(db, "127.0.0.1", 8765)
print("ready", flush=True)
time.sleep(600)
"""


@contextmanager
def holding(db: Path, *, as_server: bool) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), "serve" if as_server else "hold"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()  # as a server killed outright: its marker stays behind
        holder.wait()


def assess(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ASSESS), *map(str, args)], capture_output=True, text=True, timeout=120)


def ended_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "assess.duckdb"
    Store(path).close()
    return path


def test_every_command_on_a_database_the_server_holds_says_to_use_the_pages_or_stop_the_server(
    tmp_path: Path, db: Path
) -> None:
    upload = write_xlsx(tmp_path / "济南2024.xlsx", {"表1": [HEADER, firm_row(1)]})
    with holding(db, as_server=True) as server:
        said = (
            f"数据库「assess.duckdb」正由网页服务使用（assess serve，http://127.0.0.1:8765，进程 {server.pid}）："
            "请在网页或 /api/ 中操作，或先停止服务后再用命令行。"
        )
        for command in (["uploads"], ["ingest", upload, "--year", "2024"], ["user", "list", "--json"]):
            finished = assess(*command, "--db", db)
            assert finished.returncode == 1, (command, finished.stderr)
            assert said in finished.stderr and finished.stdout == "", command
            assert "Traceback" not in finished.stderr
    assert serving.marker(db).exists() and serving.holder(db) is None  # killed: its marker says nothing now
    assert assess("uploads", "--db", db).returncode == 0


def test_a_marker_left_by_a_killed_server_blames_nobody_when_another_program_holds_the_database(db: Path) -> None:
    serving.marker(db).write_text(json.dumps({"pid": ended_pid(), "host": "127.0.0.1", "port": 8000}), encoding="utf-8")
    with holding(db, as_server=False), pytest.raises(StoreError) as refused:
        Store(db)
    assert "正被另一个程序使用" in str(refused.value) and "网页服务" not in str(refused.value)


def test_a_server_that_does_not_hold_the_lock_is_not_named_for_it(db: Path) -> None:
    """A live marker, but DuckDB names another process as the lock's holder: that one is to be waited for."""
    serving.mark(db, "127.0.0.1", 8000)
    with holding(db, as_server=False), pytest.raises(StoreError) as refused:
        Store(db)
    assert "正被另一个程序使用" in str(refused.value)


def test_the_marker_says_who_serves_the_database_while_that_process_lives(tmp_path: Path) -> None:
    db = tmp_path / "assess.duckdb"
    assert serving.holder(db) is None
    path = serving.mark(db, "::1", 8000)
    assert path == tmp_path / "assess.duckdb.serving"
    found = serving.holder(db)
    assert found is not None and (found["pid"], found["host"], found["port"]) == (os.getpid(), "::1", 8000)
    assert found["started_at"] and serving.address(found) == "http://[::1]:8000"
    serving.unmark(db)
    assert not path.exists() and serving.holder(db) is None


def test_a_process_removes_only_its_own_marker(tmp_path: Path) -> None:
    db = tmp_path / "assess.duckdb"
    running = {"pid": os.getppid(), "host": "127.0.0.1", "port": 8000, "started_at": "2026-12-01T09:00:00"}
    serving.marker(db).write_text(json.dumps(running), encoding="utf-8")
    serving.unmark(db)  # e.g. a second server that could not open the database
    assert serving.holder(db) == running


@pytest.mark.parametrize("content", ["", "{", "[]", '{"pid": "1234", "host": "x", "port": 1}', '{"pid": 0}'])
def test_a_marker_that_cannot_be_read_is_ignored(tmp_path: Path, content: str) -> None:
    db = tmp_path / "assess.duckdb"
    serving.marker(db).write_text(content, encoding="utf-8")
    assert serving.holder(db) is None

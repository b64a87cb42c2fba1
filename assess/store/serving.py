"""The marker `assess serve` keeps beside its database while it runs (`assess.duckdb.serving`: its process, host, port
and start time), so that a command refused the database can say that the web server holds it, and where. A marker
whose process has ended (a server killed before it could remove it) is ignored."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path


def marker(db: Path) -> Path:
    return db.with_name(db.name + ".serving")


def mark(db: Path, host: str, port: int) -> Path:
    """Say that this process serves `db` at host:port; the marker's path."""
    path = marker(db)
    started = dt.datetime.now().isoformat(timespec="seconds")
    path.write_text(
        json.dumps({"pid": os.getpid(), "host": host, "port": port, "started_at": started}), encoding="utf-8"
    )
    return path


def unmark(db: Path) -> None:
    """Remove the marker, if this process wrote it (a server that could not open the database leaves the running
    server's marker alone)."""
    found = _read(marker(db))
    if found is not None and found["pid"] == os.getpid():
        marker(db).unlink(missing_ok=True)


def holder(db: Path) -> dict | None:
    """The marker's content (pid, host, port, started_at) while its process lives; None without a live one."""
    found = _read(marker(db))
    return found if found is not None and _alive(found["pid"]) else None


def address(found: dict) -> str:
    """The server's address as a browser takes it (an IPv6 host in brackets)."""
    host = found["host"]
    return f"http://{f'[{host}]' if ':' in host else host}:{found['port']}"


def _read(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    valid = isinstance(found, dict) and isinstance(found.get("pid"), int) and found["pid"] > 0
    return found if valid and {"host", "port"} <= found.keys() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:  # it exists, under another user
        return True
    except (OSError, OverflowError):  # no such process (or no such number)
        return False
    return True

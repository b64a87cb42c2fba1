"""Keeping the store whole: files no row names (left by a process killed between writing a file and committing its
row) are removed when the store opens; `doctor` checks the schema, orphan files and rows and every kept file's
SHA-256; `backup` writes a consistent copy of the database with its folders.

Files this process is writing right now are registered in `IN_FLIGHT` while they have no row yet, so that another
store of the same process, opening meanwhile, leaves them alone (another process cannot open the database while this
one holds it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assess.errors import OutputError, describe_os_error

if TYPE_CHECKING:
    from assess.store import Store

IN_FLIGHT: set[Path] = set()  # files and folders this process writes that no committed row names yet
STAGING_PREFIX = ".staging-"
BACKUP_FOLDERS = (".files", ".models")


@contextmanager
def in_flight(*paths: Path) -> Iterator[None]:
    """While the block runs, a store opening in this process leaves `paths` alone."""
    IN_FLIGHT.update(paths)
    try:
        yield
    finally:
        IN_FLIGHT.difference_update(paths)


def staging_name() -> str:
    """A staging folder's name, carrying this process's id."""
    return f"{STAGING_PREFIX}{os.getpid()}-{os.urandom(8).hex()}"


def _kept_files(store: Store) -> set[str]:
    return {str(r[0]) for r in store.con.execute("SELECT DISTINCT stored_file FROM uploads").fetchall()}


def _model_files(store: Store) -> set[str]:
    named = {str(r[0]) for r in store.con.execute("SELECT file FROM models").fetchall()}
    return named | {str(Path(name).with_suffix(".md")) for name in named}


def orphans(store: Store) -> list[Path]:
    """Files and folders beside the database that no row names and no work of this process is writing: staging
    folders of killed uploads, kept files whose upload never committed, model files never registered."""
    found: list[Path] = []
    kept, models = _kept_files(store), _model_files(store)
    if store.files_dir.is_dir():
        for path in store.files_dir.iterdir():
            if path in IN_FLIGHT:
                continue
            if path.name.startswith(STAGING_PREFIX) or path.name not in kept:
                found.append(path)
    if store.models_dir.is_dir():
        found += [p for p in store.models_dir.iterdir() if p not in IN_FLIGHT and p.name not in models]
    return sorted(found)


def remove_orphans(store: Store) -> list[str]:
    """Remove the orphans; the names of those removed."""
    removed = []
    for path in orphans(store):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


@dataclass(frozen=True)
class Check:
    name: str  # what was checked, in Chinese
    ok: bool
    detail: str  # what was found, in Chinese


# Rows that belong to another row: (table, column, the table and column it must name).
_OWNERS = (
    ("filing_versions", "upload_id", "uploads", "upload_id", "填报版本"),
    ("supplement_versions", "upload_id", "uploads", "upload_id", "分年度补充值"),
    ("problems", "upload_id", "uploads", "upload_id", "问题记录"),
    ("rule_hits", "run_id", "runs", "run_id", "规则结果"),
    ("rule_counts", "run_id", "runs", "run_id", "规则计数"),
    ("scores", "run_id", "runs", "run_id", "评分结果"),
    ("tier_results", "run_id", "runs", "run_id", "清单结果"),
    ("tier_funnels", "run_id", "runs", "run_id", "清单漏斗"),
    ("run_figures", "run_id", "runs", "run_id", "目标数字"),
    ("rubric_results", "run_id", "runs", "run_id", "评价办法结果"),
)


def doctor(store: Store) -> list[Check]:
    """Every check, in order: schema, orphan files, orphan rows, kept files and their SHA-256, model files."""
    from assess.store import schema

    checks = [
        Check(
            "数据库结构版本",
            store.schema_version == schema.SCHEMA_VERSION,
            f"第 {store.schema_version} 版（本程序为第 {schema.SCHEMA_VERSION} 版）",
        )
    ]
    stray = orphans(store)
    checks.append(
        Check(
            "无主文件", not stray, "没有" if not stray else f"{len(stray)} 个：{'、'.join(p.name for p in stray[:5])}"
        )
    )
    for table, column, owner, key, title in _OWNERS:
        count = store.con.execute(
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT {key} FROM {owner})"
        ).fetchall()[0][0]
        checks.append(Check(f"无主的{title}", count == 0, "没有" if count == 0 else f"{count} 行"))
    checks.append(_kept_file_check(store))
    checks.append(_model_file_check(store))
    return checks


def _kept_file_check(store: Store) -> Check:
    from assess.store import file_sha256  # the store's own hash of a kept file (this module is imported by it)

    rows = store.con.execute("SELECT upload_id, stored_file, sha256 FROM uploads ORDER BY upload_id").fetchall()
    missing = [str(u) for u, name, _ in rows if not (store.files_dir / name).is_file()]
    changed = [
        str(u)
        for u, name, sha in rows
        if (store.files_dir / name).is_file() and file_sha256(store.files_dir / name) != sha
    ]
    bad = [f"批次 {'、'.join(missing)} 的文件不见了"] if missing else []
    bad += [f"批次 {'、'.join(changed)} 的文件内容与上传时不同（SHA-256 不符）"] if changed else []
    return Check("上传文件及其 SHA-256", not bad, "；".join(bad) or f"{len(rows)} 个批次的文件都在，内容与上传时相同")


def _model_file_check(store: Store) -> Check:
    from assess.store import file_sha256

    rows = store.con.execute("SELECT model_id, file, sha256 FROM models ORDER BY model_id").fetchall()
    bad = [
        str(model_id)
        for model_id, name, sha in rows
        if not (store.models_dir / name).is_file() or file_sha256(store.models_dir / name) != sha
    ]
    said = f"第 {'、'.join(bad)} 号模型的文件不见了或被改动" if bad else f"{len(rows)} 个模型文件都在，内容与训练时相同"
    return Check("评分模型文件及其 SHA-256", not bad, said)


def backup(store: Store, out: Path) -> Path:
    """A consistent copy of the database at `out`, with its kept files and models beside it (`out`.files,
    `out`.models), written under temporary names and renamed into place."""
    if out.resolve() == store.path.resolve():
        raise OutputError("备份不能写到数据库文件本身：请换一个文件名。")
    if out.exists():
        raise OutputError(f"「{out}」已存在：备份不覆盖已有文件，请换一个文件名或先移走它。")
    temporary = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        store.con.execute("CHECKPOINT")  # everything committed is in the file; no other process can write it
        shutil.copyfile(store.path, temporary)
        for suffix in BACKUP_FOLDERS:
            source = store.path.with_name(store.path.name + suffix)
            if source.is_dir():
                shutil.copytree(source, temporary.with_name(temporary.name + suffix), ignore=_no_staging)
        for suffix in BACKUP_FOLDERS:
            part = temporary.with_name(temporary.name + suffix)
            if part.exists():
                part.replace(out.with_name(out.name + suffix))
        temporary.replace(out)
    except OSError as exc:
        for path in (temporary, *(temporary.with_name(temporary.name + s) for s in BACKUP_FOLDERS)):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise OutputError(f"备份未能写出到「{out}」：{describe_os_error(exc)}。") from exc
    return out


def _no_staging(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(STAGING_PREFIX) or n.endswith(".partial")]

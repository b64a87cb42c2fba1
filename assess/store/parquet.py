"""The filings in force, and the supplements the features read, written as Parquet for another engine (Spark): one
folder per table, partitioned as Hive and Spark do (filings by year and city, supplements by year), and a manifest
naming the upload batches they come from, the rows and SHA-256 of every file, the columns and the schema version,
and the scoring model a run applies (its file beside the tables, what the manifest says of it given by the caller).

The manifest is written last, so a folder that has one is complete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assess.errors import InputError, OutputError, StoreError, describe_os_error
from assess.store import Store, file_sha256
from assess.store.schema import SCHEMA_VERSION, source_columns

MANIFEST = "manifest.json"
PARTITIONS: dict[str, tuple[str, ...]] = {"filings": ("year", "city"), "supplements": ("year",)}


@dataclass(frozen=True)
class ParquetExport:
    out: Path
    manifest: dict


@dataclass(frozen=True)
class Model:
    """The scoring model an export carries: what its manifest says of it and, unless the index stands in for it,
    its file (the path `entry` names inside the export, and the bytes)."""

    entry: dict | None  # None: labels enough to train on, but no model trained on them yet
    file: tuple[str, bytes] | None


def export_parquet(store: Store, out: Path, years: Sequence[int], history: int, model: Model) -> ParquetExport:
    """The filings and supplements of the assessed `years` and of the `history` years before the first of them
    (which the features of those years read), and the model, into the empty or new folder `out`."""
    first, last = min(years) - history, max(years)
    found = store.con.execute("SELECT count(*) FROM filings WHERE year BETWEEN ? AND ?", [min(years), last]).fetchone()
    if not found or not found[0]:
        raise StoreError(f"库中没有 {_span(min(years), last)} 年度的有效填报，没有可导出的内容。")
    empty_folder(out)
    rows: dict[Path, int] = {}
    for table, partitions in PARTITIONS.items():
        for key in store.con.execute(
            f"SELECT DISTINCT {', '.join(partitions)} FROM {table} WHERE year BETWEEN ? AND ? ORDER BY ALL",
            [first, last],
        ).fetchall():
            path, written = _write_partition(store, out, table, dict(zip(partitions, key, strict=True)))
            rows[path] = written
    if model.file is not None:
        _write(out / model.file[0], model.file[1], out)
    manifest = {**_manifest(store, out, (min(years), last), first, rows), "model": model.entry}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return ParquetExport(out=out, manifest=manifest)


def _write_partition(store: Store, out: Path, table: str, key: dict[str, int | str]) -> tuple[Path, int]:
    """One partition's rows, without the partition columns (its folder names them), in one file. The folders are
    named here rather than by DuckDB's PARTITION_BY, which percent-encodes a city's name byte by byte, which Spark
    then reads back as one character per byte."""
    folder = out.joinpath(table, *(f"{name}={value}" for name, value in key.items()))
    folder.mkdir(parents=True)
    where = " AND ".join(f"{name} = {_literal(value)}" for name, value in key.items())
    path = folder / "part-0.parquet"
    target = str(path).replace("'", "''")
    try:
        written = store.con.execute(
            f"COPY (SELECT * EXCLUDE ({', '.join(key)}) FROM {table} WHERE {where}) TO '{target}' (FORMAT parquet)"
        ).fetchone()
    except OSError as exc:
        raise OutputError(f"无法写入文件夹「{out}」：{describe_os_error(exc)}。") from exc
    return path, int(written[0]) if written else 0


def _write(path: Path, data: bytes, out: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"无法写入文件夹「{out}」：{describe_os_error(exc)}。") from exc


def _literal(value: int | str) -> str:
    return f"{value:d}" if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def _manifest(store: Store, out: Path, assessed: tuple[int, int], first: int, rows: dict[Path, int]) -> dict:
    uploads = store.con.execute(
        """
        SELECT DISTINCT upload_id FROM (
            SELECT upload_id FROM filings WHERE year BETWEEN $first AND $last
            UNION ALL SELECT upload_id FROM supplements WHERE year BETWEEN $first AND $last
        ) ORDER BY upload_id
        """,
        {"first": first, "last": assessed[1]},
    ).fetchall()
    return {
        "schema_version": SCHEMA_VERSION,
        "years": list(assessed),  # the years the export is for
        "years_written": [first, assessed[1]],  # with the earlier years their features read
        "upload_ids": [row[0] for row in uploads],
        "tables": {
            table: {"partitioned_by": list(partitions), "columns": source_columns(store.contract)[table]}
            for table, partitions in PARTITIONS.items()
        },
        "files": [
            {"path": path.relative_to(out).as_posix(), "rows": count, "sha256": file_sha256(path)}
            for path, count in rows.items()
        ],
    }


def checked_manifest(folder: Path, made_by: str, kind: str, remedy: str, required: str) -> dict:
    """The manifest of a folder of Parquet files (written last, by an export or a run on another engine), every file
    it lists checked against its SHA-256. `made_by` names the command that writes such folders, `kind` what their
    files are, `remedy` what to do where one changed: for the messages; `required` is a key only the manifests of
    such folders have (a folder of the other kind is refused as not one)."""
    path = folder / MANIFEST
    other = InputError(f"「{folder}」中没有可读的 {made_by} 清单（{MANIFEST}）：请指定 {made_by} 写出的文件夹。")
    if not path.is_file():
        raise other
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise other from error
    if not isinstance(manifest, dict) or not {"files", required} <= manifest.keys():
        raise other
    for entry in manifest["files"]:
        found = folder / entry["path"]
        if not found.is_file() or file_sha256(found) != entry["sha256"]:
            raise InputError(f"{kind}「{entry['path']}」缺失或与清单中的 SHA-256 不符：请{remedy}。")
    return manifest


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}—{last}"


def refuse_used(out: Path) -> None:
    """Refuse `out` where it holds anything: files written there never mix with earlier ones."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"「{out}」已存在且不是空文件夹：请指定一个新的或空的文件夹，以免与旧的文件混在一起。")


def empty_folder(out: Path) -> None:
    """`out` made, or refused where it holds anything (`refuse_used`)."""
    refuse_used(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建文件夹「{out}」：{describe_os_error(exc)}。") from exc

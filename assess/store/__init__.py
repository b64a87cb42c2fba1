"""The DuckDB store: uploads, filings with their history, wide-year supplements and problems.

Every filing version stays; `is_current` marks the one in force for its (credit code, year): the latest upload that
has not been retracted. An upload is written in one transaction, and the file itself is kept beside the database,
named by its SHA-256, so any figure can be traced back to a file, sheet and row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from assess.errors import StoreError
from assess.resources import SCHEMAS_DIR, read_yaml
from assess.store import schema, serving, upkeep
from assess.store.writing import UploadWriter

if TYPE_CHECKING:
    from assess.contract import Contract

DEFAULT_DB = "assess.duckdb"


def _unopenable(path: Path, exc: Exception) -> str:
    """Why the database cannot be opened, from DuckDB's message with the path taken out (a path may hold any word)."""
    said = str(exc).replace(str(path.resolve()), "").replace(str(path), "").lower()
    if "could not set lock" in said:
        served = serving.holder(path)
        locker = re.search(r"\(pid (\d+)\)", said)  # DuckDB names the process holding the lock
        if served is not None and (locker is None or int(locker.group(1)) == served["pid"]):
            return (
                f"数据库「{path.name}」正由网页服务使用（assess serve，{serving.address(served)}，"
                f"进程 {served['pid']}）：请在网页或 /api/ 中操作，或先停止服务后再用命令行。"
            )
        return f"数据库「{path.name}」正被另一个程序使用（例如正在进行的导入或评估）：请等它结束后再试。"
    if "not a valid duckdb database" in said:
        return f"文件「{path.name}」不是本系统的数据库，或已损坏：请检查 --db 或环境变量 ASSESS_DB 指向的文件。"
    if "version" in said:
        return f"数据库「{path.name}」由更新版本的程序写入，本版本无法读取：请升级 assess。"
    return f"数据库「{path.name}」无法打开：请检查文件所在的文件夹和读写权限。"


@cache
def _packaged_filing() -> dict:
    """The packaged filing contract as its file reads, without building the contract (pydantic)."""
    return read_yaml(SCHEMAS_DIR / "filing.yaml")


def resolve_db(path: Path | None) -> Path:
    """--db PATH, else env ASSESS_DB, else ./assess.duckdb."""
    return path or Path(os.environ.get("ASSESS_DB") or DEFAULT_DB)


@dataclass(frozen=True)
class StagedFile:
    """An upload's file copied beside the database before anything reads it: its SHA-256, its validation and the copy
    kept are of the same bytes, even if the original changes meanwhile."""

    path: Path  # the copy, under the file's own name (messages name it): read this one
    sha256: str
    target: Path  # where it is kept, named by its SHA-256
    keep: bool  # False when the same bytes are kept already, for an upload read with other options


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class UploadRecord:
    file_name: str
    sha256: str
    size_bytes: int
    options: str  # canonical JSON of the options that change how the bytes are read
    rows_read: int
    accepted: int
    rejected: int
    skipped: int
    warnings: int
    uploaded_by: str | None = None  # the web app's user; none at the command line


class Store:
    def __init__(self, path: Path, contract: Contract | None = None) -> None:
        """The store at `path`; `contract` is the filing contract, by default the packaged one, loaded when first
        needed (reading uploads from a current store needs none, and so starts without pydantic)."""
        self.path = path
        self._contract = contract
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(path))
        except (OSError, duckdb.IOException) as exc:
            raise StoreError(_unopenable(path, exc)) from exc
        # Beyond it DuckDB spills to disk: an upload's checks across rows join every row of the file, a run ranks
        # and sorts every firm of the year.
        self.con.execute(f"SET memory_limit = '{self._memory_mb():d}MiB'")
        self._open_schema()
        self.removed_orphans = upkeep.remove_orphans(self)  # what a killed process left (see `upkeep`)

    @classmethod
    def sharing(cls, other: Store) -> Store:
        """The same database on a connection of its own, for another thread of the same process (the web app's
        requests and its writer): reads see what the other connections committed; closing it leaves them open."""
        view = cls.__new__(cls)
        view.path, view._contract, view.con = other.path, other._contract, other.con.cursor()
        return view

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def files_dir(self) -> Path:
        """Uploaded files, named by SHA-256, beside the database."""
        return self.path.with_name(self.path.name + ".files")

    @property
    def models_dir(self) -> Path:
        """The trained models and their cards, beside the database."""
        return self.path.with_name(self.path.name + ".models")

    @property
    def contract(self) -> Contract:
        if self._contract is None:
            from assess.contract import load_contract

            self._contract = load_contract()
        return self._contract

    def _contract_fields(self) -> list[str]:
        """The contract's field names, read from the packaged file without building the contract (opening a
        current store stays free of pydantic), or from the contract given."""
        if self._contract is not None:
            return [spec.name for spec in self._contract.fields]
        return [spec["name"] for spec in _packaged_filing()["fields"]]

    def _memory_mb(self) -> int:
        """DuckDB's memory limit for the store (`memory.store_mb` of the contract), read as `_contract_fields` reads
        the fields."""
        if self._contract is not None:
            return self._contract.memory.store_mb
        return int(_packaged_filing()["memory"]["store_mb"])

    @property
    def field_names(self) -> list[str]:
        return [spec.name for spec in self.contract.fields]

    def _open_schema(self) -> None:
        """Create the tables of a new database, or migrate one written by an earlier version, in one transaction."""
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        version = int(found[0][0]) if found else schema.SCHEMA_VERSION
        if version > schema.SCHEMA_VERSION:
            self.con.close()
            raise StoreError(
                f"数据库「{self.path.name}」由更新版本的程序写入（结构版本 {version}），本版本无法读取：请升级 assess。"
            )
        if found and version == schema.SCHEMA_VERSION and not schema.new_fields(con, self._contract_fields()):
            return  # every table and view is there: they were created with this version and this contract
        con.begin()
        try:
            for step in range(version, schema.SCHEMA_VERSION):
                schema.MIGRATIONS[step](con)
            schema.create(con, self.contract)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(schema.SCHEMA_VERSION)])
            con.commit()
        except BaseException:
            con.rollback()
            raise

    @property
    def schema_version(self) -> int:
        return int(self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])

    # --- uploads ---------------------------------------------------------------------------------------------------

    def find_upload(self, sha256: str, options: str) -> dict | None:
        """The live upload of the same bytes read with the same options, if any."""
        found = self._frame(
            "SELECT * FROM uploads WHERE sha256 = ? AND options = ? AND retracted_at IS NULL", [sha256, options]
        )
        return found.row(0, named=True) if found.height else None

    @contextmanager
    def staged_file(self, source: Path) -> Iterator[StagedFile]:
        """Copy an upload's file into a staging folder beside the database, before it is hashed or read (once a large
        validation has filled the process's memory, the same copy takes several times longer). Whatever
        `save_upload` does not keep is removed, whether the copy, the validation or the saving fails."""
        staging = self.files_dir / upkeep.staging_name()
        writing = {staging}  # registered as in flight until the upload's row commits (see `upkeep`)
        try:
            upkeep.IN_FLIGHT.update(writing)
            staging.mkdir(parents=True)
            copy = staging / source.name
            shutil.copyfile(source, copy)
            sha256 = file_sha256(copy)
            target = self.files_dir / f"{sha256}{source.suffix.lower()}"
            writing.add(target)  # kept by `save_upload` before its row commits
            upkeep.IN_FLIGHT.add(target)
            yield StagedFile(path=copy, sha256=sha256, target=target, keep=not target.exists())
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            upkeep.IN_FLIGHT.difference_update(writing)

    @contextmanager
    def writing_upload(self, staged: StagedFile) -> Iterator[UploadWriter]:
        """One transaction for one upload, written as it is validated (`writing.UploadWriter`): all of it lands,
        its kept file included, or none of it does, whatever fails and wherever. Every row the upload writes
        carries its order (a filing's `seq`, a problem's), so DuckDB may write them in any order, on every core."""
        self.con.execute("SET preserve_insertion_order = false")
        try:
            self.con.begin()
            writer = None
            try:
                writer = UploadWriter(self, staged)
                yield writer
                self.con.commit()
            except BaseException:
                self.con.rollback()
                if writer is not None and writer.kept:
                    staged.target.unlink(missing_ok=True)
                raise
        finally:  # outside the transaction, where a statement always runs: the other queries' results keep order
            self.con.execute("RESET preserve_insertion_order")

    def _insert_problems(self, upload_id: int, problems: pl.DataFrame) -> None:
        if problems.is_empty():
            return
        frame = problems.with_row_index("seq").select(
            pl.lit(upload_id, dtype=pl.Int32).alias("upload_id"),
            "seq",
            "sheet",
            pl.col("row").alias("row_number"),
            pl.col("column").alias("column_header"),
            "code",
            "level",
            "value",
            "message",
            "hint",
        )
        self.con.register("incoming_problems", frame.to_arrow())
        try:
            self.con.execute("INSERT INTO problems SELECT * FROM incoming_problems")
        finally:
            self.con.unregister("incoming_problems")

    def retract(self, upload_id: int) -> None:
        """Withdraw an upload: its versions stop being current and those they superseded return. Nothing is deleted."""
        upload = self.upload(upload_id)
        if upload["retracted_at"] is not None:
            raise StoreError(f"上传批次 {upload_id} 已于 {upload['retracted_at']:%Y-%m-%d %H:%M} 撤回。")
        self.con.begin()
        try:
            self.con.execute("UPDATE uploads SET retracted_at = ? WHERE upload_id = ?", [dt.datetime.now(), upload_id])
            self._restore("filing_versions", upload_id, ["credit_code", "year"])
            self._restore("supplement_versions", upload_id, ["credit_code", "year", "field"])
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _restore(self, table: str, upload_id: int, key: list[str]) -> None:
        keys = ", ".join(key)
        self.con.execute(f"UPDATE {table} SET is_current = false WHERE upload_id = ?", [upload_id])
        self.con.execute(
            f"""
            UPDATE {table} AS v SET is_current = true
            FROM (
                SELECT v.upload_id, v.seq
                FROM {table} AS v
                JOIN uploads AS u USING (upload_id)
                JOIN (SELECT DISTINCT {keys} FROM {table} WHERE upload_id = $id) AS affected USING ({keys})
                WHERE u.retracted_at IS NULL
                QUALIFY row_number() OVER (PARTITION BY {", ".join(f"v.{k}" for k in key)}
                                           ORDER BY v.upload_id DESC, v.seq) = 1
            ) AS pick
            WHERE v.upload_id = pick.upload_id AND v.seq = pick.seq
            """,
            {"id": upload_id},
        )

    # --- reading ---------------------------------------------------------------------------------------------------

    def _frame(self, sql: str, params: list | dict | None = None) -> pl.DataFrame:
        # polars reads the relation itself: `.pl()` would import pyarrow, a tenth of a second at every start-up.
        return pl.DataFrame(self.con.sql(sql, params=params))

    def upload(self, upload_id: int) -> dict:
        found = self._frame("SELECT * FROM uploads WHERE upload_id = ?", [upload_id])
        if not found.height:
            raise StoreError(f"没有编号为 {upload_id} 的上传批次：请用 assess uploads 查看已有的批次。")
        return found.row(0, named=True)

    def uploads(self, city: str | None = None) -> pl.DataFrame:
        """Every upload, or a city's own (those made with its --city check)."""
        return self._frame(
            """
            SELECT * EXCLUDE (options, stored_file) FROM uploads
            WHERE $city IS NULL OR json_extract_string(options, '$.city') = $city ORDER BY upload_id
            """,
            {"city": city},
        )

    def upload_city(self, upload_id: int) -> str | None:
        """The city an upload was checked as (its --city), None for a province-wide upload."""
        record = self.upload(upload_id)
        return json.loads(record["options"]).get("city")

    def problems(self, upload_id: int, *, placed: bool = False) -> pl.DataFrame:
        """An upload's problems in the order found; `placed` adds the city and credit code of the filing the
        problem's row gave (none for a row that was not accepted, or a problem of a whole sheet or column)."""
        self.upload(upload_id)
        place = (
            """
            LEFT JOIN (SELECT DISTINCT upload_id, sheet, row_number, city, credit_code FROM filing_versions
                       WHERE upload_id = $id) AS f
              ON f.upload_id = p.upload_id AND f.sheet IS NOT DISTINCT FROM p.sheet AND f.row_number = p.row_number
            """
            if placed
            else ""
        )
        return self._frame(
            f"""
            SELECT u.file_name AS file, p.sheet, p.row_number AS row, p.column_header AS column, p.code, p.level,
                   p.value, p.message, p.hint{", f.city, f.credit_code" if placed else ""}
            FROM problems AS p JOIN uploads AS u ON u.upload_id = p.upload_id {place}
            WHERE p.upload_id = $id ORDER BY p.seq
            """,
            {"id": upload_id},
        )

    def firm_filings(self, credit_code: str) -> pl.DataFrame:
        """A firm's filings in force, every year, with the upload each came from."""
        return self._frame(
            f"""
            SELECT upload_id, {", ".join(self.field_names)} FROM filings WHERE credit_code = $code ORDER BY year
            """,
            {"code": credit_code},
        )

    def filings_by_year(self) -> pl.DataFrame:
        """Per year: filings in force and the cities they come from."""
        return self._frame(
            "SELECT year, count(*) AS filings, count(DISTINCT city) AS cities FROM filings GROUP BY year ORDER BY year"
        )

    def filings(self, year: int | None = None, city: str | None = None) -> pl.DataFrame:
        return self._frame(
            f"""
            SELECT {", ".join(self.field_names)} FROM filings
            WHERE ($year IS NULL OR year = $year) AND ($city IS NULL OR city = $city)
            ORDER BY year, city, credit_code
            """,
            {"year": year, "city": city},
        )


def options_key(year: int | None, unit: str | None, accept_bad_check: frozenset[str], city: str | None = None) -> str:
    """The options that change how the same bytes are read, canonically, so a repeat upload can be recognised (the
    city only when given, so that the keys of uploads made before it existed still match)."""
    key: dict[str, object] = {"accept_bad_check": sorted(accept_bad_check), "unit": unit, "year": year}
    return json.dumps(key | ({"city": city} if city else {}), ensure_ascii=False, sort_keys=True)

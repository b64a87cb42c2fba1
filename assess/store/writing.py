"""One upload written as its chunks are validated, inside one transaction (`Store.writing_upload`).

The filings of a file's full sheets go into `filing_versions` as they are validated, numbered in the order read, in
one INSERT fed chunk by chunk; its wide-year values wait in a staging table. The checks across rows (a firm-year twice
in the file, revenue jumps, wide-year values against full filings) are asked of what is written, in SQL, so the file
is never held whole. `finish` then takes out the rows the checks rejected, writes the wide-year values kept, retires
the versions the new ones replace and writes the problems and the upload's row. Until the transaction commits nothing
of it is seen.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Generator, Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, NamedTuple

import duckdb
import polars as pl
import pyarrow as pa

from assess.store.ahead import ahead

if TYPE_CHECKING:
    from assess.store import StagedFile, Store, UploadRecord

_staging_names = itertools.count()
_SUPPLEMENT_ORDER = "sheet_index, position, row_number"  # the order the file lists its wide-year values in


class Saved(NamedTuple):
    upload_id: int
    replaced: int  # filings in force before that this upload's filings replaced (same credit code and year)


class UploadWriter:
    def __init__(self, store: Store, staged: StagedFile) -> None:
        self.store, self.con, self.staged = store, store.con, staged
        self.upload_id = int(self.con.execute("SELECT nextval('upload_ids')").fetchall()[0][0])
        self.filings = 0  # written so far: the next filing's number (seq) within the upload
        self.kept = False  # the file has been moved to where it is kept
        self.staging = f"upload_supplements_{next(_staging_names)}"
        self.con.execute(
            f"""
            CREATE TEMP TABLE {self.staging} (
                sheet_index INTEGER, position INTEGER, history BOOLEAN, sheet VARCHAR, row_number BIGINT,
                column_header VARCHAR, credit_code VARCHAR, year INTEGER, field VARCHAR, value DECIMAL(38,6)
            )
            """
        )

    # --- as chunks are validated -----------------------------------------------------------------------------------

    def write_filings(self, chunks: Iterator[pl.DataFrame], schema: pl.Schema) -> None:
        """The upload's filings (`schema`: sheet, row, every field, extra), chunk by chunk as they are validated, every
        row validated (those to be rejected too: the checks across rows see them), in one INSERT that DuckDB feeds by
        pulling the next chunk when it is ready, so that the file is written as it is read. One statement: the rows of
        a transaction's many INSERTs would all stay in memory until it commits. The next chunk is validated while
        DuckDB writes this one (`ahead`). An exception a chunk raises comes out as itself."""
        failed: list[BaseException] = []

        def numbered(rows: pl.DataFrame, start: int) -> pa.Table:
            return (
                rows.cast(schema)
                .rename({"row": "row_number"})
                .with_columns(
                    seq=pl.int_range(start, start + rows.height, dtype=pl.Int32),
                    upload_id=pl.lit(self.upload_id, dtype=pl.Int32),
                    is_current=pl.lit(True),
                )
                .to_arrow(compat_level=pl.CompatLevel.newest())  # string views pass as they are, without a copy
            )

        def batches() -> Generator[pa.RecordBatch, None, None]:
            try:
                for rows in ahead(chunks):
                    yield from numbered(rows, self.filings).to_batches()
                    self.filings += rows.height
            except BaseException as exc:
                failed.append(exc)
                raise

        empty = numbered(pl.DataFrame(schema=schema), 0).schema
        feed = batches()
        self.con.register("incoming", pa.RecordBatchReader.from_batches(empty, feed))
        columns = ", ".join(c[0] for c in self.con.execute("DESCRIBE filing_versions").fetchall())
        try:
            self.con.execute(f"INSERT INTO filing_versions ({columns}) SELECT {columns} FROM incoming")
        except duckdb.Error:
            if failed:
                raise failed[0] from None
            raise
        finally:
            with suppress(duckdb.TransactionException):  # a failed statement leaves the registration to the rollback
                self.con.unregister("incoming")
            feed.close()  # DuckDB has stopped pulling: a write that failed midway stops the validation ahead of it

    def add_supplements(self, rows: pl.DataFrame, sheet_index: int, history: bool) -> None:
        """A chunk's wide-year values (`validate.SUPPLEMENT_SCHEMA`), of a history-only sheet or not."""
        if rows.is_empty():
            return
        incoming = rows.rename({"row": "row_number", "column": "column_header"}).with_columns(
            sheet_index=pl.lit(sheet_index, dtype=pl.Int32), history=pl.lit(history)
        )
        self._from_frame("incoming", incoming, f"INSERT INTO {self.staging} BY NAME SELECT * FROM incoming")

    # --- the checks across rows ------------------------------------------------------------------------------------

    def repeated_filings(self) -> pl.DataFrame:
        """The filings whose credit code and year another filing of the upload repeats, in the order read."""
        return self._frame(
            """
            SELECT sheet, row_number AS row, credit_code, year FROM filing_versions
            WHERE upload_id = $id AND credit_code IS NOT NULL AND year IS NOT NULL
            QUALIFY count(*) OVER (PARTITION BY credit_code, year) > 1
            ORDER BY seq
            """
        )

    def repeated_history(self) -> pl.DataFrame:
        """The wide-year values of history-only sheets whose firm, year and field another one repeats."""
        return self._frame(
            f"""
            SELECT sheet, row_number AS row, credit_code, year, field FROM {self.staging}
            WHERE history AND credit_code IS NOT NULL
            QUALIFY count(*) OVER (PARTITION BY credit_code, year, field) > 1
            ORDER BY {_SUPPLEMENT_ORDER}
            """
        )

    def jumps(self, ratio: float, repeated: bool = True) -> pl.DataFrame:
        """Filings whose revenue is above `ratio` times, or below its inverse, the firm's previous year: `previous`
        is that year's full filing in this upload (its first), else the one in force in the store, else a wide-year
        value of this upload, else one in force; `quotable` when the figure compared with is this upload's own.
        `repeated`: whether a firm-year may be filed twice in the upload (`repeated_filings`); without, its filing
        of a year is its first and the search for the first is spared."""
        own = (
            "SELECT credit_code, year + 1 AS year, arg_min(revenue, seq) AS own FROM filed GROUP BY ALL"
            if repeated
            else "SELECT credit_code, year + 1 AS year, revenue AS own FROM filed"
        )
        return self._frame(
            f"""
            WITH filed AS (
                SELECT seq, sheet, row_number AS row, credit_code, year, revenue::DOUBLE AS revenue
                FROM filing_versions
                WHERE upload_id = $id AND credit_code IS NOT NULL AND year IS NOT NULL AND revenue IS NOT NULL
            ),
            own AS ({own}),
            own_wide AS (
                SELECT credit_code, year + 1 AS year,
                       arg_min(value::DOUBLE, [{_SUPPLEMENT_ORDER}]) AS own_wide
                FROM {self.staging} WHERE field = 'revenue' GROUP BY ALL
            ),
            joined AS (
                SELECT * FROM filed LEFT JOIN own USING (credit_code, year) LEFT JOIN own_wide USING (credit_code, year)
            ),
            wanted AS (SELECT DISTINCT credit_code, year - 1 AS year FROM joined WHERE own IS NULL),
            stored AS (
                SELECT w.credit_code, w.year + 1 AS year, f.revenue::DOUBLE AS in_store,
                       s.value::DOUBLE AS supplement
                FROM wanted AS w
                LEFT JOIN filing_versions AS f
                  ON f.is_current AND f.upload_id <> $id AND f.credit_code = w.credit_code AND f.year = w.year
                LEFT JOIN supplements AS s
                  ON s.credit_code = w.credit_code AND s.year = w.year AND s.field = 'revenue'
                WHERE coalesce(f.revenue, s.value) IS NOT NULL
            ),
            compared AS (
                SELECT *, coalesce(own, in_store, own_wide, supplement) AS previous,
                       own IS NOT NULL OR (in_store IS NULL AND own_wide IS NOT NULL) AS quotable
                FROM joined LEFT JOIN stored USING (credit_code, year)
            )
            SELECT sheet, row, year, revenue, previous, quotable FROM compared
            WHERE previous > 0 AND (revenue > previous * $ratio OR revenue < previous / $ratio)
            ORDER BY seq
            """,
            ratio=ratio,
        )

    def wide_fields(self) -> list[str]:
        """The fields the upload has wide-year values of, in the order the file first lists them."""
        found = self.con.execute(
            f"SELECT field FROM {self.staging} GROUP BY field ORDER BY min([sheet_index, position])"
        ).fetchall()
        return [name for (name,) in found]

    def wide_against_filed(self, field: str) -> pl.DataFrame:
        """The wide-year values of `field` that differ from the full filing of their firm and year, beside it:
        `filed` in this upload (its first), else `in_store`, the one in force. `field` is a contract field's name."""
        return self._frame(
            f"""
            WITH filed AS (
                SELECT credit_code, year, arg_min({field}::DOUBLE, seq) AS filed FROM filing_versions
                WHERE upload_id = $id AND {field} IS NOT NULL GROUP BY ALL
            ),
            values AS (SELECT * FROM {self.staging} WHERE field = $field)
            SELECT v.sheet, v.row_number AS row, v.column_header AS column, v.year, v.value, u.filed,
                   f.{field}::DOUBLE AS in_store
            FROM values AS v
            LEFT JOIN filed AS u ON u.credit_code = v.credit_code AND u.year = v.year
            LEFT JOIN filing_versions AS f
              ON f.is_current AND f.upload_id <> $id AND f.credit_code = v.credit_code AND f.year = v.year
            WHERE v.value::DOUBLE <> coalesce(u.filed, f.{field}::DOUBLE)
            ORDER BY v.sheet_index, v.position, v.row_number
            """,
            field=field,
        )

    # --- the end ---------------------------------------------------------------------------------------------------

    def finish(
        self, record: UploadRecord, rejected: pl.DataFrame, whole_sheets: list[str | None], problems: pl.DataFrame
    ) -> Saved:
        """Take out the rows rejected (`rejected`: sheet and row; `whole_sheets`: every row of these sheets), write
        the wide-year values kept, retire the versions replaced, write the problems and the upload's row, and keep
        the file. Returns the upload's number and how many filings in force it replaced."""
        self._reject(rejected, whole_sheets)
        mine = "SELECT credit_code, year FROM filing_versions WHERE upload_id = $id"
        replaced = self._retire("filing_versions", "credit_code, year", mine)
        self._write_supplements()
        self.store._insert_problems(self.upload_id, problems)
        self._insert_upload(record)
        self.con.execute(f"DROP TABLE {self.staging}")
        if self.staged.keep:
            self.staged.path.replace(self.staged.target)
            self.kept = True
        return Saved(self.upload_id, replaced)

    def _reject(self, rejected: pl.DataFrame, whole_sheets: list[str | None]) -> None:
        """Take the rejected rows out of the filings and of the staged wide-year values; number the filings left
        0, 1, 2, ... again in the order read."""
        taken = 0
        for table in ("filing_versions", self.staging):
            mine = "upload_id = $id AND " if table == "filing_versions" else ""
            if not rejected.is_empty():
                self.con.register("rejected", rejected.select("sheet", "row").to_arrow())
                try:
                    taken += self._count(
                        f"""
                        DELETE FROM {table} AS t USING rejected AS r
                        WHERE {mine} t.sheet IS NOT DISTINCT FROM r.sheet AND t.row_number = r.row
                        """
                    )
                finally:
                    self.con.unregister("rejected")
            for sheet in whole_sheets:
                taken += self._count(f"DELETE FROM {table} WHERE {mine} sheet IS NOT DISTINCT FROM $sheet", sheet=sheet)
        if taken:
            self.con.execute(
                """
                UPDATE filing_versions AS v SET seq = n.seq
                FROM (SELECT seq AS was, (row_number() OVER (ORDER BY seq) - 1)::INTEGER AS seq
                      FROM filing_versions WHERE upload_id = $id) AS n
                WHERE v.upload_id = $id AND v.seq = n.was AND n.seq <> n.was
                """,
                {"id": self.upload_id},
            )

    def _retire(self, table: str, key: str, incoming: str) -> int:
        """Versions in force of other uploads whose key (a list of columns) the incoming rows carry stop being in
        force; how many did."""
        if not self.con.execute(
            f"SELECT 1 FROM {table} WHERE is_current AND upload_id <> $id LIMIT 1", {"id": self.upload_id}
        ).fetchall():
            return 0  # nothing in force to replace (a new database): no join to pay for
        match = " AND ".join(f"v.{k} = i.{k}" for k in key.split(", "))
        return self._count(
            f"""
            UPDATE {table} AS v SET is_current = false
            FROM ({incoming}) AS i
            WHERE v.is_current AND v.upload_id <> $id AND {match}
            """
        )

    def _write_supplements(self) -> None:
        """The wide-year values kept, in the order listed; the first of a repeated key within the upload is in force."""
        key = "credit_code, year, field"
        self._retire("supplement_versions", key, f"SELECT DISTINCT {key} FROM {self.staging}")
        self.con.execute(
            f"""
            INSERT INTO supplement_versions BY NAME
            SELECT $id AS upload_id, (row_number() OVER (ORDER BY {_SUPPLEMENT_ORDER}) - 1)::INTEGER AS seq,
                   sheet, row_number, column_header, credit_code, year, field, value,
                   row_number() OVER (PARTITION BY {key} ORDER BY {_SUPPLEMENT_ORDER}) = 1 AS is_current
            FROM {self.staging}
            """,
            {"id": self.upload_id},
        )

    def _insert_upload(self, record: UploadRecord) -> None:
        self.con.execute(
            """
            INSERT INTO uploads BY NAME (
                SELECT ? AS upload_id, ? AS file_name, ? AS sha256, ? AS size_bytes, ? AS uploaded_at, ? AS options,
                       ? AS stored_file, ? AS rows_read, ? AS accepted, ? AS rejected, ? AS skipped, ? AS warnings,
                       ? AS uploaded_by
            )
            """,
            [
                self.upload_id,
                record.file_name,
                record.sha256,
                record.size_bytes,
                dt.datetime.now(),
                record.options,
                self.staged.target.name,
                record.rows_read,
                record.accepted,
                record.rejected,
                record.skipped,
                record.warnings,
                record.uploaded_by,
            ],
        )

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _from_frame(self, name: str, frame: pl.DataFrame, sql: str) -> None:
        # String views pass to DuckDB as they are, without a copy of every text column.
        self.con.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            self.con.execute(sql)
        finally:
            self.con.unregister(name)

    def _params(self, sql: str, params: dict[str, object]) -> dict[str, object]:
        """The upload's number as $id where the statement uses it, beside the parameters given."""
        return ({"id": self.upload_id} if "$id" in sql else {}) | params

    def _frame(self, sql: str, **params: object) -> pl.DataFrame:
        return pl.DataFrame(self.con.sql(sql, params=self._params(sql, params)))

    def _count(self, sql: str, **params: object) -> int:
        return int(self.con.execute(sql, self._params(sql, params)).fetchall()[0][0])

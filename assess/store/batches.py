"""A query's rows read a piece at a time, in order, so that what Python holds does not grow with the rows.

The query's result is kept in a temporary table (DuckDB spills it to disk beyond the store's memory limit) and read
back by row id (consecutive: from 0, or inside a transaction from wherever DuckDB numbers the rows it adds). Each
piece is a query of its own, so the connection is free between pieces: what a piece became can be written on the
same connection before the next piece is read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl

_NAMES = itertools.count(1)


@dataclass(frozen=True)
class Kept:
    """A query's result kept on the connection: `name` is its table, its row ids run from `first` to `last`."""

    con: duckdb.DuckDBPyConnection
    name: str
    first: int
    last: int

    def batches(self, size: int, columns: str = "*", where: str = "true") -> Iterator[pl.DataFrame]:
        """The kept rows (`columns` of those meeting `where`), `size` rows of the result at a time (DuckDB numbers
        them one after the other), in its order."""
        for start in range(self.first, self.last + 1, size):
            yield self.read(columns, f"rowid >= {start:d} AND rowid < {start + size:d} AND ({where})")

    def read(self, columns: str = "*", where: str = "true") -> pl.DataFrame:
        """The kept rows (`columns` of those meeting `where`; `rowid` names a row), in the result's order."""
        return self.con.sql(f"SELECT {columns} FROM {self.name} WHERE {where} ORDER BY rowid").pl()

    def take(self, rows: list[int]) -> pl.DataFrame:
        """The kept rows with these row ids, in the order given."""
        found = self.read("rowid AS kept_row, *", f"list_contains({[int(row) for row in rows]}::BIGINT[], rowid)")
        order = pl.DataFrame({"kept_row": rows}, schema={"kept_row": pl.Int64})
        return order.join(found, on="kept_row", how="left", maintain_order="left").drop("kept_row")


@contextmanager
def kept(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict | None = None,
    parts: dict[str, tuple[str, dict | None]] | None = None,
) -> Iterator[Kept]:
    """The result of `sql` (its ORDER BY, if any, kept) for as long as the block runs. `parts` (name: query and its
    parameters) are kept first, each as a table that `sql` names as `{name}`, and dropped once `sql` is kept: DuckDB
    runs a query joining several large parts faster, and in less memory, one part at a time."""
    number = next(_NAMES)
    name = f"kept_rows_{number}"
    tables = {part: f"{name}_{part}" for part in parts or {}}
    try:
        for part, (query, part_params) in (parts or {}).items():
            con.execute(f"CREATE TEMP TABLE {tables[part]} AS {query}", part_params)
        con.execute(f"CREATE TEMP TABLE {name} AS {sql.format(**tables)}", params)
    finally:
        for table in tables.values():
            con.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        [(first, last)] = con.execute(f"SELECT min(rowid), max(rowid) FROM {name}").fetchall()
        yield Kept(con, name, 0 if first is None else int(first), -1 if last is None else int(last))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {name}")


@contextmanager
def kept_frame(frame: pl.DataFrame) -> Iterator[Kept]:
    """A frame's rows kept as `kept` keeps a query's, in a DuckDB database of their own (in memory), in its order:
    for rows another engine computed."""
    with closing(duckdb.connect()) as con:
        con.register("frame_rows", frame.to_arrow())
        with kept(con, "SELECT * FROM frame_rows") as rows:
            yield rows

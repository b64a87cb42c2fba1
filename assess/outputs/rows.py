"""The rows of a long table, in batches, read afresh each time they are gone through.

A sheet of a workbook is gone through twice (measured to lay out its columns, then written) and never held whole: its
rows come from a frame already at hand, sliced, or from a query of the store streamed in batches, each batch shaped
(sentences rendered, values worded) as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa


@dataclass(frozen=True)
class Rows:
    """A table's rows: iterating gives its batches, read afresh by `batches` each time."""

    batches: Callable[[], Iterator[pl.DataFrame]]

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return self.batches()


def streamed(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, object],
    rows: int,
    shape: Callable[[pl.DataFrame], pl.DataFrame] = lambda batch: batch,
    tables: Mapping[str, pa.Table] | None = None,
) -> Rows:
    """The rows of the query `sql`, `rows` at a time, each batch shaped by `shape`. The query runs on a connection of
    its own to the same database (with `tables` registered there under their names), so that shaping a batch may
    query the store while the next one waits."""

    def batches() -> Iterator[pl.DataFrame]:
        cursor = con.cursor()
        try:
            for name, table in (tables or {}).items():
                cursor.register(name, table)
            for batch in cursor.sql(sql, params=dict(params)).to_arrow_reader(rows):
                yield shape(pl.DataFrame(pl.from_arrow(batch)))
        finally:
            cursor.close()

    return Rows(batches)

"""A sheet as the readers hand it over: text cells, read in chunks of rows so that a large file never sits in memory
whole. Nothing here knows about fields or validation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class RawSheet:
    """A run of rows of one sheet (or of the single table of a CSV or Parquet file) as text.

    `cells` has one String column per sheet column (`c0`, `c1`, ...) and one row per row of the sheet, except that a
    run of blank rows may be read as one blank row: `spans` then gives how many rows of the sheet each row stands
    for. `row_numbers` gives the row number the user sees for each row (for a run, its first), and `column_numbers`
    the column number, where a reader left out empty columns. `numeric_cells(i)` tells, for column i, which cells the
    file held as numbers; it costs a second read, so callers ask only when the text suggests it.
    """

    name: str | None
    cells: pl.DataFrame
    row_numbers: pl.Series
    numeric_cells: Callable[[int], pl.Series] | None = None
    spans: pl.Series | None = None  # None: each row is one row of the sheet
    column_numbers: tuple[int, ...] | None = None  # None: column i is the sheet's column i + 1

    def first_rows(self, n: int) -> pl.DataFrame:
        """The rows of `cells` among the sheet's first n rows (where the header is looked for)."""
        if self.spans is None:
            return self.cells.head(n)
        return self.cells.filter((self.spans.cum_sum() - self.spans) < n)


@dataclass(frozen=True)
class SheetSource:
    """One sheet of a file, read as consecutive chunks of rows, the first holding at least the rows where the header
    is looked for. `chunks()` reads the sheet again from its first row each time it is called."""

    name: str | None
    chunks: Callable[[], Iterator[RawSheet]]


class ReadAgain(Exception):
    """A reader learnt, after some chunks were handed over, something that changes how every chunk is read (a CSV
    file that is not UTF-8 after all): whatever was done with those chunks is to be undone and the sheet read again."""


def string_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """A reader's frame as `RawSheet.cells`: every column as text, named c0, c1, ..."""
    return frame.select(pl.col(name).cast(pl.String).alias(f"c{i}") for i, name in enumerate(frame.columns))

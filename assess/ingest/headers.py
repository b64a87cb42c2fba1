"""Finding the header of a sheet and mapping its columns to contract fields.

The header row is the first of the first rows in which enough cells name known fields, one of them the credit code or
the name; title rows above it are skipped. A merged group row above or a sub-header row below makes a two-row header,
read by the sub-cell alone first, then by "group + sub"; a group that is a year ("2023年") turns its sub-cells into
wide-year columns. A unit in brackets sets the column's unit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assess.contract import Contract, fold

_YEAR_PREFIX = re.compile(r"^(\d{4})年度?(.+)$")
_YEAR_ONLY = re.compile(r"^\d{4}年度?$")
_UNIT_SUFFIX = re.compile(r"^(.+?)\(([^()]+)\)$")
_MARKERS = "*※★"
_WIDE_KINDS = ("money", "count", "percent")


@dataclass(frozen=True)
class HeaderText:
    """What one header cell says: the field it names (if any), the year of a wide-year header, the unit in brackets."""

    field: str | None
    year: int | None
    unit: str | None


@dataclass(frozen=True)
class Column:
    index: int  # position in RawSheet.cells
    written: str  # the header as written in the file
    field: str | None  # None: not a filing field (kept as extra data)
    year: int | None  # a wide-year column's year
    unit: str | None
    number: int  # the column's number as the user sees it (1 is column A)


@dataclass(frozen=True)
class Layout:
    header_rows: tuple[int, ...]  # frame rows that form the header
    columns: tuple[Column, ...]

    @property
    def data_start(self) -> int:
        return self.header_rows[-1] + 1

    @property
    def fields(self) -> set[str]:
        """Fields carried by plain (not wide-year) columns."""
        return {c.field for c in self.columns if c.field and c.year is None}

    @property
    def history_only(self) -> bool:
        """A sheet of wide-year values with nothing but the firm's identity beside them."""
        return self.fields <= {"credit_code", "name"} and any(c.year is not None for c in self.columns)


def read_header(text: str | None, contract: Contract) -> HeaderText:
    if not text:
        return HeaderText(None, None, None)
    year, base, unit = _split(text, contract)
    field = contract.header_lookup.get(base)
    if field is None or (year is not None and contract.field(field).kind not in _WIDE_KINDS):
        return HeaderText(None, None, unit)
    return HeaderText(field, year, unit)


def _split(text: str, contract: Contract) -> tuple[int | None, str, str | None]:
    """Folded header text -> (year of a wide-year header, the rest, the unit in brackets)."""
    folded = fold(text).lstrip(_MARKERS)
    year = None
    if match := _YEAR_PREFIX.match(folded):
        year, folded = int(match.group(1)), match.group(2)
    if (match := _UNIT_SUFFIX.match(folded)) and match.group(2) in _units(contract):
        return year, match.group(1), match.group(2)
    return year, folded, None


def _units(contract: Contract) -> set[str]:
    return {*contract.money_units, *contract.count_units, *contract.percent_units}


def find_layout(
    head: list[tuple[str | None, ...]], contract: Contract, numbers: Sequence[int] | None = None
) -> Layout | None:
    """`head`: the first rows of a sheet, as text; `numbers`: the column number of each of its columns, where they
    are not 1, 2, 3, ... (RawSheet.column_numbers). None when no row qualifies as the header."""
    texts = [[read_header(cell, contract) for cell in row] for row in head[: contract.header_search_rows]]
    h = next((i for i, row in enumerate(texts) if _qualifies(row, contract)), None)
    if h is None:
        return None
    if h + 1 < len(head) and _is_sub_header(head[h], head[h + 1], texts[h], contract):
        layout = _two_row(head[h], head[h + 1], (h, h + 1), contract)
    elif h >= 1 and _is_group_row(head[h - 1]):
        layout = _two_row(head[h - 1], head[h], (h - 1, h), contract)
    else:
        layout = _one_row(head[h], h, contract)
    if numbers is None:
        return layout
    return replace(layout, columns=tuple(replace(c, number=numbers[c.index]) for c in layout.columns))


def _qualifies(row: list[HeaderText], contract: Contract) -> bool:
    fields = [t.field for t in row if t.field]
    return len(fields) >= contract.header_min_matches and any(f in contract.header_key_fields for f in fields)


def _is_sub_header(
    top: tuple[str | None, ...], below: tuple[str | None, ...], top_texts: list[HeaderText], contract: Contract
) -> bool:
    """Below the header row, a row whose key-field cells are empty and whose other cells name fields is the second
    row of a two-row header, not data."""
    key_columns = [i for i, t in enumerate(top_texts) if t.field in contract.header_key_fields]
    if any(below[i] for i in key_columns):
        return False
    groups = _fill_right(top)
    return any(
        cell and (read_header(cell, contract).field or read_header(f"{groups[i] or ''}{cell}", contract).field)
        for i, cell in enumerate(below)
    )


def _is_group_row(above: tuple[str | None, ...]) -> bool:
    """A title sits in the first column (merged across); a group row has a cell over a later column."""
    return any(cell for cell in above[1:])


def _fill_right(row: tuple[str | None, ...]) -> list[str | None]:
    """A merged group cell holds its text in the leftmost cell only; spread it over the empty cells to its right."""
    filled: list[str | None] = []
    current: str | None = None
    for cell in row:
        current = cell or current
        filled.append(current)
    return filled


def _two_row(
    top: tuple[str | None, ...], sub: tuple[str | None, ...], rows: tuple[int, int], contract: Contract
) -> Layout:
    groups = _fill_right(top)
    columns = []
    for i, cell in enumerate(sub):
        if not cell:  # a header merged down over both rows
            columns.append(_column(i, top[i], read_header(top[i], contract)))
            continue
        group = groups[i]
        alone = read_header(cell, contract)
        combined = read_header(f"{group}{cell}", contract) if group else alone
        group_is_year = bool(group and _YEAR_ONLY.match(fold(group)))
        use_group = (group_is_year and combined.field) or (not alone.field and combined.field)
        text = combined if use_group else alone
        if text.unit is None and group:
            text = HeaderText(text.field, text.year, _split(group, contract)[2])
        columns.append(_column(i, f"{group} {cell}" if use_group else cell, text))
    return Layout(header_rows=rows, columns=_drop_repeats(columns))


def _one_row(row: tuple[str | None, ...], h: int, contract: Contract) -> Layout:
    columns = [_column(i, cell, read_header(cell, contract)) for i, cell in enumerate(row)]
    return Layout(header_rows=(h,), columns=_drop_repeats(columns))


def _column(index: int, written: str | None, text: HeaderText) -> Column:
    return Column(
        index=index, written=(written or "").strip(), field=text.field, year=text.year, unit=text.unit, number=index + 1
    )


def _drop_repeats(columns: list[Column]) -> tuple[Column, ...]:
    """A field named by two columns is read from the first; the second is kept as extra data."""
    seen: set[tuple[str, int | None]] = set()
    result = []
    for column in columns:
        key = (column.field or "", column.year)
        if column.field and key in seen:
            column = replace(column, field=None, year=None)
        seen.add(key)
        result.append(column)
    return tuple(result)

"""Validating a sheet a chunk of rows at a time: rows classified, cells parsed, required fields, and the checks
across fields of a row.

Input is a chunk of a raw sheet, its header layout and what the whole sheet settles (`facts.Settled`); output is the
parsed rows (with the row numbers the user sees), the wide-year supplementary values, every problem found, all as
polars frames, and what the chunk's rows hold towards what the sheet settles (`facts.Seen`). Checks that need the
whole upload or the store (duplicates, jumps, wide-year conflicts with other filings) live in `upload.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import polars.selectors as cs
import pyarrow.compute as pc

from assess.contract import Contract, FieldSpec, fold
from assess.ingest import parse
from assess.ingest.facts import Percent, Seen, Settled
from assess.ingest.headers import Column, Layout
from assess.ingest.problems import grouped, plain_amount, problems_frame, sheet_notice
from assess.ingest.raw import RawSheet
from assess.reference import Reference

SUPPLEMENT_SCHEMA = pl.Schema(
    {
        "sheet": pl.String(),
        "row": pl.Int64(),
        "column": pl.String(),
        "credit_code": pl.String(),
        "year": pl.Int32(),
        "field": pl.String(),
        "value": parse.MONEY,
        "position": pl.Int32(),  # the column's place in the sheet's layout: the order wide-year values are listed in
    }
)


def field_dtype(spec: FieldSpec) -> pl.DataType:
    return {
        "year": pl.Int32(),
        "boolean": pl.Boolean(),
        "money": parse.MONEY,
        "percent": parse.MONEY,
        "count": pl.Int64(),
        "set": pl.List(pl.String),
        "date": pl.Date(),
    }.get(spec.kind, pl.String())


@dataclass(frozen=True)
class Options:
    """What the user states for the whole upload."""

    year: int | None = None
    unit: str | None = None
    accept_bad_check: frozenset[str] = frozenset()
    city: str | None = None  # a city's own file: blank 所属地市 is this city, any other city is an error
    by: str | None = None  # who uploads (the web app's user), kept with the upload; not part of how it is read


@dataclass(frozen=True)
class SheetResult:
    sheet: str | None
    rows: pl.DataFrame  # sheet, row, every contract field, extra (JSON of unknown columns)
    supplements: pl.DataFrame  # SUPPLEMENT_SCHEMA
    problems: pl.DataFrame  # problems.PROBLEM_SCHEMA
    rows_read: int
    skipped: int
    history_only: bool
    headers: dict[str, str]  # field -> the header of its plain column as written in this sheet
    seen: Seen  # what these rows hold towards what the whole sheet settles


class SheetValidator:
    def __init__(self, contract: Contract, reference: Reference, options: Options) -> None:
        self.contract = contract
        self.reference = reference
        self.options = options
        self._parsers: dict[tuple[Column, bool, bool | None], parse.Parsed] = {}

    @property
    def rows_schema(self) -> pl.Schema:
        """The columns of `SheetResult.rows`."""
        fields = {spec.name: field_dtype(spec) for spec in self.contract.fields}
        return pl.Schema({"sheet": pl.String(), "row": pl.Int64(), **fields, "extra": pl.String()})

    def validate(self, sheet: RawSheet, layout: Layout, body: pl.DataFrame, settled: Settled | None) -> SheetResult:
        """Validate the rows of `body` (from `marked`, cut by `split`), read from `sheet`. `settled`: what the whole
        sheet settles, or None to take it from these rows alone."""
        skip = body["#blank"] | body["#total"]
        skipped = int(body["#span"].filter(skip).sum())
        active = (body.filter(~skip) if skipped else body).drop("#blank", "#total", "#span")  # no copy when none skip
        problems = [_skipped_rows(sheet.name, body) if skipped else problems_frame()]
        columns: list[pl.Series] = [active["row"]]
        percents: dict[int, Percent] = {}
        for column, (values, given, found, percent) in self._parse_columns(sheet, layout, active, settled):
            columns += [values.alias(_name(column)), given.alias(_given_name(column))]
            problems.extend(found)
            if percent is not None:
                percents[column.index] = percent
        parsed = pl.DataFrame(columns)
        seen = Seen(_filled(layout, active), percents)
        extra = self._extra_columns(layout, (settled or seen.settled()).filled)
        problems.extend(sheet_notice(sheet.name, "W-UNUSED-COLUMN", "", column=_header_of(c)) for c in extra)
        parsed = parsed.with_columns(extra=_extra_json(extra, active))
        complete = self._complete(layout, parsed)
        problems.append(self._required_all(sheet.name, layout, complete))
        if not layout.history_only:
            problems.extend(self._row_relations(sheet.name, layout, complete))
            problems.extend(self._own_year_conflicts(sheet.name, layout, complete))
        return SheetResult(
            sheet=sheet.name,
            rows=complete.select(
                pl.lit(sheet.name, dtype=pl.String).alias("sheet"),
                "row",
                *(s.name for s in self.contract.fields),
                "extra",
            ),
            supplements=self._supplements(sheet.name, layout, complete),
            problems=pl.concat([problems_frame(p) for p in problems]),
            rows_read=int(body["#span"].sum()),
            skipped=skipped,
            history_only=layout.history_only,
            headers={c.field: _header_of(c) for c in layout.columns if c.field and c.year is None},
            seen=seen,
        )

    # --- rows ------------------------------------------------------------------------------------------------------

    def marked(self, sheet: RawSheet, start: int, width: int) -> pl.DataFrame:
        """The rows of a chunk from `start` (the row under the header, in a sheet's first chunk), with at least
        `width` columns, the row numbers the user sees and the rows of the sheet each stands for (`#span`: a run of
        blank rows may be read as one), and marked `#blank` or `#total` (the first non-empty cell reads 合计, 总计 or
        小计)."""
        cells = sheet.cells.with_columns(
            pl.lit(None, dtype=pl.String).alias(f"c{i}") for i in range(sheet.cells.width, width)
        )
        first = _first_filled(cells.slice(start))
        spans = pl.lit(1, dtype=pl.Int64) if sheet.spans is None else sheet.spans
        body = cells.with_columns(row=sheet.row_numbers, **{"#span": spans}).slice(start)
        markers = [fold(m) for m in self.contract.total_markers]
        # Only a cell with a space or a character beyond printable ASCII can fold into a marker it does not equal.
        unusual = first.str.contains(r"[^\x21-\x7E]").fill_null(False)
        folded = first.filter(unusual).str.normalize("NFKC").str.replace_all(r"\s", "").is_in(markers)
        total = first.is_in(markers).fill_null(False).scatter(unusual.arg_true(), folded.fill_null(False))
        return body.with_columns(first.is_null().alias("#blank"), total.alias("#total"))

    @staticmethod
    def split(body: pl.DataFrame, last: bool) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
        """The rows to validate now, and those to hold over to the sheet's next chunk. The rows after a sheet's last
        filled row are no rows; a chunk's blank rows at its end may run on into the next chunk, so they wait for it,
        and so does a chunk without a row to validate, so that every chunk validated has one."""
        filled = ~body["#blank"]
        end = int(filled.arg_true().max()) + 1 if filled.any() else 0  # type: ignore[arg-type]
        if last:
            return body.slice(0, end), None
        if not (filled & ~body["#total"]).any():
            return None, body
        return body.slice(0, end), (body.slice(end) if end < body.height else None)

    # --- cells -----------------------------------------------------------------------------------------------------

    def _parse_columns(
        self, sheet: RawSheet, layout: Layout, active: pl.DataFrame, settled: Settled | None
    ) -> list[tuple[Column, tuple[pl.Series, pl.Series, list[pl.DataFrame], Percent | None]]]:
        """Parse every mapped column. The columns' plans run together so that polars spreads them over the cores;
        a column of codes or words is parsed once per distinct text; a column of plain numbers skips the cleaning.
        A percent column also gives what its plain numbers are (`Percent`)."""
        columns = [c for c in layout.columns if c.field is not None]
        kinds = [self.contract.field(c.field).kind for c in columns]  # type: ignore[arg-type]
        text_cells = pl.repeat(False, active.height, dtype=pl.Boolean, eager=True).alias("numeric_cell")
        frames = [pl.DataFrame([active["row"], active[f"c{c.index}"].alias("raw"), text_cells]) for c in columns]
        numbers = [i for i, kind in enumerate(kinds) if kind in parse.NUMBER_KINDS]
        read = active.select(parse.as_number(pl.col(f"c{columns[i].index}")).alias(f"{i}") for i in numbers)
        plain = {i: bool((frames[i]["raw"].is_null() | read[f"{i}"].is_not_null()).all()) for i in numbers}
        for i in (i for i in numbers if plain[i]):  # a plain column's numbers are read already
            frames[i] = frames[i].with_columns(read[f"{i}"].alias(parse.AS_NUMBER))
        fractions = settled.fractions if settled is not None else {}
        parsers = [self._parser(c, plain.get(i, False), fractions.get(c.index)) for i, c in enumerate(columns)]
        encoded = [_Encoded.of(f["raw"]) if p.per_value else None for f, p in zip(frames, parsers, strict=True)]
        plans = [
            parse.evaluate(e.distinct, p, self.contract)
            if e is not None
            else parse.evaluate(f.lazy(), p, self.contract, details=False)
            for f, p, e in zip(frames, parsers, encoded, strict=True)
        ]
        results = []
        for column, parsed, frame, evaluated, codes in zip(
            columns, parsers, frames, pl.collect_all(plans, engine="in-memory"), encoded, strict=True
        ):
            count = len(parsed.checks) + len(parsed.column_checks)
            flags = pl.any_horizontal(f"f{i}" for i in range(count)) if count else pl.lit(False)
            # Whether to read the cells' types is decided per chunk: only a workbook's cells mix types, and a
            # workbook's sheet is one chunk (a Parquet column is typed whole, and a CSV file has no types).
            if parsed.needs_cell_types:
                by_row = evaluated if codes is None else codes.by_row(evaluated, parsed.keep)
                typed = self._with_cell_types(sheet, frame, by_row, column)
                if typed is not None:  # parsed again row by row: a text and a number of the same digits differ
                    frame, codes = typed, None
                    evaluated = parse.evaluate(typed.lazy(), parsed, self.contract, details=False).collect()
            if codes is not None:
                values, given, failing = codes.spread(frame, evaluated, flags)
            else:
                values, given = evaluated["value"], evaluated["given"]
                failing = self._detailed(frame, evaluated.filter(flags), parsed)
            spec = self.contract.field(column.field)  # type: ignore[arg-type]
            percent = _percent(evaluated["plain"]) if spec.kind == "percent" else None
            found = self._problems(sheet.name, column, parsed, failing)
            results.append((column, (values.cast(field_dtype(spec)), given, found, percent)))
        return results

    def _detailed(self, frame: pl.DataFrame, failing: pl.DataFrame, parsed: parse.Parsed) -> pl.DataFrame:
        """A column's failing rows with their checks' details, parsed again for those rows alone. The failures
        stay those of the whole column: a check over the column (a percent column's fractions) may judge a few of
        its rows otherwise."""
        if failing.is_empty():
            return failing
        again = frame.filter(pl.col("row").is_in(failing["row"].implode()))
        details = parse.evaluate(again.lazy(), parsed, self.contract).select("row", cs.matches(r"^d\d+$"))
        return failing.join(details.collect(), on="row", how="left", maintain_order="left")

    def _parser(self, column: Column, plain_numbers: bool, fractions: bool | None) -> parse.Parsed:
        """The parser of a column, built once for every chunk of a sheet."""
        key = (column, plain_numbers, fractions)
        if key not in self._parsers:
            self._parsers[key] = self._new_parser(column, plain_numbers, fractions)
        return self._parsers[key]

    def _new_parser(self, column: Column, plain_numbers: bool, fractions: bool | None) -> parse.Parsed:
        assert column.field is not None
        spec = self.contract.field(column.field)
        unit = column.unit if column.unit in self.contract.money_units else self.options.unit
        context = parse.ColumnContext(
            spec,
            unit,
            self.contract,
            self.reference,
            self.options.accept_bad_check,
            plain_numbers=plain_numbers,
            fractions=fractions,
        )
        return parse.parse(context)

    def _problems(
        self, sheet: str | None, column: Column, parsed: parse.Parsed, failing: pl.DataFrame
    ) -> list[pl.DataFrame]:
        """The column's problems, from its rows that fail a check."""
        if failing.is_empty():
            return []
        checks = [*parsed.checks, *parsed.column_checks]
        found = []
        for i, check in enumerate(checks):
            hits = failing.filter(pl.col(f"f{i}"))
            if hits.is_empty():
                continue
            if i >= len(parsed.checks):  # a column check: one notice for the column
                found.append(sheet_notice(sheet, check.code, hits[f"d{i}"][0], column=_header_of(column)))
                continue
            found.append(
                hits.select(
                    "row",
                    sheet=pl.lit(sheet, dtype=pl.String),
                    column=pl.lit(_header_of(column)),
                    code=pl.lit(check.code),
                    value="raw",
                    detail=f"d{i}",
                )
            )
        return found

    def _with_cell_types(
        self, sheet: RawSheet, frame: pl.DataFrame, evaluated: pl.DataFrame, column: Column
    ) -> pl.DataFrame | None:
        """The frame again with the cells' real types, when some code looks float-derived and fails its check, and
        the file can tell: a second read of the sheet is paid for by such files alone."""
        if sheet.numeric_cells is None:
            return None
        # Text codes look float-derived about once in a thousand all-digit codes; number cells always do, and fail
        # their check 30 times in 31. Either a failing one or more look-alikes than chance explains means numbers.
        looks, digits = parse.looks_float_derived(pl.col("code")), pl.col("code").str.contains(r"^[0-9]{18}$")
        found = evaluated.select(
            failing=(looks & ~pl.col("check_ok")).any(), looking=looks.sum(), digits=digits.sum()
        ).row(0, named=True)
        if not (found["failing"] or found["looking"] > max(1, _LOOK_ALIKE_RATE * found["digits"])):
            return None
        by_row = pl.DataFrame({"row": sheet.row_numbers, "numeric_cell": sheet.numeric_cells(column.index)})
        return frame.drop("numeric_cell").join(by_row, on="row", how="left")

    def _extra_columns(self, layout: Layout, filled: frozenset[int]) -> list[Column]:
        """Columns that match no field but have a header or data (`filled`: in any row of the sheet): kept as extra
        data, reported once."""
        return [c for c in layout.columns if c.field is None and (c.written or c.index in filled)]

    # --- rows as filings -------------------------------------------------------------------------------------------

    def _complete(self, layout: Layout, parsed: pl.DataFrame) -> pl.DataFrame:
        """Every field present: the upload's year (and city) where a row has none; a wide-year column of the row's own
        year where no plain column carries the field; null otherwise."""
        rows = parsed
        if "year" not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.Int32).alias("year"), pl.lit(False).alias("year#given"))
        if self.options.year is not None:
            rows = rows.with_columns(pl.col("year").fill_null(self.options.year))
        for spec in self.contract.fields:
            if spec.name not in rows.columns:
                value, given = _own_year(layout, spec.name)
                rows = rows.with_columns(
                    value.cast(field_dtype(spec)).alias(spec.name), given.alias(f"{spec.name}#given")
                )
        if self.options.city is not None:  # a city's own file: a blank city is that city
            blank = pl.col("city").is_null() & ~pl.col("city#given")
            rows = rows.with_columns(
                pl.when(blank).then(pl.lit(self.options.city)).otherwise(pl.col("city")).alias("city")
            )
        return rows

    def _required_all(self, sheet: str | None, layout: Layout, rows: pl.DataFrame) -> pl.DataFrame:
        """A history-only sheet needs nothing but the credit code beside its values."""
        required = [s for s in self.contract.fields if s.required]
        if layout.history_only:
            required = [self.contract.field("credit_code")]
        return pl.concat([problems_frame(self._required(sheet, layout, rows, spec)) for spec in required])

    def _required(self, sheet: str | None, layout: Layout, rows: pl.DataFrame, spec: FieldSpec) -> pl.DataFrame:
        carried = any(c.field == spec.name for c in layout.columns)
        if spec.name == "year":
            carried = carried or self.options.year is not None
        if spec.name == "city":
            carried = carried or self.options.city is not None
        if not carried:
            return sheet_notice(sheet, "E-REQUIRED", f"「{spec.header}」缺失：本表没有这一列，所有行均未导入")
        # A cell that is filled but does not parse has its own error already.
        missing = rows.filter(pl.col(spec.name).is_null() & ~pl.col(f"{spec.name}#given"))
        return missing.select(
            "row",
            sheet=pl.lit(sheet, dtype=pl.String),
            column=pl.lit(_written(layout, spec.name) or spec.header),
            code=pl.lit("E-REQUIRED"),
            value=pl.lit(None, dtype=pl.String),
            detail=pl.lit(f"「{spec.header}」为空"),
        )

    def _other_city(self, sheet: str | None, layout: Layout, rows: pl.DataFrame) -> pl.DataFrame:
        """With --city, a row of another city."""
        if self.options.city is None:
            return problems_frame()
        return rows.filter(pl.col("city") != self.options.city).select(
            "row",
            sheet=pl.lit(sheet, dtype=pl.String),
            column=pl.lit(_written(layout, "city") or self.contract.field("city").header),
            code=pl.lit("E-CITY-OTHER"),
            value=pl.col("city"),
            detail=pl.lit(f"「{self.options.city}」"),
        )

    def _row_relations(self, sheet: str | None, layout: Layout, rows: pl.DataFrame) -> list[pl.DataFrame]:
        found = [self._other_city(sheet, layout, rows)]
        for staff in ("rd_staff", "tech_staff"):
            spec = self.contract.field(staff)
            found.append(
                rows.filter(pl.col(staff) > pl.col("employees")).select(
                    "row",
                    sheet=pl.lit(sheet, dtype=pl.String),
                    column=pl.lit(_written(layout, staff) or spec.header),
                    code=pl.lit("E-STAFF"),
                    value=pl.col(staff).cast(pl.String),
                    detail=pl.format(f"{spec.header}{{}}人多于从业人员{{}}人", pl.col(staff), "employees"),
                )
            )
        found.append(
            rows.filter(pl.col("rd_expense") > pl.col("revenue")).select(
                "row",
                sheet=pl.lit(sheet, dtype=pl.String),
                column=pl.lit(_written(layout, "rd_expense") or "研发费用"),
                code=pl.lit("W-RD-OVER-REVENUE"),
                value=plain_amount(pl.col("rd_expense")),
                detail=pl.format(
                    "{}万元高于营业收入{}万元", plain_amount(pl.col("rd_expense")), plain_amount(pl.col("revenue"))
                ),
            )
        )
        return found

    def _own_year_conflicts(self, sheet: str | None, layout: Layout, rows: pl.DataFrame) -> list[pl.DataFrame]:
        """A wide-year value of the row's own year beside a plain column of the same field: the plain value wins and
        a difference is reported."""
        found = []
        for column in layout.columns:
            if column.year is None or column.field not in layout.fields:
                continue
            wide, own = pl.col(_name(column)).cast(parse.MONEY), pl.col(column.field).cast(parse.MONEY)
            found.append(
                rows.filter((pl.col("year") == column.year) & (wide != own)).select(
                    "row",
                    sheet=pl.lit(sheet, dtype=pl.String),
                    column=pl.lit(_header_of(column)),
                    code=pl.lit("W-WIDE-CONFLICT"),
                    value=plain_amount(wide),
                    detail=pl.format(
                        "{}年的分年度值{}与本行填报值{}不一致，以本行填报值为准",
                        pl.lit(column.year),
                        plain_amount(wide),
                        plain_amount(own),
                    ),
                )
            )
        return found

    def _supplements(self, sheet: str | None, layout: Layout, rows: pl.DataFrame) -> pl.DataFrame:
        """Wide-year values for years other than the row's own filing year (every year, on a history-only sheet)."""
        frames = []
        for position, column in enumerate(layout.columns):
            if column.year is None or column.field is None:
                continue
            other_year = pl.lit(True) if layout.history_only else (pl.col("year") != column.year).fill_null(True)
            frames.append(
                rows.filter(pl.col(_name(column)).is_not_null() & other_year).select(
                    sheet=pl.lit(sheet, dtype=pl.String),
                    row="row",
                    column=pl.lit(_header_of(column)),
                    credit_code="credit_code",
                    year=pl.lit(column.year, dtype=pl.Int32),
                    field=pl.lit(column.field),
                    value=pl.col(_name(column)).cast(parse.MONEY),
                    position=pl.lit(position, dtype=pl.Int32),
                )
            )
        if not frames:
            return pl.DataFrame(schema=SUPPLEMENT_SCHEMA)
        return pl.concat(frames).cast(SUPPLEMENT_SCHEMA)


def _percent(plain: pl.Series) -> Percent:
    top = plain.max()
    return Percent(top, bool((plain > 0).any()), bool((plain >= 0).all()))  # type: ignore[arg-type]


def _filled(layout: Layout, active: pl.DataFrame) -> frozenset[int]:
    """The columns, mapped to no field, that hold data in these rows (a chunk may be wider than the layout)."""
    mapped = {f"c{c.index}" for c in layout.columns if c.field is not None}
    names = [name for name in active.columns if name.startswith("c") and name not in mapped]
    if not names:
        return frozenset()
    found = active.select(pl.col(name).is_not_null().any() for name in names).row(0)
    return frozenset(int(name[1:]) for name, filled in zip(names, found, strict=True) if filled)


def _name(column: Column) -> str:
    assert column.field is not None
    return column.field if column.year is None else f"{column.field}@{column.year}"


def _given_name(column: Column) -> str:
    return f"{_name(column)}#given"


@dataclass(frozen=True)
class _Encoded:
    """A column of cells as its distinct texts and, for each row, the position of its text among them (null for an
    empty cell): found in one pass (Arrow's dictionary encoding), so that a column of a few codes or words is parsed
    in a few rows and spread back by position."""

    texts: pl.Series
    positions: pl.Series

    @classmethod
    def of(cls, raw: pl.Series) -> _Encoded:
        encoded = pc.dictionary_encode(raw.to_arrow(compat_level=pl.CompatLevel.newest()))
        texts = pl.Series("raw", encoded.dictionary, dtype=pl.String)
        return cls(texts, pl.Series("position", encoded.indices).cast(pl.UInt32))

    @property
    def distinct(self) -> pl.LazyFrame:
        """The distinct texts as the parser's input, none of them held as a number: where the file's cell types
        matter (the credit code), a column that needs them is parsed again row by row."""
        return pl.LazyFrame({"raw": self.texts}).with_columns(numeric_cell=pl.lit(False))

    def by_row(self, evaluated: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
        """`columns` of the parser's results for each row's text."""
        return evaluated.select(pl.col(columns).gather(self.positions))

    def spread(
        self, frame: pl.DataFrame, evaluated: pl.DataFrame, flags: pl.Expr
    ) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
        """The values and whether each cell was filled, row by row, and the rows (of `frame`) whose text fails a
        check, beside the parser's results for that text. An empty cell parses to no value and is not given."""
        values = evaluated["value"].gather(self.positions)
        given = evaluated["given"].gather(self.positions).fill_null(False)
        failing = evaluated.with_row_index("position").filter(flags).drop("raw", "numeric_cell")
        if failing.is_empty():
            return values, given, frame.select("row", "raw").clear().hstack(failing.drop("position").clear())
        rows = frame.select("row", "raw", self.positions)
        return values, given, rows.join(failing, on="position", maintain_order="left").drop("position")


_LOOK_ALIKE_RATE = 0.01  # ten times the rate at which genuine text codes look float-derived


def _first_filled(cells: pl.DataFrame) -> pl.Series:
    """Each row's first cell holding a non-blank character, null for a blank row. The first column settles almost
    every row of a filled sheet, so the other columns are read only for the rows it leaves open."""

    def filled(name: str) -> pl.Expr:
        return pl.when(pl.col(name).str.contains(r"\S")).then(pl.col(name))

    first = cells.select(filled(cells.columns[0])).to_series()
    open_rows = first.is_null()
    if cells.width > 1 and open_rows.any():
        rest = cells.filter(open_rows).select(pl.coalesce(filled(name) for name in cells.columns[1:]))
        first = first.scatter(open_rows.arg_true(), rest.to_series())
    return first


def _skipped_rows(sheet: str | None, body: pl.DataFrame) -> pl.DataFrame:
    """One I-ROW-SKIPPED notice for each total row and for each run of blank rows, however many rows the run holds:
    a million blank rows are one notice, not a million."""
    run = (~pl.col("#blank")).cum_sum()  # the blank rows of one run follow the same number of other rows
    blank = (
        body.with_columns(run=run)
        .filter("#blank")
        .group_by("run", maintain_order=True)
        .agg(pl.col("row").first(), last=(pl.col("row") + pl.col("#span") - 1).last(), rows=pl.col("#span").sum())
        .select(
            "row",
            detail=pl.when(pl.col("rows") == 1)
            .then(pl.lit("空行"))
            .otherwise(pl.format("{}个连续空行（第{}行至第{}行）", grouped(pl.col("rows")), "row", "last")),
        )
    )
    totals = body.filter(pl.col("#total") & ~pl.col("#blank")).select("row", detail=pl.lit("合计行"))
    return problems_frame(
        pl.concat([blank, totals]).with_columns(
            sheet=pl.lit(sheet, dtype=pl.String),
            column=pl.lit(None, dtype=pl.String),
            code=pl.lit("I-ROW-SKIPPED"),
            value=pl.lit(None, dtype=pl.String),
        )
    )


def _header_of(column: Column) -> str:
    """The header as written, or where the column has none, its position."""
    return column.written or f"第{column.number}列（无表头）"


def _written(layout: Layout, field: str) -> str | None:
    for column in layout.columns:
        if column.field == field and column.year is None:
            return column.written
    return None


def _own_year(layout: Layout, field: str) -> tuple[pl.Expr, pl.Expr]:
    """The value (and whether its cell was filled) of a field that only wide-year columns carry, taken from the
    column of each row's own year."""
    value: pl.Expr = pl.lit(None)
    given: pl.Expr = pl.lit(False)
    for column in layout.columns:
        if column.field == field and column.year is not None:
            own = pl.col("year") == column.year
            value = pl.when(own).then(pl.col(_name(column))).otherwise(value)
            given = pl.when(own).then(pl.col(_given_name(column))).otherwise(given)
    return value, given


def _extra_json(extra: list[Column], active: pl.DataFrame) -> pl.Series:
    """Unknown columns are kept, as JSON keyed by the header as written."""
    if not extra:
        return pl.Series("extra", [None] * active.height, dtype=pl.String)
    names = [_header_of(c) for c in extra]
    keys = [
        name if names.count(name) == 1 else f"{name}（第{c.number}列）" for name, c in zip(names, extra, strict=True)
    ]
    return active.select(
        pl.struct([pl.col(f"c{c.index}").alias(key) for c, key in zip(extra, keys, strict=True)]).struct.json_encode()
    ).to_series()

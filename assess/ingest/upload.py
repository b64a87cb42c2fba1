"""One uploaded file, end to end: read, find headers, validate, check across the upload and the store, save.

A file is read a chunk of rows at a time, and each chunk is validated and written at once, inside the upload's one
transaction (`Store.writing_upload`), so that memory does not grow with the file. The checks that need more than one
row (duplicates within the upload, revenue jumps against the previous year in this upload or the store, wide-year
values that disagree with a full filing of their year) are then asked of the rows written, in SQL; the rows they
and the row checks reject are taken out, and the upload commits, or on any failure nothing of it stays.

Two things only the whole sheet settles (`facts`): the chunks after the first are validated with what the first one
says, and should a later chunk say otherwise, the transaction is rolled back, every chunk is read once to settle
them, and the file is validated again with what they settle. A reader that finds a CSV file is not UTF-8 only after
some chunks (`ReadAgain`) has its file read again from the start the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict

import polars as pl

from assess.contract import Contract
from assess.errors import describe_os_error
from assess.ingest.facts import Seen, Settled
from assess.ingest.headers import find_layout
from assess.ingest.problems import finalise, plain_amount, problems_frame, sheet_notice
from assess.ingest.raw import RawSheet, ReadAgain, SheetSource
from assess.ingest.sheets import Chunking, UnreadableFile, check_file, read_file
from assess.ingest.validate import Options, SheetResult, SheetValidator
from assess.progress import Steps
from assess.reference import Reference
from assess.store import StagedFile, Store, UploadRecord, options_key
from assess.store.ahead import ahead
from assess.store.writing import UploadWriter

logger = logging.getLogger(__name__)


STAGES = 4  # a file's steps as progress reports them: copy, read, check, store


@dataclass
class IngestResult:
    """What the user is told about one file."""

    file: str
    sha256: str | None = None
    upload_id: int | None = None
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    warnings: int = 0
    duplicate_upload: bool = False
    replaced: int = 0  # filings of earlier uploads (same credit code and year) that this upload's filings replaced
    error: str | None = None
    problems: pl.DataFrame = field(default_factory=lambda: pl.DataFrame())

    def as_json(self) -> dict:
        columns = ["code", "level", "sheet", "row", "column", "value", "message"]
        problems = self.problems.select(columns).to_dicts() if self.problems.height else []
        return {
            "file": self.file,
            "sha256": self.sha256,
            "upload_id": self.upload_id,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "duplicate_upload": self.duplicate_upload,
            "replaced": self.replaced,
            "error": self.error,
            "problems": problems,
        }


class Counts(TypedDict):
    rows_read: int
    accepted: int
    rejected: int
    skipped: int
    warnings: int


class _Refused(Exception):
    """The file cannot be taken (the message is the user's sentence): nothing of it is stored."""


class _Unsettled(Exception):
    """A chunk says otherwise than the first chunks about what the whole sheet settles."""


@dataclass(frozen=True)
class _Skipped:
    """A sheet without a header, and its notice."""

    notice: pl.DataFrame


@dataclass(frozen=True)
class _Validated:
    """A chunk validated: its sheet's place in the file and whether it is the sheet's first chunk validated (whose
    notices about the whole sheet or column are the sheet's; the later chunks repeat them)."""

    sheet_index: int
    result: SheetResult
    first: bool


@dataclass
class _Tally:
    """What the chunks of an upload add up to."""

    rows_read: int = 0
    skipped: int = 0
    active: dict[int, int] = field(default_factory=dict)  # rows validated, by sheet index
    names: dict[int, str | None] = field(default_factory=dict)  # sheet names, by sheet index
    headers: list[tuple[str | None, str, str]] = field(default_factory=list)  # (sheet, field, column as written)
    skipped_sheets: list[pl.DataFrame] = field(default_factory=list)  # notices of sheets without a header
    problems: list[pl.DataFrame] = field(default_factory=list)  # of the chunks validated, in order

    def add(self, validated: _Validated | _Skipped) -> None:
        if isinstance(validated, _Skipped):
            self.skipped_sheets.append(validated.notice)
            return
        result = validated.result
        self.rows_read += result.rows_read
        self.skipped += result.skipped
        index = validated.sheet_index
        self.active[index] = self.active.get(index, 0) + result.rows.height
        self.names[index] = result.sheet
        problems = result.problems
        if validated.first:
            self.headers += [(result.sheet, name, header) for name, header in result.headers.items()]
        else:
            problems = problems.filter(pl.col("row").is_not_null())
        self.problems.append(problems)


class Ingest:
    """Ingests files into a store under one contract and one set of options."""

    def __init__(
        self,
        store: Store,
        contract: Contract,
        reference: Reference,
        options: Options,
        step: Steps | None = None,
        chunking: Chunking | None = None,
    ) -> None:
        self.step = step or Steps(None, 0)  # told each of a file's STAGES as it starts
        self.store = store
        self.contract = contract
        self.options = options
        self.chunking = chunking or Chunking.of(contract.memory)
        self.validator = SheetValidator(contract, reference, options)

    def file(self, path: Path) -> IngestResult:
        self.step(f"复制「{path.name}」")
        try:
            check_file(path, self.contract.limits)
        except UnreadableFile as exc:
            return IngestResult(file=path.name, error=str(exc))
        with ExitStack() as stack:
            try:
                staged = stack.enter_context(self.store.staged_file(path))
            except OSError as exc:  # the file cannot be copied (unreadable, disk full, no permission): nothing stored
                logger.exception("an upload could not be staged")
                return IngestResult(
                    file=path.name,
                    error=f"文件「{path.name}」无法复制到数据库旁的文件夹，未导入任何内容（{describe_os_error(exc)}）："
                    "请检查文件能否打开、磁盘空间和写入权限。",
                )
            return self._staged(path, staged)

    def _staged(self, path: Path, staged: StagedFile) -> IngestResult:
        key = options_key(self.options.year, self.options.unit, self.options.accept_bad_check, self.options.city)
        earlier = self.store.find_upload(staged.sha256, key)
        if earlier is not None:
            return _repeat(path, earlier, self.store.problems(earlier["upload_id"]))
        self.step(f"读取「{path.name}」")
        try:
            sheets = read_file(staged.path, self.contract.limits, self.contract.header_search_rows, self.chunking)
        except UnreadableFile as exc:
            return IngestResult(file=path.name, sha256=staged.sha256, error=str(exc))
        self.step(f"校验「{path.name}」")
        record = UploadRecord(path.name, staged.sha256, staged.path.stat().st_size, key, 0, 0, 0, 0, 0, self.options.by)
        settled: list[Settled] | None = None
        settling = False
        while True:
            try:
                if settling:
                    settled, settling = self._settle(sheets), False
                return self._written(path.name, staged, record, sheets, settled)
            except ReadAgain:
                continue  # the reader reads the file another way now (a CSV file found not to be UTF-8)
            except _Unsettled:
                settling = True
            except _Refused as refused:
                return IngestResult(file=path.name, sha256=staged.sha256, error=str(refused))

    def _written(
        self,
        file_name: str,
        staged: StagedFile,
        record: UploadRecord,
        sheets: list[SheetSource],
        settled: list[Settled] | None,
    ) -> IngestResult:
        """Validate and write the file in one transaction."""
        tally = _Tally()
        supplements: list[tuple[pl.DataFrame, int, bool]] = []  # the wide-year values, written after the filings

        def filings() -> Iterator[pl.DataFrame]:
            for validated in self._validated(sheets, settled, file_name):
                tally.add(validated)
                if isinstance(validated, _Skipped):
                    continue
                result = validated.result
                if not result.history_only:
                    yield result.rows
                if not result.supplements.is_empty():
                    supplements.append((result.supplements, validated.sheet_index, result.history_only))

        with self.store.writing_upload(staged) as writer:
            writer.write_filings(filings(), self.validator.rows_schema)
            for values, sheet_index, history_only in supplements:
                writer.add_supplements(values, sheet_index, history_only)
            if not tally.active:
                raise _Refused(
                    f"文件「{file_name}」中没有可识别的表头：前{self.contract.header_search_rows}行里找不到至少"
                    f"{self.contract.header_min_matches}个能识别的列名（其中须有统一社会信用代码或企业名称）。"
                    "请使用填报模板（assess template 生成）中的列名。"
                )
            self.step(f"入库「{file_name}」")
            final = finalise(
                pl.concat([*tally.skipped_sheets, *tally.problems, *self._across(writer, tally)]),
                file_name,
                self.contract,
            )
            errors = final.filter(pl.col("level") == "error")
            whole = errors.filter(pl.col("row").is_null())["sheet"].unique(maintain_order=True).to_list()
            own = errors.filter(pl.col("row").is_not_null() & ~pl.col("sheet").is_in(whole, nulls_equal=True))
            own = own.select("sheet", "row").unique()
            rejected = own.height + sum(n for i, n in tally.active.items() if tally.names[i] in whole)
            counts: Counts = {
                "rows_read": tally.rows_read,
                "accepted": sum(tally.active.values()) - rejected,
                "rejected": rejected,
                "skipped": tally.skipped,
                "warnings": int((final["level"] == "warning").sum()),
            }
            assert counts["accepted"] + rejected + tally.skipped == tally.rows_read
            saved = writer.finish(replace(record, **counts), own, whole, final)
        return IngestResult(
            file=file_name,
            sha256=staged.sha256,
            upload_id=saved.upload_id,
            replaced=saved.replaced,
            problems=final,
            **counts,
        )

    def _validated(
        self, sheets: list[SheetSource], settled: list[Settled] | None, file_name: str, strict: bool = True
    ) -> Iterator[_Validated | _Skipped]:
        """Each chunk of each sheet validated, in the order read. `settled`: what each sheet settles, or None to take
        it from the sheet's first chunk validated, and then (`strict`) a later chunk that says otherwise is
        `_Unsettled`. A file that cannot be read, or a defect of ours, is `_Refused`: a defect must not stop the
        other files of a batch, nor lose this one silently."""
        try:
            for index, sheet in enumerate(sheets):
                yield from self._sheet_validated(index, sheet, settled[index] if settled else None, strict)
        except UnreadableFile as exc:
            raise _Refused(str(exc)) from exc
        except (ReadAgain, _Unsettled):
            raise
        except Exception as exc:
            logger.exception("ingest of an upload failed")
            raise _Refused(
                f"文件「{file_name}」处理时出现程序错误，未导入任何内容；请把该文件发给系统维护人员。"
            ) from exc

    def _sheet_validated(
        self, index: int, sheet: SheetSource, settled: Settled | None, strict: bool
    ) -> Iterator[_Validated | _Skipped]:
        chunks = _with_last(ahead(sheet.chunks()))  # the next chunk is read while this one is validated
        first, last = next(chunks)
        width = max(first.cells.width, max(settled.filled, default=-1) + 1) if settled else first.cells.width
        head = [row + (None,) * (width - len(row)) for row in first.first_rows(self.contract.header_search_rows).rows()]
        layout = find_layout(head, self.contract, first.column_numbers)
        if layout is None:
            yield _Skipped(sheet_notice(sheet.name, "I-SHEET-SKIPPED", str(self.contract.header_search_rows)))
            return
        seen, assumed = Seen(), settled
        carried: pl.DataFrame | None = None
        chunk, start, validated = first, layout.data_start, False
        while True:
            body = self.validator.marked(chunk, start, len(layout.columns))
            if carried is not None:
                body = pl.concat([carried, body], how="diagonal")
            now, carried = self.validator.split(body, last)
            if now is not None:
                result = self.validator.validate(chunk, layout, now, assumed)
                seen = seen.merge(result.seen)
                if assumed is None:
                    assumed = seen.settled()
                elif strict and settled is None and seen.settled() != assumed:
                    raise _Unsettled
                yield _Validated(index, result, first=not validated)
                validated = True
            if last:
                return
            chunk, last = next(chunks)
            start = 0

    def _settle(self, sheets: list[SheetSource]) -> list[Settled]:
        """What each sheet's rows settle, from every chunk of it."""
        seen: dict[int, Seen] = {}
        for validated in self._validated(sheets, None, "", strict=False):
            if isinstance(validated, _Skipped):
                continue
            seen[validated.sheet_index] = seen.get(validated.sheet_index, Seen()).merge(validated.result.seen)
        return [seen.get(i, Seen()).settled() for i in range(len(sheets))]

    def _across(self, writer: UploadWriter, tally: _Tally) -> list[pl.DataFrame]:
        """The problems the upload's rows give together, asked of the rows written."""
        headers = pl.DataFrame(
            tally.headers, schema={"sheet": pl.String, "field": pl.String, "column": pl.String}, orient="row"
        )
        ratio = float(self.contract.jump_ratio)
        repeated = writer.repeated_filings()
        return [
            _with_header(_duplicates(repeated, ["credit_code", "year"]), headers, "credit_code"),
            _with_header(
                _duplicates(writer.repeated_history(), ["credit_code", "year", "field"]), headers, "credit_code"
            ),
            _with_header(jump_problems(writer.jumps(ratio, not repeated.is_empty()), ratio), headers, "revenue"),
            *(wide_conflicts(writer.wide_against_filed(name)) for name in writer.wide_fields()),
        ]


def _with_last(chunks: Iterator[RawSheet]) -> Iterator[tuple[RawSheet, bool]]:
    """Each chunk, and whether it is the sheet's last."""
    held = next(chunks)
    for chunk in chunks:
        yield held, False
        held = chunk
    yield held, True


def jump_problems(jumps: pl.DataFrame, ratio: float) -> pl.DataFrame:
    """W-JUMP for the filings `UploadWriter.jumps` finds. The earlier figure is quoted only when this file holds it:
    another upload's figures are not shown to whoever sends this one."""
    revenue, before = pl.col("revenue"), pl.col("previous")
    earlier = pl.when("quotable").then(
        pl.format("由本文件中上年（{}年）的{}万元", pl.col("year") - 1, plain_amount(before))
    )
    return problems_frame(
        jumps.select(
            "sheet",
            "row",
            column=pl.lit(None, dtype=pl.String),
            code=pl.lit("W-JUMP"),
            value=plain_amount(revenue),
            detail=pl.concat_str(
                [
                    earlier.otherwise(pl.format("与数据库中该企业上年（{}年）的数据相比，", pl.col("year") - 1)),
                    pl.format("变为{}万元，变化超过{}倍", plain_amount(revenue), pl.lit(int(ratio))),
                ]
            ),
        )
    )


def wide_conflicts(values: pl.DataFrame) -> pl.DataFrame:
    """W-WIDE-CONFLICT for the wide-year values `UploadWriter.wide_against_filed` finds: a full filing of their year
    in this upload, else in the store, says otherwise."""
    return problems_frame(
        values.select(
            "sheet",
            "row",
            "column",
            code=pl.lit("W-WIDE-CONFLICT"),
            value=plain_amount(pl.col("value")),
            detail=pl.when(pl.col("filed").is_not_null())
            .then(
                pl.format(
                    "{}年的分年度值{}与本文件中该企业{}年的完整填报值{}不一致，以完整填报为准",
                    "year",
                    plain_amount(pl.col("value")),
                    "year",
                    plain_amount(pl.col("filed")),
                )
            )
            .otherwise(
                pl.format(
                    "{}年的分年度值{}与数据库中该企业{}年的完整填报值不一致，以完整填报为准",
                    "year",
                    plain_amount(pl.col("value")),
                    "year",
                )
            ),
        )
    )


def _with_header(found: pl.DataFrame, headers: pl.DataFrame, field: str) -> pl.DataFrame:
    """Name the column of an upload-level problem as the sheet wrote its header."""
    columns = headers.filter(pl.col("field") == field).select("sheet", "column")
    return problems_frame(found.drop("column", strict=False).join(columns, on="sheet", how="left", nulls_equal=True))


def _duplicates(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Every row of a repeated key is rejected, and each names all of them."""
    keyed = rows.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    repeated = keyed.filter(pl.len().over(key) > 1)
    if repeated.is_empty():
        return problems_frame()
    place = pl.concat_str([pl.format("工作表「{}」", "sheet"), pl.format("第{}行", "row")], ignore_nulls=True)
    listed = repeated.group_by(key, maintain_order=True).agg(rows_listed=place.str.join("、"))
    return repeated.join(listed, on=key, nulls_equal=True).select(
        "sheet",
        "row",
        code=pl.lit("E-DUPLICATE"),
        value="credit_code",
        detail="rows_listed",
    )


def _repeat(path: Path, earlier: dict, problems: pl.DataFrame) -> IngestResult:
    """The same bytes with the same options: nothing changes; the earlier upload's result is repeated."""
    return IngestResult(
        file=path.name,
        sha256=earlier["sha256"],
        upload_id=earlier["upload_id"],
        rows_read=earlier["rows_read"],
        accepted=earlier["accepted"],
        rejected=earlier["rejected"],
        skipped=earlier["skipped"],
        warnings=earlier["warnings"],
        duplicate_upload=True,
        problems=problems,
    )

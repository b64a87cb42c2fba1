"""One uploaded file, end to end: read, find headers, validate, check across the upload and the store, save.

The checks here need more than one sheet row: duplicates within the upload, revenue jumps against the previous year
(in this upload or the store), and wide-year values that disagree with a full filing of their year. Then every row
gets its outcome (accepted, rejected, skipped) and the accepted ones are saved in one transaction.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import polars as pl

from assess.contract import Contract
from assess.errors import describe_os_error
from assess.ingest.headers import find_layout
from assess.ingest.problems import finalise, plain_amount, problems_frame, sheet_notice
from assess.ingest.sheets import RawSheet, UnreadableFile, check_file, read_file
from assess.ingest.validate import Options, SheetResult, SheetValidator
from assess.progress import Steps
from assess.reference import Reference
from assess.store import StagedFile, Store, UploadRecord, options_key

ROW_KEY = ["sheet", "row"]
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


@dataclass(frozen=True)
class Checked:
    """An upload validated but not yet saved."""

    filings: pl.DataFrame
    supplements: pl.DataFrame
    problems: pl.DataFrame  # final: with level, message and hint
    rows_read: int
    accepted: int
    rejected: int
    skipped: int

    def counts(self) -> Counts:
        """How the rows ended, as uploads record and results report them."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "warnings": int((self.problems["level"] == "warning").sum()),
        }


class Ingest:
    """Ingests files into a store under one contract and one set of options."""

    def __init__(
        self, store: Store, contract: Contract, reference: Reference, options: Options, step: Steps | None = None
    ) -> None:
        self.step = step or Steps(None, 0)  # told each of a file's STAGES as it starts
        self.store = store
        self.contract = contract
        self.options = options
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
        try:
            self.step(f"读取「{path.name}」")
            sheets = read_file(staged.path, self.contract.limits)
            self.step(f"校验「{path.name}」")
            checked = self.check(sheets, path.name)
        except UnreadableFile as exc:
            return IngestResult(file=path.name, sha256=staged.sha256, error=str(exc))
        except Exception:  # a defect of ours must not stop the other files of a batch, nor lose this one silently
            logger.exception("ingest of an upload failed")
            return IngestResult(
                file=path.name,
                sha256=staged.sha256,
                error=f"文件「{path.name}」处理时出现程序错误，未导入任何内容；请把该文件发给系统维护人员。",
            )
        counts = checked.counts()
        size = staged.path.stat().st_size
        record = UploadRecord(
            file_name=path.name,
            sha256=staged.sha256,
            size_bytes=size,
            options=key,
            uploaded_by=self.options.by,
            **counts,
        )
        self.step(f"入库「{path.name}」")
        saved = self.store.save_upload(record, staged, checked.filings, checked.supplements, checked.problems)
        return IngestResult(
            file=path.name,
            sha256=staged.sha256,
            upload_id=saved.upload_id,
            replaced=saved.replaced,
            problems=checked.problems,
            **counts,
        )

    def check(self, sheets: list[RawSheet], file_name: str) -> Checked:
        results: list[SheetResult] = []
        problems = [problems_frame()]
        for sheet in sheets:
            head = sheet.first_rows(self.contract.header_search_rows).rows()
            layout = find_layout(head, self.contract, sheet.column_numbers)
            if layout is None:
                detail = str(self.contract.header_search_rows)
                problems.append(sheet_notice(sheet.name, "I-SHEET-SKIPPED", detail))
            else:
                results.append(self.validator.validate(sheet, layout))
        if not results:
            raise UnreadableFile(
                f"文件「{file_name}」中没有可识别的表头：前{self.contract.header_search_rows}行里找不到至少"
                f"{self.contract.header_min_matches}个能识别的列名（其中须有统一社会信用代码或企业名称）。"
                "请使用填报模板（assess template 生成）中的列名。"
            )
        full = pl.concat([r.rows for r in results if not r.history_only] or [results[0].rows.clear()])
        history = pl.concat([r.rows for r in results if r.history_only] or [results[0].rows.clear()])
        supplements = pl.concat([r.supplements for r in results])
        problems.extend(r.problems for r in results)
        headers = pl.DataFrame(
            [(r.sheet, field, header) for r in results for field, header in r.headers.items()],
            schema={"sheet": pl.String, "field": pl.String, "column": pl.String},
            orient="row",
        )
        problems.append(_with_header(_duplicates(full, ["credit_code", "year"]), headers, "credit_code"))
        history_values = supplements.join(history.select(ROW_KEY), on=ROW_KEY, how="semi", nulls_equal=True)
        problems.append(
            _with_header(_duplicates(history_values, ["credit_code", "year", "field"]), headers, "credit_code")
        )
        problems.append(_with_header(self._jumps(full, supplements), headers, "revenue"))
        problems.append(self._wide_conflicts(full, supplements))
        final = finalise(pl.concat(problems), file_name, self.contract)
        rejected = _rejected_rows(final, pl.concat([full, history]))
        accepted_full, accepted_history = _without(full, rejected), _without(history, rejected)
        rows_read = sum(r.rows_read for r in results)
        skipped = sum(r.skipped for r in results)
        accepted = accepted_full.height + accepted_history.height
        assert accepted + rejected.height + skipped == rows_read
        return Checked(
            filings=accepted_full.rename({"row": "row_number"}),
            supplements=_without(supplements, rejected).rename({"row": "row_number", "column": "column_header"}),
            problems=final,
            rows_read=rows_read,
            accepted=accepted,
            rejected=rejected.height,
            skipped=skipped,
        )

    def _jumps(self, full: pl.DataFrame, supplements: pl.DataFrame) -> pl.DataFrame:
        """Revenue above `jump_ratio` times, or below its inverse, the firm's previous year. A full filing wins over a
        wide-year value, this upload over the store. The earlier figure is quoted only when this file holds it:
        another upload's figures are not shown to whoever sends this one."""
        keys = ["credit_code", "year"]
        rows = full.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in [*keys, "revenue"])).select(
            "sheet", "row", *keys, revenue=pl.col("revenue").cast(pl.Float64)
        )
        # Each earlier figure keyed by the year it precedes, so that one join on (credit code, year) finds it.
        own = rows.select("credit_code", year=pl.col("year") + 1, own="revenue").unique(keys, keep="first")
        own_wide = (
            supplements.filter(pl.col("field") == "revenue")
            .select("credit_code", year=pl.col("year") + 1, own_wide=pl.col("value").cast(pl.Float64))
            .unique(keys, keep="first")
        )
        joined = rows.join(own, on=keys, how="left").join(own_wide, on=keys, how="left")
        # The store is asked only about the years this file does not itself file in full.
        unresolved = joined.filter(pl.col("own").is_null()).select("credit_code", year=pl.col("year") - 1)
        stored = self.store.current_values(unresolved, "revenue").select(
            "credit_code",
            year=pl.col("year") + 1,
            filed=pl.col("filed").cast(pl.Float64),
            supplement=pl.col("supplement").cast(pl.Float64),
        )
        compared = (
            joined.join(stored, on=keys, how="left")
            .lazy()
            .with_columns(
                previous=pl.coalesce("own", "filed", "own_wide", "supplement"),
                quotable=pl.col("own").is_not_null() | (pl.col("filed").is_null() & pl.col("own_wide").is_not_null()),
            )
        )
        ratio = float(self.contract.jump_ratio)
        revenue, before = pl.col("revenue").cast(pl.Float64), pl.col("previous")
        earlier = pl.when("quotable").then(
            pl.format("由本文件中上年（{}年）的{}万元", pl.col("year") - 1, plain_amount(before))
        )
        return (
            compared.filter((before > 0) & ((revenue > before * ratio) | (revenue < before / ratio)))
            .select(
                "sheet",
                "row",
                code=pl.lit("W-JUMP"),
                value=plain_amount(pl.col("revenue")),
                detail=pl.concat_str(
                    [
                        earlier.otherwise(pl.format("与数据库中该企业上年（{}年）的数据相比，", pl.col("year") - 1)),
                        pl.format("变为{}万元，变化超过{}倍", plain_amount(pl.col("revenue")), pl.lit(int(ratio))),
                    ]
                ),
            )
            .collect()
        )

    def _wide_conflicts(self, full: pl.DataFrame, supplements: pl.DataFrame) -> pl.DataFrame:
        """A wide-year value that disagrees with a full filing of its year: in this upload, else in the store."""
        found = [problems_frame()]
        for name in supplements["field"].unique().to_list():
            values = supplements.filter(pl.col("field") == name)
            in_upload = (
                full.select("credit_code", "year", filed=pl.col(name).cast(pl.Float64))
                .filter(pl.col("filed").is_not_null())
                .unique(["credit_code", "year"], keep="first")
            )
            in_store = self.store.filing_values(values, [name]).select(
                "credit_code", pl.col("year").cast(pl.Int32), stored=pl.col(name).cast(pl.Float64)
            )
            compared = (
                values.join(in_upload, on=["credit_code", "year"], how="left")
                .join(in_store, on=["credit_code", "year"], how="left")
                .with_columns(against=pl.coalesce("filed", "stored"))
                .filter(pl.col("against").is_not_null() & (pl.col("value").cast(pl.Float64) != pl.col("against")))
            )
            found.append(
                compared.select(
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
                            plain_amount(pl.col("against")),
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
        return pl.concat([problems_frame(f) for f in found])


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


def _without(rows: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """The rows not rejected (without copying them when none are)."""
    return rows.join(rejected, on=ROW_KEY, how="anti", nulls_equal=True) if rejected.height else rows


def _rejected_rows(problems: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with an error of their own, and every row of a sheet with a sheet-level error."""
    errors = problems.filter(pl.col("level") == "error")
    own = errors.filter(pl.col("row").is_not_null()).select(ROW_KEY)
    whole_sheets = errors.filter(pl.col("row").is_null()).select("sheet").unique()
    by_sheet = rows.join(whole_sheets, on="sheet", how="semi", nulls_equal=True).select(ROW_KEY)
    return pl.concat([own, by_sheet]).unique()


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

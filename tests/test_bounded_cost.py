"""A small hostile file costs what it fills: a stray cell far down or far right, a million blank lines, a line of a
million separators and a gigabyte of nothing are each read or refused in seconds and a few hundred MB, measured on
the command line as users run it. Beyond the limits of `schemas/filing.yaml` (file size, unpacked size, columns,
sheets, cells of a sheet) a file is refused whole, in one Chinese sentence naming the file and the limit."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from assess.contract import Contract, Limits
from assess.ingest import Options, ingest_files
from assess.store import Store
from tests.conftest import HEADER, Rows, firm_row, write_xlsx

# A small ingest peaks near 230 MB (interpreter, polars, DuckDB) and takes a few seconds on a busy machine; before
# these limits, the files below took 48-300 s and 1.8-11.8 GB, or killed the process.
PEAK_MB = 600
SECONDS = 60
# Runs a command and reports its peak resident memory (this wrapper's only child) on the last line of stderr.
_MEASURED = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)"
)


def _ingest(path: Path, db: Path) -> tuple[int, dict]:
    """Exit status and the file's JSON result of `assess ingest FILE --json`, which must take less than SECONDS
    and PEAK_MB."""
    assess = Path(sys.executable).with_name("assess")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(assess), "ingest", str(path), "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=SECONDS * 3,
        check=False,
    )
    seconds, peak = time.perf_counter() - start, int(done.stderr.strip().splitlines()[-1]) / 1024
    assert seconds < SECONDS and peak < PEAK_MB, f"{path.name}: {seconds:.1f} s, {peak:.0f} MB"
    [result] = json.loads(done.stdout)
    return done.returncode, result


def _firms() -> Rows:
    return [HEADER, *(firm_row(i) for i in range(1, 6))]


def _with_stray_cell(path: Path, row: int, column: int) -> Path:
    book = openpyxl.load_workbook(write_xlsx(path, {"表1": _firms()}))
    book["表1"].cell(row=row, column=column, value="x")
    book.save(path)
    return path


def test_a_stray_cell_in_the_last_row_costs_the_cells_filled_not_the_million_rows(tmp_path: Path) -> None:
    status, result = _ingest(_with_stray_cell(tmp_path / "f.xlsx", 1_048_576, 1), tmp_path / "a.db")
    assert status == 0
    counts = (result["rows_read"], result["accepted"], result["rejected"], result["skipped"])
    assert counts == (1_048_575, 5, 1, 1_048_569)  # every row still counted: the stray row is rejected
    [blank] = [p for p in result["problems"] if p["code"] == "I-ROW-SKIPPED"]
    assert blank["row"] == 7 and "1,048,569个连续空行（第7行至第1048575行）" in blank["message"]


def test_a_stray_cell_far_right_and_down_is_read_and_named_by_its_own_column(tmp_path: Path) -> None:
    """Column 1,999 of the last row: a rectangle of two thousand million cells to a reader that keeps it whole."""
    status, result = _ingest(_with_stray_cell(tmp_path / "f.xlsx", 1_048_576, 1999), tmp_path / "a.db")
    assert status == 0
    assert (result["accepted"], result["rejected"]) == (5, 1)
    assert "第1999列（无表头）" in {p["column"] for p in result["problems"] if p["code"] == "W-UNUSED-COLUMN"}


def test_a_cell_beyond_the_column_limit_is_refused_in_one_sentence_naming_it(tmp_path: Path) -> None:
    status, result = _ingest(_with_stray_cell(tmp_path / "f.xlsx", 1_048_576, 16_384), tmp_path / "a.db")
    assert status == 2 and result["upload_id"] is None
    assert result["error"].startswith(
        "文件「f.xlsx」工作表「表1」有 16,384 列（最右边的内容在 XFD1048576 单元格），超过上限 2,000 列"
    )


def _csv(path: Path, between: str = "", after: str = "") -> Path:
    lines = [",".join(str(v) for v in row) for row in _firms()]
    path.write_text("\n".join(lines[:3]) + "\n" + between + "\n".join(lines[3:]) + "\n" + after, encoding="utf-8")
    return path


def test_a_million_blank_lines_are_one_notice_and_cost_next_to_nothing(tmp_path: Path) -> None:
    status, result = _ingest(_csv(tmp_path / "f.csv", between="\n" * 1_100_000), tmp_path / "a.db")
    assert status == 0
    assert (result["rows_read"], result["accepted"], result["skipped"]) == (1_100_005, 5, 1_100_000)
    [blank] = result["problems"]
    assert blank["row"] == 4 and "1,100,000个连续空行（第4行至第1100003行）" in blank["message"]


def test_a_line_of_a_million_separators_costs_what_its_values_cost(tmp_path: Path) -> None:
    blank_line, after_values = "," * 1_000_000 + "\n", "合计" + "," * 1_000_000 + "\n"
    for name, between, after in (("blank.csv", blank_line, ""), ("tail.csv", "", after_values)):
        status, result = _ingest(_csv(tmp_path / name, between, after), tmp_path / f"{name}.db")
        assert status == 0
        assert (result["accepted"], result["skipped"]) == (5, 1)


def test_a_value_a_million_columns_out_is_refused_naming_its_line(tmp_path: Path) -> None:
    status, result = _ingest(_csv(tmp_path / "x.csv", after="备注" + "," * 1_000_000 + "见上\n"), tmp_path / "a.db")
    assert status == 2 and result["error"].startswith("文件「x.csv」第7行有 1,000,001 列，超过上限 2,000 列")


def test_a_gigabyte_of_nothing_is_refused_before_it_is_copied_or_read(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    with path.open("wb") as sparse:
        sparse.write(",".join(HEADER).encode() + b"\n")
        sparse.truncate(1 << 30)  # a sparse file: a GB of zero bytes that take no disk
    db = tmp_path / "a.db"
    status, result = _ingest(path, db)
    assert status == 2 and "含有空字节" in result["error"]
    assert not any(tmp_path.glob("a.db.files/**/*"))  # not even a staging copy was made


# --- each limit, from the configuration ----------------------------------------------------------------------------


def _limited(contract: Contract, monkeypatch: pytest.MonkeyPatch, **limits: int) -> None:
    """The ingest under the packaged contract with some of its limits changed, as an operator would set them."""
    changed = contract.model_copy(update={"limits": contract.limits.model_copy(update=limits)})
    monkeypatch.setattr("assess.ingest.load_contract", lambda: changed)


def _refusal(store: Store, path: Path) -> str:
    [result] = ingest_files(store, [path], Options())
    assert result.upload_id is None and result.rows_read == 0 and store.uploads().height == 0
    assert result.error is not None
    return result.error


@pytest.mark.parametrize(
    ("limit", "value", "make", "sentence"),
    [
        ("file_mb", 1, "big.csv", "文件「big.csv」有 2 MB，超过上限 1 MB"),
        ("columns", 8, "f.csv", "文件「f.csv」第1行有 9 列，超过上限 8 列"),
        ("columns", 8, "f.xlsx", "文件「f.xlsx」工作表「表1」有 9 列（最右边的内容在 I1 单元格），超过上限 8 列"),
        ("sheets", 2, "f.xlsx", "文件「f.xlsx」有 3 个工作表，超过上限 2 个"),
        (
            "sheet_cells",
            20,
            "f.xlsx",
            "文件「f.xlsx」工作表「表1」要读取的部分有 6 行、9 列，共 54 个单元格，超过上限 20 个",
        ),
        ("unpacked_mb", 0, "f.xlsx", "文件「f.xlsx」解压后有 1 MB，超过上限 0 MB"),
        ("unpacked_ratio", 1, "f.xlsx", "文件「f.xlsx」解压后是原大小的 4 倍，超过上限 1 倍"),
    ],
)
def test_each_limit_refuses_the_file_whole_in_one_sentence_naming_it(
    tmp_path: Path,
    contract: Contract,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
    value: int,
    make: str,
    sentence: str,
) -> None:
    path = tmp_path / make
    if make == "big.csv":
        _csv(path, after="\n".join(",".join(str(v) for v in firm_row(9)) for _ in range(20_000)))
    elif make == "f.csv":
        _csv(path)
    else:
        write_xlsx(path, {"表1": _firms(), "说明": [["填表说明"]], "附表": [["空"]]})
    _limited(contract, monkeypatch, **{limit: value})
    error = _refusal(store, path)
    assert error.startswith(sentence) and "未导入任何内容" in error and error.count("。") == 1


def test_the_limits_are_read_from_the_filing_contract(contract: Contract) -> None:
    assert contract.limits == Limits(
        file_mb=2000, unpacked_mb=2000, unpacked_ratio=100, columns=2000, sheets=100, sheet_cells=40_000_000
    )


def test_a_workbook_unpacked_beyond_its_declared_size_is_refused_as_damaged(tmp_path: Path, store: Store) -> None:
    """A forged archive declares a small size for a part that unpacks to much more (a reader that believes the
    declaration unpacks it all): the part is read only to its declared size, and the checksum then fails."""
    path = write_xlsx(tmp_path / "f.xlsx", {"表1": _firms()})
    with zipfile.ZipFile(path) as book:
        entry = book.start_dir  # the central directory: one entry per part, with its declared sizes
    raw = bytearray(path.read_bytes())
    while raw[entry : entry + 4] == b"PK\x01\x02":
        name_end = entry + 46 + int.from_bytes(raw[entry + 28 : entry + 30], "little")
        if raw[entry + 46 : name_end] == b"xl/worksheets/sheet1.xml":
            size = int.from_bytes(raw[entry + 24 : entry + 28], "little")
            raw[entry + 24 : entry + 28] = (size // 2).to_bytes(4, "little")
        entry = name_end + sum(int.from_bytes(raw[entry + at : entry + at + 2], "little") for at in (30, 32))
    path.write_bytes(raw)
    assert "无法读取，可能已损坏" in _refusal(store, path)

"""Ingest benchmark on a messy workbook: the problem path that the clean panel of bench/ingest.py never takes.

The synthetic panel (20,000 enterprises x 5 years = 100,000 rows x 30 columns) with one row in ten damaged the ways
department uploads are: amounts in words, a wrong check character, a city outside the province, an unknown industry
code, a missing name, a negative R&D expense, a tenfold revenue jump, a repeated row, and amounts in full-width digits
or with thousands separators (these two are read, not reported). `python bench/dirty.py` writes it into bench/data/
once, then times three cases, each run in its own process under `/usr/bin/time -v`: the bare read
(`polars.read_excel`, calamine, every cell as text), the ingest (read, validate, store) and the problem workbook
(问题清单) written for that ingest's problems. It rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PROJECT_DIR,
    RESULTS_PATH,
    CaseResult,
    assess_digest,
    ensure_built,
    file_case_args,
    machine,
    measure_alternating,
    section_head,
    write_section,
)

if TYPE_CHECKING:
    from assess.ingest import IngestResult

HEADING = "## Ingest of a messy workbook (bench/dirty.py)"
ENTERPRISES, FIRST_YEAR, LAST_YEAR, SEED = 20_000, 2020, 2024, 1
DAMAGED_SHARE = 10  # one row in this many
PATH = DATA_DIR / f"messy_{ENTERPRISES}x{FIRST_YEAR}-{LAST_YEAR}_seed{SEED}.xlsx"
SOURCES = ("bench/dirty.py", "assess/synthetic", "assess/contract.py", "assess/uscc.py", "schemas")
PACKAGES = ("polars", "duckdb", "fastexcel", "openpyxl")
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


# --- test data ----------------------------------------------------------------------------------------------------

Row = dict[str, Any]  # a panel row as polars gives it: values of the fields' own types


def _words(row: Row) -> None:
    row["revenue"] = f"约{int(row['revenue'])}万"


def _check_character(row: Row) -> None:
    """Another character of the alphabet, as a mistyped one would be (not always the same one: a wrong code ending
    in 000 also looks like a number Excel rounded, which costs the ingest a second read of the column's types)."""
    from assess.uscc import ALPHABET

    code = str(row["credit_code"])
    row["credit_code"] = code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 1 + sum(map(ord, code)) % 30) % 31]


def _city(row: Row) -> None:
    row["city"] = "杭州"


def _industry(row: Row) -> None:
    row["industry_code"] = "9999"


def _no_name(row: Row) -> None:
    row["name"] = None


def _negative(row: Row) -> None:
    row["rd_expense"] = -1 - float(row["rd_expense"] or 0)


def _jump(row: Row) -> None:
    row["revenue"] = float(row["revenue"]) * 20


def _full_width(row: Row) -> None:
    row["revenue"] = f"{row['revenue']:.2f}".translate(FULL_WIDTH)


def _thousands(row: Row) -> None:
    row["revenue"] = f"{row['revenue']:,.2f}"


# Each damage and what it should be reported as (None: read as the number it is, nothing reported).
DAMAGES: tuple[tuple[str, str | None, Callable[[Row], None]], ...] = (
    ("金额写成文字", "E-NUMBER", _words),
    ("信用代码校验位错", "E-USCC-CHECK", _check_character),
    ("外省城市", "E-CITY", _city),
    ("未知行业代码", "E-INDUSTRY", _industry),
    ("企业名称为空", "E-REQUIRED", _no_name),
    ("研发费用为负", "E-NEGATIVE", _negative),
    ("营业收入跳增20倍", "W-JUMP", _jump),
    ("整行重复", "E-DUPLICATE", lambda row: None),
    ("全角数字", None, _full_width),
    ("千分位", None, _thousands),
)


def write_messy(path: Path, _digest: str) -> None:
    import numpy as np
    from openpyxl import Workbook

    from assess.contract import load_contract
    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import TITLE, YES_NO

    contract = load_contract()
    panel = generate_panel(ENTERPRISES, FIRST_YEAR, LAST_YEAR, SEED)
    rng = np.random.default_rng(SEED)
    damaged = rng.choice(panel.height, size=panel.height // DAMAGED_SHARE, replace=False)
    damage_of = {int(row): i % len(DAMAGES) for i, row in enumerate(damaged)}
    rows, repeated = [], []
    for index, row in enumerate(panel.iter_rows(named=True)):
        damage = damage_of.get(index)
        if damage is not None:
            name, _, apply = DAMAGES[damage]
            apply(row)
            if name == "整行重复":
                repeated.append(dict(row))
        rows.append(row)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("填报数据")
    sheet.append([TITLE])
    sheet.append([spec.header_with_unit for spec in contract.fields])
    for row in [*rows, *repeated]:
        sheet.append([YES_NO.get(v, v) if isinstance(v, bool) else v for v in (row[s.name] for s in contract.fields)])
    workbook.save(path)


# --- one run (the child process) ----------------------------------------------------------------------------------


def read(path: Path) -> dict:
    import polars as pl

    start = time.perf_counter()
    frame = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    return {"seconds": time.perf_counter() - start, "rows": frame.height}


def _ingested(path: Path, folder: Path) -> tuple[float, IngestResult]:
    from assess.contract import load_contract
    from assess.ingest import Options, ingest_files
    from assess.store import Store

    start = time.perf_counter()
    with Store(folder / "assess.duckdb", load_contract()) as store:
        [result] = ingest_files(store, [path], Options())
    return time.perf_counter() - start, result


def ingest(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        seconds, result = _ingested(path, Path(tmp))
    by_code = Counter(result.problems["code"].to_list())
    return {
        "seconds": seconds,
        "rows": result.rows_read,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "problems": dict(sorted(by_code.items())),
        "code": assess_digest([PROJECT_DIR / "schemas"]),
    }


def workbook(path: Path) -> dict:
    from assess.outputs.problem_workbook import write_problem_workbook

    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        _, result = _ingested(path, Path(tmp))
        start = time.perf_counter()
        written = write_problem_workbook(result.problems, Path(tmp) / "问题清单.xlsx")
        seconds = time.perf_counter() - start
        size = written.stat().st_size
    return {
        "seconds": seconds,
        "rows": result.problems.height,
        "bytes": size,
        "code": assess_digest([PROJECT_DIR / "schemas"]),
    }


CASES: dict[str, Callable[[Path], dict]] = {"messy-read": read, "messy-ingest": ingest, "messy-workbook": workbook}


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(results: list[CaseResult], repeats: int) -> str:
    bare, ingested, written = results
    outcome = ingested.runs[0].report
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}.",
        "",
        f"Each case ran {repeats} times, each run in its own process under `/usr/bin/time -v`; seconds are wall-clock",
        "(`time.perf_counter`) around the measured part alone, the median (min beside it). `messy-ingest` is",
        "`ingest_files(store, [file], Options())` into a fresh DuckDB file; `messy-workbook` ingests untimed, then",
        "times `write_problem_workbook` for all of that ingest's problems. Peak RSS is the whole process's, the",
        "highest of the runs, in MB of 10^6 bytes.",
        "",
        "| case | rows | median s | min s | rows/s | × bare read | process CPU s | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        rows = result.runs[0].report["rows"]
        lines.append(
            f"| {result.case} | {rows:,} | {result.median():.2f} | {result.fastest():.2f} "
            f"| {rows / result.median():,.0f} | {result.median() / bare.median():.2f}× "
            f"| {result.process_cpu_median:.2f} | {result.peak_rss_mb:,.0f} |"
        )
    lines += [
        "",
        f"`{written.case}` rows are problems listed (one workbook row each); its file is "
        f"{written.runs[0].report['bytes'] / MB:.1f} MB.",
        "",
        "### What the ingest found",
        "",
        f"Identical in every run: {outcome['rows']:,} rows read, {outcome['accepted']:,} accepted, "
        f"{outcome['rejected']:,} rejected.",
        "",
        "| problem code | problems |",
        "| --- | ---: |",
        *(f"| {code} | {count:,} |" for code, count in outcome["problems"].items()),
        "",
        "### Test data",
        "",
        f"`{PATH.name}` ({PATH.stat().st_size / MB:.1f} MB), generated into `bench/data/` by this script from",
        f"`generate_panel({ENTERPRISES}, {FIRST_YEAR}, {LAST_YEAR}, seed={SEED})`: one row in {DAMAGED_SHARE} (chosen",
        "with the same seed) gets one damage, the kinds in turn; a repeated row is written again at the end.",
        "",
        "| damage | reported as |",
        "| --- | --- |",
        *(f"| {name} | {code or '（正常读取，不报告）'} |" for name, code, _ in DAMAGES),
        "",
        "A damage can bring another problem with it: a revenue jumped twentyfold also falls back in the firm's next",
        "year, which is reported too; a repeated row is reported on both of its rows.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = file_case_args(__doc__ or "", CASES)
    if args is None:
        return
    path = ensure_built(PATH, SOURCES, "generating", write_messy)
    runs = measure_alternating(__file__, CASES, args.repeats, "--file", str(path))
    results = [CaseResult(case, done) for case, done in runs.items()]
    outcomes = [{k: v for k, v in r.report.items() if k != "seconds"} for r in results[1].runs]
    if any(o != outcomes[0] for o in outcomes):
        raise SystemExit("The runs disagree (or the code changed between them): nothing written, run again.")
    write_section(HEADING, section(results, args.repeats))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""National benchmark: the whole chain for 1,500,000 firms × 5 years on one machine, each step in its own process.

`python bench/national.py` generates the national panel once (as Parquet and as CSV, into bench/data/, reused while
the generator and the contract are unchanged), then runs every step once, in order, each in its own process under
GNU time (`/usr/bin/time -v`): the two storage floors (DuckDB's own readers straight into a table, no checks), the
ingest of the CSV (into a throwaway store) and of the Parquet file (into the store the later steps read), training
the classifier, the run of the last year (every pack, scoring with reasons, the three lists), the province
workbook export and the province report. It rewrites the national section of bench/RESULTS.md.
`python bench/national.py --case NAME` is one step, printing its measurement as one JSON line.

The generator gives an expert verdict (the classifier's label) to about one filing in nine; a department reviews
thousands of firms a year, not a tenth of a country. The panel keeps the verdicts of LABELLED_FIRM_SHARE of the
firms (all their years) and blanks the others, so that the training step is the one a province would run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PEAK_RSS_LIMIT_MB,
    PROJECT_DIR,
    RESULTS_PATH,
    CaseResult,
    ensure_built,
    machine,
    measure,
    parse_args,
    section_head,
    verdict,
    write_section,
)
from ingest import GENERATOR_SOURCES, stored_without_checks  # bench/ingest.py

if TYPE_CHECKING:
    import polars as pl
    from duckdb import DuckDBPyConnection

HEADING = "## National scale (bench/national.py)"
ENTERPRISES = 1_500_000
FIRST_YEAR, LAST_YEAR, FIRST_SEED = 2020, 2024, 1
CHUNK = 250_000  # firms generated (and written) at a time
LABELLED_FIRM_SHARE = 0.06  # firms whose expert verdicts the panel keeps
LABEL_SEED = 1
NAME = f"national_{ENTERPRISES}x{FIRST_YEAR}-{LAST_YEAR}"
PARQUET = DATA_DIR / f"{NAME}.parquet"
CSV = DATA_DIR / f"{NAME}.csv"
STORE = DATA_DIR / f"{NAME}.duckdb"
PACKAGES = ("duckdb", "polars", "pyarrow", "scikit-learn", "openpyxl", "jinja2", "matplotlib")


# --- test data ----------------------------------------------------------------------------------------------------


def generate(_: Path) -> dict:
    """Both files of the panel, generated chunk by chunk (a firm whose credit code an earlier chunk gave is
    dropped, and further chunks fill up to ENTERPRISES)."""
    start = time.perf_counter()
    if not CSV.exists():  # both files are written together, under the Parquet file's stamp
        PARQUET.unlink(missing_ok=True)
    ensure_built(PARQUET, GENERATOR_SOURCES, "generating", lambda partial, _digest: _write_panel(partial, CSV))
    return {"seconds": time.perf_counter() - start, "rows": _rows(PARQUET)}


def _write_panel(parquet: Path, csv: Path) -> None:
    import polars as pl
    import pyarrow.parquet as pq

    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import write_panel

    seen = pl.Series("credit_code", [], dtype=pl.String)
    writer: pq.ParquetWriter | None = None
    seed = FIRST_SEED
    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp, csv.open("wb") as csv_out:
        while seen.len() < ENTERPRISES:
            panel = generate_panel(min(CHUNK, ENTERPRISES - seen.len()), FIRST_YEAR, LAST_YEAR, seed)
            fresh = panel["credit_code"].unique(maintain_order=True)
            fresh = fresh.filter(~fresh.is_in(seen.implode())).head(ENTERPRISES - seen.len())
            panel = _thinned(panel.filter(pl.col("credit_code").is_in(fresh.implode())))
            part = Path(tmp) / f"part{seed}"
            write_panel(panel, part.with_suffix(".parquet"))
            table = pq.read_table(part.with_suffix(".parquet"))
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table)
            write_panel(panel, part.with_suffix(".csv"))
            lines = part.with_suffix(".csv").read_bytes()
            if seen.len():  # the title line (with the BOM) and the header come once, at the top
                lines = lines.split(b"\n", 2)[2]
            csv_out.write(lines)
            print(f"  seed {seed}: {fresh.len():,} new firms", file=sys.stderr, flush=True)
            seen = pl.concat([seen, fresh])
            seed += 1
    assert writer is not None
    writer.close()


def _thinned(panel: pl.DataFrame) -> pl.DataFrame:
    """The panel with the expert verdicts of LABELLED_FIRM_SHARE of its firms kept, the rest blank."""
    import polars as pl

    kept = pl.col("credit_code").hash(LABEL_SEED) % 1_000_000 < int(LABELLED_FIRM_SHARE * 1_000_000)
    return panel.with_columns(expert_label=pl.when(kept).then(pl.col("expert_label")))


def _rows(parquet: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(parquet).metadata.num_rows)


# --- one step (the child process) ---------------------------------------------------------------------------------


def floor_csv(_: Path) -> dict:
    """DuckDB's parallel CSV reader straight into a table of a fresh file, with the SHA-256 and the kept copy."""
    return stored_without_checks(CSV, _loader("read_csv($path, skip = 1)", CSV))


def floor_parquet(_: Path) -> dict:
    """The same from the Parquet file."""
    return stored_without_checks(PARQUET, _loader("read_parquet($path)", PARQUET))


def _loader(reader: str, path: Path) -> Callable[[DuckDBPyConnection], int]:
    def load(con: DuckDBPyConnection) -> int:
        con.execute(f"CREATE TABLE filings AS SELECT * FROM {reader}", {"path": str(path)})
        return len(con.execute("DESCRIBE filings").fetchall())

    return load


def ingest_csv(_: Path) -> dict:
    """The CSV into a fresh store in a temporary folder (thrown away: the Parquet ingest makes the store kept)."""
    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        return ingest_file(CSV, Path(tmp) / "assess.duckdb")


def ingest_parquet(store: Path) -> dict:
    """The Parquet file into a fresh store, the one the later steps read."""
    for leftover in store.parent.glob(f"{store.name}*"):
        _remove(leftover)
    return ingest_file(PARQUET, store)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def ingest_file(file: Path, db: Path) -> dict:
    """`file` read, validated and stored into the store at `db` with `ingest_files`, timed."""
    from assess.contract import load_contract
    from assess.ingest import Options, ingest_files
    from assess.store import Store

    start = time.perf_counter()
    with Store(db, load_contract()) as store:
        [result] = ingest_files(store, [file], Options())
    seconds = time.perf_counter() - start
    if result.error is not None:
        raise SystemExit(f"ingest of {file.name} failed: {result.error}")
    found = {"rows": result.rows_read, "accepted": result.accepted, "problems": result.problems.height}
    return {"seconds": seconds, **found}


def train(store: Path) -> dict:
    from assess import api

    with api.open_store(store) as opened:
        start = time.perf_counter()
        trained = api.train(opened)
        seconds = time.perf_counter() - start
    report = trained.report
    return {"seconds": seconds, "rows": report["n_train"], "positive": report["n_positive"], "cv": report["cv"]}


def run(store: Path) -> dict:
    from assess import api

    with api.open_store(store) as opened:
        start = time.perf_counter()
        result = api.run_year(opened, LAST_YEAR)
        seconds = time.perf_counter() - start
        firms = opened.con.execute("SELECT count(*) FROM filings WHERE year = ?", [LAST_YEAR]).fetchall()[0][0]
    selected = {tier: frame.height for tier, frame in result.lists.items()}
    return {"seconds": seconds, "rows": firms, "run_id": result.run.run_id, "selected": selected}


def export(store: Path) -> dict:
    from assess import api

    with api.open_store(store) as opened, tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        start = time.perf_counter()
        [written] = api.export_workbooks(opened, LAST_YEAR, out=Path(tmp) / "全省_培育清单.xlsx")
        seconds = time.perf_counter() - start
        size = written.stat().st_size
    return {"seconds": seconds, "rows": ENTERPRISES, "bytes": size}


def report(store: Path) -> dict:
    from assess import api

    with api.open_store(store) as opened, tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        start = time.perf_counter()
        written = api.report(opened, LAST_YEAR, Path(tmp) / "全省_评估报告.html", synthetic=True)
        seconds = time.perf_counter() - start
        size = written.stat().st_size
    return {"seconds": seconds, "rows": ENTERPRISES, "bytes": size}


# Every step in the order the chain runs, with what it does as RESULTS.md says it.
STEPS: dict[str, tuple[Callable[[Path], dict], str]] = {
    "data": (generate, "generate the panel (Parquet and CSV), unless present"),
    "floor-csv": (floor_csv, "DuckDB `read_csv` straight into a table: SHA-256, kept copy, no checks"),
    "floor-parquet": (floor_parquet, "DuckDB `read_parquet` straight into a table: SHA-256, kept copy, no checks"),
    "ingest-csv": (ingest_csv, "`ingest_files`: read, validate, store the CSV (store thrown away)"),
    "ingest-parquet": (ingest_parquet, "`ingest_files`: read, validate, store the Parquet file (the store kept)"),
    "train": (train, "`api.train`: grouped CV, temporal check, final fit, model registered"),
    "run": (run, f"`api.run_year` {LAST_YEAR}: every pack, scoring with reasons, the three lists, saved"),
    "export": (export, "`api.export_workbooks`: the province's 培育清单 workbook"),
    "report": (report, "`api.report`: the province's HTML report"),
}
PEAK_TARGETS = ("ingest-csv", "ingest-parquet", "run", "export")  # under 2 GB peak RSS (issue 15)


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(results: dict[str, CaseResult], loads: dict[str, float]) -> str:
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}.",
        "",
        "Each step ran once, in the order below, in its own process under `/usr/bin/time -v`. Seconds are",
        "wall-clock (`time.perf_counter`) around the step alone (interpreter start, imports and opening the store",
        "outside); rows per second divide the rows the step reads by them. Process CPU is GNU time's user + system",
        'seconds of the whole process; peak RSS its "Maximum resident set size", in MB of 10^6 bytes. The load',
        "average (1 min) at each step's start says how much other work shared the 2 cores.",
        "",
        "| step | what | rows | seconds | rows/s | process CPU s | peak RSS (MB) | load at start |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for step, result in results.items():
        if step == "data":
            continue
        [measured] = result.runs
        rows = measured.report["rows"]
        lines.append(
            f"| {step} | {STEPS[step][1]} | {rows:,} | {measured.seconds:,.1f} | {rows / measured.seconds:,.0f} "
            f"| {measured.process_cpu_seconds:,.1f} | {measured.peak_rss_mb:,.0f} | {loads[step]:.2f} |"
        )
    floors = {f"ingest-{kind}": results[f"floor-{kind}"].runs[0].seconds for kind in ("csv", "parquet")}
    lines += ["", "### Targets", "", "| target | measured | |", "| --- | ---: | --- |"]
    for step in PEAK_TARGETS:
        peak = results[step].peak_rss_mb
        lines.append(f"| `{step}` under 2 GB peak RSS | {peak:,.0f} MB | {verdict(peak < PEAK_RSS_LIMIT_MB)} |")
    lines += ["", "Beside the floors measured in the same run (no target: the issue's ratio is bench/ingest.py's):"]
    lines.append("")
    for step, floor in floors.items():
        lines.append(f"- `{step}`: {results[step].runs[0].seconds / floor:.2f}× its floor ({floor:,.1f} s)")
    trained = results["train"].runs[0].report
    ran = results["run"].runs[0].report
    lines += [
        "",
        "### What the steps found",
        "",
        f"- training: {trained['rows']:,} labelled filings ({trained['positive']:,} confirmed), grouped CV ROC AUC "
        f"{trained['cv']['roc_auc']:.3f}",
        f"- run {ran['run_id']}: {ran['rows']:,} firms with a {LAST_YEAR} filing; selected "
        + ", ".join(f"{tier} {count:,}" for tier, count in ran["selected"].items()),
        f"- workbook {results['export'].runs[0].report['bytes'] / MB:,.1f} MB, report "
        f"{results['report'].runs[0].report['bytes'] / MB:,.2f} MB",
        "",
        "### Test data",
        "",
        f"`{PARQUET.name}` ({PARQUET.stat().st_size / MB:,.0f} MB) and `{CSV.name}` ({CSV.stat().st_size / MB:,.0f}",
        f"MB) in `bench/data/` (git-ignored): {ENTERPRISES:,} synthetic firms × {FIRST_YEAR}-{LAST_YEAR}, written",
        f"by the project's generator ({CHUNK:,} firms per seed from seed {FIRST_SEED}; a repeated credit code",
        f"dropped), with the expert verdicts of {LABELLED_FIRM_SHARE:.0%} of the firms kept (see the script's",
        f"docstring); the `data` step found or wrote them in {results['data'].runs[0].seconds:,.0f} s. The store",
        f"`{STORE.name}` is made by the `ingest-parquet` step and read by the later ones.",
    ]
    return "\n".join(lines) + "\n"


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    _, args = parse_args(__doc__ or "", STEPS, lambda parser: None)
    if args.case is not None:
        import json

        print(json.dumps(STEPS[args.case][0](STORE)))
        return
    results: dict[str, CaseResult] = {}
    loads: dict[str, float] = {}
    for step in STEPS:
        loads[step] = os.getloadavg()[0]
        done = measure(__file__, step)
        results[step] = CaseResult(step, [done])
        print(f"{step}: {done.seconds:.1f} s, {done.peak_rss_mb:,.0f} MB", file=sys.stderr, flush=True)
    write_section(HEADING, section(results, loads))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

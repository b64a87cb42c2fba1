"""Rules benchmark: the engine's flag rules over 1,000,000 enterprises × 5 years, beside a bare DuckDB scan of the
columns the rules read and a straightforward pandas implementation of the same rules (bench/rules_pandas.py).

`python bench/run.py` builds the test store into bench/data/ once (reused while the generator, the contract and the
store schema are unchanged), runs every case three times, each run in its own process under GNU time
(`/usr/bin/time -v`) so that peak memory is per run, checks that pandas and the engine flag the same firms with the
same counts, and rewrites the rules section of bench/RESULTS.md. `python bench/run.py --case NAME --db PATH --out DIR`
is one such run: it times the case with time.perf_counter, writes what it found into DIR and prints its measurement
as one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import gnu_time, tree_digest  # bench/ingest.py, beside this script

if TYPE_CHECKING:
    import polars as pl

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
HEADING = "## Rules (bench/run.py)"
GNU_TIME = "/usr/bin/time"
ENTERPRISES = 1_000_000
CHUNK = 100_000  # enterprises per call of the generator, each call with the next seed
FIRST_YEAR, LAST_YEAR, FIRST_SEED = 2020, 2024, 1
STORE_PATH = DATA_DIR / f"rules_{ENTERPRISES}x{FIRST_YEAR}-{LAST_YEAR}_seed{FIRST_SEED}.duckdb"
MB = 1_000_000
# Targets (the issue): the engine within 10× of the bare scan, at least 2× faster than pandas, peak RSS under 2 GB.
MAX_SCAN_RATIO = 10.0
MIN_PANDAS_RATIO = 2.0
PEAK_RSS_LIMIT_MB = 2_000  # "under 2 GB", taken in decimal megabytes
# What the store depends on: the generator, the modules it uses, the contract and the store's schema.
STORE_SOURCES = (
    "assess/synthetic",
    "assess/contract.py",
    "assess/uscc.py",
    "assess/paths.py",
    "assess/reference.py",
    "assess/store.py",
    "schemas",
)
# The filing columns the two rules and their counts read; the bare scan reads exactly these.
RULE_COLUMNS = (
    "credit_code",
    "year",
    "city",
    "industry_code",
    "chain",
    "above_scale",
    "main_revenue",
    "revenue",
    "rd_expense",
    "rd_institution",
)
SCAN_SQL = """
SELECT count(*) AS rows, max(credit_code), sum(year), max(city), max(industry_code), max(chain),
       count_if(above_scale), sum(main_revenue), sum(revenue), sum(rd_expense), max(rd_institution)
FROM filings
"""
RESULTS_PREAMBLE = (
    "# Benchmark results\n\nEach benchmark in `bench/` rewrites its own section; see `bench/README.md`.\n"
)


# --- one run (the child process) ----------------------------------------------------------------------------------
# Each case imports what it uses inside its function, so the bare scan's peak RSS includes neither assess nor pandas.


def scan(db: Path, out: Path) -> dict:
    """A plain scan and aggregate of the filing columns the rules read, every year."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        start, cpu = time.perf_counter(), time.process_time()
        con.sql(SCAN_SQL).fetchall()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu_seconds}


def engine(db: Path, out: Path) -> dict:
    """The feature views on the connection, the packs loaded, and every flag rule evaluated for every year."""
    from assess import runs
    from assess.contract import load_contract
    from assess.rules.engine import evaluate_flags
    from assess.rules.packs import load_rules
    from assess.store import Store

    with Store(db, load_contract()) as store:
        start, cpu = time.perf_counter(), time.process_time()
        runs.prepare(store)
        prepared = time.perf_counter()
        result = evaluate_flags(store.con, load_rules(), None)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    result.hits.write_parquet(out / "hits.parquet")
    result.counts.write_parquet(out / "counts.parquet")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "prepare_seconds": prepared - start,
        "code": loaded_code_digest(),
    }


def pandas_rules(db: Path, out: Path) -> dict:
    """The columns loaded from DuckDB into pandas, then the same rules and counts in pandas."""
    import duckdb
    from rules_pandas import evaluate, load

    with duckdb.connect(str(db), read_only=True) as con:
        start, cpu = time.perf_counter(), time.process_time()
        frame = load(con)
        loaded, loaded_cpu = time.perf_counter(), time.process_time()
    hits, counts = evaluate(frame)
    end, end_cpu = time.perf_counter(), time.process_time()
    hits.to_parquet(out / "hits.parquet", index=False)
    counts.to_parquet(out / "counts.parquet", index=False)
    return {
        "seconds": end - loaded,
        "cpu_seconds": end_cpu - loaded_cpu,
        "load_seconds": loaded - start,
        "load_cpu_seconds": loaded_cpu - cpu,
        "total_seconds": end - start,
        "total_cpu_seconds": end_cpu - cpu,
        "code": loaded_code_digest(),
    }


CASES: dict[str, Callable[[Path, Path], dict]] = {"duckdb-scan": scan, "engine": engine, "pandas": pandas_rules}


# --- test data ----------------------------------------------------------------------------------------------------


def ensure_store() -> Path:
    """Build the store with the project's own generator unless it is there already, built from the same generator,
    contract and schema (a stamp beside the file records their digest). Built under a temporary name and renamed, so
    an interrupted build is never reused."""
    stamp = STORE_PATH.with_name(f"{STORE_PATH.name}.generator-sha256")
    digest = tree_digest([PROJECT_DIR / name for name in STORE_SOURCES])
    if STORE_PATH.exists() and stamp.exists() and stamp.read_text() == digest:
        return STORE_PATH
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = STORE_PATH.with_name(f"{STORE_PATH.stem}.partial.duckdb")
    partial.unlink(missing_ok=True)
    print(f"building {STORE_PATH.relative_to(PROJECT_DIR)} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    build_store(partial, digest)
    partial.replace(STORE_PATH)
    stamp.write_text(digest)
    print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return STORE_PATH


def build_store(path: Path, digest: str) -> None:
    """ENTERPRISES firms × every year, inserted straight into `filing_versions` as current versions of one upload.

    The generator draws credit codes unique within a call; a firm of a later call whose code an earlier call has
    already given is dropped, and further calls fill up to ENTERPRISES."""
    import polars as pl

    from assess.contract import load_contract
    from assess.store import Store
    from assess.synthetic.panel import generate_panel

    years = LAST_YEAR - FIRST_YEAR + 1
    with Store(path, load_contract()) as store:
        con = store.con
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE filing_versions)").fetchall())
        columns = ", ".join(
            f"string_split({name}, '、')" if types[name].endswith("[]") else f"CAST({name} AS {types[name]})"
            for name in store.field_names
        )
        upload_id = con.execute(
            """
            INSERT INTO uploads VALUES (nextval('upload_ids'), ?, ?, 0, ?, '{}', '', ?, ?, 0, 0, 0, NULL)
            RETURNING upload_id
            """,
            [f"bench/run.py: {STORE_PATH.name}", digest, dt.datetime.now(), ENTERPRISES * years, ENTERPRISES * years],
        ).fetchall()[0][0]
        seen = pl.Series("credit_code", [], dtype=pl.String)
        seed = FIRST_SEED
        while seen.len() < ENTERPRISES:
            panel = generate_panel(CHUNK, FIRST_YEAR, LAST_YEAR, seed)
            fresh = panel["credit_code"].unique(maintain_order=True)
            fresh = fresh.filter(~fresh.is_in(seen.implode())).head(ENTERPRISES - seen.len())
            panel = panel.filter(pl.col("credit_code").is_in(fresh.implode()))
            con.register("chunk", panel.with_row_index("seq", offset=seen.len() * years).to_arrow())
            con.execute(
                f"""
                INSERT INTO filing_versions
                SELECT {upload_id}, seq, 'bench', seq + 2, {columns}, NULL, TRUE FROM chunk
                """
            )
            con.unregister("chunk")
            print(f"  seed {seed}: {fresh.len():,} new firms", file=sys.stderr, flush=True)
            seen = pl.concat([seen, fresh])
            seed += 1
        con.execute("CHECKPOINT")


def loaded_code_digest() -> str:
    """SHA-256 of the `assess` modules this process has loaded, the rules, the contract and the pandas baseline."""
    loaded = [module.__file__ for name, module in sys.modules.items() if name.split(".")[0] == "assess"]
    fixed = [PROJECT_DIR / "rules", PROJECT_DIR / "schemas", BENCH_DIR / "rules_pandas.py"]
    return tree_digest([*(Path(file) for file in loaded if file is not None), *fixed])


# --- measuring (the parent process) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # time.perf_counter around the measured part alone
    cpu_seconds: float  # time.process_time around the measured part: every thread of the process
    process_cpu_seconds: float  # GNU time: user + system time of the whole process
    peak_rss_kb: int  # GNU time: maximum resident set size of the whole process
    report: dict  # what the case printed


def measure(case: str, db: Path, out: Path) -> Run:
    """One run of a case in its own process under /usr/bin/time -v; what it found goes to `out`."""
    with tempfile.NamedTemporaryFile("r", prefix="assess-bench-time-", suffix=".txt") as stats:
        command = [GNU_TIME, "-v", "-o", stats.name, sys.executable, str(Path(__file__).resolve())]
        completed = subprocess.run(
            [*command, "--case", case, "--db", str(db), "--out", str(out)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise SystemExit(f"case {case} failed:\n{completed.stderr}")
        printed = stats.read()
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(
        seconds=report["seconds"],
        cpu_seconds=report["cpu_seconds"],
        process_cpu_seconds=float(gnu_time(printed, "User time (seconds)"))
        + float(gnu_time(printed, "System time (seconds)")),
        peak_rss_kb=int(gnu_time(printed, "Maximum resident set size (kbytes)")),
        report=report,
    )


def found(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The flagged firms and the counts a run wrote, in one order."""
    import polars as pl

    hits = pl.read_parquet(out / "hits.parquet").sort("rule_id", "credit_code", "year")
    counts = pl.read_parquet(out / "counts.parquet").sort("rule_id", "year", "level", "key", nulls_last=True)
    return hits, counts


def check_same(case: str, out: Path, reference: Path) -> None:
    """Stop unless the run flagged the same (credit_code, year, rule) as the reference run, with the same identity
    columns and messages, and counted the same populations and flagged firms at every level."""
    import polars as pl

    hits, counts = found(out)
    expected_hits, expected_counts = found(reference)
    keys = ["rule_id", "credit_code", "year"]
    if not hits.select(keys).equals(expected_hits.select(keys)):
        extra = hits.select(keys).join(expected_hits.select(keys), on=keys, how="anti")
        missing = expected_hits.select(keys).join(hits.select(keys), on=keys, how="anti")
        raise SystemExit(f"{case} flags other firms than the engine:\nonly {case}:\n{extra}\nonly engine:\n{missing}")
    if not hits.equals(expected_hits):
        differ = hits.with_row_index().join(expected_hits, on=keys, suffix="_engine")
        raise SystemExit(f"{case} flags the same firms as the engine but describes them otherwise:\n{differ}")
    province = pl.col("level") == "province"
    if not counts.filter(province).equals(expected_counts.filter(province)):
        raise SystemExit(
            f"{case} counts the province otherwise:\n{counts.filter(province)}\nengine:\n"
            f"{expected_counts.filter(province)}"
        )
    if not counts.equals(expected_counts):
        differ = counts.join(expected_counts, on=["rule_id", "year", "level", "key"], how="full", nulls_equal=True)
        raise SystemExit(f"{case} counts cities or directions otherwise:\n{differ}")


@dataclass(frozen=True)
class CaseResult:
    case: str
    runs: list[Run]

    def median(self, field: str = "seconds") -> float:
        return statistics.median(r.report[field] for r in self.runs)

    def fastest(self, field: str = "seconds") -> float:
        return min(r.report[field] for r in self.runs)

    @property
    def process_cpu_median(self) -> float:
        return statistics.median(r.process_cpu_seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_kb for r in self.runs) * 1024 / MB

    @property
    def code(self) -> str:
        digests = {r.report["code"] for r in self.runs}
        if len(digests) > 1:
            raise SystemExit(f"The code under test changed between the {self.case} runs: nothing written, run again.")
        return digests.pop()


def run_cases(db: Path, repeats: int) -> tuple[dict[str, CaseResult], pl.DataFrame]:
    """The cases alternate, so that all see the same machine state; every engine and pandas run is checked against
    the first engine run. Returns the results and the engine's counts."""
    runs: dict[str, list[Run]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="assess-bench-rules-") as tmp:
        reference = Path(tmp) / "engine-1"
        for i in range(1, repeats + 1):
            for case, done in runs.items():
                out = Path(tmp) / f"{case}-{i}"
                out.mkdir()
                run = measure(case, db, out)
                if case != "duckdb-scan":
                    check_same(case, out, reference)
                done.append(run)
                rss = run.peak_rss_kb * 1024 / MB
                print(
                    f"{case} run {i}/{repeats}: {run.seconds:.2f} s, CPU {run.cpu_seconds:.2f} s, {rss:,.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        _, counts = found(reference)
    return {case: CaseResult(case, done) for case, done in runs.items()}, counts


def describe_store(db: Path) -> dict:
    """What the test store holds, for RESULTS.md."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows, firms, years, no_flag, declared = con.sql(
            """
            SELECT count(*), count(DISTINCT credit_code), count(DISTINCT year), count(*) - count(above_scale),
                   count(chain)
            FROM filings
            """
        ).fetchall()[0]
    return {
        "rows": rows,
        "firms": firms,
        "years": years,
        "no_flag": no_flag,
        "declared": declared,
        "size_mb": db.stat().st_size / MB,
    }


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    assert memory is not None
    ram_gib = int(memory.group(1)) / 1024**2
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("duckdb", "pandas", "pyarrow", "polars"))
    cpu = f" ({model.group(1).strip()})" if model else ""
    return (
        f"{os.cpu_count()} cores{cpu}, {ram_gib:.1f} GiB RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, {versions}"
    )


def invocation() -> str:
    python = Path(sys.executable)
    if python.is_relative_to(PROJECT_DIR):
        python = python.relative_to(PROJECT_DIR)
    return shlex.join([str(python), str(Path(__file__).resolve().relative_to(PROJECT_DIR)), *sys.argv[1:]])


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def prose(text: str, indent: str = "") -> list[str]:
    """A paragraph or list item wrapped to the width of the other sections."""
    return textwrap.wrap(
        text, width=118, initial_indent=indent, subsequent_indent=" " * len(indent), break_on_hyphens=False
    )


def section(results: dict[str, CaseResult], counts: pl.DataFrame, store: dict, repeats: int, load: float) -> str:
    import polars as pl

    scan, engine, pandas = results["duckdb-scan"], results["engine"], results["pandas"]
    scan_ratio = engine.median() / scan.median()
    fastest_scan_ratio = engine.fastest() / scan.fastest()
    pandas_ratio = pandas.median() / engine.median()
    fastest_pandas_ratio = pandas.fastest() / engine.fastest()
    total_ratio = pandas.median("total_seconds") / engine.median()
    # A verdict the fastest runs would reverse rests on run-to-run variation, and the text says so.
    narrow = [
        name
        for name, median_met, fastest_met in (
            ("bare-scan", scan_ratio <= MAX_SCAN_RATIO, fastest_scan_ratio <= MAX_SCAN_RATIO),
            ("pandas", pandas_ratio >= MIN_PANDAS_RATIO, fastest_pandas_ratio >= MIN_PANDAS_RATIO),
        )
        if median_met != fastest_met
    ]

    def row(label: str, result: CaseResult, field: str, cpu_field: str, process: bool) -> str:
        # One pandas process measures both its load and its rules: its whole-process figures are given once.
        whole = f"{result.process_cpu_median:.2f} | {result.peak_rss_mb:,.0f}" if process else "″ | ″"
        return (
            f"| {label} | {result.median(field):.2f} | {result.fastest(field):.2f} | {result.median(cpu_field):.2f} "
            f"| {result.median(field) / scan.median():.1f}× | {whole} |"
        )

    times = "once" if repeats == 1 else f"{repeats} times"
    lines = [
        HEADING,
        "",
        f"Command (in the project directory): `{invocation()}`, run {dt.date.today().isoformat()}.",
        "",
        *prose(
            f"Machine: {machine()}. Load average when the runs began: {load:.2f} (other work on the machine shares "
            "its cores; the cases alternate, so that each sees the same conditions)."
        ),
        "",
        *prose(
            "Code measured: the `assess` modules the engine loads, `rules/` and `schemas/`, SHA-256 "
            f"`{engine.code[:16]}` (`loaded_code_digest` in the script), the same in every engine run."
        ),
        "",
        *prose(
            f"Each case ran {times}, each run in its own process under `/usr/bin/time -v`, on the test store below "
            f"({store['rows']:,} current filings, every year). Seconds are wall-clock (`time.perf_counter`) around "
            "the measured part alone; CPU s is `time.process_time` over the same part (all threads: above the "
            "seconds where DuckDB or Arrow use both cores). Whole-process CPU is GNU time's user + system seconds "
            'and peak RSS its "Maximum resident set size", interpreter, imports and opening the database '
            "included, the highest of the runs, in MB of 10^6 bytes. Medians, and the fastest run."
        ),
        "",
        *prose(
            "**bare DuckDB scan**: on a read-only connection, one plain scan and aggregate of exactly the filing "
            f"columns the rules read ({', '.join(RULE_COLUMNS)}), every year, from the `filings` view: "
            f"`{' '.join(SCAN_SQL.split())}`.",
            "- ",
        ),
        *prose(
            "**engine**: on an open `Store`, `runs.prepare(store)` (reference tables and feature views; median "
            f"{engine.median('prepare_seconds'):.2f} s) then `evaluate_flags(store.con, load_rules(), None)`: both "
            "flag rules for every year, giving the flagged firms with their messages and the counts by province, "
            "city and direction as polars frames.",
            "- ",
        ),
        *prose(
            "**pandas** (`bench/rules_pandas.py`): *load* reads the columns the rules and their output need from "
            "the `filings` view through Arrow into pandas (amounts cast to DOUBLE in the query); *rules* evaluates "
            "the same two rules on that DataFrame with the same reference files, and builds the same table of "
            "flagged firms with messages and the same counts. Both run in one process, which the whole-process "
            "columns measure once.",
            "- ",
        ),
        "",
        "| measured | median s | min s | CPU s | × bare scan | whole-process CPU s | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("bare DuckDB scan", scan, "seconds", "cpu_seconds", process=True),
        row("engine: prepare + evaluate_flags", engine, "seconds", "cpu_seconds", process=True),
        row("pandas: rules on the loaded DataFrame", pandas, "seconds", "cpu_seconds", process=False),
        row("pandas: load from DuckDB", pandas, "load_seconds", "load_cpu_seconds", process=False),
        row("pandas: load + rules", pandas, "total_seconds", "total_cpu_seconds", process=True),
        "",
        "### Targets",
        "",
        "The verdicts use the medians; the ratio of the fastest runs is given beside them.",
        "",
        "| target | measured (medians) | fastest runs | |",
        "| --- | ---: | ---: | --- |",
        f"| engine within {MAX_SCAN_RATIO:g}× of the bare DuckDB scan | {scan_ratio:.2f}× | {fastest_scan_ratio:.2f}× "
        f"| {verdict(scan_ratio <= MAX_SCAN_RATIO)} |",
        f"| engine at least {MIN_PANDAS_RATIO:g}× faster than pandas (its rules on the loaded DataFrame) "
        f"| {pandas_ratio:.2f}× | {fastest_pandas_ratio:.2f}× | {verdict(pandas_ratio >= MIN_PANDAS_RATIO)} |",
        f"| engine peak RSS under 2 GB | {engine.peak_rss_mb:,.0f} MB | | "
        f"{verdict(engine.peak_rss_mb < PEAK_RSS_LIMIT_MB)} |",
        "",
        f"Counting pandas' load as well, the engine is {total_ratio:.2f}× faster.",
        *(
            [
                "",
                *prose(
                    f"The {' and the '.join(narrow)} verdict{'s' if len(narrow) > 1 else ''} would be the other way "
                    "round on the fastest runs: the margin is within the variation from run to run."
                ),
            ]
            if narrow
            else []
        ),
        "",
        "### What the rules found",
        "",
        *prose(
            "Every engine and pandas run was checked against the first engine run (the script stops otherwise): "
            "the same (credit_code, year, rule) flagged, with the same name, city, direction, chain and message, "
            "and the same population and flagged counts for the province, every city and every direction in "
            "every year. All agreed. Province counts:"
        ),
        "",
        "| rule | year | population | flagged | share |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    province = counts.filter(pl.col("level") == "province").sort("rule_id", "year")
    for rule_id, year, population, hits in province.select("rule_id", "year", "population", "hits").iter_rows():
        share = f"{hits / population:.1%}" if population else "–"
        lines.append(f"| {rule_id} | {year} | {population:,} | {hits:,} | {share} |")
    lines += [
        "",
        "### Test data",
        "",
        *prose(
            f"`bench/data/{STORE_PATH.name}` ({store['size_mb']:,.0f} MB; git-ignored, reused while the generator, "
            "the contract and the store schema are unchanged: a `.generator-sha256` stamp beside it records them): "
            f"{store['firms']:,} enterprises × {store['years']} years = {store['rows']:,} filings, written by the "
            f"project's generator in calls of `generate_panel({CHUNK}, {FIRST_YEAR}, {LAST_YEAR}, seed)` with seeds "
            f"{FIRST_SEED}, {FIRST_SEED + 1} and so on; a firm whose credit code an earlier call already gave is "
            "dropped and a further call fills up. The rows go straight into `filing_versions` as the current "
            "versions of one upload (cast to the store's types; no ingest). The generator declares no chain "
            f"({store['declared']:,} filings declare one), so every firm is placed by its industry code; "
            f"{store['no_flag']:,} filings leave the above-scale flag empty, so the revenue test decides for them."
        ),
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it), keeping every other section as it is."""
    existing = RESULTS_PATH.read_text(encoding="utf-8") if RESULTS_PATH.exists() else RESULTS_PREAMBLE
    preamble, *sections = re.split(r"(?m)^(?=## )", existing)
    ours = [s.splitlines()[0] == HEADING for s in sections]
    sections = [text if mine else s for s, mine in zip(sections, ours, strict=True)]
    if not any(ours):
        sections.append(text)
    parts = [preamble.rstrip("\n") + "\n", *(s.rstrip("\n") + "\n" for s in sections)]
    RESULTS_PATH.write_text("\n".join(parts), encoding="utf-8")


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(CASES), help="run one case once and print its measurement as JSON")
    parser.add_argument("--db", type=Path, default=STORE_PATH, help="the store the case reads (with --case)")
    parser.add_argument("--out", type=Path, help="where the case writes what it found (with --case)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case (default 3)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.case is not None:
        if args.out is None:
            parser.error("--case needs --out")
        if not args.db.exists():
            parser.error(f"no store at {args.db}: run without --case once to build it")
        args.out.mkdir(parents=True, exist_ok=True)
        print(json.dumps(CASES[args.case](args.db.resolve(), args.out.resolve())))
        return
    db = ensure_store()
    load = os.getloadavg()[0]
    results, counts = run_cases(db, args.repeats)
    write_section(section(results, counts, describe_store(db), args.repeats, load))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

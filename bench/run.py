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
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from common import (  # bench/common.py, beside this script
    BENCH_DIR,
    DATA_DIR,
    MB,
    PEAK_RSS_LIMIT_MB,
    PROJECT_DIR,
    RESULTS_PATH,
    RULE_COLUMNS,
    CaseResult,
    Run,
    assess_digest,
    ensure_built,
    machine,
    measure,
    parse_args,
    section_head,
    verdict,
    write_section,
)

if TYPE_CHECKING:
    import polars as pl

HEADING = "## Rules (bench/run.py)"
ENTERPRISES = 1_000_000
CHUNK = 100_000  # enterprises per call of the generator, each call with the next seed
FIRST_YEAR, LAST_YEAR, FIRST_SEED = 2020, 2024, 1
STORE_PATH = DATA_DIR / f"rules_{ENTERPRISES}x{FIRST_YEAR}-{LAST_YEAR}_seed{FIRST_SEED}.duckdb"
# Targets (the issue): the engine within 10× of the bare scan, at least 2× faster than pandas, peak RSS under 2 GB
# (PEAK_RSS_LIMIT_MB).
MAX_SCAN_RATIO = 10.0
MIN_PANDAS_RATIO = 2.0
# What the store depends on: the generator, the modules it uses, the contract and the store's schema.
STORE_SOURCES = (
    "assess/synthetic",
    "assess/contract.py",
    "assess/uscc.py",
    "assess/resources.py",
    "assess/reference.py",
    "assess/store",
    "schemas",
)
# The bare scan reads exactly the filing columns the rules read (RULE_COLUMNS).
SCAN_SQL = """
SELECT count(*) AS rows, max(credit_code), sum(year), max(city), max(industry_code), max(chain),
       count_if(above_scale), sum(main_revenue), sum(revenue), sum(rd_expense), max(rd_institution)
FROM filings
"""
PACKAGES = ("duckdb", "pandas", "pyarrow", "polars")  # whose versions RESULTS.md gives

TARGET_PACKS = ("yiqingling", "yitisheng")  # the packs of the two rules the pandas baseline writes out


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
    """The feature views on the connection, the 一清零 and 一提升 packs loaded, and their rules evaluated for every
    year (the other flag packs, such as the 三高一核心 criteria, have no counterpart in the pandas baseline)."""
    import dataclasses

    from assess.contract import load_contract
    from assess.resources import PACKAGED_RULES
    from assess.rules.engine import evaluate_flags
    from assess.run.config import load_config
    from assess.run.context import install_features
    from assess.store import Store

    with Store(db, load_contract()) as store:
        start, cpu = time.perf_counter(), time.process_time()
        config = load_config(PACKAGED_RULES)
        install_features(store, config)
        prepared = time.perf_counter()
        rules = config.rules
        targets = dataclasses.replace(rules, packs=tuple(p for p in rules.packs if p.id in TARGET_PACKS))
        result = evaluate_flags(store.con, targets, None)
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
    return ensure_built(STORE_PATH, STORE_SOURCES, "building", build_store)


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
            INSERT INTO uploads (upload_id, file_name, sha256, size_bytes, uploaded_at, options, stored_file,
                                 rows_read, accepted, rejected, skipped, warnings)
            VALUES (nextval('upload_ids'), ?, ?, 0, ?, '{}', '', ?, ?, 0, 0, 0)
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
    """SHA-256 of the `assess` modules this process has loaded, the rules, the contract and the pandas baseline (with
    bench/common.py, which holds the columns it loads)."""
    pandas_baseline = [BENCH_DIR / "rules_pandas.py", BENCH_DIR / "common.py"]
    return assess_digest([PROJECT_DIR / "rules", PROJECT_DIR / "schemas", *pandas_baseline])


# --- measuring (the parent process) -------------------------------------------------------------------------------


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
        raise SystemExit(f"{case} counts cities, directions or chains otherwise:\n{differ}")


class RulesResult(CaseResult):
    @property
    def code(self) -> str:
        digests = {r.report["code"] for r in self.runs}
        if len(digests) > 1:
            raise SystemExit(f"The code under test changed between the {self.case} runs: nothing written, run again.")
        return digests.pop()


def run_cases(db: Path, repeats: int) -> tuple[dict[str, RulesResult], pl.DataFrame]:
    """The cases alternate, so that all see the same machine state; every engine and pandas run is checked against
    the first engine run. Returns the results and the engine's counts."""
    runs: dict[str, list[Run]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="assess-bench-rules-") as tmp:
        reference = Path(tmp) / "engine-1"
        for i in range(1, repeats + 1):
            for case, done in runs.items():
                out = Path(tmp) / f"{case}-{i}"
                out.mkdir()
                run = measure(__file__, case, "--db", str(db), "--out", str(out))
                if case != "duckdb-scan":
                    check_same(case, out, reference)
                done.append(run)
                print(
                    f"{case} run {i}/{repeats}: {run.seconds:.2f} s, CPU {run.report['cpu_seconds']:.2f} s, "
                    f"{run.peak_rss_mb:,.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        _, counts = found(reference)
    return {case: RulesResult(case, done) for case, done in runs.items()}, counts


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


def prose(text: str, indent: str = "") -> list[str]:
    """A paragraph or list item wrapped to the width of the other sections."""
    return textwrap.wrap(
        text, width=118, initial_indent=indent, subsequent_indent=" " * len(indent), break_on_hyphens=False
    )


def section(results: dict[str, RulesResult], counts: pl.DataFrame, store: dict, repeats: int, load: float) -> str:
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

    def row(label: str, result: RulesResult, field: str, cpu_field: str, process: bool) -> str:
        # One pandas process measures both its load and its rules: its whole-process figures are given once.
        whole = f"{result.process_cpu_median:.2f} | {result.peak_rss_mb:,.0f}" if process else "″ | ″"
        return (
            f"| {label} | {result.median(field):.2f} | {result.fastest(field):.2f} | {result.median(cpu_field):.2f} "
            f"| {result.median(field) / scan.median():.1f}× | {whole} |"
        )

    times = "once" if repeats == 1 else f"{repeats} times"
    lines = [
        *section_head(HEADING, __file__),
        *prose(
            f"Machine: {machine(PACKAGES)}. Load average when the runs began: {load:.2f} (other work on the machine "
            "shares its cores; the cases alternate, so that each sees the same conditions)."
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
            "**engine**: on an open `Store`, `load_config` and `install_features` (packs, reference tables and "
            "feature views; median "
            f"{engine.median('prepare_seconds'):.2f} s) then `evaluate_flags` with the `yiqingling` and "
            "`yitisheng` packs, year `None`: their two flag rules for every year, giving the "
            "flagged firms with their messages and the counts by province, city, direction, chain and city and "
            "chain as polars frames.",
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
            "and the same population and flagged counts for the province, every city, direction, chain and city "
            "and chain in every year. All agreed. Province counts:"
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


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", type=Path, default=STORE_PATH, help="the store the case reads (with --case)")
        parser.add_argument("--out", type=Path, help="where the case writes what it found (with --case)")

    parser, args = parse_args(__doc__, CASES, add_arguments)
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
    write_section(HEADING, section(results, counts, describe_store(db), args.repeats, load))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ingest import gnu_time, tree_digest  # bench/ingest.py, beside this script

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
        rows = con.sql(SCAN_SQL).fetchall()[0][0]
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows}


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
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "prepare_seconds": prepared - start}


def pandas_rules(db: Path, out: Path) -> dict:
    """The columns loaded from DuckDB into pandas, then the same rules and counts in pandas."""
    import duckdb
    from rules_pandas import evaluate, load

    with duckdb.connect(str(db), read_only=True) as con:
        start, cpu = time.perf_counter(), time.process_time()
        frame = load(con)
        loaded, loaded_cpu = time.perf_counter(), time.process_time()
    hits, counts = evaluate(frame)
    seconds, cpu_seconds = time.perf_counter() - loaded, time.process_time() - loaded_cpu
    hits.to_parquet(out / "hits.parquet", index=False)
    counts.to_parquet(out / "counts.parquet", index=False)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "load_seconds": loaded - start,
        "load_cpu_seconds": loaded_cpu - cpu,
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

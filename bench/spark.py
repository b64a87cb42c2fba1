"""DuckDB against Spark: the run of a year on the embedded engine beside the same run on Spark in local mode, for
several firm counts × 5 years, and from the measurements a stated model of the firm count at which a cluster pays off.

`python bench/spark.py` makes, for each firm count N (`--firms`; 100,000, 300,000 and 1,000,000 by default), a store
of the first N firms of bench/national.py's panel (its Parquet file, generated there if absent, filtered to the first
N credit codes in file order), ingested with `ingest_files` and the classifier trained with `api.train`: setup, each
step measured in its own process and recorded, kept in bench/data/ and reused while its sources are unchanged. Then,
on a fresh copy of that store, each step in its own process under GNU time (`/usr/bin/time -v`), in this order:

- `duckdb-run`: `api.run_year` of the last year (every pack, scoring with reasons, the three lists, stored);
- `spark-export`: `api.export_parquet` of every year (`assess export-parquet`), the input Spark reads;
- `spark-run`: `api.run_on_spark` (`assess run --engine spark`, `--master local[2]` by default), the start of the
  Spark session timed apart from the run;
- `spark-import`: `api.import_run` of the Spark run's folder into the same copy (`assess import-run`);

then `agree` compares the two runs in that copy (every flag, count, rubric result, score to 1e-9, list entry, funnel
and the headline figures) and the script stops if they differ. It rewrites its own section of bench/RESULTS.md, with
straight-line fits of each step's seconds against N and, from them, the firm count at which a cluster of executors
would beat the one machine. `python bench/spark.py --case NAME --firms N --work DIR` is one step, printing its
measurement as one JSON line.

Spark's driver JVM, its Python workers and the Python driver are separate processes, and GNU time's "maximum resident
set size" is that of the step's process and the children it waited for, which the JVM is not: so each step also
samples the RSS of its whole process tree every SAMPLE_SECONDS and reports the largest process and the peak of their
sum.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PROJECT_DIR,
    RESULTS_PATH,
    Run,
    ensure_built,
    machine,
    measure,
    parse_args,
    section_head,
    verdict,
    write_section,
)
from ingest import GENERATOR_SOURCES  # bench/ingest.py: what the national panel is generated from
from national import ENTERPRISES as NATIONAL_FIRMS  # bench/national.py: the national panel
from national import FIRST_YEAR, LAST_YEAR, ingest_file
from national import PARQUET as NATIONAL_PARQUET
from national import generate as generate_national
from national import train as train_store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

HEADING = "## DuckDB against Spark (bench/spark.py)"
YEAR = LAST_YEAR
FIRMS = (100_000, 300_000, 1_000_000)
TARGET_FIRMS = 1_000_000  # the side-by-side comparison
MASTER = "local[2]"
DRIVER_MEMORY = "3g"  # spark.driver.memory: in local mode the JVM's heap, which the executors' tasks share
# Spark settings of the benchmark beside the driver's memory: no web UI (several Spark sessions may share the
# machine), and every job and stage kept in the status store, so that all of a run's stages are counted.
SPARK_CONF = {"spark.ui.enabled": "false", "spark.ui.retainedJobs": "100000", "spark.ui.retainedStages": "100000"}
CLUSTERS = ((4, 4), (16, 4))  # executors × cores each, for the model
SAMPLE_SECONDS = 0.2  # how often a step samples its process tree
TOLERANCE = 1e-9  # for model scores and list values, as the golden test (tests/test_spark_golden.py)
NATIONAL_STAMP = NATIONAL_PARQUET.with_name(f"{NATIONAL_PARQUET.name}.generator-sha256")
# What a store depends on: the national panel (its stamp), the generator and contract, and every part of `assess`
# that ingest, training and runs load (the faces and the Spark engine aside), with the rules.
FACES = ("cli", "web", "report", "access", "engines")
STORE_SOURCES = tuple(
    dict.fromkeys(
        [
            *GENERATOR_SOURCES,
            *sorted(f"assess/{p.name}" for p in (PROJECT_DIR / "assess").iterdir() if p.name not in FACES),
            "rules",
            str(NATIONAL_STAMP.relative_to(PROJECT_DIR)),
        ]
    )
)
PACKAGES = ("duckdb", "polars", "pyarrow", "pyspark", "scikit-learn")


def store_path(firms: int) -> Path:
    return DATA_DIR / f"spark_{firms}x{FIRST_YEAR}-{LAST_YEAR}.duckdb"


def build_record(firms: int) -> Path:
    store = store_path(firms)
    return store.with_name(f"{store.name}.build.json")


# --- one step (the child process) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What a step is given: the firm count, the folder the steps of that count share, and Spark's settings."""

    firms: int
    work: Path
    master: str
    driver_memory: str

    @property
    def db(self) -> Path:
        return self.work / "assess.duckdb"

    @property
    def panel(self) -> Path:
        return self.work / "panel.parquet"

    @property
    def export(self) -> Path:
        return self.work / "export"

    @property
    def run(self) -> Path:
        return self.work / "run"

    @property
    def spark_conf(self) -> Path:
        return self.work / "spark.yaml"


class ProcessTree:
    """This process and its descendants, sampled every SAMPLE_SECONDS in a thread of its own (reading /proc): the
    peak of their summed RSS and what each kind of process held at that moment, the largest single process, and
    the CPU seconds of every kind of process (each process's up to its last sample)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self.at_peak: dict[str, int] = {}
        self.largest: tuple[int, str] = (0, "")
        self._cpu_ticks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ProcessTree:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        self._sample()
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()
        self._sample()

    def _sample(self) -> None:
        processes = _processes()
        kinds: dict[str, int] = {}
        for pid in _descendants(os.getpid(), processes):
            _, name, rss_kb, ticks = processes[pid]
            kind = "driver" if pid == os.getpid() else "JVM" if name == "java" else "workers"
            kinds[kind] = kinds.get(kind, 0) + rss_kb
            self._cpu_ticks[pid] = kind, ticks
            self.largest = max(self.largest, (rss_kb, kind))
        if sum(kinds.values()) > self.peak_kb:
            self.peak_kb, self.at_peak = sum(kinds.values()), kinds

    def report(self) -> dict:
        cpu: dict[str, float] = {}
        for kind, ticks in self._cpu_ticks.values():
            cpu[kind] = cpu.get(kind, 0) + ticks / os.sysconf("SC_CLK_TCK")
        return {
            "tree_peak_kb": self.peak_kb,
            "tree_at_peak_kb": self.at_peak,
            "largest_kb": self.largest[0],
            "largest": self.largest[1],
            "tree_cpu_seconds": sum(cpu.values()),
            "tree_cpu_by_kind": cpu,
        }


def _processes() -> dict[int, tuple[int, str, int, int]]:
    """Every process: pid -> (parent pid, name, RSS in kB, user + system CPU in clock ticks)."""
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended since the listing
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()  # from the state, the third field of proc(5), on
        found[int(entry)] = (int(fields[1]), name, int(fields[21]) * page_kb, int(fields[11]) + int(fields[12]))
    return found


def _descendants(root: int, processes: dict[int, tuple[int, str, int, int]]) -> Iterator[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in processes.items():
        children.setdefault(parent, []).append(pid)
    pending = [root] if root in processes else []
    while pending:
        pid = pending.pop()
        yield pid
        pending += children.get(pid, [])


def subset(step: Step) -> dict:
    """The first `firms` credit codes of the national panel in file order, all their filings, as Parquet."""
    import polars as pl

    from assess.contract import load_contract

    code = load_contract().field("credit_code").header_with_unit
    start = time.perf_counter()
    national = pl.scan_parquet(NATIONAL_PARQUET)
    firms = national.select(code).unique(maintain_order=True).head(step.firms).collect()[code]
    if firms.len() < step.firms:
        raise SystemExit(f"the national panel has {firms.len():,} firms, fewer than {step.firms:,}")
    national.filter(pl.col(code).is_in(firms.implode())).sink_parquet(step.panel)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": pl.scan_parquet(step.panel).select(pl.len()).collect().item()}


def ingest(step: Step) -> dict:
    return ingest_file(step.panel, step.db)


def train(step: Step) -> dict:
    return train_store(step.db)


def duckdb_run(step: Step) -> dict:
    from assess import api

    with ProcessTree() as tree, api.open_store(step.db) as store:
        start = time.perf_counter()
        done = api.run_year(store, YEAR)
        seconds = time.perf_counter() - start
        store_mb = store.contract.memory.store_mb
    selected = {tier: frame.height for tier, frame in done.lists.items()}
    return {"seconds": seconds, "run_id": done.run.run_id, "selected": selected, "store_mb": store_mb, **tree.report()}


def spark_export(step: Step) -> dict:
    from assess import api

    with ProcessTree() as tree, api.open_store(step.db) as store:
        start = time.perf_counter()
        api.export_parquet(store, step.export)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, **_folder_size(step.export), **tree.report()}


def spark_run(step: Step) -> dict:
    """The Spark session started from the settings file (timed apart), then the run: `api.run_on_spark` finds the
    session started and uses it, as it does within one `assess run --engine spark`."""
    import resource

    import pyspark.sql  # noqa: F401  (imported before the clock starts, as the DuckDB step's modules are)

    from assess import api
    from assess.engines.spark import session

    conf = {"spark.driver.memory": step.driver_memory, **SPARK_CONF}
    step.spark_conf.write_text("".join(f"{key}: {value}\n" for key, value in conf.items()), encoding="utf-8")
    with ProcessTree() as tree:
        start = time.perf_counter()
        spark = session.start(session.settings(step.spark_conf, step.master))
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF)
        done = api.run_on_spark(step.export, YEAR, step.run, spark_conf=step.spark_conf, master=step.master)
        after = resource.getrusage(resource.RUSAGE_SELF)
        seconds = time.perf_counter() - started
        work = _stages(spark)
        spark.stop()
    return {
        "seconds": seconds,
        "session_seconds": started - start,
        "driver_cpu_seconds": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "settings": done.manifest["engine"]["settings"],
        "spark": done.manifest["engine"]["version"],
        **work,
        **_folder_size(step.run),
        **tree.report(),
    }


def _stages(spark: SparkSession) -> dict:
    """The session's jobs; the stages that ran (a stage whose output Spark kept from an earlier job is skipped), of
    them those that wrote a shuffle, the bytes they wrote, and the tasks. From Spark's status store through py4j:
    the public StatusTracker does not say what a stage wrote."""
    context = spark.sparkContext
    gateway = context._gateway
    assert gateway is not None
    listed = (
        context._jsc.sc()
        .statusStore()
        .stageList(None, False, False, gateway.new_array(gateway.jvm.double, 0), gateway.jvm.java.util.ArrayList())
    )
    ran = [stage for stage in map(listed.apply, range(listed.size())) if stage.status().toString() == "COMPLETE"]
    shuffles = [stage.shuffleWriteBytes() for stage in ran if stage.shuffleWriteBytes() > 0]
    return {
        "jobs": len(context.statusTracker().getJobIdsForGroup(None)),
        "stages": len(ran),
        "shuffle_stages": len(shuffles),
        "shuffle_bytes": sum(shuffles),
        "tasks": sum(stage.numCompleteTasks() for stage in ran),
    }


def spark_import(step: Step) -> dict:
    from assess import api

    with ProcessTree() as tree, api.open_store(step.db) as store:
        start = time.perf_counter()
        done = api.import_run(store, step.run)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "run_id": done.run.run_id, **tree.report()}


def _folder_size(folder: Path) -> dict:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}


# The rows of a run compared exactly between the two runs (their columns, {run} standing for the run's id).
EXACT = {
    "flags": "SELECT rule_id, credit_code, year, message, verdict, missing FROM rule_hits WHERE run_id = {run}",
    "counts": "SELECT rule_id, year, level, key, population, hits, unknown FROM rule_counts WHERE run_id = {run}",
    "rubric results": "SELECT pack_id, credit_code, verdict, missing, result FROM rubric_results WHERE run_id = {run}",
    "scores": "SELECT credit_code, scored, score IS NULL, score_source, stage, rd_share, growth, market_share, "
    'core_tech, "index" IS NULL FROM scores WHERE run_id = {run}',
    "list entries": "SELECT list_id, credit_code, status, rank, position, gates, lacks, value IS NULL "
    "FROM tier_results WHERE run_id = {run}",
    "funnels": "SELECT list_id, city, step, kind, label, firms FROM tier_funnels WHERE run_id = {run}",
}
# The numbers compared to TOLERANCE (what -> table, the key its rows are joined on, column): the largest difference.
CLOSE = {
    "score": ("scores", "credit_code", "score"),
    "index": ("scores", "credit_code", '"index"'),
    "list value": ("tier_results", "list_id, credit_code", "value"),
}


def agree(step: Step) -> dict:
    """The DuckDB run and the Spark run imported into the same store, compared: the rows that only one of them has,
    per kind of result; the largest difference of the numbers compared to TOLERANCE; the headline figures; and the
    sums of the scores and the entries of each list, for RESULTS.md."""
    from assess import api

    start = time.perf_counter()
    with api.open_store(step.db) as store:
        con = store.con
        found = con.execute(
            "SELECT run_id, json_extract_string(manifest, '$.engine.name') FROM runs WHERE year = ? ORDER BY run_id",
            [YEAR],
        ).fetchall()
        if len(found) != 2 or found[1][1] != "spark":
            raise SystemExit(f"expected the DuckDB run then the imported Spark run of {YEAR}, found {found}")
        duckdb, spark = (run_id for run_id, _ in found)
        only = {
            what: con.sql(
                f"SELECT count(*) FROM ((({query.format(run=duckdb)}) EXCEPT ALL ({query.format(run=spark)})) "
                f"UNION ALL (({query.format(run=spark)}) EXCEPT ALL ({query.format(run=duckdb)})))"
            ).fetchall()[0][0]
            for what, query in EXACT.items()
        }
        largest = {
            what: con.execute(
                f"SELECT coalesce(max(abs(d.{column} - s.{column})), 0) FROM {table} d JOIN {table} s USING ({key}) "
                "WHERE d.run_id = ? AND s.run_id = ?",
                [duckdb, spark],
            ).fetchall()[0][0]
            for what, (table, key, column) in CLOSE.items()
        }
        figures = [
            [
                json.loads(text)
                for (text,) in con.execute("SELECT figures FROM run_figures WHERE run_id = ?", [run_id]).fetchall()
            ]
            for run_id in (duckdb, spark)
        ]
        totals = {
            run_id: con.execute(
                "SELECT count(*), count(score), sum(score) FROM scores WHERE run_id = ?", [run_id]
            ).fetchall()[0]
            for run_id in (duckdb, spark)
        }
        entries = {
            run_id: dict(
                con.execute(
                    "SELECT list_id, count(*) FROM tier_results WHERE run_id = ? AND status = 'selected' "
                    "GROUP BY list_id ORDER BY list_id",
                    [run_id],
                ).fetchall()
            )
            for run_id in (duckdb, spark)
        }
    figures_equal = figures[0] == figures[1]
    same = not any(only.values()) and all(d <= TOLERANCE for d in largest.values()) and figures_equal
    return {
        "seconds": time.perf_counter() - start,
        "same": same,
        "runs": [duckdb, spark],
        "only_in_one": only,
        "largest_difference": largest,
        "figures_equal": figures_equal,
        "firms": [totals[r][0] for r in (duckdb, spark)],
        "scored": [totals[r][1] for r in (duckdb, spark)],
        "score_sums": [totals[r][2] for r in (duckdb, spark)],
        "selected": [entries[r] for r in (duckdb, spark)],
    }


CASES: dict[str, Callable[[Step], dict]] = {
    "subset": subset,
    "ingest": ingest,
    "train": train,
    "duckdb-run": duckdb_run,
    "spark-export": spark_export,
    "spark-run": spark_run,
    "spark-import": spark_import,
    "agree": agree,
}
BUILD = {  # the steps that make a store, in order, with what they do as RESULTS.md says it
    "subset": "the first N firms of the national panel, written as Parquet",
    "ingest": "`ingest_files` of that file into a fresh store",
    "train": "`api.train`: the classifier on the store's labelled filings",
}
COMPARED = {  # the steps measured for each firm count, in order, with what they do as RESULTS.md says it
    "duckdb-run": f"`api.run_year` {YEAR} on DuckDB, stored",
    "spark-export": "`api.export_parquet` of every year: what Spark reads",
    "spark-run": f"`api.run_on_spark` {YEAR}: results as Parquet",
    "spark-import": "`api.import_run` of the Spark run's folder",
}


# --- measuring (the parent process) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    run: Run
    load: float  # the load average (1 min) when the step started

    @property
    def report(self) -> dict:
        return self.run.report

    def tree_peak_mb(self) -> float:
        return self.report["tree_peak_kb"] * 1024 / MB

    def record(self) -> dict:
        return {"run": vars(self.run), "load": self.load}

    @classmethod
    def of(cls, record: dict) -> Measured:
        return cls(Run(**record["run"]), record["load"])


def measured(case: str, firms: int, work: Path, args: argparse.Namespace) -> Measured:
    """One step in its own process under GNU time, with the load average at its start; progress on stderr."""
    load = os.getloadavg()[0]
    spark = ["--master", args.master, "--driver-memory", args.driver_memory]
    run = measure(__file__, case, "--firms", str(firms), "--work", str(work), *spark)
    print(f"  {firms:,} {case}: {run.seconds:,.1f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr, flush=True)
    return Measured(run, load)


def ensure_store(firms: int, args: argparse.Namespace) -> Path:
    """The store of `firms` firms, built unless it is there already from the same sources (a stamp beside it)."""
    store = store_path(firms)
    return ensure_built(store, STORE_SOURCES, "building", lambda partial, _: build_store(firms, args, partial))


def build_store(firms: int, args: argparse.Namespace, partial: Path) -> None:
    """The BUILD steps in a folder of their own beside the store, each measured; the store and the folders beside it
    (its kept files, its models) then moved to the store's place, and the measurements kept in its build record."""
    store = store_path(firms)
    build_record(firms).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="assess-bench-spark-", dir=DATA_DIR) as tmp:
        work = Path(tmp)
        record = {case: measured(case, firms, work, args).record() for case in BUILD}
        db = Step(firms, work, args.master, args.driver_memory).db
        for beside in (".files", ".models"):
            target = store.with_name(store.name + beside)
            shutil.rmtree(target, ignore_errors=True)
            if db.with_name(db.name + beside).exists():  # no models where too few labels left the index standing in
                db.with_name(db.name + beside).replace(target)
        db.replace(partial)
    build_record(firms).write_text(json.dumps(record), encoding="utf-8")


def copy_store(store: Path, db: Path) -> None:
    """The store and the folders beside it, copied to `db`."""
    shutil.copyfile(store, db)
    for beside in (".files", ".models"):
        if store.with_name(store.name + beside).exists():
            shutil.copytree(store.with_name(store.name + beside), db.with_name(db.name + beside))


def compare(firms: int, store: Path, args: argparse.Namespace) -> dict[str, Measured]:
    """The COMPARED steps on a fresh copy of the store, then the check that the two runs agree (stops if not)."""
    with tempfile.TemporaryDirectory(prefix="assess-bench-spark-") as tmp:
        work = Path(tmp)
        copy_store(store, Step(firms, work, args.master, args.driver_memory).db)
        done = {case: measured(case, firms, work, args) for case in (*COMPARED, "agree")}
    agreed = done["agree"].report
    if not agreed["same"]:
        raise SystemExit(f"{firms:,} firms: the DuckDB run and the Spark run differ: {json.dumps(agreed)}")
    return done


# --- the model ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """seconds = fixed + per_firm × firms, fitted by least squares to the measurements."""

    fixed: float
    per_firm: float
    points: dict[int, float]

    @classmethod
    def fit(cls, points: dict[int, float]) -> Line:
        slope, intercept = statistics.linear_regression(list(points), list(points.values()))
        return cls(intercept, slope, points)


@dataclass(frozen=True)
class Model:
    """The measured parts a run on a cluster is made of, fitted over the firm counts."""

    duckdb: Line  # the DuckDB run
    session: float  # starting the Spark session (the mean: it does not grow with the firms)
    spark: Line  # the Spark run, the session aside
    driver: Line  # the Python driver's CPU seconds within the Spark run: its own part of the per-firm work
    export: Line
    imported: Line
    stages: int  # of the Spark run of the most firms: the stages that ran, and of them those writing a shuffle
    shuffles: int
    local_cores: int

    @classmethod
    def of(cls, results: dict[int, dict[str, Measured]], local_cores: int) -> Model:
        def line(case: str, field: str = "seconds") -> Line:
            return Line.fit({firms: done[case].report[field] for firms, done in results.items()})

        largest = results[max(results)]["spark-run"].report
        return cls(
            duckdb=line("duckdb-run"),
            session=statistics.mean(done["spark-run"].report["session_seconds"] for done in results.values()),
            spark=line("spark-run"),
            driver=line("spark-run", "driver_cpu_seconds"),
            export=line("spark-export"),
            imported=line("spark-import"),
            stages=largest["stages"],
            shuffles=largest["shuffle_stages"],
            local_cores=local_cores,
        )

    def speedup(self, executors: int, cores: int) -> float:
        return executors * cores / self.local_cores

    def break_even(self, fixed: float, per_firm: float) -> float | None:
        """The firm count from which the cluster (fixed + per_firm × N) is faster than the DuckDB run; None where it
        never is."""
        if per_firm >= self.duckdb.per_firm:
            return None
        return max(0.0, (fixed - self.duckdb.fixed) / (self.duckdb.per_firm - per_firm))

    def variants(self, executors: int, cores: int) -> dict[str, tuple[float, float]]:
        """The cluster's (fixed seconds, seconds per firm) under each reading of the model."""
        speedup = self.speedup(executors, cores)
        shipped = self.export.fixed + self.imported.fixed, self.export.per_firm + self.imported.per_firm
        fixed = self.session + self.spark.fixed
        serial = min(self.driver.per_firm, self.spark.per_firm)
        return {
            "model": (fixed + shipped[0], self.spark.per_firm / speedup + shipped[1]),
            "driver serial": (fixed + shipped[0], serial + (self.spark.per_firm - serial) / speedup + shipped[1]),
            "no export or import": (fixed, self.spark.per_firm / speedup),
        }


def local_cores(master: str) -> int:
    """The cores of a local master (local[N], local[*])."""
    found = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if found is None:
        raise SystemExit(f"--master {master}: the model compares a cluster with local mode, local[N] or local[*]")
    return os.cpu_count() or 1 if found.group(1) == "*" else int(found.group(1))


# --- RESULTS.md ---------------------------------------------------------------------------------------------------

PER = 100_000  # firms: the per-firm parts are given per this many


def section(results: dict[int, dict[str, Measured]], args: argparse.Namespace) -> str:
    largest = max(results)
    spark = results[largest]["spark-run"].report
    settings = ", ".join(f"`{key}` {value}" for key, value in spark["settings"].items())
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}; {java_version()}.",
        "",
        f"Spark {spark['spark']} in local mode, the session's settings: {settings}. In local mode the executors' tasks "
        "run in the driver's JVM, so `spark.driver.memory` is the heap of all of Spark's work; the scoring runs in "
        "Python workers beside it.",
        "",
        "For each firm count, the steps ran once, in the order below, each in its own process under "
        "`/usr/bin/time -v`, on a fresh copy of the store (the DuckDB run and the import of the Spark run land in "
        "the same copy, where the two runs are then compared). Seconds are wall-clock (`time.perf_counter`) around "
        "the step alone (interpreter start, imports and opening the store outside); the Spark run's are the run's, "
        "its session's start given apart. GNU time's process CPU (user + system seconds) and maximum RSS count the "
        "step's process and the children it waited for, which Spark's JVM and its Python workers are not: PySpark "
        "does not wait for the JVM it starts. So each step also sampled its whole process tree every "
        f"{SAMPLE_SECONDS} s (reading /proc): the largest single process, the peak of their summed RSS (an upper "
        "bound: pages two processes share count twice) and who held it at that moment, and the CPU seconds of the "
        "tree. MB are 10^6 bytes; the load average (1 min) at each step's start says how much other work shared "
        "the cores.",
        "",
        "| firms | step | what | seconds | session start s | GNU time CPU s | GNU time max RSS MB | tree CPU s "
        "| largest process MB | tree peak MB | at the tree's peak (MB) | load at start |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for firms, done in results.items():
        for case, what in COMPARED.items():
            step = done[case]
            report = step.report
            session = f"{report['session_seconds']:,.1f}" if "session_seconds" in report else ""
            parts = " + ".join(f"{kind} {kb * 1024 / MB:,.0f}" for kind, kb in report["tree_at_peak_kb"].items())
            lines.append(
                f"| {firms:,} | {case} | {what} | {step.run.seconds:,.1f} | {session} | "
                f"{step.run.process_cpu_seconds:,.1f} | {step.run.peak_rss_mb:,.0f} | "
                f"{report['tree_cpu_seconds']:,.1f} | {report['largest']} {report['largest_kb'] * 1024 / MB:,.0f} | "
                f"{step.tree_peak_mb():,.0f} | {parts} | {step.load:.2f} |"
            )
    lines += ["", "Side by side (seconds; Spark's whole way: export, session start, run, import):", ""]
    for firms, done in results.items():
        duckdb, run = done["duckdb-run"], done["spark-run"]
        whole = sum(done[case].run.seconds for case in ("spark-export", "spark-run", "spark-import"))
        whole += run.report["session_seconds"]
        lines.append(
            f"- {firms:,} firms: DuckDB {duckdb.run.seconds:,.1f} s, peak {duckdb.tree_peak_mb():,.0f} MB; Spark run "
            f"{run.run.seconds:,.1f} s ({run.run.seconds / duckdb.run.seconds:.1f}× DuckDB's), with its session "
            f"start, export and import {whole:,.1f} s ({whole / duckdb.run.seconds:.1f}×), peak "
            f"{run.tree_peak_mb():,.0f} MB (the process tree); the Spark step's CPU seconds: "
            + ", ".join(f"{kind} {cpu:,.1f}" for kind, cpu in run.report["tree_cpu_by_kind"].items())
        )
    lines += ["", *_agreement(results), "", *_spark_work(results), ""]
    model = Model.of(results, local_cores(args.master)) if len(results) > 1 else None
    lines += _model_text(model, results) if model is not None else _no_model()
    met = TARGET_FIRMS in results and model is not None
    lines += [
        "",
        "### Target",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| DuckDB against Spark local on {TARGET_FIRMS:,} firms × 5 years, seconds and peak memory side by side in "
        "one run, the runs agreeing, and the break-even firm count from the fitted measurements (issue 14) | "
        + ", ".join(f"{firms:,}" for firms in results)
        + f" firms | {verdict(met)} |",
        "",
        "### Test data",
        "",
        *_test_data(results),
    ]
    return "\n".join(lines) + "\n"


def _agreement(results: dict[int, dict[str, Measured]]) -> list[str]:
    lines = [
        "### The two runs agree",
        "",
        "In each copy, the DuckDB run and the imported Spark run were compared (the `agree` step): the rows only "
        "one run has, per kind of result (" + ", ".join(EXACT) + "; model scores, index and list values to "
        f"{TOLERANCE:g}), and the headline figures. Had any differed, the script would have stopped.",
        "",
    ]
    for firms, done in results.items():
        agreed = done["agree"].report
        largest = ", ".join(f"{what} {found:.1e}" for what, found in agreed["largest_difference"].items())
        duckdb, spark = agreed["selected"]
        lines.append(
            f"- {firms:,} firms, runs {agreed['runs'][0]} (DuckDB) and {agreed['runs'][1]} (Spark): no row in one run "
            f"only; largest differences {largest}; headline figures equal; {agreed['firms'][0]:,} firms, "
            f"{agreed['scored'][0]:,} with a score, score sums {agreed['score_sums'][0]:,.9f} (DuckDB) and "
            f"{agreed['score_sums'][1]:,.9f} (Spark); selected "
            + ", ".join(f"{tier} {count:,} / {spark[tier]:,}" for tier, count in duckdb.items())
            + " (DuckDB / Spark)"
        )
    return lines


def _spark_work(results: dict[int, dict[str, Measured]]) -> list[str]:
    lines = [
        "### Spark's work",
        "",
        "Jobs of the run's session (with adaptive query execution, Spark's default, each shuffle is a job of its "
        "own); the stages that ran (a stage whose output Spark kept from an earlier job is skipped), of them those "
        "that wrote a shuffle and what they wrote; tasks; the export Spark read and the run folder it wrote.",
        "",
    ]
    for firms, done in results.items():
        run, export = done["spark-run"].report, done["spark-export"].report
        lines.append(
            f"- {firms:,} firms: {run['jobs']:,} jobs, {run['stages']:,} stages ({run['shuffle_stages']:,} writing a "
            f"shuffle, {run['shuffle_bytes'] / MB:,.1f} MB in all), {run['tasks']:,} tasks; export "
            f"{export['files']:,} files, {export['bytes'] / MB:,.1f} MB; run folder {run['files']:,} files, "
            f"{run['bytes'] / MB:,.1f} MB"
        )
    return lines


def _no_model() -> list[str]:
    return ["### When a cluster pays off", "", "Not computed: the model's lines need at least two firm counts."]


def _model_text(model: Model, results: dict[int, dict[str, Measured]]) -> list[str]:
    k = model.local_cores
    parts = {
        "DuckDB run (D)": model.duckdb,
        "Spark run, session aside (S)": model.spark,
        "its Python driver's CPU (P)": model.driver,
        "export (X)": model.export,
        "import (I)": model.imported,
    }
    lines = [
        "### When a cluster pays off",
        "",
        "Each part's seconds fitted by least squares as a + b·N over the firm counts measured (b given per "
        f"{PER:,} firms):",
        "",
        "| part | a: fixed s | b: s per 100,000 firms | measured (firms: s) |",
        "| --- | ---: | ---: | --- |",
        *(
            f"| {name} | {line.fixed:,.2f} | {line.per_firm * PER:,.2f} | "
            + ", ".join(f"{firms:,}: {seconds:,.1f}" for firms, seconds in line.points.items())
            + " |"
            for name, line in parts.items()
        ),
        f"| Spark session start (T) | {model.session:,.2f} | | the mean of "
        + ", ".join(f"{done['spark-run'].report['session_seconds']:,.1f}" for done in results.values())
        + " |",
        "",
        f"The model. Here Spark runs on local[{k}], the {k} cores of this machine. A cluster of E executors with C "
        f"cores each runs the per-firm part of the Spark run (E·C)/{k} times faster. Its fixed part stays a_S: the "
        f"run's {model.stages:,} stages ({model.shuffles:,} of them writing a shuffle, at {max(results):,} firms) "
        f"keep their number on a cluster, and a_S / stages = {model.spark.fixed / max(model.stages, 1):,.3f} s per "
        "stage is taken as a cluster's cost of scheduling a stage, which is optimistic, since a cluster's shuffles "
        "cross a network. Starting the session, T, is added. The export and the import run on the one machine that "
        "holds the store, on their own lines:",
        "",
        "```",
        f"cluster(N) = (T + a_S + a_X + a_I) + (b_S·{k}/(E·C) + b_X + b_I)·N",
        "duckdb(N)  = a_D + b_D·N",
        f"N*         = (T + a_S + a_X + a_I - a_D) / (b_D - b_S·{k}/(E·C) - b_X - b_I)",
        "```",
        "",
        "The cluster is faster from N* firms on, where the denominator is positive. Where it is not, the cluster's "
        "cost per firm is at least DuckDB's, and the cluster never catches up. Two other readings:",
        "",
        "- *driver serial*: the Python driver's share of the per-firm work, b_P, does not spread over executors. "
        "It collects results, draws the lists and writes them. The cluster's per-firm cost is then "
        f"b_P + (b_S - b_P)·{k}/(E·C) + b_X + b_I.",
        "- *no export or import*: the filings are already Parquet on the cluster, and the lists are read there. "
        f"Then cluster(N) = T + a_S + b_S·{k}/(E·C)·N.",
        "",
        "| cluster | per-firm s per 100,000 (model) | N* (model) | N* (driver serial) | N* (no export or import) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for executors, cores in CLUSTERS:
        found = model.variants(executors, cores)
        lines.append(
            f"| {executors} executors × {cores} cores | {found['model'][1] * PER:,.2f} | "
            + " | ".join(_firms(model.break_even(*costs)) for costs in found.values())
            + " |"
        )
    duckdb_peak = Line.fit({firms: done["duckdb-run"].tree_peak_mb() for firms, done in results.items()})
    ram = _ram_mb()
    store_mb = results[max(results)]["duckdb-run"].report["store_mb"]
    reach = (ram - duckdb_peak.fixed) / duckdb_peak.per_firm if duckdb_peak.per_firm > 0 else None
    lines += [
        "",
        "DuckDB's line holds while its memory stays bounded. The store's DuckDB limit is "
        f"{store_mb:,} MiB (`memory.store_mb` in schemas/filing.yaml): beyond it DuckDB spills to disk instead of "
        "growing, and the run works in pieces of `memory.run_rows` firms. The run's peak RSS, fitted the same way "
        f"({duckdb_peak.fixed:,.0f} MB + {duckdb_peak.per_firm * PER:,.0f} MB per {PER:,} firms), would reach this "
        f"machine's {ram:,.0f} MB of RAM at {_firms(reach)} firms.",
        "",
        *(_conclusion(model, executors, cores) for executors, cores in CLUSTERS),
    ]
    return lines


def _conclusion(model: Model, executors: int, cores: int) -> str:
    """What the model says of one cluster, against the national population (bench/national.py)."""
    found = model.break_even(*model.variants(executors, cores)["model"])
    cluster = f"- A cluster of {executors} executors × {cores} cores"
    if found is None:
        return f"{cluster} never beats the one-machine DuckDB run: its cost per firm is not below DuckDB's."
    if found > NATIONAL_FIRMS:
        return (
            f"{cluster} does not pay off below the national population ({NATIONAL_FIRMS:,} firms, bench/national.py):"
            f" by the model, it beats the DuckDB run only from {found:,.0f} firms."
        )
    return f"{cluster} beats the one-machine DuckDB run from {found:,.0f} firms on, by the model."


def _firms(found: float | None) -> str:
    return "never" if found is None else f"{found:,.0f}"


def _ram_mb() -> float:
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    assert memory is not None
    return int(memory.group(1)) * 1024 / MB


def java_version() -> str:
    """The Java runtime Spark runs on, as `java -version` names it."""
    said = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True).stderr
    return said.splitlines()[0].replace('"', "")


def _test_data(results: dict[int, dict[str, Measured]]) -> list[str]:
    lines = [
        f"For each firm count N, `bench/data/{store_path(0).name.replace('0x', 'Nx')}` (git-ignored): the first N "
        f"firms of `{NATIONAL_PARQUET.name}` (bench/national.py; its credit codes in file order, all {FIRST_YEAR}-"
        f"{LAST_YEAR} filings of each), made by these steps, each in its own process under GNU time, and reused "
        "while the panel, the generator, the contract, the rules and the parts of `assess` they load are unchanged "
        "(a `.generator-sha256` stamp beside the store):",
        "",
        "| firms | step | what | rows | seconds | peak RSS (MB) | load at start |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    found = []
    for firms in results:
        if not build_record(firms).exists():
            found.append(f"{firms:,}: the store's build record is missing (delete the store to build it again)")
            continue
        record = {case: Measured.of(step) for case, step in json.loads(build_record(firms).read_text()).items()}
        for case, what in BUILD.items():
            step = record[case]
            lines.append(
                f"| {firms:,} | {case} | {what} | {step.report['rows']:,} | {step.run.seconds:,.1f} | "
                f"{step.run.peak_rss_mb:,.0f} | {step.load:.2f} |"
            )
        trained = record["train"].report
        found.append(
            f"{firms:,}: {trained['positive']:,} of {trained['rows']:,} labelled filings confirmed, grouped CV "
            f"ROC AUC {trained['cv']['roc_auc']:.3f}"
        )
    return [*lines, "", "Training found: " + "; ".join(found) + "."]


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--firms", type=int, nargs="+", default=list(FIRMS), help="firm counts (default %(default)s)"
        )
        parser.add_argument("--work", type=Path, help="the folder the steps of one firm count share (with --case)")
        parser.add_argument("--master", default=MASTER, help="Spark's master, local[N] (default %(default)s)")
        parser.add_argument("--driver-memory", default=DRIVER_MEMORY, help="spark.driver.memory (default %(default)s)")

    parser, args = parse_args(__doc__ or "", CASES, add_arguments)
    local_cores(args.master)
    if args.case is not None:
        if args.work is None or len(args.firms) != 1:
            parser.error("--case needs --work and one --firms")
        print(json.dumps(CASES[args.case](Step(args.firms[0], args.work, args.master, args.driver_memory))))
        return
    if not NATIONAL_PARQUET.exists():
        generate_national(NATIONAL_PARQUET)
    firms = sorted(set(args.firms))
    stores = {n: ensure_store(n, args) for n in firms}  # the setup first, all of it before anything is compared
    results = {n: compare(n, store, args) for n, store in stores.items()}
    write_section(HEADING, section(results, args))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

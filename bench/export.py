"""Export benchmark: the province workbook of cultivation lists (`assess export --year 2024 --out FILE`, through
`api.export_workbooks`) of a stored 2024 run of the 1,000,000-enterprise test store of bench/run.py.

`python bench/export.py` builds the export store into bench/data/ once (a copy of bench/run.py's store, the classifier
trained on 200,000 of its labelled filings as bench/score.py's training case does, then the run of 2024 scored with
that model; reused while its sources are unchanged), exports the province workbook `--repeats` times, each run in its
own process under GNU time (`/usr/bin/time -v`), and rewrites the export section of bench/RESULTS.md.
`python bench/export.py --case NAME --db PATH` is one such run, printing its measurement as one JSON line.

The run scores with the model trained on the sample: `api.run_year` would train one on every label first (about an
hour on this machine), which the workbook does not need to be measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PEAK_RSS_LIMIT_MB,
    CaseResult,
    Run,
    ensure_built,
    machine,
    measure,
    parse_args,
    section_head,
    verdict,
    write_section,
)
from report import REPORT_STORE_SOURCES  # bench/report.py: what its store's runs depend on
from run import STORE_PATH, ensure_store  # bench/run.py: the 1,000,000-enterprise store
from score import train_case  # bench/score.py: the classifier trained on a sample of the labels

HEADING = "## Province workbook export (bench/export.py)"
YEAR = 2024
EXPORT_STORE = DATA_DIR / f"export_{STORE_PATH.stem}.duckdb"
BUILD_RECORD = EXPORT_STORE.with_name(f"{EXPORT_STORE.name}.build.json")  # the build's measurements
# What the stored run depends on: as the report's store, and the training case of bench/score.py.
EXPORT_STORE_SOURCES = (*REPORT_STORE_SOURCES, "bench/score.py")
PACKAGES = ("duckdb", "polars", "openpyxl")


# --- one run (the child process) ----------------------------------------------------------------------------------


def run_case(db: Path) -> dict:
    """`api.run_year` of YEAR, scored with the newest model the store has (the one trained on the sample)."""
    import assess.scoring.train as training
    from assess import api
    from assess.scoring import persist
    from assess.scoring.config import ClassifierConfig
    from assess.store import Store

    def newest(store: Store, config: ClassifierConfig, progress: object = None) -> training.Trained:
        [(labels, model_id)] = store.con.execute(
            "SELECT labels_sha256, model_id FROM models ORDER BY model_id DESC LIMIT 1"
        ).fetchall()
        record = persist.find(store, labels, config.sha256)
        if record is None or record.model_id != model_id:
            raise SystemExit("no model trained with this configuration: run the train case first")
        report = {**record.report, "model_id": record.model_id, "sha256": record.sha256}
        return training.Trained(report, record, persist.load(store, record))

    training.ensure_model = newest  # read by `runs.execute` when it runs
    with api.open_store(db) as store:
        start = time.perf_counter()
        done = api.run_year(store, YEAR)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "run_id": done.run.run_id,
        "model": done.run.manifest["scoring"]["model"]["model_id"],
        "selected": {tier: frame.height for tier, frame in done.lists.items()},
    }


def province_case(db: Path, out: Path) -> dict:
    """`api.export_workbooks` of YEAR's latest run, the province's workbook into `out`, timed alone (the store
    opened before)."""
    from assess import api

    with api.open_store(db) as store:
        start = time.perf_counter()
        [workbook] = api.export_workbooks(store, YEAR, out=out / f"{YEAR}_全省_培育清单.xlsx")
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": workbook.stat().st_size}


def sheet_rows(workbook: Path) -> dict[str, int]:
    """The rows of each sheet of `workbook` (its `<row>` elements, empty ones included), read from the file's XML a
    block at a time: openpyxl takes minutes to read a million cells back."""
    with zipfile.ZipFile(workbook) as archive:
        book = archive.read("xl/workbook.xml").decode()
        links = archive.read("xl/_rels/workbook.xml.rels").decode()
        targets = {
            _attribute(tag, "Id"): _attribute(tag, "Target") for tag in re.findall(r"<Relationship [^>]*>", links)
        }
        found = {}
        for tag in re.findall(r"<sheet [^>]*>", book):
            name, link = _attribute(tag, "name"), _attribute(tag, "r:id")
            with archive.open(f"xl/{targets[link].removeprefix('/xl/')}") as sheet:
                found[name] = _count(sheet, b"<row ")
    return found


def _attribute(tag: str, name: str) -> str:
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    assert found is not None, f"{tag} has no {name}"
    return found.group(1)


def _count(stream: IO[bytes], pattern: bytes) -> int:
    count, tail = 0, b""
    while block := stream.read(1 << 20):
        chunk = tail + block
        count += chunk.count(pattern)
        tail = chunk[-(len(pattern) - 1) :]
    return count


CASES: dict[str, Callable[[Path, Path], dict]] = {
    "train": lambda db, out: train_case(db),
    "run": lambda db, out: run_case(db),
    "province": province_case,
}


# --- test data ----------------------------------------------------------------------------------------------------


def ensure_export_store() -> Path:
    """The export store: built (each step in its own process, measured) unless there already from the same sources."""
    return ensure_built(EXPORT_STORE, EXPORT_STORE_SOURCES, "building", build_export_store)


def build_export_store(path: Path, digest: str) -> None:
    source = ensure_store()
    start = time.perf_counter()
    shutil.copy(source, path)
    copied = time.perf_counter() - start
    steps = {}
    for case in ("train", "run"):
        load = os.getloadavg()[0]
        run = measure(__file__, case, "--db", str(path), "--out", str(path.parent))
        print(f"  {case}: {run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr, flush=True)
        steps[case] = {"run": vars(run), "load": load}
    BUILD_RECORD.write_text(json.dumps({"copy_seconds": copied, "steps": steps}), encoding="utf-8")


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(result: CaseResult, rows: dict[str, int], load: float) -> str:
    last = result.runs[-1].report
    build = json.loads(BUILD_RECORD.read_text(encoding="utf-8")) if BUILD_RECORD.exists() else None
    met = result.peak_rss_mb < PEAK_RSS_LIMIT_MB
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}. Load average when the runs began: {load:.2f} (other work shares the cores).",
        "",
        f"Each run is a process of its own under `/usr/bin/time -v`: `api.export_workbooks(store, {YEAR}, out=...)`, "
        "the province's workbook of the latest run (the store opened before the clock starts). Seconds are the wall "
        "clock around the export alone; process CPU is GNU time's user + system seconds, peak RSS its \"Maximum "
        'resident set size" of the whole process, in MB of 10^6 bytes.',
        "",
        "| case | runs | median s | fastest s | process CPU s | peak RSS (MB) | file MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| province workbook | {len(result.runs)} | {result.median():.1f} | {result.fastest():.1f} | "
        f"{result.process_cpu_median:.1f} | {result.peak_rss_mb:,.0f} | {last['bytes'] / MB:.1f} |",
        "",
        "Rows per sheet (header and the funnel below a list included): "
        + ", ".join(f"{name} {count:,}" for name, count in rows.items())
        + ".",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
        f"| province workbook export under 2 GB peak RSS (issue 15) | {result.peak_rss_mb:,.0f} MB | {verdict(met)} |",
    ]
    if build is not None:
        lines += ["", _build_text(build)]
    return "\n".join(lines) + "\n"


def _copied(build: dict) -> str:
    return f"(copied in {build['copy_seconds']:.1f} s) " if "copy_seconds" in build else ""


def _build_text(build: dict) -> str:
    train, run = (Run(**build["steps"][case]["run"]) for case in ("train", "run"))
    return (
        f"Test data: `bench/data/{EXPORT_STORE.name}` (git-ignored), a copy of bench/run.py's store "
        f"{_copied(build)}in which the classifier was trained on {train.report['n_train']:,} of its "
        f"{train.report['labelled_available']:,} labelled filings (bench/score.py's training case: {train.seconds:.0f} "
        f"s, peak RSS {train.peak_rss_mb:,.0f} MB, load average {build['steps']['train']['load']:.2f} at its start), "
        f"then `api.run_year` stored the run of {YEAR} scored with that model ({run.seconds:.0f} s, peak RSS "
        f"{run.peak_rss_mb:,.0f} MB, load average {build['steps']['run']['load']:.2f}; selected: "
        + ", ".join(f"{tier} {count:,}" for tier, count in run.report["selected"].items())
        + ")."
    )


# --- entry point --------------------------------------------------------------------------------------------------


def main() -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", type=Path, help="the store (default: the export store, built if needed)")
        parser.add_argument("--out", type=Path, help="the folder the workbook is written to (with --case)")

    parser, args = parse_args(__doc__ or "", CASES, add_arguments)
    if args.case is not None:
        if args.out is None:
            parser.error("--case needs --out")
        print(json.dumps(CASES[args.case](args.db or ensure_export_store(), args.out)))
        return
    db = args.db or ensure_export_store()
    load = os.getloadavg()[0]
    runs, rows = [], {}
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="assess-bench-export-") as out:
            run = measure(__file__, "province", "--db", str(db), "--out", out)
            rows = sheet_rows(Path(out) / f"{YEAR}_全省_培育清单.xlsx")
        print(f"province run {i + 1}/{args.repeats}: {run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr)
        runs.append(run)
    write_section(HEADING, section(CaseResult("province", runs), rows, load))


if __name__ == "__main__":
    main()

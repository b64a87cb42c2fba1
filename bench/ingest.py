"""Ingest benchmark: end-to-end ingest (read, validate, store) beside a bare polars read of the same file.

`python bench/ingest.py` generates the test data into bench/data/ once (reused when present), runs every case three
times, each run in its own process under GNU time (`/usr/bin/time -v`) so that peak memory is per run, and rewrites
the ingest section of bench/RESULTS.md. `python bench/ingest.py --case NAME --file PATH` is one such run: it times the
case with time.perf_counter and prints the measurement as one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
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

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
HEADING = "## Ingest (bench/ingest.py)"
GNU_TIME = "/usr/bin/time"
FIRST_YEAR, LAST_YEAR, SEED = 2020, 2024, 1
MB = 1_000_000
PEAK_RSS_LIMIT_MB = 2_000  # "under 2 GB", taken in decimal megabytes
# What the test data depends on: the generator, the modules it uses and the contract. Data written by other versions
# is written again.
GENERATOR_SOURCES = (
    "assess/synthetic",
    "assess/contract.py",
    "assess/uscc.py",
    "assess/paths.py",
    "assess/reference.py",
    "assess/outputs/xlsx.py",
    "schemas",
)
RESULTS_PREAMBLE = (
    "# Benchmark results\n\nEach benchmark in `bench/` rewrites its own section; see `bench/README.md`.\n"
)


@dataclass(frozen=True)
class Dataset:
    """A synthetic panel file and the targets its ingest must meet."""

    label: str
    enterprises: int
    suffix: str
    max_ratio: float  # ingest seconds / bare read seconds

    @property
    def path(self) -> Path:
        return DATA_DIR / f"panel_{self.enterprises}x{FIRST_YEAR}-{LAST_YEAR}_seed{SEED}{self.suffix}"

    @property
    def read_case(self) -> str:
        return f"{self.label}-read"

    @property
    def ingest_case(self) -> str:
        return f"{self.label}-ingest"


XLSX = Dataset("xlsx", 20_000, ".xlsx", max_ratio=2.0)  # 100,000 rows x 30 columns
CSV = Dataset("csv", 200_000, ".csv", max_ratio=3.0)  # 1,000,000 rows, UTF-8
DATASETS = (XLSX, CSV)
XLSX_MIN_ROWS_PER_SECOND = 25_000


# --- one run (the child process) ----------------------------------------------------------------------------------
# Each case imports what it uses inside its function, so a bare read's peak RSS does not include DuckDB or assess.


def read_xlsx(path: Path) -> dict:
    import polars as pl

    start = time.perf_counter()
    frame = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": frame.height, "columns": frame.width}


def read_csv(path: Path) -> dict:
    """skip_rows=1 passes over the title line that write_panel puts above the header; without it polars takes the
    title for a one-column header and stops at the first record ("found more fields than defined in 'Schema'")."""
    import polars as pl

    start = time.perf_counter()
    frame = pl.read_csv(path, infer_schema_length=0, skip_rows=1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": frame.height, "columns": frame.width}


def ingest(path: Path) -> dict:
    """Open a fresh database, ingest the file (read, validate, store, keep a copy of the file) and close it."""
    from assess.contract import load_contract
    from assess.ingest import Options, ingest_files
    from assess.store import Store

    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        start = time.perf_counter()
        with Store(Path(tmp) / "assess.duckdb", load_contract()) as store:
            [result] = ingest_files(store, [path], Options())
        seconds = time.perf_counter() - start
    if result.error is not None:
        raise SystemExit(f"ingest of {path} failed: {result.error}")
    return {
        "seconds": seconds,
        "rows": result.rows_read,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "skipped": result.skipped,
        "warnings": result.warnings,
        "problems": result.problems.height,
        "code": loaded_code_digest(),
    }


def loaded_code_digest() -> str:
    """SHA-256 of the `assess` modules this process has loaded and of the contract (schemas/): the code measured."""
    loaded = [module.__file__ for name, module in sys.modules.items() if name.split(".")[0] == "assess"]
    return tree_digest([*(Path(file) for file in loaded if file is not None), PROJECT_DIR / "schemas"])


CASES: dict[str, Callable[[Path], dict]] = {
    XLSX.read_case: read_xlsx,
    XLSX.ingest_case: ingest,
    CSV.read_case: read_csv,
    CSV.ingest_case: ingest,
}


# --- test data ----------------------------------------------------------------------------------------------------


def ensure_data(dataset: Dataset) -> Path:
    """Write the dataset with the project's own synthetic generator unless it is there already, written by the same
    generator and contract (a stamp beside the file records their digest). Written under a temporary name and
    renamed, so an interrupted run never leaves a truncated file to be reused."""
    path = dataset.path
    stamp = path.with_name(f"{path.name}.generator-sha256")
    generator = tree_digest([PROJECT_DIR / name for name in GENERATOR_SOURCES])
    if path.exists() and stamp.exists() and stamp.read_text() == generator:
        return path
    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import write_panel

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.relative_to(PROJECT_DIR)} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    write_panel(generate_panel(dataset.enterprises, FIRST_YEAR, LAST_YEAR, SEED), partial)
    partial.replace(path)
    stamp.write_text(generator)
    print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return path


def tree_digest(paths: list[Path]) -> str:
    """SHA-256 over the names and contents of the files given and of those in the folders given (caches aside)."""
    found = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    files = [f for f in found if "__pycache__" not in f.parts]
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path.relative_to(PROJECT_DIR)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


# --- measuring (the parent process) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # time.perf_counter around the case alone
    cpu_seconds: float  # GNU time: user + system time of the whole process
    peak_rss_kb: int  # GNU time: maximum resident set size of the whole process
    report: dict  # what the case printed


def measure(case: str, path: Path) -> Run:
    """One run of a case in its own process under /usr/bin/time -v."""
    with tempfile.NamedTemporaryFile("r", prefix="assess-bench-time-", suffix=".txt") as stats:
        command = [GNU_TIME, "-v", "-o", stats.name, sys.executable, str(Path(__file__).resolve())]
        completed = subprocess.run(
            [*command, "--case", case, "--file", str(path)], cwd=PROJECT_DIR, capture_output=True, text=True
        )
        if completed.returncode != 0:
            raise SystemExit(f"case {case} failed:\n{completed.stderr}")
        printed = stats.read()
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(
        seconds=report["seconds"],
        cpu_seconds=float(gnu_time(printed, "User time (seconds)")) + float(gnu_time(printed, "System time (seconds)")),
        peak_rss_kb=int(gnu_time(printed, "Maximum resident set size (kbytes)")),
        report=report,
    )


def gnu_time(printed: str, label: str) -> str:
    """One value of what `/usr/bin/time -v` printed."""
    found = re.search(rf"^\s*{re.escape(label)}: (.+)$", printed, re.MULTILINE)
    assert found is not None, f"GNU time printed no {label!r}"
    return found.group(1)


@dataclass(frozen=True)
class CaseResult:
    case: str
    dataset: Dataset
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def fastest(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def outcome(self) -> dict:
        """What the case reported besides its time: the same in every run, since the data is deterministic."""
        outcomes = [{k: v for k, v in r.report.items() if k not in ("seconds", "code")} for r in self.runs]
        assert all(o == outcomes[0] for o in outcomes), f"{self.case}: runs disagree: {outcomes}"
        return outcomes[0]

    @property
    def rows(self) -> int:
        return self.outcome["rows"]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.median

    @property
    def cpu_median(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_kb for r in self.runs) * 1024 / MB


def run_dataset(dataset: Dataset, repeats: int) -> tuple[CaseResult, CaseResult]:
    """The bare read and the ingest alternate, so both see the same machine state."""
    path = ensure_data(dataset)
    runs: dict[str, list[Run]] = {dataset.read_case: [], dataset.ingest_case: []}
    for i in range(repeats):
        for case, done in runs.items():
            run = measure(case, path)
            done.append(run)
            rss = run.peak_rss_kb * 1024 / MB
            print(
                f"{case} run {i + 1}/{repeats}: {run.seconds:.2f} s, process CPU {run.cpu_seconds:.2f} s, {rss:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    read, ingested = (CaseResult(case, dataset, done) for case, done in runs.items())
    return read, ingested


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    assert memory is not None
    ram_gib = int(memory.group(1)) / 1024**2
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("polars", "duckdb", "fastexcel"))
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


def section(results: list[tuple[CaseResult, CaseResult]], repeats: int, digest: str) -> str:
    lines = [
        HEADING,
        "",
        f"Command (in the project directory): `{invocation()}`, run {dt.date.today().isoformat()}.",
        "",
        f"Machine: {machine()}.",
        "",
        f"Code measured: the `assess` modules the ingest loads and `schemas/`, SHA-256 `{digest[:16]}`",
        "(`loaded_code_digest` in the script), the same in every ingest run.",
        "",
        f"Each case ran {repeats} times, each run in its own process under `/usr/bin/time -v`. Seconds are wall-clock",
        "(`time.perf_counter`) around the bare read or the ingest alone, excluding interpreter start and imports; the",
        "ingest opens a fresh DuckDB file in a temporary directory, ingests with `ingest_files(store, [file],",
        "Options())` (read, header detection, validation, problem messages, SHA-256, copy of the file, one",
        "transaction) and closes the database. Rows per second and the ratio use the medians. Process CPU is GNU",
        "time's user + system seconds of the whole process, the median: interpreter start and imports included, and",
        'above the seconds where polars or DuckDB use both cores. Peak RSS is GNU time\'s "Maximum resident set size"',
        "of the whole process (interpreter and libraries included), the highest of the runs, in MB of 10^6 bytes.",
        "",
        'The bare reads are `polars.read_excel(path, engine="calamine", infer_schema_length=0)` and',
        "`polars.read_csv(path, infer_schema_length=0, skip_rows=1)`, every cell as text. Both files have a title row",
        "above the header, as `write_panel` writes them: the Excel read takes it for the column names and so counts",
        "the header row as one more data row; the CSV read skips it with `skip_rows=1`, without which polars takes the",
        "title for a one-column header and fails at the first record.",
        "",
        "| case | file | rows | median s | min s | rows/s | × bare read | process CPU s | peak RSS (MB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for read, ingested in results:
        name = read.dataset.path.name
        for result in (read, ingested):
            ratio = f"{result.median / read.median:.2f}×"
            lines.append(
                f"| {result.case} | {name} | {result.rows:,} | {result.median:.2f} | {result.fastest:.2f} "
                f"| {result.rows_per_second:,.0f} | {ratio} | {result.cpu_median:.2f} | {result.peak_rss_mb:,.0f} |"
            )
    (xlsx_read, xlsx_ingest), (csv_read, csv_ingest) = results
    xlsx_ratio = xlsx_ingest.median / xlsx_read.median
    csv_ratio = csv_ingest.median / csv_read.median
    lines += [
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
        f"| .xlsx ingest at most {XLSX.max_ratio:g}× the bare read | {xlsx_ratio:.2f}× "
        f"| {verdict(xlsx_ratio <= XLSX.max_ratio)} |",
        f"| .xlsx ingest {XLSX_MIN_ROWS_PER_SECOND:,} rows/s or better | {xlsx_ingest.rows_per_second:,.0f} rows/s "
        f"| {verdict(xlsx_ingest.rows_per_second >= XLSX_MIN_ROWS_PER_SECOND)} |",
        f"| UTF-8 CSV ingest at most {CSV.max_ratio:g}× the bare read | {csv_ratio:.2f}× "
        f"| {verdict(csv_ratio <= CSV.max_ratio)} |",
        f"| CSV ingest peak RSS under 2 GB | {csv_ingest.peak_rss_mb:,.0f} MB "
        f"| {verdict(csv_ingest.peak_rss_mb < PEAK_RSS_LIMIT_MB)} |",
        "",
        "### What the ingest found",
        "",
        "Identical in every run:",
        "",
        "| file | rows read | accepted | rejected | skipped | warnings | problems listed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for _, ingested in results:
        found = ingested.outcome
        lines.append(
            f"| {ingested.dataset.path.name} | {found['rows']:,} | {found['accepted']:,} | {found['rejected']:,} "
            f"| {found['skipped']:,} | {found['warnings']:,} | {found['problems']:,} |"
        )
    if not any(ingested.outcome["problems"] for _, ingested in results):
        lines += [
            "",
            "The generated panel is clean: every cell is parsed and every check runs, but none fails, so the problem",
            "rows, their messages and the rejection of rows are measured only on their empty path.",
        ]
    lines += [
        "",
        "### Test data",
        "",
        "Generated into `bench/data/` (git-ignored; reused while the generator and the contract are unchanged) by the",
        "project's own generator:",
        f"`write_panel(generate_panel(enterprises, {FIRST_YEAR}, {LAST_YEAR}, seed={SEED}), path)`.",
        "",
    ]
    for read, _ in results:
        dataset, shape = read.dataset, read.outcome
        size = dataset.path.stat().st_size / MB
        lines.append(
            f"- `{dataset.path.name}`: {dataset.enterprises:,} enterprises × {LAST_YEAR - FIRST_YEAR + 1} years, "
            f"{shape['rows']:,} rows × {shape['columns']} columns, {size:,.1f} MB"
        )
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
    parser.add_argument("--file", type=Path, help="the file the case reads (with --case)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case (default 3)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.case is not None:
        if args.file is None:
            parser.error("--case needs --file")
        print(json.dumps(CASES[args.case](args.file.resolve())))
        return
    results = [run_dataset(dataset, args.repeats) for dataset in DATASETS]
    digests = {run.report["code"] for _, ingested in results for run in ingested.runs}
    if len(digests) > 1:
        raise SystemExit("The code under test changed between runs: nothing written, run again.")
    write_section(section(results, args.repeats, digests.pop()))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

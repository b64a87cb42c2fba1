"""Start-up benchmark: what `assess` costs before it does any work, beside a bare Python.

`python bench/startup.py` writes a one-row .xlsx (`assess sample`) and a small store holding it (`assess ingest`) into
a temporary folder, runs each case 5 times (`--repeats N` to change), the cases taking turns, each run a process of
its own under GNU time (`/usr/bin/time -v`), and rewrites the start-up section of bench/RESULTS.md. `python
bench/startup.py --case NAME` is one such run, after the same preparation, printed as one JSON line.

The cases are commands as a user types them, through the installed `assess` script of this interpreter's
environment: `python -c pass`, `assess --help`, `assess uploads --db SMALL_STORE` and `assess ingest ONE_ROW.xlsx --db
NEW_STORE` (a fresh store each run). Only the standard library is imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import (  # bench/common.py, beside this script
    GNU_TIME,
    MB,
    PROJECT_DIR,
    RESULTS_PATH,
    CaseResult,
    Run,
    gnu_time,
    machine,
    section_head,
    tree_digest,
    verdict,
    write_section,
)

HEADING = "## Start-up (bench/startup.py)"
PACKAGES = ("typer", "rich", "polars", "duckdb", "pyarrow", "scikit-learn")  # whose versions RESULTS.md gives
MAX_ABOVE_PYTHON_SECONDS = 0.5  # the target for `assess --help` and `assess uploads`
TARGET_CASES = ("help", "uploads")
BASELINE = "python"
# Libraries that take a noticeable time to import; the section says which of them each command loaded.
HEAVY = ("polars", "duckdb", "pyarrow", "numpy", "pydantic", "sqlglot", "fastexcel", "openpyxl", "sklearn", "scipy")
# The code measured: a change to these during the runs would mix two versions in one table.
CODE = ("assess", "schemas", "rules")
# Settings of the user's environment that would change what the commands do.
UNSET = ("ASSESS_DB", "ASSESS_RULES", "ASSESS_LOG", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
SAMPLE_YEAR, SAMPLE_SEED = 2024, 1


@dataclass(frozen=True)
class Setup:
    """The temporary folder and what is prepared in it: the one-row workbook and the small store."""

    folder: Path
    env: dict[str, str]

    @property
    def workbook(self) -> Path:
        return self.folder / "one_row.xlsx"

    @property
    def store(self) -> Path:
        return self.folder / "small" / "assess.duckdb"


def assess_script() -> Path:
    script = Path(sys.executable).with_name("assess")
    if not script.is_file():
        raise SystemExit(f"no `assess` script beside {sys.executable}: run this with the project's .venv/bin/python")
    return script


def commands(setup: Setup, run: str) -> dict[str, tuple[list[str], Path]]:
    """Each case's command line and working folder for the run named `run`; the ingest writes a new store each run."""
    assess = str(assess_script())
    fresh = setup.folder / f"ingest-{run}"
    fresh.mkdir(exist_ok=True)
    return {
        BASELINE: ([sys.executable, "-c", "pass"], setup.folder),
        "help": ([assess, "--help"], setup.folder),
        "uploads": ([assess, "uploads", "--db", str(setup.store)], setup.folder),
        "ingest": ([assess, "ingest", str(setup.workbook), "--db", str(fresh / "assess.duckdb")], fresh),
    }


CASES = (BASELINE, "help", "uploads", "ingest")
SHOWN = {
    BASELINE: "`python -c pass`",
    "help": "`assess --help`",
    "uploads": "`assess uploads --db small.duckdb` (1 upload)",
    "ingest": "`assess ingest one_row.xlsx --db new.duckdb` (new store)",
}


def prepare(folder: Path) -> Setup:
    """The child processes' environment, the one-row workbook and a store holding it as its one upload.

    Bytecode: the commands read compiled modules from a cache in `folder` (PYTHONPYCACHEPREFIX), which the preparation
    and the warm-up runs fill, as an installed package has its modules compiled when it is installed; the caller's
    PYTHONDONTWRITEBYTECODE (set in some development environments) would make every run compile assess from source.
    """
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    setup = Setup(folder, env)
    assess = str(assess_script())
    year, seed = str(SAMPLE_YEAR), str(SAMPLE_SEED)
    sample = ["sample", "--out", str(setup.workbook), "--enterprises", "1", "--years", f"{year}-{year}", "--seed", seed]
    _check([assess, *sample], folder, env)
    _check([assess, "ingest", str(setup.workbook), "--db", str(setup.store)], folder, env)
    [upload] = json.loads(_check([assess, "uploads", "--json", "--db", str(setup.store)], folder, env))
    if (upload["rows_read"], upload["accepted"]) != (1, 1):
        raise SystemExit(f"the one-row workbook was not stored as one accepted row: {upload}")
    return setup


def _check(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    return completed.stdout


# --- measuring ----------------------------------------------------------------------------------------------------


def measure_command(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """One run of `command` in its own process under /usr/bin/time -v. The seconds are the wall clock around the whole
    process (interpreter start, imports, the work, exit), taken here with time.perf_counter: GNU time gives them only
    to the hundredth of a second."""
    with tempfile.NamedTemporaryFile("r", prefix="assess-bench-time-", suffix=".txt") as stats:
        start = time.perf_counter()
        completed = subprocess.run([GNU_TIME, "-v", "-o", stats.name, *command], cwd=cwd, env=env, capture_output=True)
        seconds = time.perf_counter() - start
        if completed.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr.decode(errors='replace')}")
        printed = stats.read()
    peak_rss_kb = int(gnu_time(printed, "Maximum resident set size (kbytes)"))
    cpu = float(gnu_time(printed, "User time (seconds)")) + float(gnu_time(printed, "System time (seconds)"))
    report = {"seconds": seconds, "peak_rss_mb": peak_rss_kb * 1024 / MB, "process_cpu_seconds": cpu}
    return Run(seconds=seconds, process_cpu_seconds=cpu, peak_rss_kb=peak_rss_kb, report=report)


def heavy_imports(command: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """The libraries of HEAVY that one run of `command` imports (PYTHONPROFILEIMPORTTIME, i.e. `python -X
    importtime`, lists every module imported on stderr); a run apart from the timed ones."""
    completed = subprocess.run(command, cwd=cwd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr.decode(errors='replace')}")
    stderr = completed.stderr.decode(errors="replace")
    loaded = {m.group(1).split(".")[0] for m in re.finditer(r"^import time:.*\|\s*(\S+)\s*$", stderr, re.MULTILINE)}
    return [name for name in HEAVY if name in loaded]


def measure_all(setup: Setup, repeats: int) -> dict[str, CaseResult]:
    """One warm-up run of each case (not counted: it fills the bytecode cache and the page cache), then each case
    `repeats` times, the cases taking turns so that all see the same machine state; progress on stderr."""
    for command, cwd in commands(setup, "warm-up").values():
        measure_command(command, cwd, setup.env)
    runs: dict[str, list[Run]] = {case: [] for case in CASES}
    for i in range(1, repeats + 1):
        for case, (command, cwd) in commands(setup, str(i)).items():
            run = measure_command(command, cwd, setup.env)
            runs[case].append(run)
            print(f"{case} run {i}/{repeats}: {run.seconds:.3f} s, {run.peak_rss_mb:.0f} MB", file=sys.stderr)
    return {case: CaseResult(case, done) for case, done in runs.items()}


def median_rss(result: CaseResult) -> float:
    return statistics.median(run.peak_rss_mb for run in result.runs)


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(results: dict[str, CaseResult], heavy: dict[str, list[str]], code: str, load: tuple[float, float]) -> str:
    base = results[BASELINE]
    repeats = len(base.runs)
    rows = []
    for case, result in results.items():
        above_s = result.median() - base.median()
        above_mb = median_rss(result) - median_rss(base)
        rows.append(
            f"| {case} | {SHOWN[case]} | {result.median():.3f} | {result.fastest():.3f} | "
            + ("—" if case == BASELINE else f"+{above_s:.3f}")
            + f" | {result.process_cpu_median:.2f} | {median_rss(result):,.0f} | "
            + ("—" if case == BASELINE else f"+{above_mb:,.0f}")
            + f" | {', '.join(heavy[case]) or 'none'} |"
        )
    targets = []
    for case in TARGET_CASES:
        above = results[case].median() - base.median()
        targets.append(
            f"| {SHOWN[case]} under {MAX_ABOVE_PYTHON_SECONDS} s above `python -c pass` | +{above:.3f} s | "
            f"{verdict(above < MAX_ABOVE_PYTHON_SECONDS)} |"
        )
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}. Load average (1 min) {load[0]:.2f} when the runs began, {load[1]:.2f} when "
        "they ended: start-up times grow when other work shares the cores.",
        "",
        f"Code measured: `assess/`, `schemas/` and `rules/`, SHA-256 `{code[:16]}`, the same before and after the "
        "runs.",
        "",
        f"Each case ran {repeats} times, the cases taking turns, after one warm-up run each that is not counted; every "
        "run is a process of its own under `/usr/bin/time -v`, started as a user starts it (the `assess` script of "
        "`.venv/bin`, with ASSESS_DB, ASSESS_RULES and ASSESS_LOG unset). Seconds are the wall clock around the whole "
        "process (interpreter start, imports, the command's work, exit), taken by the benchmark with "
        "`time.perf_counter`; process CPU is GNU time's user + system seconds; peak RSS is GNU time's \"Maximum "
        'resident set size", in MB of 10^6 bytes. The table gives the medians (and the fastest run), and each '
        "median's difference to the bare interpreter's. Compiled bytecode is read from a cache that the preparation "
        "and the warm-up runs fill, as for an installed package (an environment with PYTHONDONTWRITEBYTECODE=1 "
        "compiles the `assess` modules at every start instead).",
        "",
        "| case | command | median s | fastest s | − python s | process CPU s | peak RSS MB | − python MB | heavy "
        "libraries loaded |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
        f"Heavy libraries loaded: which of {', '.join(HEAVY)} one more run of the command imported "
        "(`PYTHONPROFILEIMPORTTIME=1`, the environment's `python -X importtime`).",
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
        *targets,
        "",
        "### Test data",
        "",
        "Written by the benchmark into a temporary folder, removed afterwards:",
        "",
        f"- `one_row.xlsx`: `assess sample --enterprises 1 --years {SAMPLE_YEAR}-{SAMPLE_YEAR} --seed {SAMPLE_SEED}`, "
        "one synthetic filing;",
        "- `small.duckdb`: a new store into which `assess ingest` stored that file, one upload of one accepted row;",
        "- the ingest case's store: a new folder and database for every run.",
        "",
    ]
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=CASES, help="run one case once and print its measurement as JSON")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each case (default 5)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def in_temporary_folder(job: Callable[[Setup], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="assess-bench-startup-") as tmp:
        print("preparing the one-row workbook and the small store ...", file=sys.stderr, flush=True)
        job(prepare(Path(tmp)))


def one_case(case: str) -> Callable[[Setup], None]:
    def job(setup: Setup) -> None:
        command, cwd = commands(setup, "1")[case]
        run = measure_command(command, cwd, setup.env)
        print(json.dumps({"case": case, "command": command, **run.report, "peak_rss_kb": run.peak_rss_kb}))

    return job


def whole_run(repeats: int) -> Callable[[Setup], None]:
    def job(setup: Setup) -> None:
        code = tree_digest([PROJECT_DIR / name for name in CODE])
        load_before = os.getloadavg()[0]
        results = measure_all(setup, repeats)
        load_after = os.getloadavg()[0]
        heavy = {
            case: heavy_imports(command, cwd, setup.env) for case, (command, cwd) in commands(setup, "imports").items()
        }
        if tree_digest([PROJECT_DIR / name for name in CODE]) != code:
            raise SystemExit("The code under test changed during the runs: nothing written, run again.")
        write_section(HEADING, section(results, heavy, code, (load_before, load_after)))
        print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)

    return job


def main() -> None:
    args = parse_args()
    in_temporary_folder(one_case(args.case) if args.case else whole_run(args.repeats))


if __name__ == "__main__":
    main()

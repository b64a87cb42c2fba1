"""What the benchmarks in bench/ share: the project's paths, the cached test data, the runs under GNU time, their
medians, and the sections of bench/RESULTS.md.

It imports only the standard library, so that a case's peak RSS stays that of what the case itself imports.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
RESULTS_PREAMBLE = (
    "# Benchmark results\n\nEach benchmark in `bench/` rewrites its own section; see `bench/README.md`.\n"
)
GNU_TIME = "/usr/bin/time"
MB = 1_000_000
PEAK_RSS_LIMIT_MB = 2_000  # "under 2 GB", taken in decimal megabytes
# The filing columns the two flag rules and their counts read: the bare scan of bench/run.py reads exactly these, and
# bench/rules_pandas.py loads them (with the firm's name).
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


# --- code and test data -------------------------------------------------------------------------------------------


def tree_digest(paths: list[Path]) -> str:
    """SHA-256 over the names and contents of the files given and of those in the folders given (caches aside)."""
    found = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    files = [f for f in found if "__pycache__" not in f.parts]
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path.relative_to(PROJECT_DIR)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def assess_digest(fixed: Iterable[Path]) -> str:
    """SHA-256 of the `assess` modules this process has loaded and of the files and folders in `fixed`."""
    loaded = [module.__file__ for name, module in sys.modules.items() if name.split(".")[0] == "assess"]
    return tree_digest([*(Path(file) for file in loaded if file is not None), *fixed])


def ensure_built(path: Path, sources: Iterable[str], verb: str, build: Callable[[Path, str], None]) -> Path:
    """Build the test data at `path` with `build(partial, digest)` unless it is there already, built from the same
    sources (project-relative files and folders; a stamp beside the file records their digest). Built under a
    temporary name and renamed, so an interrupted build is never reused."""
    stamp = path.with_name(f"{path.name}.generator-sha256")
    digest = tree_digest([PROJECT_DIR / name for name in sources])
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    partial.unlink(missing_ok=True)
    print(f"{verb} {path.relative_to(PROJECT_DIR)} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    build(partial, digest)
    partial.replace(path)
    stamp.write_text(digest)
    print(f"  done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return path


# --- measuring (the parent process) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # time.perf_counter around the measured part alone, as the case reported it
    process_cpu_seconds: float  # GNU time: user + system time of the whole process
    peak_rss_kb: int  # GNU time: maximum resident set size of the whole process
    report: dict  # what the case printed

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kb * 1024 / MB


def measure(script: str | Path, case: str, *args: str) -> Run:
    """One run of `script --case CASE ARGS...` in its own process under /usr/bin/time -v; the script prints its
    measurement as its last line of JSON."""
    with tempfile.NamedTemporaryFile("r", prefix="assess-bench-time-", suffix=".txt") as stats:
        command = [GNU_TIME, "-v", "-o", stats.name, sys.executable, str(Path(script).resolve())]
        completed = subprocess.run([*command, "--case", case, *args], cwd=PROJECT_DIR, capture_output=True, text=True)
        if completed.returncode != 0:
            raise SystemExit(f"case {case} failed:\n{completed.stderr}")
        printed = stats.read()
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Run(
        seconds=report["seconds"],
        process_cpu_seconds=float(gnu_time(printed, "User time (seconds)"))
        + float(gnu_time(printed, "System time (seconds)")),
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
    """The runs of one case."""

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


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def machine(packages: Iterable[str]) -> str:
    """The cores, memory and system, and the versions of Python and of the packages named."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    assert memory is not None
    ram_gib = int(memory.group(1)) / 1024**2
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in packages)
    cpu = f" ({model.group(1).strip()})" if model else ""
    return (
        f"{os.cpu_count()} cores{cpu}, {ram_gib:.1f} GiB RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, {versions}"
    )


def invocation(script: str | Path) -> str:
    """The command line this process was started with, project-relative where it can be."""
    python = Path(sys.executable)
    if python.is_relative_to(PROJECT_DIR):
        python = python.relative_to(PROJECT_DIR)
    return shlex.join([str(python), str(Path(script).resolve().relative_to(PROJECT_DIR)), *sys.argv[1:]])


def section_head(heading: str, script: str | Path) -> list[str]:
    """The first lines of a section: its heading and the command that wrote it, with the date."""
    return [
        heading,
        "",
        f"Command (in the project directory): `{invocation(script)}`, run {dt.date.today().isoformat()}.",
        "",
    ]


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def write_section(heading: str, text: str) -> None:
    """Replace the section of RESULTS.md under `heading` (or append it), keeping every other section as it is."""
    existing = RESULTS_PATH.read_text(encoding="utf-8") if RESULTS_PATH.exists() else RESULTS_PREAMBLE
    preamble, *sections = re.split(r"(?m)^(?=## )", existing)
    ours = [s.splitlines()[0] == heading for s in sections]
    sections = [text if mine else s for s, mine in zip(sections, ours, strict=True)]
    if not any(ours):
        sections.append(text)
    parts = [preamble.rstrip("\n") + "\n", *(s.rstrip("\n") + "\n" for s in sections)]
    RESULTS_PATH.write_text("\n".join(parts), encoding="utf-8")


# --- command line -------------------------------------------------------------------------------------------------


def parse_args(
    doc: str, cases: Iterable[str], add_arguments: Callable[[argparse.ArgumentParser], None]
) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line of a benchmark: `--case NAME` (one run, printed as JSON), the script's own arguments
    (`add_arguments`) and `--repeats N`. Returns the parser too, for the script's own checks."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(cases), help="run one case once and print its measurement as JSON")
    add_arguments(parser)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each case (default 3)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return parser, args


def file_case_args(doc: str, cases: Mapping[str, Callable[[Path], dict]]) -> argparse.Namespace | None:
    """The command line of a benchmark whose cases each read one file. With `--case NAME --file PATH`, run that case
    once and print its measurement as JSON (and return None); else return the arguments of a whole run."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--file", type=Path, help="the file the case reads (with --case)")

    parser, args = parse_args(doc, cases, add_arguments)
    if args.case is None:
        return args
    if args.file is None:
        parser.error("--case needs --file")
    print(json.dumps(cases[args.case](args.file.resolve())))
    return None


def measure_alternating(script: str | Path, cases: Iterable[str], repeats: int, *args: str) -> dict[str, list[Run]]:
    """Each case `repeats` times, the cases taking turns so that all see the same machine state; progress on
    stderr."""
    runs: dict[str, list[Run]] = {case: [] for case in cases}
    for i in range(repeats):
        for case, done in runs.items():
            run = measure(script, case, *args)
            done.append(run)
            print(
                f"{case} run {i + 1}/{repeats}: {run.seconds:.2f} s, process CPU {run.process_cpu_seconds:.2f} s, "
                f"{run.peak_rss_mb:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    return runs

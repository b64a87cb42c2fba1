"""Report benchmark: the HTML report of 2024 (`api.report`) for the 1,000,000-enterprise test store of bench/run.py,
with an assessment run stored for every year 2020-2024 (the report's trend reads every year with a run).

`python bench/report.py` builds the report store into bench/data/ once (a copy of bench/run.py's store, the
classifier trained on all its labels as `assess train` does, then `api.run_year` for each year; reused while its
sources are unchanged), renders the province report and one city's three times each and the province report with its
PDF once, each run in its own process under GNU time (`/usr/bin/time -v`), and rewrites the report section of
bench/RESULTS.md. `python bench/report.py --case NAME --db PATH --out DIR` is one such run: it times the case with
time.perf_counter, writes its files into DIR and prints its measurement as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PROJECT_DIR,
    RESULTS_PATH,
    CaseResult,
    Run,
    assess_digest,
    ensure_built,
    machine,
    measure,
    measure_alternating,
    parse_args,
    section_head,
    verdict,
    write_section,
)
from run import STORE_PATH, STORE_SOURCES, ensure_store  # bench/run.py: the 1,000,000-enterprise store

HEADING = "## Report (bench/report.py)"
YEAR = 2024
FIRST_YEAR = 2020
CITY = "济南"
# The targets for the province report of a year for 1,000,000 firms.
MAX_SECONDS = 30.0
MAX_FILE_MB = 5.0
REPORT_STORE = DATA_DIR / f"report_{STORE_PATH.stem}.duckdb"
BUILD_RECORD = REPORT_STORE.with_name(f"{REPORT_STORE.name}.build.json")  # the build's measurements
# What the stored runs depend on: bench/run.py's store, the rules and every part of `assess` but those `api.run_year`
# does not load (the faces that read runs: the report, the command line, the workbooks, the web app; the web app's
# accounts; the ingest, which bench/run.py's store bypasses).
NOT_RUN = ("report", "cli", "outputs", "web", "access", "ingest")
REPORT_STORE_SOURCES = tuple(
    dict.fromkeys(
        [
            *STORE_SOURCES,
            *sorted(f"assess/{p.name}" for p in (PROJECT_DIR / "assess").iterdir() if p.name not in NOT_RUN),
            "rules",
        ]
    )
)
PACKAGES = ("duckdb", "polars", "scikit-learn", "matplotlib", "jinja2", "weasyprint")  # whose versions RESULTS.md gives
REPORT_CASES = ("province", "city")  # measured `--repeats` times, taking turns; the PDF and the profile once
# The stages of the province report the profile case times: what, and the function (file, name) that does it.
STAGES = (
    ("content: all it reads from the store", "assess/report/content.py", "report_content"),
    ("the figures of every year with a run", "assess/run/figures.py", "year_figures"),
    ("of which the rubric verdicts counted", "assess/run/runs.py", "rubric_counts"),
    ("the year's scores, every column", "assess/run/runs.py", "scores"),
    ("the lists: firms, funnels", "assess/report/content.py", "_list_part"),
    ("the uploads", "assess/report/content.py", "_uploads"),
    ("of which their problems, placed", "assess/store/__init__.py", "problems"),
    ("page: charts and template", "assess/report/render.py", "render_report"),
    ("of which the charts", "assess/report/render.py", "_charts"),
)


# --- one run (the child process) ----------------------------------------------------------------------------------


def train_case(db: Path, out: Path, year: int) -> dict:
    """`api.train`: the 三高一核心 classifier on every labelled filing of the store, registered there."""
    from assess import api

    with api.open_store(db) as store:
        start = time.perf_counter()
        trained = api.train(store)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "fallback": trained.fallback,
        "n_train": trained.report["n_train"],
        "n_positive": trained.report["n_positive"],
        "cv": trained.report["cv"],
    }


def run_case(db: Path, out: Path, year: int) -> dict:
    """`api.run_year`: every pack for the year, the scores, the lists, the run stored, its figures read back."""
    from assess import api

    with api.open_store(db) as store:
        start = time.perf_counter()
        done = api.run_year(store, year)
        seconds = time.perf_counter() - start
    model = done.run.manifest["scoring"]["model"]
    return {
        "seconds": seconds,
        "run_id": done.run.run_id,
        "model": "the index (no model)" if model["fallback"] else f"model {model['model_id']}",
        "selected": {tier: frame.height for tier, frame in done.lists.items()},
    }


def report_run(db: Path, out: Path, city: str | None, pdf: bool) -> dict:
    """`api.report` of YEAR (the province, or `city`), timed alone: the report's modules (matplotlib, Jinja) are
    imported first, apart. With `pdf`, then `write_pdf` of that page, timed apart: together what `api.report` does
    with its `pdf` argument."""
    from assess import api

    start = time.perf_counter()
    import assess.report.content  # noqa: F401
    from assess.report.render import write_pdf

    imported = time.perf_counter()
    area = city or "全省"
    html = out / f"{YEAR}_{area}_评估报告.html"
    with api.open_store(db) as store:
        years = [row[0] for row in store.con.execute("SELECT DISTINCT year FROM runs ORDER BY year").fetchall()]
        begin = time.perf_counter()
        api.report(store, YEAR, html, city)
        seconds = time.perf_counter() - begin
    if pdf:
        begin = time.perf_counter()
        write_pdf(html, html.with_suffix(".pdf"))
        pdf_seconds = time.perf_counter() - begin
    page = html.read_text(encoding="utf-8")
    return {
        "seconds": seconds,
        "pdf_seconds": pdf_seconds if pdf else None,
        "import_seconds": imported - start,
        "bytes": html.stat().st_size,
        "svg_bytes": sum(len(svg.encode()) for svg in re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)),
        "charts": page.count("<svg"),
        "numbers": page.count('class="n"'),
        "pdf_bytes": html.with_suffix(".pdf").stat().st_size if pdf else None,
        "years": years,
        "code": assess_digest([PROJECT_DIR / "templates", PROJECT_DIR / "rules", PROJECT_DIR / "schemas"]),
    }


def profile_case(db: Path, out: Path, year: int) -> dict:
    """The province report once under cProfile: the seconds of each of STAGES (cumulative, the profiler's overhead
    included), and whether the page shows any rubric count."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    measured = profiler.runcall(report_run, db, out, None, False)
    timings = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    stages = {
        label: sum(
            cumulative
            for (path, _, name), (_, _, _, cumulative, _) in timings.items()
            if name == function and path.endswith(file)
        )
        for label, file, function in STAGES
    }
    page = (out / f"{YEAR}_全省_评估报告.html").read_text(encoding="utf-8")
    return {**measured, "stages": stages, "shows_rubrics": 'data-path="rubrics.' in page}


CASES: dict[str, Callable[[Path, Path, int], dict]] = {
    "train": train_case,
    "run": run_case,
    "province": lambda db, out, year: report_run(db, out, None, pdf=False),
    "city": lambda db, out, year: report_run(db, out, CITY, pdf=False),
    "pdf": lambda db, out, year: report_run(db, out, None, pdf=True),
    "profile": profile_case,
}


# --- test data ----------------------------------------------------------------------------------------------------


def models_dir(db: Path) -> Path:
    """Where the store keeps its model files (assess.scoring.persist.models_dir)."""
    return db.with_name(f"{db.name}.models")


def ensure_report_store() -> Path:
    """The report store, built unless it is there already from the same sources (a stamp beside it records them)."""
    base = ensure_store()
    return ensure_built(REPORT_STORE, REPORT_STORE_SOURCES, "building", lambda path, _: build_report_store(base, path))


def build_report_store(base: Path, path: Path) -> None:
    """A copy of `base`, the classifier trained and a run stored for every year, each step in its own process under
    GNU time; their measurements are kept in BUILD_RECORD. The model files follow the store to its final name."""
    for stale in (models_dir(path), models_dir(REPORT_STORE)):
        shutil.rmtree(stale, ignore_errors=True)
    BUILD_RECORD.unlink(missing_ok=True)
    start = time.perf_counter()
    shutil.copyfile(base, path)
    steps: dict[str, dict] = {"copy": {"seconds": time.perf_counter() - start}}
    with tempfile.TemporaryDirectory(prefix="assess-bench-report-") as tmp:
        for name, year in [("train", YEAR), *(("run", y) for y in range(FIRST_YEAR, YEAR + 1))]:
            load = os.getloadavg()[0]
            run = measure(__file__, name, "--db", str(path), "--out", tmp, "--year", str(year))
            label = name if name == "train" else f"run {year}"
            steps[label] = {
                **run.report,
                "peak_rss_mb": run.peak_rss_mb,
                "cpu_seconds": run.process_cpu_seconds,
                "load": load,
            }
            print(f"  {label}: {run.seconds:,.0f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr, flush=True)
    if models_dir(path).exists():  # not when too few labels left the index standing in
        models_dir(path).replace(models_dir(REPORT_STORE))
    BUILD_RECORD.write_text(json.dumps(steps, indent=1), encoding="utf-8")


# --- measuring (the parent process) -------------------------------------------------------------------------------


class ReportResult(CaseResult):
    @property
    def code(self) -> str:
        digests = {r.report["code"] for r in self.runs}
        if len(digests) > 1:
            raise SystemExit(f"The code under test changed between the {self.case} runs: nothing written, run again.")
        return digests.pop()

    @property
    def size(self) -> int:
        """The page's bytes, the same in every run (the page says when it was written, in a fixed-width form)."""
        sizes = {r.report["bytes"] for r in self.runs}
        if len(sizes) > 1:
            raise SystemExit(f"The {self.case} pages differ in size from run to run: {sorted(sizes)}.")
        return sizes.pop()


def run_cases(db: Path, repeats: int, pdf: bool) -> dict[str, ReportResult]:
    with tempfile.TemporaryDirectory(prefix="assess-bench-report-") as tmp:
        runs: dict[str, list[Run]] = measure_alternating(__file__, REPORT_CASES, repeats, "--db", str(db), "--out", tmp)
        once = ("pdf", "profile") if pdf else ("profile",)
        runs |= measure_alternating(__file__, once, 1, "--db", str(db), "--out", tmp)
    results = {case: ReportResult(case, done) for case, done in runs.items()}
    if len({result.code for result in results.values()}) > 1:
        raise SystemExit("The code under test changed between the cases: nothing written, run again.")
    return results


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def prose(text: str, indent: str = "") -> list[str]:
    """A paragraph or list item wrapped to the width of the other sections."""
    return textwrap.wrap(
        text, width=118, initial_indent=indent, subsequent_indent=" " * len(indent), break_on_hyphens=False
    )


def section(results: dict[str, ReportResult], build: dict, repeats: int, load: float) -> str:
    province, city = results["province"], results["city"]
    page = province.runs[-1].report
    seconds_met = province.median() < MAX_SECONDS
    size_met = province.size / MB < MAX_FILE_MB

    def row(label: str, result: ReportResult) -> str:
        return (
            f"| {label} | {len(result.runs)} | {result.median():.2f} | {result.fastest():.2f} "
            f"| {result.process_cpu_median:.2f} | {result.peak_rss_mb:,.0f} | {result.size:,} "
            f"| {result.size / MB:.2f} |"
        )

    times = "once" if repeats == 1 else f"{repeats} times"
    lines = [
        *section_head(HEADING, __file__),
        *prose(f"Machine: {machine(PACKAGES)}. Load average when the runs began: {load:.2f}."),
        "",
        *prose(
            "Code measured: the `assess` modules the report loads, `templates/`, `rules/` and `schemas/`, SHA-256 "
            f"`{province.code[:16]}`, the same in every run."
        ),
        "",
        *prose(
            f"The province and the {CITY} report each ran {times}, taking turns, each run in its own process under "
            f"`/usr/bin/time -v`, on the report store below. Seconds are wall-clock (`time.perf_counter`) around "
            f"`api.report(store, {YEAR}, out, city)` alone: reading the runs of every year "
            f"({', '.join(map(str, page['years']))}), the lists, uploads and parameters, drawing the charts "
            "(matplotlib, SVG), filling the template and writing the file; the interpreter, importing the report's "
            f"modules (median {province.median('import_seconds'):.2f} s) and opening the store are outside. Process "
            "CPU is GNU time's user + system seconds of the whole process (median), peak RSS its \"Maximum resident "
            'set size", the highest of the runs, in MB of 10^6 bytes; file sizes in bytes and MB of 10^6 bytes.'
        ),
        "",
        "| report | runs | median s | fastest s | process CPU s | peak RSS (MB) | HTML bytes | HTML MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("province (全省)", province),
        row(f"city ({CITY})", city),
        "",
        *prose(
            f"The province page holds {page['numbers']:,} numbers (each a `data-src`/`data-path` span) and "
            f"{page['charts']} inline SVG charts, which take {page['svg_bytes']:,} of its {province.size:,} bytes "
            f"({page['svg_bytes'] / province.size:.0%}: every label is drawn as glyph outlines)."
        ),
    ]
    if "pdf" in results:
        printed = results["pdf"]
        pdf_bytes = printed.runs[-1].report["pdf_bytes"]
        pdf_seconds = printed.runs[-1].report["pdf_seconds"]
        lines += [
            "",
            *prose(
                "The printable copy (`assess report --pdf`, WeasyPrint; not a target) ran once, in a process of its "
                f"own: the province page ({printed.median():.2f} s), then `write_pdf` of it, as `api.report` does "
                f"with `pdf`: {pdf_seconds:.2f} s more; peak RSS of that process {printed.peak_rss_mb:,.0f} MB. The "
                f"PDF is {pdf_bytes:,} bytes ({pdf_bytes / MB:.2f} MB)."
            ),
        ]
    lines += [
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
        f"| province report of {YEAR} for 1,000,000 firms renders in under {MAX_SECONDS:g} s (median) "
        f"| {province.median():.2f} s | {verdict(seconds_met)} |",
        f"| its file stays under {MAX_FILE_MB:g} MB | {province.size / MB:.2f} MB | {verdict(size_met)} |",
    ]
    if seconds_met != (province.fastest() < MAX_SECONDS):
        lines += [
            "",
            *prose(
                f"The fastest province run ({province.fastest():.2f} s) would give the other verdict: the margin is "
                "within the variation from run to run (and with the load of other work on the machine)."
            ),
        ]
    profiled = results["profile"].runs[-1].report
    lines += [
        "",
        "### Where the time goes",
        "",
        *prose(
            "One more province run under cProfile (`python -m cProfile` as in bench/README.md, here "
            f"`cProfile.Profile.runcall`): `api.report` took {profiled['seconds']:.2f} s (the profiler slows the "
            "Python parts); the cumulative seconds of its stages, each the function named:"
        ),
        "",
        "| stage | function | seconds | share |",
        "| --- | --- | ---: | ---: |",
        *(
            f"| {label} | `{file}`: `{function}` | {profiled['stages'][label]:.2f} "
            f"| {profiled['stages'][label] / profiled['seconds']:.0%} |"
            for label, file, function in STAGES
        ),
        "",
        *prose(
            "The rubric verdicts are counted for every year's figures (the `rubrics` of `stats --json`), each count "
            "reading the JSON of every firm's rubric results of that run; the page shows "
            + ("some of them." if profiled["shows_rubrics"] else "none of them.")
        ),
        "",
        "### Test data",
        "",
        *prose(
            f"`bench/data/{REPORT_STORE.name}` ({REPORT_STORE.stat().st_size / MB:,.0f} MB, with its model in "
            f"`{models_dir(REPORT_STORE).name}/`; git-ignored): a copy of bench/run.py's store "
            f"`{STORE_PATH.name}` (1,000,000 enterprises × {FIRST_YEAR}-{YEAR}, synthetic), in which the "
            "classifier was trained on every labelled filing (`api.train`, as `assess train` does) and then "
            f"`api.run_year` stored a run for each year {FIRST_YEAR}-{YEAR} (as `assess run --year Y` does). It is "
            "built on the first run and reused while bench/run.py's store, `rules/` and the parts of `assess/` a run "
            f"loads (all but {', '.join(NOT_RUN)}) are unchanged: a `.generator-sha256` stamp beside it records "
            "them. Each step ran once, in its own process under `/usr/bin/time -v`; seconds around the "
            f"step alone. Copying the store took {build['copy']['seconds']:.1f} s."
        ),
        "",
        "| step | seconds | process CPU s | peak RSS (MB) | load average at its start | what |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    trained = build["train"]
    cv = trained["cv"]
    said = (
        "too few labels: no model, the index stands in"
        if trained["fallback"]
        else f"{trained['n_train']:,} labelled filings ({trained['n_positive']:,} confirmed): grouped CV "
        f"(ROC AUC {cv['roc_auc']:.3f}), temporal check, final fit, registered"
    )
    lines.append(
        f"| `api.train` | {trained['seconds']:,.1f} | {trained['cpu_seconds']:,.1f} | {trained['peak_rss_mb']:,.0f} "
        f"| {trained['load']:.2f} | {said} |"
    )
    for year in range(FIRST_YEAR, YEAR + 1):
        step = build[f"run {year}"]
        chosen = ", ".join(f"{tier} {n:,}" for tier, n in step["selected"].items())
        lines.append(
            f"| `api.run_year` {year} | {step['seconds']:,.1f} | {step['cpu_seconds']:,.1f} "
            f"| {step['peak_rss_mb']:,.0f} | {step['load']:.2f} "
            f"| run {step['run_id']}, scores from {step['model']}; selected: {chosen} |"
        )
    return "\n".join(lines) + "\n"


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", type=Path, default=REPORT_STORE, help="the store the case reads (with --case)")
        parser.add_argument("--out", type=Path, help="where the case writes its files (with --case)")
        parser.add_argument("--year", type=int, default=YEAR, help="the year the run case evaluates (with --case)")
        parser.add_argument("--no-pdf", action="store_true", help="leave out the PDF rendering")

    parser, args = parse_args(__doc__ or "", CASES, add_arguments)
    if args.case is not None:
        if args.out is None:
            parser.error("--case needs --out")
        if not args.db.exists():
            parser.error(f"no store at {args.db}: run without --case once to build it")
        args.out.mkdir(parents=True, exist_ok=True)
        print(json.dumps(CASES[args.case](args.db.resolve(), args.out.resolve(), args.year)))
        return
    db = ensure_report_store()
    build = json.loads(BUILD_RECORD.read_text(encoding="utf-8"))
    load = os.getloadavg()[0]
    results = run_cases(db, args.repeats, pdf=not args.no_pdf)
    write_section(HEADING, section(results, build, args.repeats, load))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    main()

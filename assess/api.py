"""The library API: one typed function per job a user has, which the command line, the web app and scripts call.

Each function takes an open `Store` (see `open_store`) or a database path, and the rule folder to read (`rules`:
None means env ASSESS_RULES, else the packaged rules), and returns typed results; nothing here prints. Requests that
cannot be met raise `StoreError`, `PackError` or `ResourceError` with a Chinese message; input that is not usable as
given raises `InputError` (the command line's exit status 2).

Every heavy library (polars, DuckDB, pydantic, sqlglot, the readers, scikit-learn) is imported only by the jobs that
use it, so that importing this module costs next to nothing and each command loads only what it needs.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assess.errors import InputError, OutputError, StoreError, describe_os_error
from assess.progress import Progress, Steps, within
from assess.resources import PACKAGED_RULES, SAMPLE_DIR, rules_dir

if TYPE_CHECKING:
    import polars as pl

    from assess.engines.spark.run import SparkRun
    from assess.ingest import IngestResult, Options
    from assess.kernel.expressions import Scalar
    from assess.run.config import Config
    from assess.run.names import ChainFilter
    from assess.run.runs import Run
    from assess.store import Store
    from assess.store.parquet import ParquetExport
    from assess.store.upkeep import Check
    from assess.tiers.packs import LoadedTier

__all__ = [
    "DemoResult",
    "InputError",
    "ListsResult",
    "RunResult",
    "Simulation",
    "backup",
    "demo",
    "doctor",
    "explain",
    "export_parquet",
    "export_workbooks",
    "flags",
    "import_run",
    "ingest",
    "init_rules",
    "lists",
    "load_config",
    "open_store",
    "problem_workbook",
    "problem_workbooks",
    "refusal",
    "require_engine",
    "retract",
    "rubric",
    "run_on_spark",
    "run_year",
    "sample",
    "score",
    "simulate",
    "stats",
    "template",
    "train",
    "unmapped",
]

SYNTHETIC = "演示数据均为合成数据（sample_data/），企业名称、信用代码和数值都是随机生成的，不代表任何真实企业。"
DEMO_FILES = ("panel_2020-2024.xlsx", "messy.xlsx")
# What `demo` writes into its folder; a folder holding anything else is not rebuilt.
DEMO_OUTPUTS = ("assess.duckdb*", "*_培育清单.xlsx", "*_问题清单.xlsx", "*_评估报告.html")


@contextmanager
def open_store(db: Path | None = None) -> Iterator[Store]:
    """The store at `db`, else env ASSESS_DB, else ./assess.duckdb; created or migrated as needed."""
    from assess.store import Store, resolve_db

    with Store(resolve_db(db)) as store:
        yield store


def load_config(rules: Path | None = None, overrides: dict[str, Scalar] | None = None) -> Config:
    """Every pack of the rule folder (--rules, else ASSESS_RULES, else the packaged rules), compiled."""
    from assess.run.config import load_config as load

    return load(rules_dir(rules), overrides)


# --- filings -------------------------------------------------------------------------------------------------------


def ingest(
    store: Store, files: Sequence[Path], options: Options, progress: Progress | None = None
) -> list[IngestResult]:
    """Each file its own upload and transaction; a file that does not exist is a result with its error."""
    from assess.ingest import IngestResult, ingest_files

    missing = [
        IngestResult(
            file=str(f),
            error=f"「{f}」是一个文件夹，不是文件：请给出要导入的文件。" if f.is_dir() else f"找不到文件「{f}」。",
        )
        for f in files
        if not f.is_file()
    ]
    return missing + ingest_files(store, [f for f in files if f.is_file()], options, progress)


def refusal(path: Path) -> str | None:
    """Why the ingest would refuse the file before reading it (its kind by content, its size, the limits), in
    Chinese; None when it would read it."""
    from assess.contract import load_contract
    from assess.ingest.files import UnreadableFile, check_file

    try:
        check_file(path, load_contract().limits)
    except UnreadableFile as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class ProblemLists:
    """Where each result's 问题清单 was written, keyed by the result's position; and, for those that could not be
    written, why (the uploads themselves are committed: `assess problems N` lists their problems again)."""

    written: dict[int, Path] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def problem_workbooks(
    results: Sequence[IngestResult], errors_out: Path | None = None, directory: Path | None = None
) -> ProblemLists:
    """One 问题清单 per file with problems (named after the file; a name two files share gets the upload number), or
    all of them in `errors_out`. A list that cannot be written (a folder that cannot be written, a file open in
    Excel, a full disk) is said in `failed` and never hides the upload's result."""
    import polars as pl

    from assess.outputs.problem_workbook import write_problem_workbook

    with_problems = {i: r for i, r in enumerate(results) if r.problems.height}
    if errors_out is not None and with_problems:
        groups = {errors_out: list(with_problems)}
    else:
        stems = Counter(Path(r.file).stem for r in with_problems.values())
        groups = {}
        for i, r in with_problems.items():
            stem = Path(r.file).stem
            name = f"{stem}_问题清单.xlsx" if stems[stem] == 1 else f"{stem}_第{r.upload_id or i + 1}批_问题清单.xlsx"
            groups[(directory or Path.cwd()) / name] = [i]
    lists = ProblemLists()
    for path, positions in groups.items():
        try:
            written = write_problem_workbook(pl.concat([results[i].problems for i in positions]), path)
        except OutputError as exc:
            lists.failed.update(dict.fromkeys(positions, str(exc)))
        else:
            lists.written.update(dict.fromkeys(positions, written))
    return lists


def problem_workbook(store: Store, upload_id: int, out: Path) -> Path:
    """An upload's 问题清单 written again from the store."""
    from assess.outputs.problem_workbook import write_problem_workbook

    return write_problem_workbook(store.problems(upload_id), out)


def doctor(store: Store) -> list[Check]:
    """The store's health: schema version, orphan files and rows, every kept file's and model's SHA-256."""
    from assess.store.upkeep import doctor as checks

    return checks(store)


def backup(store: Store, out: Path) -> Path:
    """A consistent copy of the database at `out`, its kept files and models beside it."""
    from assess.store.upkeep import backup as copy

    return copy(store, out)


def retract(store: Store, upload_id: int) -> None:
    store.retract(upload_id)


def city_name(city: str | None) -> str | None:
    """A city as the store keeps it (济南市 -> 济南); refused, with the closest names, when it is not one of
    Shandong's cities."""
    from assess.contract import load_contract
    from assess.run import names

    return None if city is None else names.city(city, load_contract())


def chain_filter(chain: str | None) -> ChainFilter | None:
    """A flagship chain or one of its directions, by name; refused, with the closest names, when it is neither."""
    from assess.contract import load_contract
    from assess.run import names

    return None if chain is None else names.chain(chain, load_contract())


# --- runs ----------------------------------------------------------------------------------------------------------

Engine = Literal["duckdb", "spark"]


def require_engine(engine: Engine) -> None:
    """Refuse an engine this machine cannot run, saying what to install: Spark needs the `spark` extra (PySpark)."""
    if engine == "spark":
        from assess.engines.spark.session import require_pyspark

        require_pyspark()


def export_parquet(
    store: Store, out: Path, years: Sequence[int] | None = None, rules: Path | None = None
) -> ParquetExport:
    """The filings in force of `years` (None: every year with filings) and the supplements, with the earlier years
    their features read, as Parquet partitioned by year and city with a manifest, for another engine to assess; with
    them the scoring model `assess run` would apply for the store's labels and the rule folder (not trained here:
    the manifest says where none is)."""
    from assess.features import HISTORY_YEARS
    from assess.run.context import install_features
    from assess.scoring import persist
    from assess.scoring.train import model_entry, registered
    from assess.store.parquet import Model
    from assess.store.parquet import export_parquet as write

    asked = list(years) if years else store.filings_by_year()["year"].to_list()
    if not asked:
        raise StoreError("库中还没有任何有效填报，没有可导出的内容。")
    config = load_config(rules)
    install_features(store, config)  # the labelled filings the model was trained on are found through them
    classifier = config.scoring.classifier
    trained = registered(store, classifier)
    model = Model(entry=None, file=None)
    if trained is not None:
        entry = model_entry(trained, classifier)
        record = trained.record
        data = None if record is None else persist.read(persist.models_dir(store) / record.file, record.sha256)
        model = Model(entry, None if data is None else (entry["record"]["file"], data))
    return write(store, out, asked, HISTORY_YEARS, model)


@dataclass(frozen=True)
class RunResult:
    run: Run
    stats: dict  # the 一清零 / 一提升 figures (see `stats`)
    lists: dict[str, pl.DataFrame]  # each list's selected firms in rank order, by tier id
    tiers: tuple[LoadedTier, ...]


def run_year(store: Store, year: int, rules: Path | None = None, progress: Progress | None = None) -> RunResult:
    """Evaluate every pack for the year, score, draw the lists and keep the run with its manifest."""
    from assess.run import runs
    from assess.run.context import RunContext

    config = load_config(rules)
    done = runs.execute(RunContext(store, config, year), progress=progress)
    return RunResult(done, _figures(store, done), _selected(store, done, config.tiers), config.tiers)


def run_on_spark(
    export: Path,
    year: int,
    out: Path,
    rules: Path | None = None,
    spark_conf: Path | None = None,
    master: str | None = None,
    progress: Progress | None = None,
) -> SparkRun:
    """Assess the year on Spark from a Parquet export (`export_parquet`) into the new or empty folder `out`: the
    results as Parquet and the run's manifest, for `import_run`. Spark's settings come from the YAML file
    `spark_conf` (Spark setting names and values) and `master`, which overrides the file's."""
    from assess.contract import load_contract
    from assess.engines.spark import run, session

    settings = session.settings(spark_conf, master)
    config = load_config(rules)
    prepared = run.prepare(export, year, config, out)  # refused here, before Spark starts, where it is wrong
    spark = session.start(settings)
    return run.run_year(spark, settings, prepared, config, load_contract(), progress)


def import_run(store: Store, folder: Path, rules: Path | None = None) -> RunResult:
    """Keep a run made on Spark (`run_on_spark`) in the store as a run of its year, read as any other."""
    from assess.run.folder import import_run as keep

    config = load_config(rules)  # a rule folder that cannot be read refuses before anything is stored
    done = keep(store, folder)
    tiers = _drawn(config, done).tiers
    return RunResult(done, _figures(store, done), _selected(store, done, tiers), tiers)


def _figures(store: Store, run: Run) -> dict:
    from assess.run.figures import year_figures

    return year_figures(store, run)


def _selected(store: Store, run: Run, tiers: tuple[LoadedTier, ...]) -> dict[str, pl.DataFrame]:
    from assess.run import runs

    return {tier.id: runs.tier_results(store, run, tier.id, ("selected",)) for tier in tiers}


def run_scores(store: Store, run: Run, rules: Path | None = None) -> pl.DataFrame:
    """A stored run's scores of the SMEs the classifier scores, best first, with their reasons and index reasons as
    sentences."""
    from assess.run import runs
    from assess.run.context import RunContext
    from assess.run.reasons import with_reasons

    ctx = RunContext(store, _drawn(load_config(rules), run), run.year)
    return with_reasons(ctx, runs.scores(store, run, reasons=True), run.manifest)


def latest_run(store: Store, year: int) -> Run:
    from assess.run import runs

    return runs.latest(store, year)


@dataclass(frozen=True)
class YearFigures:
    run: Run
    figures: dict


def stats(store: Store, year: int) -> YearFigures:
    """The year's latest run as figures against the plan's targets: province, cities, chains, directions."""
    run = latest_run(store, year)
    return YearFigures(run, _figures(store, run))


@dataclass(frozen=True)
class Flags:
    run: Run
    hits: pl.DataFrame  # rule_id, credit_code, name, year, city, direction, chain, message
    titles: dict[str, str]  # rule id -> title


def flags(
    store: Store,
    year: int,
    rule: str | None = None,
    city: str | None = None,
    rules: Path | None = None,
    *,
    chain: str | None = None,
    every_rule: bool = False,
) -> Flags:
    """The firms the flag rules picked out in the year's latest run (verdict true), and those a missing input left
    open (verdict null, `missing` naming the inputs), for one rule, city or chain (or direction) if given; without a
    rule, those of the 一清零 and 一提升 rules, or with `every_rule` of every flag rule (the 三高一核心
    sub-judgements too). A name that matches nothing is an InputError naming the closest valid ones."""
    import polars as pl

    from assess.rules.packs import ROLE_TITLES
    from assess.run import names, runs

    config = load_config(rules)
    titles = {r.id: r.title for r in config.rules.flag_rules}
    if rule is not None:
        rule = names.choose("标记规则", rule, titles)
    within = chain_filter(chain)
    run = latest_run(store, year)
    hits = runs.hits(store, run, rule, city_name(city), unknown=True)
    if within is not None:
        hits = hits.filter(pl.col(within.column) == within.name)
    if rule is None and not every_rule:
        targets = [r.id for role in ROLE_TITLES for r in config.rules.role(role).rules]
        hits = hits.filter(pl.col("rule_id").is_in(targets))
    return Flags(run, hits, titles)


@dataclass(frozen=True)
class Rubric:
    run: Run
    frame: pl.DataFrame  # per firm: gates, points per indicator, score, verdict, missing, verdict_text, decided_by
    title: str
    indicators: dict[str, str]  # indicator id -> title
    cannot_check: tuple[str, ...]  # conditions of the official scheme the filings cannot show


def rubric(store: Store, year: int, pack: str, rules: Path | None = None) -> Rubric:
    import polars as pl

    from assess.kernel.unknown import verdict_text
    from assess.rules.decided import decided_by
    from assess.run import names, runs

    packs = {p.id: p for p in load_config(rules).rules.packs if p.rubric is not None}
    loaded = packs[names.choose("评分规则包", pack, packs)]  # a typo is a usage error, not an empty answer
    run = latest_run(store, year)
    frame = runs.rubric(store, run, loaded.id)
    if frame.is_empty():
        raise StoreError(f"第 {run.run_id} 次评估中没有评分规则包「{pack}」的结果。")
    said = verdict_text(pl.col("verdict"), pl.col("missing"), loaded.pack.cannot_check)
    reasons = [decided_by(row, loaded.pack) for row in frame.iter_rows(named=True)]
    frame = frame.with_columns(verdict_text=said, decided_by=pl.Series(reasons, dtype=pl.String))
    return Rubric(
        run, frame, loaded.pack.title, {i.id: i.title for i in loaded.pack.indicators}, tuple(loaded.pack.cannot_check)
    )


def unmapped(store: Store, year: int, rules: Path | None = None) -> pl.DataFrame:
    """The industry codes of the year's firms that fall in no chain direction, most firms first."""
    from assess.run.context import RunContext
    from assess.run.unmapped import unmapped_industries

    if year not in store.filings_by_year()["year"].to_list():
        raise StoreError(f"数据库中没有 {year} 年度的填报。")
    return unmapped_industries(RunContext(store, load_config(rules), year))


@dataclass(frozen=True)
class ListsResult:
    run: Run
    lists: dict[str, pl.DataFrame]  # by tier id, the firms of the asked statuses (selected by default), list order
    tiers: tuple[LoadedTier, ...]
    statuses: tuple[str, ...] = ("selected",)
    # by tier id, the funnel of the province or the asked city (step, kind, label, firms); empty for older runs
    funnels: dict[str, pl.DataFrame] = field(default_factory=dict)
    # by tier id, for an asked city where the list selected no firm: the firms closest to it (near, open, or furthest
    # through the gates), best first
    nearest: dict[str, pl.DataFrame] = field(default_factory=dict)


def lists(
    store: Store,
    year: int,
    rules: Path | None = None,
    *,
    list_id: str | None = None,
    city: str | None = None,
    chain: str | None = None,
    statuses: Sequence[str] = ("selected",),
) -> ListsResult:
    """The lists of the year's latest run: the firms with the given statuses (selected, near, eligible, excluded,
    unknown), in list order, for one list, city or chain (or direction) if given. A name that matches nothing is an
    InputError naming the closest valid ones."""
    import polars as pl

    from assess.run import names, runs
    from assess.tiers.evaluate import CLOSEST_PER_CITY
    from assess.tiers.select import CLOSE, CLOSE_ORDER, SELECTED, STATUS_TITLES

    for status in statuses:
        names.choose("清单状态", status, [s for s in STATUS_TITLES if s is not None])
    run = latest_run(store, year)
    tiers = _drawn(load_config(rules), run).tiers
    if list_id is not None:
        chosen = names.choose("培育清单", list_id, [t.id for t in tiers] + [t.pack.title for t in tiers])
        tiers = tuple(t for t in tiers if chosen in (t.id, t.pack.title))
    where, within = city_name(city), chain_filter(chain)
    found, funnels, nearest = {}, {}, {}
    for tier in tiers:
        funnels[tier.id] = runs.funnel(store, run, tier.id, where)
        if where is not None:
            near = runs.tier_results(store, run, tier.id, (SELECTED, *CLOSE)).filter(pl.col("city") == where)
            if near.filter(pl.col("status") == SELECTED).is_empty():
                nearest[tier.id] = near.sort(pl.col("status").replace_strict(CLOSE_ORDER), maintain_order=True).head(
                    CLOSEST_PER_CITY
                )
        frame = runs.tier_results(store, run, tier.id, tuple(statuses))
        if where is not None:
            frame = frame.filter(pl.col("city") == where)
        if within is not None:
            frame = frame.filter(pl.col(within.column) == within.name)
        found[tier.id] = frame
    return ListsResult(run, found, tiers, tuple(statuses), funnels, nearest)


def _drawn(config: Config, run: Run) -> Config:
    """The configuration with only the lists the run drew, in its order (a list file added since has no results in
    it, and one removed since is not shown)."""
    drawn = {entry["id"] for entry in run.manifest.get("tiers", [])}
    return dataclasses.replace(config, tiers=tuple(t for t in config.tiers if t.id in drawn))


def explain(store: Store, firm: str, year: int, rules: Path | None = None) -> dict:
    """Why a firm is on (or off) each list: rules, score and index with reasons, gates, ranks, what changed since.
    `firm` is a credit code, a name, or a part of a name that only one firm's name holds."""
    from assess.run.context import RunContext
    from assess.run.explain import explain_firm

    config = _drawn(load_config(rules), latest_run(store, year))
    return explain_firm(RunContext(store, config, year), firm)


@dataclass(frozen=True)
class Simulation:
    year: int
    overrides: dict[str, Scalar]
    changes: pl.DataFrame  # per rule and city: population and flagged firms before and after
    packs: frozenset[str]  # the packs changed
    flag_titles: dict[str, str]
    run: Run | None  # the run whose scores the lists were drawn from, if the year has one
    lists: pl.DataFrame | None  # per list, city and status: firms before and after
    list_titles: dict[str, str]


def simulate(store: Store, year: int, overrides: dict[str, Scalar], rules: Path | None = None) -> Simulation:
    """Other thresholds, nothing saved: flagged firms by rule and city, and the lists drawn again from the year's
    latest run's scores (required when a tier parameter changed)."""
    from assess.run import runs, simulation
    from assess.run.context import RunContext
    from assess.run.stats import compare

    baseline, changed = load_config(rules), load_config(rules, overrides)
    packs = frozenset(name.split(".")[0] for name in overrides)
    before = RunContext(store, baseline, year)
    after = before.with_config(changed)
    try:
        run: Run | None = runs.latest(store, year)
    except StoreError:
        if packs & {tier.id for tier in baseline.tiers}:
            raise
        run = None
    compared = simulation.compare_lists(run, before, after) if run is not None else None
    return Simulation(
        year=year,
        overrides=overrides,
        changes=compare(before.flags.counts, after.flags.counts),
        packs=packs,
        flag_titles={r.id: r.title for r in baseline.rules.flag_rules},
        run=run,
        lists=compared,
        list_titles={tier.id: tier.pack.title for tier in baseline.tiers},
    )


# --- scoring -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    report: dict  # cross-validated metrics, or why no model was trained
    fallback: bool
    model_card: Path | None


def train(store: Store, rules: Path | None = None, progress: Progress | None = None) -> TrainResult:
    """Train the 三高一核心 classifier on every expert decision in the store; write the model and its card."""
    from assess.run.context import install_features
    from assess.scoring import persist
    from assess.scoring.train import train as fit

    config = load_config(rules)
    install_features(store, config)  # the labels are read with the features
    trained = fit(store, config.scoring.classifier, progress=progress)
    card = (persist.models_dir(store) / trained.record.file).with_suffix(".md") if trained.record else None
    return TrainResult(trained.report, trained.fallback, card)


@dataclass(frozen=True)
class ScoreResult:
    frame: pl.DataFrame  # the scored SMEs, best first
    fallback: str | None  # why the index stands in for the classifier, if it does
    criteria: tuple[str, ...]  # the columns of the four 三高一核心 sub-judgements


def score(store: Store, year: int, rules: Path | None = None, progress: Progress | None = None) -> ScoreResult:
    """Score the year's SMEs without keeping a run (training first when no model fits the store's labels)."""
    import polars as pl

    from assess.run import runs
    from assess.run.context import RunContext
    from assess.run.reasons import with_reasons
    from assess.scoring.config import CRITERIA
    from assess.scoring.score import score_year
    from assess.scoring.train import ensure_model

    config = load_config(rules)
    ctx = RunContext(store, config, year)
    runs.require_year(store, year)
    trained = ensure_model(store, config.scoring.classifier, within(progress, 0, 50))
    within(progress, 50, 100)(f"{year} 年度：三高一核心评分与创新能力指数", 0, 1)
    frame = score_year(store, config.rules, config.scoring, year, trained).frame.filter(pl.col("scored"))
    within(progress, 50, 100)("完成", 1, 1)
    scored = with_reasons(ctx, frame).sort(["score", "index", "credit_code"], descending=[True, True, False])
    return ScoreResult(scored, trained.report["message"] if trained.fallback else None, CRITERIA)


# --- outputs -------------------------------------------------------------------------------------------------------


def export_workbooks(
    store: Store,
    year: int,
    out: Path | None = None,
    by_city: Path | None = None,
    city: str | None = None,
    rules: Path | None = None,
    notes: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> list[Path]:
    """The managers' workbook of the year's latest run: one file (`out`, the province or one city) or one per city
    into the folder `by_city` (<year>_<city>_培育清单.xlsx)."""
    from assess.outputs.lists_content import workbook_content
    from assess.outputs.lists_workbook import write_lists_workbook

    if (out is None) == (by_city is None):
        raise InputError("请给出 --out FILE.xlsx 或 --by-city DIR 之一。")
    if out is not None and out.suffix.lower() != ".xlsx":
        raise InputError("--out 只能是 .xlsx 文件。")
    wanted = city_name(city)
    run = latest_run(store, year)
    config = _drawn(load_config(rules), run)
    if out is not None:
        return [write_lists_workbook(workbook_content(store, run, config, wanted, notes), out)]
    assert by_city is not None
    _folder(by_city)
    cities = [wanted] if wanted else list(dict.fromkeys(store.contract.cities.values()))
    step = Steps(progress, len(cities))
    written = []
    for name in cities:
        step(f"{name}市培育清单工作簿")
        written.append(
            write_lists_workbook(
                workbook_content(store, run, config, name, notes), by_city / f"{year}_{name}_培育清单.xlsx"
            )
        )
    step.finish()
    return written


def report(
    store: Store,
    year: int,
    out: Path,
    city: str | None = None,
    rules: Path | None = None,
    *,
    pdf: Path | None = None,
    synthetic: bool = False,
) -> Path:
    """The report of the year's latest run as one self-contained HTML page (and, with `pdf`, its printable copy):
    the province, or one city only."""
    from assess.outputs.saving import check_target
    from assess.report.content import report_content
    from assess.report.render import write_pdf, write_report

    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError("--out 只能是 .html 文件。")
    if pdf is not None and pdf.suffix.lower() != ".pdf":
        raise InputError("--pdf 只能是 .pdf 文件。")
    for target in (out, pdf):
        if target is not None:
            check_target(target)
    wanted = city_name(city)
    run = latest_run(store, year)
    written = write_report(report_content(store, run, _drawn(load_config(rules), run), wanted), out, synthetic)
    if pdf is not None:
        write_pdf(written, pdf)
    return written


def template(out: Path) -> Path:
    """The blank filing template with its instructions."""
    from assess.outputs.template import write_template

    return write_template(out)


def sample(out: Path, enterprises: int, first_year: int, last_year: int, seed: int) -> int:
    """A synthetic panel (no real firm) written as .xlsx, .csv or .parquet; the rows written."""
    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import write_panel

    if first_year > last_year:
        raise InputError(f"年度范围的起始年 {first_year} 晚于结束年 {last_year}。")
    if enterprises < 1:
        raise InputError(f"--enterprises 应为正整数，收到的是 {enterprises}。")
    if out.suffix.lower() not in (".xlsx", ".csv", ".parquet"):
        raise InputError("--out 只能是 .xlsx、.csv 或 .parquet 文件。")
    panel = generate_panel(enterprises, first_year, last_year, seed)
    if out.is_dir():
        raise OutputError(f"「{out}」是一个文件夹：请给出 .xlsx、.csv 或 .parquet 文件名。")
    try:
        write_panel(panel, out)
    except OSError as exc:
        raise OutputError(f"合成数据无法写入「{out}」：{describe_os_error(exc)}。") from exc
    return panel.height


def _folder(path: Path) -> None:
    """A folder to write into, made where missing; OutputError in Chinese when it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"文件夹「{path}」无法建立：{describe_os_error(exc)}。") from exc


def init_rules(target: Path) -> list[Path]:
    """Copy the packaged rule folder to `target` (new or empty) for a province to edit; the files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"「{target}」已存在且不是空文件夹：规则文件未复制，请换一个新文件夹。")
    try:
        shutil.copytree(PACKAGED_RULES, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    except OSError as exc:
        raise OutputError(f"规则文件无法复制到「{target}」：{describe_os_error(exc)}。") from exc
    return sorted(p for p in target.rglob("*") if p.is_file())


# --- the demo ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    db: Path
    uploads: list[IngestResult]
    problem_workbooks: ProblemLists
    by_year: pl.DataFrame  # year, filings, cities
    runs: list[RunResult] = field(default_factory=list)  # one per year, oldest first
    workbook: Path | None = None  # the latest year's province workbook
    report: Path | None = None  # the latest year's province report


def demo(out_dir: Path, rules: Path | None = None, progress: Progress | None = None) -> DemoResult:
    """A new store in `out_dir` from the bundled synthetic sample: ingest, a run per year, the latest year's
    workbook and the problem lists. A folder holding anything but the demo's own outputs is refused."""
    from assess.ingest import Options

    if out_dir.exists():
        if not (out_dir.is_dir() and all(any(fnmatch(e.name, p) for p in DEMO_OUTPUTS) for e in out_dir.iterdir())):
            raise StoreError(f"目录「{out_dir}」里有不是演示输出的文件，未做任何改动：请用 --dir 换一个新目录。")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    db = out_dir / "assess.duckdb"
    with open_store(db) as store:
        results = ingest(store, [SAMPLE_DIR / name for name in DEMO_FILES], Options(), within(progress, 0, 20))
        by_year = store.filings_by_year()
        years = by_year["year"].to_list()
        share = 70 // max(len(years), 1)  # of the 100 steps: 20 ingest, 70 the runs, 10 the workbook
        done = [
            run_year(store, year, rules, within(progress, 20 + i * share, 20 + (i + 1) * share))
            for i, year in enumerate(years)
        ]
        latest = done[-1].run.year
        within(progress, 90, 100)("培育清单工作簿和评估报告", 0, 1)
        [workbook] = export_workbooks(
            store, latest, out=out_dir / f"{latest}_全省_培育清单.xlsx", rules=rules, notes=(SYNTHETIC,)
        )
        written = report(store, latest, out_dir / f"{latest}_全省_评估报告.html", rules=rules, synthetic=True)
        within(progress, 90, 100)("完成", 1, 1)
    return DemoResult(db, results, problem_workbooks(results, None, out_dir), by_year, done, workbook, written)

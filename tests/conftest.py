"""Shared fixtures: a fresh store per test, and builders for real spreadsheet files."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import pytest
import yaml

from assess import uscc
from assess.contract import Contract, load_contract
from assess.ingest import IngestResult, Options, ingest_files
from assess.resources import PACKAGED_RULES
from assess.store import Store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "年度",
    "所属地市",
    "行业代码",
    "营业收入",
    "研发费用",
    "从业人员",
    "研发机构级别",
]


def make_code(serial: int, region: str = "370100") -> str:
    """A valid credit code registered in `region`, with a valid organisation code."""
    org8 = f"{serial:08d}"
    first17 = f"91{region}{org8}{uscc.org_check_char(org8)}"
    return first17 + uscc.check_char(first17)


def firm_row(serial: int, **overrides: object) -> list[object]:
    """A clean filing row in HEADER order: 5,000万 revenue, 100万 R&D, 200 staff, a provincial institution."""
    row = {
        "统一社会信用代码": make_code(serial),
        "企业名称": f"合成企业{serial}",
        "年度": 2024,
        "所属地市": "济南",
        "行业代码": "3562",
        "营业收入": 5000,
        "研发费用": 100,
        "从业人员": 200,
        "研发机构级别": "省级",
    }
    row.update(overrides)
    return list(row.values())


# A sheet's rows as write_xlsx takes them: HEADER (list[str]) and firm_row() (list[object]) mix in one list.
Rows = list[Sequence[object]]


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    """A real workbook; text that starts with = is stored as text, as a user's typed '=... would be."""
    book = openpyxl.Workbook()
    assert book.active is not None  # a new workbook has one default sheet
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    book.save(path)
    return path


def read_fixture(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_filings(path: Path, fixture: dict, contract: Contract) -> Path:
    """A fixture's filings as a workbook with the contract's headers: each filing starts from the fixture's `base`
    (amounts in 万元), is written for the fixture's year and for each earlier year of its `history` (the fixture's,
    or the filing's own), and gets the credit code `make_code(position)`."""
    fields = [spec.name for spec in contract.fields]
    rows = []
    for index, filing in enumerate(fixture["filings"], start=1):
        own = {k: v for k, v in filing.items() if k != "history"}
        for earlier in [*filing.get("history", fixture.get("history", [])), {"year": fixture["year"]}]:
            values = {**fixture["base"], **own, **earlier, "credit_code": make_code(index)}
            rows.append([values.get(name) for name in fields])
    return write_xlsx(path, {"填报": [[contract.field(name).header for name in fields], *rows]})


def rule_folder(target: Path, overrides: Mapping[str, object]) -> Path:
    """The packaged rule folder copied to `target`, with each "pack.parameter" of `overrides` (a fixture's `set:`)
    written into the file of its pack, a rule pack, a tier pack or a scoring file. Commands read a rule folder
    (--rules, ASSESS_RULES) rather than overrides: this gives a fixture the thresholds it is built around, whatever
    default rules/ holds."""
    shutil.copytree(PACKAGED_RULES, target, ignore=shutil.ignore_patterns("__pycache__"))
    for key, value in overrides.items():
        pack, name = key.split(".", 1)
        places = (target / f"{pack}.yaml", target / "tiers" / f"{pack}.yaml", target / "scoring" / f"{pack}.yaml")
        [path] = [p for p in places if p.is_file()]
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert name in spec["parameters"], key
        spec["parameters"][name]["value"] = value
        path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


# The classifier trained in fewer folds and rounds than the packaged rules say, for tests of what holds whatever the
# model learnt: training the packaged one on the sample takes most of a minute.
QUICK_MODEL = {"classifier.cv_folds": 2, "classifier.max_iter": 40}


def fixture_names(fixture: dict) -> dict[str, str]:
    """Credit code -> the filing's `name` in the fixture."""
    return {make_code(i): f["name"] for i, f in enumerate(fixture["filings"], start=1)}


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands write where they are run (问题清单 workbooks, ./assess.duckdb): never into the project."""
    monkeypatch.chdir(tmp_path)


SMALL_YEAR = 2024


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 300 (or more) synthetic firms, 2021-2024, ingested and its classifier trained once for the session;
    tests work on copies (`copy_store`), which find the model registered, so their runs do not train again."""
    from assess import api

    folder = tmp_path_factory.mktemp("small")
    panel = folder / "合成样例.xlsx"
    # About one firm in six of the sample carries a confirmed expert decision: enough firms for the classifier to
    # train on, whatever min_per_class the packaged rules set.
    needed = int(api.load_config().scoring.classifier.spec.value("min_per_class"))
    api.sample(panel, max(300, 10 * needed), 2021, SMALL_YEAR, 5)
    db = folder / "assess.duckdb"
    with api.open_store(db) as store:
        [result] = api.ingest(store, [panel], Options())
        trained = api.train(store)
    assert result.error is None and result.rejected == 0 and not trained.fallback
    return db


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged sample data (sample_data/: the 2020-2024 panel and the messy workbook, whose yearly columns
    are supplements), ingested once for the session; tests only read it."""
    from assess import api
    from assess.resources import SAMPLE_DIR

    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with api.open_store(db) as store:
        results = api.ingest(store, [SAMPLE_DIR / "panel_2020-2024.xlsx", SAMPLE_DIR / "messy.xlsx"], Options())
    assert all(result.error is None for result in results)
    return db


def copy_store(db: Path, folder: Path) -> Path:
    """A copy of the store at `db` in `folder`, with its kept uploads and trained models."""
    target = folder / db.name
    shutil.copy(db, target)
    for beside in (".files", ".models"):
        shutil.copytree(db.with_name(db.name + beside), target.with_name(target.name + beside))
    return target


@pytest.fixture
def contract() -> Contract:
    return load_contract()


@pytest.fixture
def store(tmp_path: Path, contract: Contract) -> Iterator[Store]:
    with Store(tmp_path / "db" / "assess.duckdb", contract) as opened:
        yield opened


Ingester = Callable[..., IngestResult]


@pytest.fixture
def ingest(store: Store) -> Ingester:
    """Ingest one file into the test store and check that every row is accounted for."""

    def run(path: Path, **options: object) -> IngestResult:
        [result] = ingest_files(store, [path], Options(**options))  # type: ignore[arg-type]
        assert result.accepted + result.rejected + result.skipped == result.rows_read
        return result

    return run


def codes_at(result: IngestResult, row: int | None = None) -> set[str]:
    """The problem codes reported for an Excel row (None: sheet- and column-level notices)."""
    problems = result.problems
    if row is None:
        return set(problems.filter(problems["row"].is_null())["code"])
    return set(problems.filter(problems["row"] == row)["code"])


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local Spark for the session: one core, little memory, no web UI, one shuffle partition; for data this
    small, the JVM's quick compiler alone (the optimising one's warm-up would double the jobs), and neither plans
    made again at each stage (adaptive execution) nor whole stages compiled to Java (a fifth of the time)."""
    from assess.engines.spark.session import SparkSettings, start

    settings = {
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": "768m",
        "spark.sql.shuffle.partitions": "1",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    session = start(SparkSettings(master="local[1]", conf=settings))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

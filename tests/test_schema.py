"""A database written by an earlier version opens with today's code: it is migrated once, in place, and its stored
runs read as they ran (figures, lists, the managers' workbook)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from assess import api
from assess.contract import load_contract
from assess.run import runs
from assess.run.context import RunContext
from assess.run.reasons import leading, with_reasons
from assess.store import Store, StoreError, schema
from assess.tiers.select import STATUS_TITLES

FIXTURES = Path(__file__).parent / "fixtures" / "stores"


def _unpacked(name: str, folder: Path) -> Path:
    target = folder / name.removesuffix(".gz")
    with gzip.open(FIXTURES / name, "rb") as packed, target.open("wb") as plain:
        shutil.copyfileobj(packed, plain)
    return target


def test_every_earlier_version_has_a_migration_and_a_fixture() -> None:
    assert sorted(schema.MIGRATIONS) == list(range(1, schema.SCHEMA_VERSION))
    for version in schema.MIGRATIONS:
        assert (FIXTURES / f"store-v{version}.duckdb.gz").is_file(), f"no fixture database of schema version {version}"


@pytest.mark.parametrize("version", sorted(schema.MIGRATIONS))
def test_an_earlier_store_is_migrated_and_its_run_reads_as_it_ran(tmp_path: Path, version: int) -> None:
    db = _unpacked(f"store-v{version}.duckdb.gz", tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(version),)]
        runs_before = con.execute("SELECT run_id, year FROM runs").fetchall()
        hits_before = con.execute("SELECT count(*) FROM rule_hits").fetchall()
    with api.open_store(db) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        assert store.con.execute("SELECT run_id, year FROM runs").fetchall() == runs_before
        assert store.con.execute("SELECT count(*) FROM rule_hits").fetchall() == hits_before
        if version < 3:  # every stored hit was a flag: none is unknown (待补数据)
            assert store.con.execute("SELECT count(*) FROM rule_hits WHERE verdict IS NOT true").fetchall() == [(0,)]
            assert store.con.execute("SELECT sum(unknown) FROM rule_counts").fetchall() == [(0,)]
        run = api.latest_run(store, 2024)
        if version < 4:  # runs before version 4 kept no funnels: the lists read without one
            assert all(runs.funnel(store, run, tier["id"]).is_empty() for tier in run.manifest.get("tiers", []))
        # uploads before version 5 were made at the command line: nobody the store knows made them
        assert store.uploads()["uploaded_by"].to_list() == [None]
        figures = api.stats(store, 2024).figures
        [workbook] = api.export_workbooks(store, 2024, out=tmp_path / "earlier.xlsx")
    # The run of version 1 knew its target packs by id; the migration gave them their roles.
    assert figures["thresholds"]["no_rd_revenue_min"] == 5000 and figures["thresholds"]["coverage_target"] == 0.7
    assert "研发机构提升" in openpyxl.load_workbook(workbook, read_only=True).sheetnames
    with api.open_store(db) as store:  # a second opening finds nothing to migrate
        assert store.schema_version == schema.SCHEMA_VERSION


def test_a_run_stored_with_sentences_shows_them_and_a_new_run_renders_the_same(tmp_path: Path) -> None:
    """Runs of version 5 kept their reasons as sentences: after the migration they are shown as stored (explain, the
    workbook's lists), and a run of today's code on the same data, which keeps factors, renders every one of them
    word for word (the index standing in for the classifier: its sentence, the index reasons, the four
    sub-judgements)."""
    db = _unpacked("store-v5.duckdb.gz", tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT credit_code, reasons, index_reasons FROM scores").fetchall()
        before = {code: (r, i) for code, r, i in stored}
        listed = con.execute("SELECT list_id, credit_code, reasons FROM tier_results").fetchall()
    firm = next(code for code, (said, _) in sorted(before.items()) if said)
    with api.open_store(db) as store:
        old = api.latest_run(store, 2024)
        assert api.explain(store, firm, 2024)["score"]["reasons"] == before[firm][0]
        new = api.run_year(store, 2024).run
        explained = api.explain(store, firm, 2024)["score"]
        assert (explained["reasons"], explained["index_reasons"]) == before[firm]
        config = api.load_config()
        ctx = RunContext(store, config, 2024)
        for run in (old, new):
            shown = with_reasons(ctx, runs.scores(store, run, scored_only=False, reasons=True), run.manifest)
            assert {
                code: (r, i) for code, r, i in shown.select("credit_code", "reasons", "index_reasons").iter_rows()
            } == before
            for tier in config.tiers:
                firms = runs.tier_results(store, run, tier.id, tuple(s for s in STATUS_TITLES if s), reasons=True)
                said = dict(zip(firms["credit_code"], leading(store, config, run, tier, firms).to_list(), strict=True))
                assert said == {code: reasons for list_id, code, reasons in listed if list_id == tier.id}
        kept = "SELECT count(reasons), count(index_reasons), count(index_factors) FROM scores WHERE run_id = ?"
        assert store.con.execute(kept, [new.run_id]).fetchall() == [(0, 0, len(before))]


def test_rubric_verdicts_of_an_earlier_store_are_read_into_their_columns(tmp_path: Path) -> None:
    """From version 7 a rubric result keeps its credit code, verdict and missing inputs in columns of their own: the
    migration reads them from each stored result's JSON. The version 6 store has two 高企 verdicts left open by a
    blank high-tech revenue: they are counted as 待补数据 and say what to fill in on 数据问题."""
    db = _unpacked("store-v6.duckdb.gz", tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT pack_id, result FROM rubric_results").fetchall()
    expected = sorted(
        (pack, found["credit_code"], found["verdict"], found["missing"])
        for pack, found in ((pack, json.loads(text)) for pack, text in stored)
    )
    opened = sorted(code for pack, code, verdict, _ in expected if pack == "hte_ready" and verdict is None)
    assert len(opened) == 2
    with api.open_store(db) as store:
        typed = store.con.execute("SELECT pack_id, credit_code, verdict, missing FROM rubric_results").fetchall()
        assert sorted(typed) == expected
        run = api.latest_run(store, 2024)
        counted = runs.rubric_counts(store, run)["hte_ready"]
        assert (counted["passed"], counted["failed"], counted["unknown"]) == (2, 36, 2)
        assert sorted(runs.rubric_open(store, run, "hte_ready")["credit_code"]) == opened
        [workbook] = api.export_workbooks(store, 2024, out=tmp_path / "v6.xlsx")
    problems = openpyxl.load_workbook(workbook)["数据问题"]
    header = [cell.value for cell in problems[1]]
    said = {
        row[header.index("统一社会信用代码")]: row[header.index("说明")]
        for row in problems.iter_rows(min_row=2, values_only=True)
    }
    assert all("高新技术企业认定定量条件预筛：无法判断，请补填" in str(said[firm]) for firm in opened)


def test_a_store_of_a_newer_version_is_refused_in_chinese(tmp_path: Path) -> None:
    db = tmp_path / "newer.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(schema.SCHEMA_VERSION + 1)])
    with pytest.raises(StoreError, match="更新版本"), Store(db, load_contract()):
        pass


def test_a_field_the_contract_gained_gets_its_column_when_the_store_opens(tmp_path: Path) -> None:
    db = tmp_path / "grown.duckdb"
    with Store(db, load_contract()):
        pass
    with duckdb.connect(str(db)) as con:  # as a store written before the contract had the field
        con.execute("ALTER TABLE filing_versions DROP COLUMN rd_internal_expenditure")
    with Store(db, load_contract()) as store:
        assert schema.new_fields(store.con, store.field_names) == []
        assert "rd_internal_expenditure" in store.filings().columns

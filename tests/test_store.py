"""The store's promises: an upload is atomic, the same bytes twice change nothing, newer filings supersede older ones
which stay in history, and a retracted upload gives the superseded versions back."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from assess.contract import Limits, load_contract
from assess.ingest import Options, ingest_files, upload
from assess.ingest.sheets import Chunking
from assess.store import Store, file_sha256, upkeep
from tests.conftest import HEADER, Ingester, firm_row, make_code, write_xlsx


def _table_counts(store: Store) -> dict[str, int]:
    tables = ("uploads", "filing_versions", "supplement_versions", "problems")
    return {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def test_a_failure_in_the_middle_of_an_upload_leaves_the_database_as_it_was(
    tmp_path: Path, ingest: Ingester, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]}))
    before = _table_counts(store)
    original = Store._insert_problems

    def fail_after_filings(self: Store, upload_id: int, problems: pl.DataFrame) -> None:
        original(self, upload_id, problems)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_insert_problems", fail_after_filings)
    path = write_xlsx(tmp_path / "b.xlsx", {"表1": [HEADER, firm_row(1, 营业收入=6000), firm_row(2, 所属地市="杭州")]})
    kept = sorted(store.files_dir.iterdir())
    with pytest.raises(RuntimeError):
        ingest(path)
    assert _table_counts(store) == before
    assert sorted(store.files_dir.iterdir()) == kept  # neither the file nor a partial copy of it stays
    assert store.filings()["revenue"].to_list() == [Decimal("5000")]


def test_the_same_file_twice_changes_nothing(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1), firm_row(2, 所属地市="杭州")]})
    first = ingest(path)
    before = _table_counts(store)
    again = ingest(path)
    assert again.duplicate_upload and again.upload_id == first.upload_id
    assert (again.accepted, again.rejected, again.warnings) == (first.accepted, first.rejected, first.warnings)
    assert again.problems["message"].to_list() == first.problems["message"].to_list()
    assert _table_counts(store) == before


def test_the_same_bytes_with_other_options_are_a_new_upload(tmp_path: Path, ingest: Ingester) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]})
    assert not ingest(path, unit="万元").duplicate_upload
    assert not ingest(path, unit="千元").duplicate_upload


def test_a_newer_filing_supersedes_the_older_which_stays_in_history(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    ingest(write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1), firm_row(2)]}))
    ingest(write_xlsx(tmp_path / "b.xlsx", {"表1": [HEADER, firm_row(1, 营业收入=6000)]}))
    current = dict(store.filings().select("credit_code", "revenue").iter_rows())
    assert current == {make_code(1): Decimal("6000"), make_code(2): Decimal("5000")}
    history = store.con.sql(
        "SELECT upload_id, revenue, is_current FROM filing_versions WHERE credit_code = ? ORDER BY upload_id",
        params=[make_code(1)],
    ).fetchall()
    assert history == [(1, Decimal("5000"), False), (2, Decimal("6000"), True)]


def test_retracting_an_upload_restores_what_it_superseded_and_deletes_nothing(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    a = write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]})
    ingest(a)
    second = ingest(write_xlsx(tmp_path / "b.xlsx", {"表1": [HEADER, firm_row(1, 营业收入=6000), firm_row(2)]}))
    assert second.upload_id is not None
    store.retract(second.upload_id)
    current = dict(store.filings().select("credit_code", "revenue").iter_rows())
    assert current == {make_code(1): Decimal("5000")}
    assert store.con.execute("SELECT count(*) FROM filing_versions").fetchall()[0][0] == 3
    assert store.uploads()["retracted_at"].null_count() == 1
    # Retracted bytes may be uploaded again, as a new upload.
    again = ingest(tmp_path / "b.xlsx")
    assert not again.duplicate_upload and again.upload_id == 3
    assert dict(store.filings().select("credit_code", "revenue").iter_rows())[make_code(1)] == Decimal("6000")


def test_the_uploaded_file_is_kept_by_its_hash_beside_the_database(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    result = ingest(write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]}))
    kept = store.files_dir / f"{result.sha256}.xlsx"
    assert kept.read_bytes() == (tmp_path / "a.xlsx").read_bytes()
    assert result.upload_id is not None
    upload = store.upload(result.upload_id)
    assert (upload["file_name"], upload["sha256"], upload["stored_file"]) == ("a.xlsx", result.sha256, kept.name)


def test_an_unreadable_file_leaves_nothing_behind_not_even_its_bytes(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    result = ingest(broken)
    assert result.error is not None and result.upload_id is None
    assert _table_counts(store) == dict.fromkeys(("uploads", "filing_versions", "supplement_versions", "problems"), 0)
    assert list(store.files_dir.iterdir()) == []


def test_a_file_that_cannot_be_copied_is_refused_in_chinese_and_the_batch_goes_on(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]})
    second = write_xlsx(tmp_path / "b.xlsx", {"表1": [HEADER, firm_row(2)]})
    copy = shutil.copyfile

    def disk_full(source: Path, target: Path) -> Path:
        if Path(source).name == "a.xlsx":
            raise OSError(28, "No space left on device")
        return copy(source, target)

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    refused, accepted = ingest_files(store, [first, second], Options())
    assert refused.error is not None and "a.xlsx" in refused.error and "磁盘空间" in refused.error
    assert refused.upload_id is None and accepted.accepted == 1
    assert [p.name for p in store.files_dir.iterdir()] == [f"{accepted.sha256}.xlsx"]  # no staging left behind


def test_the_bytes_hashed_validated_and_kept_are_the_same_even_if_the_original_changes(
    tmp_path: Path, ingest: Ingester, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]})
    original = upload.read_file

    def edited_meanwhile(staged: Path, limits: Limits, head_rows: int, chunking: Chunking) -> list:
        write_xlsx(path, {"表1": [HEADER, firm_row(1, 营业收入=9999)]})  # the user saves the workbook again
        return original(staged, limits, head_rows, chunking)

    monkeypatch.setattr(upload, "read_file", edited_meanwhile)
    result = ingest(path)
    kept = store.files_dir / f"{result.sha256}.xlsx"
    assert file_sha256(kept) == result.sha256
    assert store.filings()["revenue"].to_list() == [Decimal("5000")]  # what the kept file says


def test_what_a_killed_process_left_beside_the_database_is_removed_when_the_store_opens(
    tmp_path: Path, ingest: Ingester, store: Store
) -> None:
    """A process killed mid-upload leaves its staging copy, or a kept file whose upload never committed; one killed
    mid-training a model file never registered. The next store opened removes them, and only them: the kept files of
    committed uploads and what this process is writing right now stay."""
    committed = ingest(write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]}))
    store.close()
    files, models = store.files_dir, store.models_dir
    models.mkdir()
    left = [files / ".staging-999999-dead", files / f"{'0' * 64}.xlsx", models / "model-0000000000000000.skops"]
    left[0].mkdir()
    (left[0] / "填报.xlsx").write_bytes(b"a copy of an upload")
    for path in left[1:]:
        path.write_bytes(b"written before the kill")
    writing = files / ".staging-in-this-process"
    writing.mkdir()
    with upkeep.in_flight(writing), Store(store.path, load_contract()) as reopened:
        assert sorted(reopened.removed_orphans) == sorted(p.name for p in left)
        assert all(c.ok for c in upkeep.doctor(reopened)), upkeep.doctor(reopened)
    assert not any(p.exists() for p in left) and writing.exists()
    assert (files / f"{committed.sha256}.xlsx").is_file()
    store.con = Store(store.path, load_contract()).con  # let the fixture close cleanly


def test_the_database_persists_across_connections(tmp_path: Path, ingest: Ingester, store: Store) -> None:
    ingest(write_xlsx(tmp_path / "a.xlsx", {"表1": [HEADER, firm_row(1)]}))
    store.close()
    with Store(store.path, load_contract()) as reopened:
        assert reopened.filings().height == 1
    store.con = Store(store.path, load_contract()).con  # let the fixture close cleanly


def test_duckdb_holds_to_the_memory_limit_of_the_filing_contract(tmp_path: Path) -> None:
    """Beyond `memory.store_mb` of the contract (the packaged one, or the one the store is given) DuckDB spills to
    disk instead of growing."""

    def limit(store: Store) -> str:
        return str(store.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0])

    contract = load_contract()
    with Store(tmp_path / "packaged.duckdb") as store:
        assert limit(store) == f"{contract.memory.store_mb:.1f} MiB"
    smaller = contract.model_copy(update={"memory": contract.memory.model_copy(update={"store_mb": 100})})
    with Store(tmp_path / "given.duckdb", smaller) as store:
        assert limit(store) == "100.0 MiB"

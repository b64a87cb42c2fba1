"""Writing a run: its rows staged as they are evaluated, then kept in one transaction.

A run is kept whole or not at all, and memory does not grow with the firms of the year. Its rows are made a piece
at a time (the contract's `memory.run_rows` firms: the flagged firms and the rubric results are kept in DuckDB as
they are evaluated and made into rows piece by piece, `assess.store.batches`; the scores are written as they are
computed) into temporary tables, which DuckDB spills to disk beyond the store's memory limit and drops with the
connection should the process die. When the run is complete, one transaction moves them into the run's tables, one
INSERT ... SELECT per table, with the run's row in `runs`: pieces inserted inside a transaction would all stay in
memory until it commits, a statement that copies a table writes as it goes.

What the lists read back (the firms each flag rule flagged, the scores) is read from the staged rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import polars as pl

from assess.dialects import render
from assess.rules.engine import FlagResult, flag_counts, flag_hits, flag_queries, rubric_query, rubric_result
from assess.rules.packs import LoadedPack, RuleSet
from assess.store import Store
from assess.store.batches import kept
from assess.tiers.evaluate import Drawn, flagged_by

TABLES = ("rule_hits", "rule_counts", "rubric_results", "scores", "tier_results", "tier_funnels")  # a run's rows
_NAMES = itertools.count(1)


class StagedRun:
    """The rows of a run being evaluated, each table's in a temporary table of the same columns less `run_id`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = store.contract.memory.run_rows
        number = next(_NAMES)
        self.tables = {table: f"staged_{table}_{number}" for table in TABLES}
        for table, staged in self.tables.items():
            store.con.execute(f"CREATE TEMP TABLE {staged} AS SELECT * EXCLUDE (run_id) FROM {table} LIMIT 0")

    def flags(self, rules: RuleSet, year: int) -> None:
        """Every flag rule: the firms it flags or cannot judge, with their messages, and the counts."""
        flagged, grouped = (render(query, "duckdb") for query in flag_queries(rules, year))
        with kept(self.store.con, flagged) as rows:
            for piece in rows.batches(self.rows):
                self._insert("rule_hits", flag_hits(piece, rules))
        self._insert("rule_counts", flag_counts(self.store.con.sql(grouped).pl(), rules))

    def rubric(self, pack: LoadedPack, year: int) -> None:
        """A rubric's result for every firm with a filing that year, in the rubric's order (`rubric_rows`)."""
        with kept(self.store.con, render(rubric_query(pack, year), "duckdb")) as rows:
            for piece in rows.batches(self.rows):
                self.rubric_rows(pack.id, rubric_result(piece, pack))

    def rubric_rows(self, pack_id: str, results: pl.DataFrame) -> None:
        """Rows of a rubric's result (`rules.engine.rubric_result`, made here or on another engine), each as JSON
        with its firm, verdict and missing inputs as columns."""
        self._insert(
            "rubric_results",
            results.select(
                pl.lit(pack_id).alias("pack_id"),
                pl.struct(pl.all()).struct.json_encode().alias("result"),
                "credit_code",
                "verdict",
                "missing",
            ),
        )

    def flag_rows(self, flags: FlagResult) -> None:
        """The flags and their counts as another engine made them (`rules.engine.flag_result`)."""
        self._insert("rule_hits", flags.hits)
        self._insert("rule_counts", flags.counts)

    def scores(self, pieces: Iterable[pl.DataFrame]) -> None:
        for piece in pieces:
            self._insert("scores", piece.with_columns(pl.col("rd_intensity_needed").fill_nan(None)))

    def flagged(self, rule_ids: Iterable[str]) -> dict[str, set[str]]:
        """The firms each of these flag rules flagged."""
        hits = self.store.con.sql(
            f"""SELECT rule_id, credit_code, verdict FROM {self.tables["rule_hits"]}
                WHERE verdict AND list_contains($rules, rule_id)""",
            params={"rules": sorted(set(rule_ids))},
        ).pl()
        return flagged_by(hits)

    def lists(self, lists: dict[str, Drawn]) -> None:
        for list_id, drawn in lists.items():
            for table, frame in (("tier_results", drawn.results), ("tier_funnels", drawn.funnel)):
                self._insert(table, frame.select(pl.lit(list_id).alias("list_id"), pl.all()))

    def _insert(self, table: str, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        con = self.store.con
        con.register("run_rows", frame.to_arrow())
        try:
            con.execute(f"INSERT INTO {self.tables[table]} BY NAME SELECT * FROM run_rows")
        finally:
            con.unregister("run_rows")

    def keep(self, year: int, created: dt.datetime, manifest: dict, figures: dict) -> int:
        """The run, in one transaction: its row in `runs` with the manifest, its headline figures and every row
        staged. Returns its id."""
        con = self.store.con
        con.begin()
        try:
            run_id = int(
                con.execute(
                    "INSERT INTO runs VALUES (nextval('run_ids'), ?, ?, ?) RETURNING run_id",
                    [year, created, json.dumps(manifest, ensure_ascii=False)],
                ).fetchall()[0][0]
            )
            con.execute("INSERT INTO run_figures VALUES (?, ?)", [run_id, json.dumps(figures, ensure_ascii=False)])
            for table in TABLES:
                self._move(run_id, table)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return run_id

    def _move(self, run_id: int, table: str) -> None:
        """A table's staged rows into the table, as the run's."""
        self.store.con.execute(f"INSERT INTO {table} BY NAME SELECT {run_id:d} AS run_id, * FROM {self.tables[table]}")


@contextmanager
def staging(store: Store) -> Iterator[StagedRun]:
    """A run's staged rows for as long as the block runs (`StagedRun.keep` keeps them)."""
    staged = StagedRun(store)
    try:
        yield staged
    finally:
        for name in staged.tables.values():
            store.con.execute(f"DROP TABLE IF EXISTS {name}")

"""The run context: what an assessment of one year builds on a store, held by one object and passed along.

It installs the feature views for the rule folder it was given (reference tables and the chain mapping), evaluates
the flags once, and draws the lists from a relation of scores: those of a run being written, or a stored run's.
Tiers, explanations, what-if comparisons and the outputs receive the context (or what it holds) instead of reading
names that someone else left on the connection.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import duckdb
import polars as pl
from sqlglot import exp

from assess import features
from assess.dialects import render
from assess.reference import load_reference
from assess.rules.engine import FlagResult, evaluate_flags
from assess.run.config import Config
from assess.store import Store
from assess.tiers.evaluate import Drawn, draw_lists, flagged_by, kept_gated

_NAMES = itertools.count(1)


def install_features(store: Store, config: Config) -> None:
    """The reference tables and feature views on the store's connection, with the rule folder's chain mapping."""
    features.install(store.con, store.contract, load_reference(store.contract), config.chain_map, config.size_classes)


class RunContext:
    def __init__(self, store: Store, config: Config, year: int, *, installed: bool = False) -> None:
        self.store = store
        self.config = config
        self.year = year
        if not installed:
            install_features(store, config)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.store.con

    def with_config(self, config: Config) -> RunContext:
        """The same year and store read with other packs (a what-if comparison): the rule folder, and so the feature
        views already installed, are the same."""
        return RunContext(self.store, config, self.year, installed=True)

    def rows(self, tree: exp.Expr) -> pl.DataFrame:
        """The rows of an engine-neutral query, on the store's connection."""
        return self.con.sql(render(tree, "duckdb")).pl()

    @cached_property
    def flags(self) -> FlagResult:
        return evaluate_flags(self.con, self.config.rules, self.year)

    @contextmanager
    def stored_scores(self, run_id: int) -> Iterator[str]:
        """A relation holding a stored run's scores, by a name no other context uses, for as long as the block runs."""
        name = f"run_scores_{next(_NAMES)}"
        self.con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT * EXCLUDE (run_id) FROM scores WHERE run_id = {int(run_id):d}"
        )
        try:
            yield name
        finally:
            self.con.execute(f"DROP VIEW IF EXISTS {name}")

    def draw_lists(self, scores: str, flagged: dict[str, set[str]] | None = None) -> dict[str, Drawn]:
        """Every tier's list from the scores relation, in the declared order (`tiers.evaluate.draw_lists`). The
        exclusions read which firms the flag rules flagged (`flagged`, by rule; by default the context's flags)."""
        return draw_lists(
            self.config.tiers,
            flagged_by(self.flags.hits) if flagged is None else flagged,
            lambda tier: kept_gated(self.con, tier, self.year, scores),
        )

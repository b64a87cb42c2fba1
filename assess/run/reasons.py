"""The reasons of scores as sentences, where they are shown: a stored run's (explain, the workbook, the demo's table)
or fresh ones (`assess score`). The run keeps factors; the sentences are rendered here from them with the run's own
cut-offs, and the four sub-judgements' sentences are the criteria pack's messages on the filings in force."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from assess.run.config import Config
from assess.run.context import RunContext
from assess.run.runs import Run
from assess.scoring import reasons
from assess.scoring.criteria import criteria
from assess.store import Store
from assess.tiers.evaluate import TOP_REASONS
from assess.tiers.packs import LoadedTier


def with_reasons(ctx: RunContext, frame: pl.DataFrame, manifest: dict | None = None) -> pl.DataFrame:
    """`frame` (scores, with what `reasons.score_reasons` reads) with `reasons` and `index_reasons` as lists of
    sentences; `manifest` is the run's whose scores these are (None: fresh scores)."""
    wording = reasons.Wording.of(ctx.config.scoring, ctx.store.contract, manifest)
    index = reasons.index_reasons(frame, wording)
    said = reasons.score_reasons(frame, wording, _criteria(ctx, frame), index)
    return frame.with_columns(reasons=said, index_reasons=index)


def leading(
    store: Store,
    config: Config,
    run: Run,
    tier: LoadedTier,
    frame: pl.DataFrame,
    context: Callable[[], RunContext] | None = None,
) -> pl.Series:
    """The first reasons of each firm's ranking value on the list of a stored run (its score's, or its index's), as
    the workbook shows them beside the firm. The sub-judgements' sentences, if among them, are read in `context`
    (made on the first call; a table read in batches passes one context for all), else in a context made here."""
    wording = reasons.Wording.of(config.scoring, store.contract, run.manifest)
    by_index = tier.pack.rank_by != "three_highs_score"
    made = context or (lambda: RunContext(store, config, run.year))
    return reasons.leading(frame, wording, TOP_REASONS, lambda: _criteria(made(), frame), by_index=by_index)


def _criteria(ctx: RunContext, frame: pl.DataFrame) -> pl.DataFrame:
    """The criteria pack's sentences for the frame's firms, evaluated for them alone."""
    firms = frame["credit_code"].unique().to_list()
    return criteria(ctx.con, ctx.config.rules, ctx.config.scoring.classifier, ctx.year, firms)

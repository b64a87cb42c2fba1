"""Scores for one data year: the 三高一核心 score and what it rests on for every SME in a flagship chain, and the
innovation-capacity index with its largest components for every firm with a filing.

The score is the calibrated probability of the classifier, or, when labels are too few to train one, the index
divided by 100 (`score_source` says which). What a score rests on is kept as numbers, most important first: the
factors that moved the firm's score most against the average firm scored that year (an exact decomposition), the
R&D intensity the score would need when it lies just below the cut-off, and the four sub-judgements; the sentences
are rendered from them where they are shown (`assess.scoring.reasons`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import polars as pl

from assess.dialects import render
from assess.rules.packs import RuleSet
from assess.scoring import batch
from assess.scoring.config import ClassifierConfig, ScoringConfig
from assess.scoring.criteria import criteria_query
from assess.scoring.explainer import Explainer
from assess.scoring.index import index_query
from assess.scoring.queries import SCORE_COLUMNS, base_query
from assess.scoring.reasons import FACTOR
from assess.scoring.train import Trained
from assess.store import Store
from assess.store.batches import Kept, kept


@dataclass(frozen=True)
class Scores:
    frame: pl.DataFrame  # one row per firm with a filing in the year; see `score_year`
    trained: Trained


def score_year(store: Store, rules: RuleSet, config: ScoringConfig, year: int, trained: Trained) -> Scores:
    """Columns (SCORE_COLUMNS): identity, `scored` (in the classifier's population), `score`, `score_source` ('model' or
    'index'), `index`, `stage`, the four criteria (null outside the population), `factors` (the classifier's largest
    factors, `reasons.FACTOR`; null outside the population and where the index stands in), `index_factors` (the
    index's largest components, `reasons.COMPONENT`), `rd_intensity` and `rd_intensity_needed` (the value the R&D
    intensity would have to exceed, for firms just below the cut-off); by credit code."""
    return Scores(pl.concat(score_batches(store, rules, config, year, trained)), trained)


def score_batches(
    store: Store, rules: RuleSet, config: ScoringConfig, year: int, trained: Trained
) -> Generator[pl.DataFrame]:
    """The rows of `score_year` a piece at a time (`memory.run_rows` of the contract firms), in credit-code order:
    the year's firms are kept in DuckDB, the scored firms' statistics gathered from them first, then each piece
    scored and explained against them (`batch`). Close the iterator when leaving it before its end."""
    rows = store.contract.memory.run_rows
    parts: dict[str, tuple[str, dict | None]] = {
        "base": (render(base_query(config.classifier, year), "duckdb"), None),
        "indexed": (render(index_query(config.index, year), "duckdb"), None),
        "judged": (render(criteria_query(rules, config.classifier, year), "duckdb"), None),
    }
    with kept(store.con, JOINED, parts=parts) as firms:
        if trained.model is None:
            for piece in firms.batches(rows):
                yield _finished(piece, config, _by_index(piece.filter(pl.col("scored"))), "index")
            return
        classifier = trained.configured(config.classifier)
        explainer = Explainer.of(trained.model)
        population = _population(firms, rows, classifier, explainer)
        mean = population.mean(explainer)
        for piece in firms.batches(rows):
            scored = piece.filter(pl.col("scored"))
            explained = batch.explain(scored, classifier, explainer, population, mean)
            yield _finished(piece, config, explained, "model")


def _population(firms: Kept, rows: int, config: ClassifierConfig, explainer: Explainer) -> batch.Population:
    names = config.feature_names
    columns = ", ".join(names)
    return batch.Population.of(firms.batches(rows, columns, "scored"), names, explainer)


def _by_index(scored: pl.DataFrame) -> pl.DataFrame:
    """Where no model is trained: the index / 100 stands in for the score, with no factors."""
    return scored.select(
        "credit_code",
        score=pl.col("index") / 100,
        factors=pl.lit(None, pl.List(FACTOR)),
        rd_intensity_needed=pl.lit(None, pl.Float64),
    )


def _finished(piece: pl.DataFrame, config: ScoringConfig, explained: pl.DataFrame, source: str) -> pl.DataFrame:
    return (
        piece.with_columns(batch.index_factors(piece, config.index))
        .join(explained, on="credit_code", how="left", maintain_order="left")
        .with_columns(score_source=pl.when(pl.col("scored")).then(pl.lit(source)))
        .select(SCORE_COLUMNS)
    )


# Every firm with a filing in the year, by credit code: `queries.base_query`, with the index and its components
# (`index.index_query`) and the four criteria (`criteria.criteria_query`).
JOINED = """
    SELECT base.*, indexed.* EXCLUDE (credit_code), judged.* EXCLUDE (credit_code)
    FROM {base} AS base LEFT JOIN {indexed} AS indexed ON indexed.credit_code = base.credit_code
                        LEFT JOIN {judged} AS judged ON judged.credit_code = base.credit_code
    ORDER BY base.credit_code
    """

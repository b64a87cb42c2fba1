"""Scores for one data year: the 三高一核心 score and what it rests on for every SME in a flagship chain, and the
innovation-capacity index with its largest components for every firm with a filing.

The score is the calibrated probability of the classifier, or, when labels are too few to train one, the index
divided by 100 (`score_source` says which). What a score rests on is kept as numbers, most important first: the
factors that moved the firm's score most against the average firm scored that year (an exact decomposition), the
R&D intensity the score would need when it lies just below the cut-off, and the four sub-judgements; the sentences
are rendered from them where they are shown (`assess.scoring.reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from assess.features import view_for
from assess.rules.packs import RuleSet
from assess.scoring.config import CRITERIA, ClassifierConfig, IndexConfig, ScoringConfig
from assess.scoring.criteria import criteria
from assess.scoring.explainer import Explainer
from assess.scoring.index import compute_index
from assess.scoring.reasons import COMPONENT, FACTOR
from assess.scoring.train import Trained, feature_select
from assess.store import Store

IDENTITY = ("credit_code", "name", "city", "direction", "chain")
LEVER = "rd_intensity"  # the feature the "what would it take" sentence raises
DIGITS = 12  # decimals a stored factor keeps, as the features are rounded
INDEX_REASONS = 3  # components named per firm
NEAR_CHUNK = 20_000  # near misses whose R&D lever is sought at once (memory: firms x bins of the feature)


@dataclass(frozen=True)
class Scores:
    frame: pl.DataFrame  # one row per firm with a filing in the year; see `score_year`
    trained: Trained


def score_year(store: Store, rules: RuleSet, config: ScoringConfig, year: int, trained: Trained) -> Scores:
    """Columns: identity, `scored` (in the classifier's population), `score`, `score_source` ('model' or 'index'),
    `index`, `stage`, the four criteria (null outside the population), `factors` (the classifier's largest factors,
    `reasons.FACTOR`; null outside the population and where the index stands in), `index_factors` (the index's
    largest components, `reasons.COMPONENT`), `rd_intensity` and `rd_intensity_needed` (the value the R&D intensity
    would have to exceed, for firms just below the cut-off)."""
    classifier = config.classifier
    index = compute_index(store.con, config.index, year)
    frame = (
        _base(store, classifier, year)
        .join(index.select("credit_code", "stage", "index"), on="credit_code", how="left")
        .join(criteria(store.con, rules, classifier, year), on="credit_code", how="left")
        .join(_index_factors(index, config.index), on="credit_code", how="left")
    )
    del index
    scored = frame.filter(pl.col("scored"))
    if trained.model is not None:
        explained = _explain(scored, trained.configured(classifier), Explainer.of(trained.model))
    else:
        explained = scored.select(
            "credit_code",
            score=pl.col("index") / 100,
            factors=pl.lit(None, pl.List(FACTOR)),
            rd_intensity_needed=pl.lit(None, pl.Float64),
        )
    source = "model" if trained.model is not None else "index"
    result = (
        frame.join(explained, on="credit_code", how="left")
        .with_columns(score_source=pl.when(pl.col("scored")).then(pl.lit(source)))
        .select(
            *IDENTITY,
            "scored",
            "score",
            "score_source",
            "index",
            "stage",
            *CRITERIA,
            "factors",
            "index_factors",
            "rd_intensity",
            "rd_intensity_needed",
        )
        .sort("credit_code")
    )
    return Scores(result, trained)


def _base(store: Store, config: ClassifierConfig, year: int) -> pl.DataFrame:
    view = view_for([config.population_sql, *config.feature_names])
    lever = "" if LEVER in config.feature_names else f", CAST(f.{LEVER} AS DOUBLE) AS {LEVER}"
    return store.con.sql(
        f"""SELECT {", ".join(f"f.{c}" for c in IDENTITY)}, {config.population_sql} AS scored,
                   {feature_select(config)}{lever}
            FROM {view} AS f WHERE f.year = $year""",
        params={"year": year},
    ).pl()


def _explain(scored: pl.DataFrame, config: ClassifierConfig, explainer: Explainer) -> pl.DataFrame:
    """Per scored firm: the score, its largest factors (most important first) and the R&D intensity it would need."""
    names = config.feature_names
    matrix = scored.select(names).to_numpy().astype(np.float64)
    raw = explainer.contributions(matrix)
    log_odds = explainer.baseline + raw.sum(axis=1)
    score = explainer.probability(log_odds)
    centred = raw - raw.mean(axis=0) if len(raw) else raw
    del raw
    top = min(int(config.spec.value("top_factors")), len(names))
    order = np.argsort(-np.abs(centred), axis=1, kind="stable")[:, :top]
    percentiles = scored.select(_percentile(name) for name in names).to_numpy()
    rows = np.arange(len(scored))[:, None]
    effect = centred[rows, order]  # firms x top, the firm's own order
    flat = pl.DataFrame(  # one row per factor, each firm's `top` in a run
        {
            "feature": pl.Series(order.ravel()).replace_strict(dict(enumerate(names)), return_dtype=pl.String),
            "value": matrix[rows, order].ravel(),
            "percentile": percentiles[rows, order].ravel(),
            # Rounded as the features are: two fits of the same model differ in the 15th digit (summation order)
            "effect": np.round(effect.ravel(), DIGITS),
            "without": np.round(explainer.probability((log_odds[:, None] - effect).ravel()), DIGITS),
        }
    ).fill_nan(None)
    factors = flat.select(pl.struct(pl.all())).to_series().reshape((len(scored), top)).cast(pl.List(FACTOR))
    return pl.DataFrame(
        {
            "credit_code": scored["credit_code"],
            "score": score,
            "factors": factors,
            "rd_intensity_needed": _needed(config, explainer, matrix, log_odds, score),
        }
    )


def _percentile(name: str) -> pl.Expr:
    """Share of the other scored firms with a strictly lower value (as percent_rank), 0-1."""
    column = pl.col(name)
    return ((column.rank("min") - 1) / (column.count() - 1).clip(lower_bound=1)).alias(name)


def _needed(
    config: ClassifierConfig, explainer: Explainer, matrix: np.ndarray, log_odds: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """For firms in [cut-off − margin, cut-off): the R&D intensity the firm would need to exceed (NaN if none)."""
    cutoff = float(config.spec.value("cutoff"))
    margin = float(config.spec.value("near_margin"))
    needed = np.full(len(score), np.nan)
    near = np.flatnonzero((score >= cutoff - margin) & (score < cutoff))
    if LEVER in config.feature_names:
        j = config.feature_names.index(LEVER)
        for start in range(0, len(near), NEAR_CHUNK):  # each firm is tried at every bin of the feature
            rows = near[start : start + NEAR_CHUNK]
            needed[rows] = explainer.smallest_rise(j, matrix[rows, j], log_odds[rows], cutoff)
    return needed


def _index_factors(index: pl.DataFrame, config: IndexConfig) -> pl.DataFrame:
    """Per firm: its largest components by points (`reasons.COMPONENT`; ties in the configuration's order), each
    with its value, score (0-1), points and weight."""
    components = [c.component for c in config.components]
    shown = min(INDEX_REASONS, len(components))

    def each(columns: list[pl.Expr]) -> np.ndarray:
        return index.select(column.cast(pl.Float64) for column in columns).to_numpy()

    points = each([pl.col(f"points_{c.id}") for c in components])
    order = np.argsort(-points, axis=1, kind="stable")[:, :shown]
    rows = np.arange(index.height)[:, None]
    weights = [
        pl.col("stage").replace_strict(c.weights, default=0.0, return_dtype=pl.Float64).alias(c.id) for c in components
    ]
    flat = pl.DataFrame(  # one row per component named, each firm's in a run
        {
            "component": pl.Series(order.ravel()).replace_strict(
                dict(enumerate(c.id for c in components)), return_dtype=pl.String
            ),
            "value": each([pl.col(f"value_{c.id}") for c in components])[rows, order].ravel(),
            "percentile": each([pl.col(f"score_{c.id}") for c in components])[rows, order].ravel(),
            "points": points[rows, order].ravel(),
            "weight": each(weights)[rows, order].ravel(),
        }
    ).fill_nan(None)
    named = flat.select(pl.struct(pl.all())).to_series().reshape((index.height, shown)).cast(pl.List(COMPONENT))
    return pl.DataFrame({"credit_code": index["credit_code"], "index_factors": named})

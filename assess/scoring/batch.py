"""Scoring a batch of firms once the statistics of the whole population are known: what an engine that scores in
parts (Spark, a partition at a time) applies to each part, with numpy and polars only.

Two quantities of a score's reasons read every scored firm of the year: the mean contribution of each feature (the
"average firm" a factor's effect is measured against) and each feature's percentile among the scored firms. Both
are computed first, over the whole population, and passed in. The mean is computed from how many firms fall in each
slot of each feature's table (`slot_counts`, whole numbers that add up over batches in any order) and the table's
values (`mean_contribution`), so that it is the same to the last bit however the firms are divided.

The functions mirror `assess.scoring.score` (which computes the same over one frame of every firm): `explain_batch`
its `_explain`, `needed` its `_needed`, `index_factors` its `_index_factors`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from assess.scoring.config import ClassifierConfig, Component
from assess.scoring.explainer import Explainer
from assess.scoring.reasons import COMPONENT, FACTOR

LEVER = "rd_intensity"  # the feature the "what would it take" sentence raises
DIGITS = 12  # decimals a stored factor keeps, as the features are rounded
INDEX_REASONS = 3  # components named per firm
NEAR_CHUNK = 20_000  # near misses whose R&D lever is sought at once (memory: firms x bins of the feature)


def slot_counts(explainer: Explainer, matrix: np.ndarray) -> list[np.ndarray]:
    """Per feature, how many firms of the batch fall in each slot of its table (see `Explainer.slots`)."""
    return [
        np.bincount(explainer.slots(j, matrix[:, j]), minlength=len(explainer.tables[j]))
        for j in range(matrix.shape[1])
    ]


def mean_contribution(explainer: Explainer, counts: Sequence[np.ndarray]) -> np.ndarray:
    """Per feature, the mean contribution over the firms counted (0 where none is): each table value times its
    firms, summed exactly (math.fsum), divided by the firms."""
    means = []
    for table, found in zip(explainer.tables, counts, strict=True):
        firms = int(found.sum())
        total = math.fsum(float(value) * int(n) for value, n in zip(table, found, strict=True))
        means.append(total / firms if firms else 0.0)
    return np.asarray(means, dtype=np.float64)


def explain_batch(
    batch: pl.DataFrame, config: ClassifierConfig, explainer: Explainer, mean: np.ndarray, percentiles: np.ndarray
) -> pl.DataFrame:
    """Per firm of the batch (credit_code and the model's features): the score, its largest factors against the
    population's `mean` contribution (most important first) and the R&D intensity it would need; `percentiles` holds
    each firm's percentile of each feature among the population (firms x features, NaN where the value is missing)."""
    names = config.feature_names
    matrix = batch.select(names).to_numpy().astype(np.float64)
    raw = explainer.contributions(matrix)
    log_odds = explainer.baseline + raw.sum(axis=1)
    score = explainer.probability(log_odds)
    centred = raw - mean
    del raw
    top = min(int(config.spec.value("top_factors")), len(names))
    order = np.argsort(-np.abs(centred), axis=1, kind="stable")[:, :top]
    rows = np.arange(len(batch))[:, None]
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
    factors = flat.select(pl.struct(pl.all())).to_series().reshape((len(batch), top)).cast(pl.List(FACTOR))
    return pl.DataFrame(
        {
            "credit_code": batch["credit_code"],
            "score": score,
            "factors": factors,
            "rd_intensity_needed": needed(config, explainer, matrix, log_odds, score),
        }
    )


def needed(
    config: ClassifierConfig, explainer: Explainer, matrix: np.ndarray, log_odds: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """For firms in [cut-off − margin, cut-off): the R&D intensity the firm would need to exceed (NaN if none)."""
    cutoff = float(config.spec.value("cutoff"))
    margin = float(config.spec.value("near_margin"))
    found = np.full(len(score), np.nan)
    near = np.flatnonzero((score >= cutoff - margin) & (score < cutoff))
    if LEVER in config.feature_names:
        j = config.feature_names.index(LEVER)
        for start in range(0, len(near), NEAR_CHUNK):  # each firm is tried at every bin of the feature
            rows = near[start : start + NEAR_CHUNK]
            found[rows] = explainer.smallest_rise(j, matrix[rows, j], log_odds[rows], cutoff)
    return found


def index_factors(index: pl.DataFrame, components: Sequence[Component]) -> pl.DataFrame:
    """Per firm of `index` (rows of `assess.scoring.index.index_query`): its largest components by points
    (`reasons.COMPONENT`; ties in the configuration's order), each with its value, score (0-1), points and weight."""
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

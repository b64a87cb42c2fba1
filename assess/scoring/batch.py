"""Scores and what they rest on, for a batch of firms: pure functions of the batch's rows and of the statistics of
the population the batch belongs to, with no database, so that any engine scores a year in as many batches as it
likes (DuckDB a piece at a time, Spark a partition at a time) and gets the same rows as in one piece.

The population statistics (`Population`) are what a firm's factors are measured against: per feature, how many of
the scored firms fall on each entry of the model's table (from which the mean contribution is exact to the last bit,
whatever the order and the batches the firms came in) and their values in order (from which a value's percentile).
They are gathered from the batches first (`Population.of`), or merged from the parts another engine gathered them in
(`Population.merged`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from assess.scoring.config import ClassifierConfig, IndexConfig
from assess.scoring.explainer import Explainer
from assess.scoring.reasons import COMPONENT, FACTOR

LEVER = "rd_intensity"  # the feature the "what would it take" sentence raises
DIGITS = 12  # decimals a stored factor keeps, as the features are rounded
INDEX_REASONS = 3  # components named per firm
NEAR_CHUNK = 20_000  # near misses whose R&D lever is sought at once (memory: firms x bins of the feature)


@dataclass(frozen=True)
class Population:
    """The scored firms of a year as the factors of each of them are measured against."""

    size: int  # scored firms
    counts: tuple[np.ndarray, ...]  # per feature, firms per entry of the model's table (bins, above, missing)
    values: tuple[np.ndarray, ...]  # per feature, the firms' values in ascending order, nulls left out

    @classmethod
    def of(cls, batches: Iterable[pl.DataFrame], names: list[str], explainer: Explainer) -> Population:
        """From the scored firms' feature columns (`names`, the model's features in its order), batch by batch."""
        return cls.merged([cls._one(batch, names, explainer) for batch in batches], names, explainer)

    @classmethod
    def _one(cls, batch: pl.DataFrame, names: list[str], explainer: Explainer) -> Population:
        matrix = _matrix(batch, names)
        return cls(
            batch.height,
            tuple(
                np.bincount(explainer.entries(j, matrix[:, j]), minlength=len(explainer.tables[j]))
                for j in range(len(names))
            ),
            tuple(batch.get_column(name).drop_nulls().to_numpy().astype(np.float64) for name in names),
        )

    @classmethod
    def merged(cls, parts: list[Population], names: list[str], explainer: Explainer) -> Population:
        """The population of which `parts` are the disjoint parts."""
        return cls(
            sum(part.size for part in parts),
            tuple(
                sum((part.counts[j] for part in parts), np.zeros(len(explainer.tables[j]), dtype=np.int64))
                for j in range(len(names))
            ),
            tuple(
                np.sort(np.concatenate([np.empty(0), *(part.values[j] for part in parts)])) for j in range(len(names))
            ),
        )

    def mean(self, explainer: Explainer) -> np.ndarray:
        """Per feature, the mean of the firms' contributions, correctly rounded: summed exactly, as fractions."""
        return np.array(
            [_mean(counts, table, self.size) for counts, table in zip(self.counts, explainer.tables, strict=True)]
        )

    def percentiles(self, batch: pl.DataFrame, names: list[str]) -> np.ndarray:
        """firms x features: the share of the other scored firms with a strictly lower value (as percent_rank), 0-1;
        NaN where the firm's value is null."""
        columns = []
        for name, ordered in zip(names, self.values, strict=True):
            column = batch.get_column(name)
            below = np.searchsorted(ordered, column.fill_null(np.nan).to_numpy().astype(np.float64), side="left")
            share = below * (1 / max(len(ordered) - 1, 1))  # as polars divides by a number: stored runs' figures
            columns.append(np.where(column.is_null().to_numpy(), np.nan, share))
        return np.column_stack(columns)


def _mean(counts: np.ndarray, table: np.ndarray, size: int) -> float:
    """The mean of `size` values of which counts[i] are table[i], correctly rounded (0 for none)."""
    total = sum((Fraction(int(n)) * Fraction(float(f)) for n, f in zip(counts, table, strict=True)), Fraction(0))
    return float(total / size) if size else 0.0


def _matrix(batch: pl.DataFrame, names: list[str]) -> np.ndarray:
    return batch.select(names).to_numpy().astype(np.float64)


def explain(
    batch: pl.DataFrame, config: ClassifierConfig, explainer: Explainer, population: Population, mean: np.ndarray
) -> pl.DataFrame:
    """Per firm of the batch (credit_code and the model's features, `config.feature_names`; firms of `population`):
    `score`, its largest `factors` (`reasons.FACTOR`, most important first: against the population's mean
    contribution, `mean` = `population.mean(explainer)`) and the R&D intensity it would need (`rd_intensity_needed`,
    NaN where none is sought)."""
    names = config.feature_names
    top = min(int(config.spec.value("top_factors")), len(names))
    matrix = _matrix(batch, names)
    raw = explainer.contributions(matrix)
    log_odds = explainer.baseline + raw.sum(axis=1)
    score = explainer.probability(log_odds)
    centred = raw - mean
    del raw
    order = np.argsort(-np.abs(centred), axis=1, kind="stable")[:, :top]
    rows = np.arange(batch.height)[:, None]
    effect = centred[rows, order]  # firms x top, the firm's own order
    flat = pl.DataFrame(  # one row per factor, each firm's `top` in a run
        {
            "feature": pl.Series(order.ravel()).replace_strict(dict(enumerate(names)), return_dtype=pl.String),
            "value": matrix[rows, order].ravel(),
            "percentile": population.percentiles(batch, names)[rows, order].ravel(),
            # Rounded as the features are: two fits of the same model differ in the 15th digit (summation order)
            "effect": np.round(effect.ravel(), DIGITS),
            "without": np.round(explainer.probability((log_odds[:, None] - effect).ravel()), DIGITS),
        }
    ).fill_nan(None)
    factors = flat.select(pl.struct(pl.all())).to_series().reshape((batch.height, top)).cast(pl.List(FACTOR))
    return pl.DataFrame(
        {
            "credit_code": batch.get_column("credit_code"),
            "score": score,
            "factors": factors,
            "rd_intensity_needed": _needed(config, explainer, matrix, log_odds, score),
        }
    )


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


def index_factors(batch: pl.DataFrame, config: IndexConfig) -> pl.Series:
    """Per firm of the batch (`stage` and the index's `value_<c>`, `score_<c>`, `points_<c>` per component c): its
    largest components by points (`reasons.COMPONENT`; ties in the configuration's order), each with its value,
    score (0-1), points and weight."""
    components = [c.component for c in config.components]
    shown = min(INDEX_REASONS, len(components))

    def each(columns: list[pl.Expr]) -> np.ndarray:
        return batch.select(column.cast(pl.Float64) for column in columns).to_numpy()

    points = each([pl.col(f"points_{c.id}") for c in components])
    order = np.argsort(-points, axis=1, kind="stable")[:, :shown]
    rows = np.arange(batch.height)[:, None]
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
    named = flat.select(pl.struct(pl.all())).to_series().reshape((batch.height, shown)).cast(pl.List(COMPONENT))
    return named.alias("index_factors")

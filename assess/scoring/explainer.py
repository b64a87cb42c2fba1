"""Exact additive explanations of the classifier's log-odds, and the calibrated probability they add up to.

Each tree of the model splits on one feature, so its log-odds is baseline + sum of f_j(x_j), and f_j is a step
function over the model's bins of feature j. The table of f_j is read once per model by evaluating the trees at
each bin's upper threshold (plus one value above them all and one missing value); a firm's contribution is then a
lookup. `decision(X) == baseline + contributions(X).sum(axis=1)` to rounding, which a test checks. The bin
thresholds are the fitted model's `_bin_mapper` (scikit-learn keeps them private): a version with other internals
fails that test, not silently.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class Explainer:
    thresholds: tuple[np.ndarray, ...]  # per feature, the upper bounds of its bins
    tables: tuple[np.ndarray, ...]  # per feature, f_j per bin, then above every bound, then missing
    baseline: float  # the log-odds of a firm with every feature missing
    model: CalibratedClassifierCV

    @classmethod
    def of(cls, model: CalibratedClassifierCV) -> Explainer:
        gbm: HistGradientBoostingClassifier = model.calibrated_classifiers_[0].estimator[-1]
        width = gbm.n_features_in_
        bounds = [np.asarray(b, dtype=np.float64) for b in gbm._bin_mapper.bin_thresholds_]
        # One grid for every feature (a row per bin of one feature, the others missing) under one row of all
        # missing, evaluated in a single call: many small calls each start the model's thread pool, which costs
        # seconds on a machine whose cores are busy.
        grids = [np.full((1, width), np.nan)]
        for j, feature_bounds in enumerate(bounds):
            grid = np.full((len(feature_bounds) + 2, width), np.nan)
            grid[:, j] = np.concatenate([feature_bounds, [np.inf, np.nan]])
            grids.append(grid)
        with threadpool_limits(1):  # a few thousand rows: one thread is faster than waking busy cores
            decided = gbm.decision_function(np.vstack(grids))
        baseline = float(decided[0])
        ends = np.cumsum([1] + [len(b) + 2 for b in bounds])
        tables = [decided[start:end] - baseline for start, end in itertools.pairwise(ends)]
        return cls(tuple(bounds), tuple(tables), baseline, model)

    def slots(self, j: int, values: np.ndarray) -> np.ndarray:
        """Where the given values of feature j fall in its table: a bin, above every bound, or missing (the last)."""
        bins = np.searchsorted(self.thresholds[j], values, side="left")
        return np.where(np.isnan(values), len(self.tables[j]) - 1, bins)

    def column(self, j: int, values: np.ndarray) -> np.ndarray:
        """f_j at the given values of feature j."""
        return self.tables[j][self.slots(j, values)]

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """n x d: each feature's term of each firm's log-odds, relative to the feature being missing."""
        return np.column_stack([self.column(j, matrix[:, j]) for j in range(matrix.shape[1])])

    def probability(self, log_odds: np.ndarray) -> np.ndarray:
        """The calibrated probability for a log-odds of the model."""
        calibrator = self.model.calibrated_classifiers_[0].calibrators[0]
        return np.clip(calibrator.predict(log_odds), 0.0, 1.0)

    def smallest_rise(self, j: int, current: np.ndarray, log_odds: np.ndarray, target: float) -> np.ndarray:
        """Per firm, the lowest value of feature j above `current` at which the probability reaches `target`, all
        else equal; NaN where no value does. The value is the bin's lower bound: anything above it qualifies."""
        bounds = self.thresholds[j]
        levels = self.tables[j][: len(bounds) + 1]  # bins in order; the last is above every bound
        lower = np.concatenate([[-np.inf], bounds])  # a value above lower[b] (and within the bin) lands in bin b
        without = log_odds - self.column(j, current)
        probability = self.probability((without[:, None] + levels[None, :]).ravel()).reshape(len(current), -1)
        start = np.searchsorted(bounds, np.nan_to_num(current, nan=-np.inf), side="left")
        reachable = (probability >= target) & (np.arange(len(levels))[None, :] > start[:, None])
        first = np.where(reachable.any(axis=1), reachable.argmax(axis=1), -1)
        return np.where(first >= 0, lower[np.maximum(first, 0)], np.nan)

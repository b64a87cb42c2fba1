"""Exact additive explanations of the classifier's log-odds, and the calibrated probability they add up to.

Each tree of the model splits on one feature, so its log-odds is baseline + sum of f_j(x_j), and f_j is a step
function over the model's bins of feature j. The table of f_j is read once per model by evaluating the trees at
each bin's upper threshold (plus one value above them all and one missing value); a firm's contribution is then a
lookup. `decision(X) == baseline + contributions(X).sum(axis=1)` to rounding, which a test checks. The bin
thresholds are the fitted model's `_bin_mapper` (scikit-learn keeps them private): a version with other internals
fails that test, not silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier


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
        empty = np.full((1, width), np.nan)
        baseline = float(gbm.decision_function(empty)[0])
        thresholds, tables = [], []
        for j, bounds in enumerate(gbm._bin_mapper.bin_thresholds_):
            grid = np.full((len(bounds) + 2, width), np.nan)
            grid[:, j] = np.concatenate([bounds, [np.inf, np.nan]])
            thresholds.append(np.asarray(bounds, dtype=np.float64))
            tables.append(gbm.decision_function(grid) - baseline)
        return cls(tuple(thresholds), tuple(tables), baseline, model)

    def column(self, j: int, values: np.ndarray) -> np.ndarray:
        """f_j at the given values of feature j."""
        bins = np.searchsorted(self.thresholds[j], values, side="left")
        return self.tables[j][np.where(np.isnan(values), len(self.tables[j]) - 1, bins)]

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

"""The 三高一核心 classifier: a scikit-learn Pipeline of a gradient-boosted additive model, calibrated.

The boosted trees may each split on one feature only (`interaction_cst="no_interactions"`), so the model's log-odds
is a sum of one function per feature: that is what makes the explanations exact, and it lets every feature carry a
monotone constraint (more R&D, growth, market share or IP never lowers a score). Probabilities are calibrated on
out-of-fold predictions whose folds keep each firm's years together. Validation is grouped by firm (no firm in both
train and test) plus a temporal check (train on the earlier years, test on the latest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from assess.scoring.config import ClassifierConfig

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Labelled:
    """The labelled firm-years the classifier learns from: features, label, firm and year."""

    features: pl.DataFrame
    label: np.ndarray  # 1 confirmed, 0 rejected
    firm: np.ndarray
    year: np.ndarray

    @property
    def size(self) -> int:
        return len(self.label)

    def counts(self) -> tuple[int, int]:
        positive = int(self.label.sum())
        return positive, self.size - positive

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled(self.features[rows], self.label[rows], self.firm[rows], self.year[rows])


def build(config: ClassifierConfig) -> Pipeline:
    """The untrained pipeline: select the configured columns in order, then the constrained boosted model."""
    spec = config.spec
    return Pipeline(
        [
            (
                "select",
                ColumnTransformer([("features", "passthrough", config.feature_names)], verbose_feature_names_out=False),
            ),
            (
                "gbm",
                HistGradientBoostingClassifier(
                    learning_rate=float(spec.value("learning_rate")),
                    max_iter=int(spec.value("max_iter")),
                    max_leaf_nodes=int(spec.value("max_leaf_nodes")),
                    min_samples_leaf=int(spec.value("min_samples_leaf")),
                    interaction_cst="no_interactions",
                    monotonic_cst=[1 if f.monotone == "increasing" else 0 for f in spec.features],
                    early_stopping=False,
                    random_state=int(spec.value("seed")),
                ),
            ),
        ]
    )


def _folds(data: Labelled, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep each firm's years together."""
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(data.size), data.label, data.firm))


def _calibration_folds(config: ClassifierConfig, data: Labelled) -> list[tuple[np.ndarray, np.ndarray]]:
    return _folds(data, int(config.spec.value("cv_folds")), int(config.spec.value("seed")))


def lacking(config: ClassifierConfig, data: Labelled) -> list[str]:
    """The configured features that a fit on `data` would meet without a single value: in the whole of `data`, or in
    the training part of one of its calibration folds (a column filed by a firm or two, whose years fall in one
    fold). The boosted model cannot bin a column without values (scikit-learn stops with "window shape cannot be
    larger than input array shape"), so a fit on `data` learns without them."""
    parts = [np.arange(data.size), *(train for train, _ in _calibration_folds(config, data))]
    lacks = []
    for name in config.feature_names:
        filled = ~np.isnan(data.features.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy())
        if any(not filled[rows].any() for rows in parts):
            lacks.append(name)
    return lacks


def learnable(config: ClassifierConfig, data: Labelled) -> ClassifierConfig:
    """The configuration a fit on `data` uses: its features less the ones `data` lacks (see `lacking`)."""
    lacks = lacking(config, data)
    return config.restricted([name for name in config.feature_names if name not in lacks])


def fit(config: ClassifierConfig, data: Labelled) -> CalibratedClassifierCV:
    """The calibrated model on all of `data`, from the features it can learn (a fit on part of the labels, for a
    check, may have fewer than the final model); the calibration's own folds are grouped by firm as well."""
    spec = config.spec
    config = learnable(config, data)
    if not config.feature_names:
        raise ValueError("no feature of the configuration has a value in every part of this fit")
    model = CalibratedClassifierCV(
        build(config), method=str(spec.value("calibration")), cv=_calibration_folds(config, data), ensemble=False
    )
    return model.fit(data.features, data.label)


def _metrics(label: np.ndarray, probability: np.ndarray) -> dict:
    return {
        "n": len(label),
        "n_positive": int(label.sum()),
        "roc_auc": float(roc_auc_score(label, probability)),
        "pr_auc": float(average_precision_score(label, probability)),
        "brier": float(brier_score_loss(label, probability)),
    }


def _calibration_table(label: np.ndarray, probability: np.ndarray) -> list[dict]:
    """Predicted against observed, in ten equal-width bins of the predicted probability."""
    bins = np.minimum((probability * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    table = []
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            table.append(
                {
                    "bin": f"{b / CALIBRATION_BINS:.1f}–{(b + 1) / CALIBRATION_BINS:.1f}",
                    "n": int(inside.sum()),
                    "predicted": float(probability[inside].mean()),
                    "observed": float(label[inside].mean()),
                }
            )
    return table


def cross_validate(config: ClassifierConfig, data: Labelled, on_fold: Callable[[int], None] | None = None) -> dict:
    """Out-of-fold metrics with folds grouped by firm, and the calibration table of those predictions; `on_fold` is
    told each fold's number (from 1) as it starts."""
    spec = config.spec
    probability = np.zeros(data.size)
    for fold, (train, test) in enumerate(_folds(data, int(spec.value("cv_folds")), int(spec.value("seed")) + 1), 1):
        if on_fold is not None:
            on_fold(fold)
        part = data.subset(train)
        if learnable(config, part).feature_names:
            probability[test] = fit(config, part).predict_proba(data.features[test])[:, 1]
        else:  # no feature has values in every part of this fold's training firms: the base rate is all it knows
            probability[test] = part.label.mean()
    return {**_metrics(data.label, probability), "calibration": _calibration_table(data.label, probability)}


def temporal_check(config: ClassifierConfig, data: Labelled) -> dict | None:
    """Train on the years before the latest labelled year, test on that year; None when either side lacks a class
    (or the earlier years lack every feature). `left_out` names the features the earlier years cannot teach (a
    column filed only from the latest year on): the check's model goes without them, the final model does not."""
    latest = int(data.year.max())
    train, test = np.flatnonzero(data.year < latest), np.flatnonzero(data.year == latest)
    minimum = int(config.spec.value("cv_folds"))
    for rows in (train, test):
        positive = int(data.label[rows].sum())
        if min(positive, len(rows) - positive) < minimum:
            return None
    earlier = data.subset(train)
    used = learnable(config, earlier).feature_names
    if not used:
        return None
    probability = fit(config, earlier).predict_proba(data.features[test])[:, 1]
    return {
        "train_years": sorted({int(y) for y in data.year[train]}),
        "test_year": latest,
        **_metrics(data.label[test], probability),
        "left_out": [name for name in config.feature_names if name not in used],  # the earlier years cannot teach
    }

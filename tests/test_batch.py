"""Scoring in parts (`assess.scoring.batch`), as Spark does a partition at a time: the population's mean
contribution comes out the same however the firms are divided, equal to the mean over all of them, and the firms of
each part get the scores and factors they get scored all at once."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.scoring import model as classifier
from assess.scoring.batch import explain_batch, mean_contribution, slot_counts
from assess.scoring.explainer import Explainer
from tests.conftest import QUICK_MODEL, rule_folder

CONFIG = load_config(PACKAGED_RULES).scoring.classifier
FIRMS = 400


@pytest.fixture(scope="module")
def firms() -> pl.DataFrame:
    """Synthetic firms with every feature, a tenth of the values missing."""
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=(FIRMS, len(CONFIG.feature_names)))
    values[rng.random(values.shape) < 0.1] = np.nan
    frame = pl.DataFrame(values, schema=CONFIG.feature_names).fill_nan(None)
    return frame.with_columns(credit_code=pl.Series([f"{i:018d}" for i in range(FIRMS)]))


@pytest.fixture(scope="module")
def explainer(firms: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Explainer:
    """A model fitted on the synthetic firms, labelled by their first feature and some noise (in few folds and
    rounds: what is tested holds for any model)."""
    quick = load_config(rule_folder(tmp_path_factory.mktemp("rules") / "rules", QUICK_MODEL)).scoring.classifier
    first = firms[CONFIG.feature_names[0]].fill_null(1.0).to_numpy()
    label = (np.log(first) + np.random.default_rng(8).normal(size=FIRMS) > 0).astype(np.int64)
    data = classifier.Labelled(
        features=firms.select(CONFIG.feature_names),
        label=label,
        firm=firms["credit_code"].to_numpy(),
        year=np.full(FIRMS, 2024),
    )
    return Explainer.of(classifier.fit(quick, data))


def _parts(frame: pl.DataFrame, sizes: list[int]) -> list[pl.DataFrame]:
    return [frame[int(a) : int(b)] for a, b in itertools.pairwise(np.cumsum([0, *sizes]))]


def test_the_mean_contribution_is_the_same_however_the_firms_are_divided(
    firms: pl.DataFrame, explainer: Explainer
) -> None:
    matrix = firms.select(CONFIG.feature_names).to_numpy().astype(np.float64)
    whole = slot_counts(explainer, matrix)
    parts = [slot_counts(explainer, part) for part in np.array_split(matrix[::-1], 7)]
    added = [np.sum(counts, axis=0) for counts in zip(*parts, strict=True)]
    assert all(np.array_equal(a, b) for a, b in zip(whole, added, strict=True))
    assert all(int(counts.sum()) == FIRMS for counts in whole)
    mean = mean_contribution(explainer, whole)
    assert np.array_equal(mean, mean_contribution(explainer, added))
    # numpy's mean sums in pairs: the exact sum over slots differs from it in the last digits only
    np.testing.assert_allclose(mean, explainer.contributions(matrix).mean(axis=0), rtol=0, atol=1e-13)


def test_each_part_is_scored_as_the_whole(firms: pl.DataFrame, explainer: Explainer) -> None:
    matrix = firms.select(CONFIG.feature_names).to_numpy().astype(np.float64)
    mean = mean_contribution(explainer, slot_counts(explainer, matrix))
    percentiles = np.random.default_rng(9).random(matrix.shape)
    whole = explain_batch(firms, CONFIG, explainer, mean, percentiles)
    sizes = [1, 150, 49, 200]
    pieces = pl.concat(
        [
            explain_batch(part, CONFIG, explainer, mean, share)
            for part, share in zip(_parts(firms, sizes), np.split(percentiles, np.cumsum(sizes)[:-1]), strict=True)
        ]
    )
    assert whole.equals(pieces)
    assert whole["factors"].list.len().unique().to_list() == [int(CONFIG.spec.value("top_factors"))]
    assert whole["score"].is_between(0, 1).all() and whole["rd_intensity_needed"].is_not_nan().any()

"""Scoring in parts (`assess.scoring.batch`), as Spark does a partition at a time: the population's statistics
merged from its parts (`Population.merged`) are those gathered from all of it, its mean contribution equal to the
mean over all the firms, and the firms of each part get the scores and factors they get scored all at once."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.scoring import model as classifier
from assess.scoring.batch import Population, explain
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


def test_the_statistics_are_the_same_however_the_firms_are_divided(firms: pl.DataFrame, explainer: Explainer) -> None:
    names = CONFIG.feature_names
    whole = Population.of([firms], names, explainer)
    parts = [Population.of(_parts(part, [13, 0, 200]), names, explainer) for part in _parts(firms[::-1], [187, 213])]
    merged = Population.merged(parts, names, explainer)
    assert merged.size == whole.size == FIRMS
    assert all(np.array_equal(a, b) for a, b in zip(whole.counts, merged.counts, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(whole.values, merged.values, strict=True))
    assert all(int(counts.sum()) == FIRMS for counts in whole.counts)
    mean = whole.mean(explainer)
    assert np.array_equal(mean, merged.mean(explainer))
    # numpy's mean sums in pairs: the exact sum over the table differs from it in the last digits only
    matrix = firms.select(names).to_numpy().astype(np.float64)
    np.testing.assert_allclose(mean, explainer.contributions(matrix).mean(axis=0), rtol=0, atol=1e-13)


def test_each_part_is_scored_as_the_whole(firms: pl.DataFrame, explainer: Explainer) -> None:
    population = Population.of([firms], CONFIG.feature_names, explainer)
    mean = population.mean(explainer)
    whole = explain(firms, CONFIG, explainer, population, mean)
    pieces = pl.concat(
        [explain(part, CONFIG, explainer, population, mean) for part in _parts(firms, [1, 150, 49, 200])]
    )
    assert whole.equals(pieces)
    assert whole["factors"].list.len().unique().to_list() == [int(CONFIG.spec.value("top_factors"))]
    assert whole["score"].is_between(0, 1).all() and whole["rd_intensity_needed"].is_not_nan().any()

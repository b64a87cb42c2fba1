"""The 三高一核心 classifier on the synthetic sample: no leakage, monotone, exact explanations, reproducible, and a
changed model file refused. The sample is ingested once per module (a real workbook into a real DuckDB file)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from assess.contract import load_contract
from assess.features import BY_NAME
from assess.ingest import Options, ingest_files
from assess.resources import PACKAGED_RULES, SAMPLE_DIR
from assess.run import runs
from assess.run.config import load_config
from assess.run.context import RunContext, install_features
from assess.run.reasons import leading, with_reasons
from assess.scoring import model as classifier
from assess.scoring import persist
from assess.scoring.config import ClassifierSpec, IndexSpec
from assess.scoring.explainer import Explainer
from assess.scoring.index import compute_index
from assess.scoring.score import score_year
from assess.scoring.train import Trained, ensure_model, feature_select, labelled, train
from assess.store import Store, StoreError
from assess.synthetic.panel import generate_panel
from assess.synthetic.writers import write_panel

ALL = load_config(PACKAGED_RULES)
RULES, SCORING = ALL.rules, ALL.scoring
CONFIG = SCORING.classifier
YEAR = 2024
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("sample") / "assess.duckdb"
    with Store(path, load_contract()) as store:
        [result] = ingest_files(store, [SAMPLE_DIR / "panel_2020-2024.xlsx"], Options())
        assert result.rejected == 0
        install_features(store, ALL)
        yield store


@pytest.fixture(scope="module")
def trained(sample: Store) -> Trained:
    return train(sample, CONFIG)


def _worded(store: Store, frame: pl.DataFrame) -> pl.DataFrame:
    """Fresh scores with their reasons as sentences, as `assess score` shows them."""
    return with_reasons(RunContext(store, ALL, YEAR, installed=True), frame)


def _year_features(store: Store) -> pl.DataFrame:
    return store.con.sql(
        f"SELECT credit_code, {feature_select(CONFIG)} FROM features AS f WHERE year = {YEAR} ORDER BY credit_code"
    ).pl()


def test_the_expert_label_is_never_a_feature(sample: Store) -> None:
    for view in ("features_base", "features_history", "features"):
        columns = sample.con.sql(f"SELECT * FROM {view} LIMIT 0").columns
        assert not [c for c in columns if "expert" in c or "label" in c], view
    spec = CONFIG.spec.model_dump()
    spec["features"] = [*spec["features"], {"name": "expert_label", "monotone": "increasing"}]
    with pytest.raises(ValidationError):
        ClassifierSpec(**spec)


def test_shuffled_labels_score_at_chance_and_real_labels_do_not(sample: Store, trained: Trained) -> None:
    data = labelled(sample, CONFIG)
    shuffled = classifier.Labelled(
        data.features, np.random.default_rng(7).permutation(data.label), data.firm, data.year
    )
    assert abs(classifier.cross_validate(CONFIG, shuffled)["roc_auc"] - 0.5) < 0.08
    assert trained.report["cv"]["roc_auc"] > 0.75
    assert trained.report["n_train"] == data.size and trained.report["n_positive"] == int(data.label.sum())


def test_cross_validation_keeps_each_firm_on_one_side(sample: Store) -> None:
    data = labelled(sample, CONFIG)
    folds, seed = int(CONFIG.spec.value("cv_folds")), int(CONFIG.spec.value("seed"))
    for train_rows, test_rows in classifier._folds(data, folds, seed):
        assert not set(data.firm[train_rows]) & set(data.firm[test_rows])


def test_raising_a_monotone_feature_never_lowers_the_probability(sample: Store, trained: Trained) -> None:
    assert trained.model is not None
    frame = _year_features(sample).drop("credit_code").sample(300, seed=3)
    before = trained.model.predict_proba(frame)[:, 1]
    rng = np.random.default_rng(11)
    for feature in CONFIG.spec.features:
        assert feature.monotone == "increasing"
        column = frame[feature.name]
        spread = column.std() or 1.0
        assert isinstance(spread, float)  # a numeric column's std (Series.std is typed to allow a timedelta too)
        step = rng.uniform(0.01, 2.0, frame.height) * max(float(spread), 1e-3)
        raised = frame.with_columns((column + step).alias(feature.name))
        after = trained.model.predict_proba(raised)[:, 1]
        assert (after >= before - 1e-12).all(), feature.name


def test_explanations_add_up_exactly_to_the_model(sample: Store, trained: Trained) -> None:
    assert trained.model is not None
    frame = _year_features(sample).drop("credit_code")
    explainer = Explainer.of(trained.model)
    pipeline = trained.model.calibrated_classifiers_[0].estimator
    log_odds = pipeline.decision_function(frame)
    parts = explainer.contributions(frame.to_numpy().astype(np.float64))
    np.testing.assert_allclose(explainer.baseline + parts.sum(axis=1), log_odds, atol=1e-9)
    np.testing.assert_allclose(explainer.probability(log_odds), trained.model.predict_proba(frame)[:, 1], atol=1e-12)


def test_the_rd_intensity_named_for_a_near_miss_lifts_it_over_the_cutoff(sample: Store, trained: Trained) -> None:
    assert trained.model is not None
    scores = _worded(sample, score_year(sample, RULES, SCORING, YEAR, trained).frame)
    cutoff = float(CONFIG.spec.value("cutoff"))
    near = scores.filter(pl.col("rd_intensity_needed").is_not_null() & pl.col("rd_intensity_needed").is_not_nan())
    assert near.height > 0
    assert (near["score"] < cutoff).all() and (near["score"] >= cutoff - float(CONFIG.spec.value("near_margin"))).all()
    features = _year_features(sample).join(near.select("credit_code", "rd_intensity_needed"), on="credit_code")
    needed = features["rd_intensity_needed"]
    above = features.with_columns(rd_intensity=needed + 1e-9).select(CONFIG.feature_names)
    at = features.with_columns(rd_intensity=needed).select(CONFIG.feature_names)
    assert (trained.model.predict_proba(above)[:, 1] >= cutoff).all()
    assert (trained.model.predict_proba(at)[:, 1] < cutoff).all()
    sentence = next(r for r in near["reasons"][0] if "评分线" in r)
    assert "研发投入强度由" in sentence and "以上即可达到评分线" in sentence


def test_every_scored_firm_has_reasons_and_four_sub_judgements(sample: Store, trained: Trained) -> None:
    scores = _worded(sample, score_year(sample, RULES, SCORING, YEAR, trained).frame)
    scored = scores.filter(pl.col("scored"))
    assert scored.height > 500 and (scored["score_source"] == "model").all()
    assert scored["score"].is_between(0, 1).all() and scored["index"].is_between(0, 100).all()
    top = int(CONFIG.spec.value("top_factors"))
    assert (scored["reasons"].list.len() >= top + 4).all()
    assert scored.select(pl.col(c).is_null().any() for c in ("rd_share", "growth", "market_share", "core_tech")).row(
        0
    ) == (False, False, False, False)
    # Firms outside the population (large firms, other industries) get the index with its reasons, no score.
    others = scores.filter(~pl.col("scored"))
    fewest_reasons = others["index_reasons"].list.len().min()
    assert others["score"].is_null().all() and isinstance(fewest_reasons, int) and fewest_reasons >= 2


def test_same_data_and_seed_give_identical_scores(sample: Store, trained: Trained) -> None:
    again = train(sample, CONFIG)
    first = score_year(sample, RULES, SCORING, YEAR, trained).frame
    second = score_year(sample, RULES, SCORING, YEAR, again).frame
    assert first.equals(second)
    assert again.report["cv"] == trained.report["cv"]


def _in_pieces_of(store: Store, rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's contract with `rows` firms to a piece (`memory.run_rows`)."""
    contract = store.contract
    pieces = contract.model_copy(update={"memory": contract.memory.model_copy(update={"run_rows": rows})})
    monkeypatch.setattr(store, "_contract", pieces)


def test_scores_do_not_depend_on_the_pieces_they_are_computed_in(
    sample: Store, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The firms of a year are scored and explained a piece at a time against the statistics of them all: in pieces
    of 97 firms (the scored ones in every piece in a different number) the scores are those of one piece."""
    whole = score_year(sample, RULES, SCORING, YEAR, trained).frame
    assert whole.height < sample.contract.memory.run_rows  # one piece
    _in_pieces_of(sample, 97, monkeypatch)
    assert score_year(sample, RULES, SCORING, YEAR, trained).frame.equals(whole)


def test_a_run_made_in_small_pieces_keeps_the_same_rows(
    sample: Store, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row a run keeps (flags, counts, rubric results in their order, scores, lists, funnels) is the same when
    the run reads, scores and writes 97 firms at a time as when it does all at once."""
    ctx = RunContext(sample, ALL, YEAR, installed=True)
    whole = runs.execute(ctx)
    _in_pieces_of(sample, 97, monkeypatch)
    pieces = runs.execute(ctx)
    for table in ("rule_hits", "rule_counts", "rubric_results", "scores", "tier_results", "tier_funnels"):
        rows = [f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = {run.run_id}" for run in (whole, pieces)]
        assert sample.con.execute(f"SELECT count(*) FROM ({rows[0]})").fetchall()[0][0] > 0, table
        for first, second in (rows, rows[::-1]):
            assert sample.con.execute(f"SELECT count(*) FROM ({first} EXCEPT ALL {second})").fetchall() == [(0,)], table
    rubrics = [runs.rubric(sample, run, "hte_ready") for run in (whole, pieces)]
    assert rubrics[0].equals(rubrics[1])


def test_a_changed_model_file_is_refused(sample: Store, trained: Trained) -> None:
    assert trained.record is not None
    reused = ensure_model(sample, CONFIG)
    assert reused.record is not None and reused.record.labels_sha256 == trained.record.labels_sha256
    path = persist.models_dir(sample) / reused.record.file
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        with pytest.raises(StoreError, match="SHA-256 与登记的不一致"):
            ensure_model(sample, CONFIG)
    finally:
        path.write_bytes(original)
    assert ensure_model(sample, CONFIG).record == reused.record


def test_the_index_is_the_sum_of_its_weighted_components(sample: Store) -> None:
    index = compute_index(sample.con, SCORING.index, YEAR)
    points = [c for c in index.columns if c.startswith("points_")]
    assert len(points) == len(SCORING.index.components)
    np.testing.assert_allclose(index.select(pl.sum_horizontal(points)).to_series(), index["index"], atol=1e-5)
    assert index["index"].is_between(0, 100).all()
    spec = SCORING.index.spec.model_dump()
    spec["components"][0]["weights"]["growth"] += 1
    with pytest.raises(ValidationError, match="权重合计"):
        IndexSpec(**spec)
    # A negative weight (its stage's weights still summing to 100) is refused: points are never below zero.
    spec = SCORING.index.spec.model_dump()
    spec["components"][0]["weights"]["growth"] -= 200
    spec["components"][1]["weights"]["growth"] += 200
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        IndexSpec(**spec)


def test_a_model_card_is_written_beside_the_model(sample: Store, trained: Trained) -> None:
    assert trained.record is not None
    card = (persist.models_dir(sample) / trained.record.file).with_suffix(".md").read_text(encoding="utf-8")
    assert "ROC AUC" in card and "校准表" in card and "局限" in card and "expert_label" in card


def test_the_run_manifest_names_the_model_file_and_its_hash(sample: Store, trained: Trained) -> None:
    done = runs.execute(RunContext(sample, ALL, YEAR))
    model = done.manifest["scoring"]["model"]
    record = ensure_model(sample, CONFIG).record
    assert record is not None and model["sha256"] == record.sha256 and model["file"] == record.file
    stored = runs.scores(sample, done)
    assert stored.height == score_year(sample, RULES, SCORING, YEAR, trained).frame["scored"].sum()
    assert Path(persist.models_dir(sample) / model["file"]).is_file()


def test_the_reasons_of_a_run_read_as_they_did_when_runs_kept_them_as_sentences(
    sample: Store, trained: Trained
) -> None:
    """A run keeps factors and the sentences are rendered where they are shown: for the sample data they read word
    for word as the code that stored sentences (schema version 5) wrote them (tests/fixtures/reasons/), for every
    firm's score and index and for every list's firms."""
    assert trained.model is not None
    before = json.loads(gzip.decompress((FIXTURES / "reasons" / "sample-2024.json.gz").read_bytes()))
    ctx = RunContext(sample, ALL, YEAR, installed=True)
    done = runs.execute(ctx)
    stored = runs.scores(sample, done, scored_only=False, reasons=True)
    assert stored.select(pl.col("reasons", "index_reasons").is_null().all()).row(0) == (True, True)
    worded = with_reasons(ctx, stored, done.manifest)
    shown = {code: [r, i] for code, r, i in worded.select("credit_code", "reasons", "index_reasons").iter_rows()}
    assert shown == before["scores"]
    assert sum("以上即可达到评分线" in r for reasons, _ in shown.values() for r in reasons or []) > 10
    statuses = ("selected", "near", "eligible", "excluded", "unknown", "closest")
    for tier in ALL.tiers:
        listed = runs.tier_results(sample, done, tier.id, statuses, reasons=True)
        said = dict(zip(listed["credit_code"], leading(sample, ALL, done, tier, listed).to_list(), strict=True))
        assert said == before["lists"][tier.id], tier.id


# The optional filing fields: a panel from another system may leave any of them out (the expert label stays).
OPTIONAL = [spec.name for spec in load_contract().fields if not spec.required and spec.name != CONFIG.spec.label]


def _one_labelled_firm(panel: pl.DataFrame) -> str:
    """The first firm with an expert verdict in more than one year (so that its own figures differ)."""
    labelled = panel.filter(pl.col(CONFIG.spec.label).is_not_null()).group_by("credit_code").len()
    return str(labelled.filter(pl.col("len") > 1).sort("credit_code")["credit_code"][0])


def _foreign(panel: pl.DataFrame, variant: str) -> pl.DataFrame:
    if variant == "optional columns absent":
        return panel.drop([name for name in OPTIONAL if name in panel.columns])
    if variant == "one optional column constant":
        return panel.with_columns(class2_ip=pl.lit(3, dtype=panel.schema["class2_ip"]))
    if variant == "an optional column filed from the latest year on":
        return panel.with_columns(class2_ip=pl.when(pl.col("year") == YEAR).then(pl.col("class2_ip")))
    # one firm filed the column, a different figure each year
    firm = _one_labelled_firm(panel)
    standards = (pl.col("year") - YEAR + 4).cast(panel.schema["standards_led"])
    return panel.with_columns(standards_led=pl.when(pl.col("credit_code") == firm).then(standards))


@pytest.mark.parametrize(
    "variant",
    [
        "optional columns absent",
        "one optional column constant",
        "an optional column filed from the latest year on",
        "an optional column filed by one firm",
    ],
)
def test_a_foreign_panel_trains_on_what_it_can_teach(variant: str, tmp_path: Path) -> None:
    """A labelled panel without the optional columns (or with one the same for every firm, or filed by one firm
    only) trains on the features it has; the left-out ones are named with why, in the report and the model card, and
    no reason cites them. A column filed only from the latest year on is learnt from; the check on the latest year,
    trained on the years before it, goes without it and says so."""
    write_panel(_foreign(generate_panel(400, 2021, YEAR, 3), variant), tmp_path / "外来样本.xlsx")
    with Store(tmp_path / "assess.duckdb", load_contract()) as store:
        [result] = ingest_files(store, [tmp_path / "外来样本.xlsx"], Options())
        assert result.rejected == 0
        install_features(store, ALL)
        trained = train(store, CONFIG)
        assert not trained.fallback and trained.record is not None
        frame = _worded(store, score_year(store, RULES, SCORING, YEAR, trained).frame.filter(pl.col("scored")))
        card = (persist.models_dir(store) / trained.record.file).with_suffix(".md").read_text(encoding="utf-8")
    left_out = trained.report["left_out"]
    if variant == "optional columns absent":
        assert {"class2_ip", "standards_led", "award_rank"} <= set(left_out)
        assert all("没有任何取值" in why for why in left_out.values())
    elif variant == "one optional column constant":
        assert "class2_ip" in left_out and "相同" in left_out["class2_ip"]
    elif variant == "an optional column filed from the latest year on":
        assert "class2_ip" in trained.report["features"] and "class2_ip" not in left_out
        temporal = trained.report["temporal"]
        # The earlier years cannot teach it, nor what is computed from it (IP per 100 staff).
        assert temporal is not None and "class2_ip" in temporal["left_out"]
        assert set(temporal["left_out"]) <= set(trained.report["features"])
        assert f"{YEAR - 1}年及以前没有取值" in card and BY_NAME["class2_ip"].title in card
    else:
        assert "standards_led" in left_out and "只有1家企业填报" in left_out["standards_led"]
    assert set(left_out).isdisjoint(trained.report["features"]) and trained.report["features"]
    titles = [BY_NAME[name].title for name in left_out]
    assert all(name in card and BY_NAME[name].title in why for name, why in left_out.items())
    reasons = [reason for row in frame["reasons"].to_list() for reason in row]
    assert reasons and not [r for r in reasons for title in titles if r.startswith(title)]

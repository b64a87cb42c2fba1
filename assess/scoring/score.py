"""Scores for one data year: the 三高一核心 score and its reasons for every SME in a flagship chain, and the
innovation-capacity index with its reasons for every firm with a filing.

The score is the calibrated probability of the classifier, or, when labels are too few to train one, the index
divided by 100 (`score_source` says which). Reasons are Chinese sentences, most important first: the factors that
moved the firm's score most against the average firm scored that year (an exact decomposition), what the score
would need in R&D intensity when it lies just below the cut-off, and the four sub-judgements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from assess import display
from assess.contract import Contract
from assess.features import BY_NAME, view_for
from assess.rules.engine import evaluate_rules
from assess.rules.packs import RuleSet
from assess.scoring.config import CRITERIA, ClassifierConfig, Component, IndexConfig, ScoringConfig
from assess.scoring.explainer import Explainer
from assess.scoring.index import compute_index
from assess.scoring.train import Trained, feature_select
from assess.store import Store

IDENTITY = ("credit_code", "name", "city", "direction", "chain")
LEVER = "rd_intensity"  # the feature the "what would it take" sentence raises
_PEERS = {"province": "全省", "division": "全省同行业大类"}
INDEX_REASONS = 3  # components named per firm
FALLBACK = "标注不足、未训练模型：评分为创新能力指数 / 100（指数代替）"


@dataclass(frozen=True)
class Scores:
    frame: pl.DataFrame  # one row per firm with a filing in the year; see `score_year`
    trained: Trained


def score_year(store: Store, rules: RuleSet, config: ScoringConfig, year: int, trained: Trained) -> Scores:
    """Columns: identity, `scored` (in the classifier's population), `score`, `score_source` ('model' or 'index'),
    `index`, `stage`, the four criteria (null outside the population), `reasons`, `index_reasons` and
    `rd_intensity_needed` (the value the R&D intensity would have to exceed, for firms just below the cut-off)."""
    classifier = config.classifier
    index = compute_index(store.con, config.index, year)
    frame = (
        _base(store, classifier, year)
        .join(index.select("credit_code", "stage", "index"), on="credit_code", how="left")
        .join(_criteria(store, rules, classifier, year), on="credit_code", how="left")
        .join(_index_reasons(index, config.index), on="credit_code", how="left")
    )
    scored = frame.filter(pl.col("scored"))
    if trained.model is not None:
        explained = _explain(scored, trained.configured(classifier), Explainer.of(trained.model), store.contract)
    else:
        explained = scored.select(
            "credit_code",
            score=pl.col("index") / 100,
            reasons=pl.concat_list(pl.lit(FALLBACK)).list.concat("index_reasons"),
            rd_intensity_needed=pl.lit(None, pl.Float64),
        )
    criteria_reasons = pl.concat_list([pl.col(f"message_{c}") for c in CRITERIA]).list.drop_nulls()
    source = "model" if trained.model is not None else "index"
    result = (
        frame.join(explained, on="credit_code", how="left")
        .with_columns(
            score_source=pl.when(pl.col("scored")).then(pl.lit(source)),
            reasons=pl.when(pl.col("scored")).then(pl.col("reasons").list.concat(criteria_reasons)),
        )
        .select(
            *IDENTITY,
            "scored",
            "score",
            "score_source",
            "index",
            "stage",
            *CRITERIA,
            "reasons",
            "index_reasons",
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


def _criteria(store: Store, rules: RuleSet, config: ClassifierConfig, year: int) -> pl.DataFrame:
    """The four sub-judgements and the sentence explaining each, from the criteria pack."""
    evaluated = evaluate_rules(store.con, rules.pack(config.spec.criteria_pack).rules, year)
    outputs = [pl.col("credit_code")]
    for key in CRITERIA:
        names = config.spec.criteria[key].rules
        outputs.append(pl.any_horizontal([pl.col(f"holds_{r}") for r in names]).alias(key))
        outputs.append(pl.coalesce([pl.col(f"message_{r}") for r in names]).alias(f"message_{key}"))
    return evaluated.select(outputs)


def _explain(scored: pl.DataFrame, config: ClassifierConfig, explainer: Explainer, contract: Contract) -> pl.DataFrame:
    names = config.feature_names
    matrix = scored.select(names).to_numpy().astype(np.float64)
    raw = explainer.contributions(matrix)
    log_odds = explainer.baseline + raw.sum(axis=1)
    score = explainer.probability(log_odds)
    centred = raw - raw.mean(axis=0) if len(raw) else raw
    top = int(config.spec.value("top_factors"))
    order = np.argsort(-np.abs(centred), axis=1, kind="stable")[:, :top]
    percentiles = scored.select(_percentile(name) for name in names).to_numpy()
    rows = np.arange(len(scored))
    sentences = []
    for k in range(min(top, len(names))):
        j = order[:, k]
        effect = centred[rows, j]
        without = explainer.probability(log_odds - effect)
        sentences.append(
            _factor_sentence(
                pl.DataFrame(
                    {
                        "j": j,
                        "value": matrix[rows, j],
                        "pct": percentiles[rows, j],
                        "effect": effect,
                        "without": without,
                    }
                ).fill_nan(None),
                names,
                contract,
            )
        )
    needed, near = _needed(config, explainer, matrix, log_odds, score)
    lever = _lever_sentence(config, matrix, needed, near, score)
    reasons = pl.DataFrame(sentences and {f"s{k}": s for k, s in enumerate(sentences)}).with_columns(lever=lever)
    return pl.DataFrame(
        {
            "credit_code": scored["credit_code"],
            "score": score,
            "reasons": reasons.select(pl.concat_list(pl.all()).list.drop_nulls()).to_series(),
            "rd_intensity_needed": needed,
        }
    )


def _percentile(name: str) -> pl.Expr:
    """Share of the other scored firms with a strictly lower value (as percent_rank), 0-1."""
    column = pl.col(name)
    return ((column.rank("min") - 1) / (column.count() - 1).clip(lower_bound=1)).alias(name)


def _factor_sentence(rows: pl.DataFrame, names: list[str], contract: Contract) -> pl.Series:
    """'研发投入强度5.2%（参评企业第92百分位），使评分提高：该项若为平均水平，评分为0.41'; a yes/no or a level is
    named without a percentile."""
    texts: dict[int, pl.Expr] = {}
    for j, name in enumerate(names):
        spec = BY_NAME[name]
        if name.startswith(("is_", "has_")):
            answer = pl.when(pl.col("value") > 0).then(pl.lit("是")).when(pl.col("value") == 0).then(pl.lit("否"))
            text = pl.format("{}：{}", pl.lit(spec.title), answer.fill_null("未填"))
        elif spec.labels is not None:
            levels = {float(i): label for i, label in enumerate(contract.field(spec.labels).choices)}
            text = pl.format("{}：{}", pl.lit(spec.title), pl.col("value").replace_strict(levels, default="未填"))
        else:
            text = pl.format(
                "{}{}（参评企业第{}百分位）",
                pl.lit(spec.title),
                display.expr(pl.col("value"), spec.unit, pl.Float64(), with_unit=True).fill_null("未填"),
                display.expr(pl.col("pct"), display.PERCENTILE).fill_null("—"),
            )
        texts[j] = text
    return (
        rows.with_columns(said=per_key(rows, "j", texts))
        .select(
            pl.format(
                "{}，使评分{}：该项若为平均水平，评分为{}",
                pl.col("said"),
                pl.when(pl.col("effect") >= 0).then(pl.lit("提高")).otherwise(pl.lit("降低")),
                pl.col("without").round(2).cast(pl.String),
            )
        )
        .to_series()
    )


def _needed(
    config: ClassifierConfig, explainer: Explainer, matrix: np.ndarray, log_odds: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For firms in [cut-off − margin, cut-off): the R&D intensity the firm would need to exceed (NaN if none)."""
    cutoff = float(config.spec.value("cutoff"))
    margin = float(config.spec.value("near_margin"))
    needed = np.full(len(score), np.nan)
    near = (score >= cutoff - margin) & (score < cutoff)
    if LEVER in config.feature_names and near.any():
        j = config.feature_names.index(LEVER)
        needed[near] = explainer.smallest_rise(j, matrix[near, j], log_odds[near], cutoff)
    return needed, near


def _lever_sentence(
    config: ClassifierConfig, matrix: np.ndarray, needed: np.ndarray, near: np.ndarray, score: np.ndarray
) -> pl.Series:
    cutoff = display.value(float(config.spec.value("cutoff")), None)
    current = (
        matrix[:, config.feature_names.index(LEVER)] if LEVER in config.feature_names else np.full(len(score), np.nan)
    )
    frame = pl.DataFrame({"near": near, "score": score, "current": current, "needed": needed})
    head = pl.format("评分{}，略低于三高一核心评分线{}", pl.col("score").round(2).cast(pl.String), pl.lit(cutoff))
    return frame.select(
        pl.when(pl.col("near") & pl.col("needed").is_not_nan())
        .then(
            pl.format(
                "{}：其他指标不变，研发投入强度由{}提高到{}以上即可达到评分线",
                head,
                display.expr(pl.col("current"), display.PERCENT).fill_null("未填"),
                display.expr(pl.col("needed"), display.PERCENT),
            )
        )
        .when(pl.col("near"))
        .then(pl.format("{}：仅提高研发投入强度不能使评分达到评分线", head))
    ).to_series()


def _index_reasons(index: pl.DataFrame, config: IndexConfig) -> pl.DataFrame:
    """Per firm: its stage and index, then its largest components with their scores, weights and points."""
    stages = {s.id: s.title for s in config.spec.stages}
    shown = min(INDEX_REASONS, len(config.components))
    ranked = index.with_columns(
        top=pl.concat_list([pl.col(f"points_{c.component.id}") for c in config.components]).list.eval(
            pl.element().arg_sort(descending=True).head(shown)
        )
    )
    texts = {position: _component_sentence(c.component) for position, c in enumerate(config.components)}
    sentences = [
        per_key(ranked.with_columns(chosen=pl.col("top").list.get(k, null_on_oob=True)), "chosen", texts).alias(f"c{k}")
        for k in range(shown)
    ]
    stage = pl.col("stage").replace_strict(stages, default="—")
    head = pl.format("{}企业，创新能力指数{}（按{}权重计分）", stage, pl.col("index").round(1).cast(pl.String), stage)
    return ranked.with_columns(sentences).select(
        "credit_code", index_reasons=pl.concat_list([head, *(s.name for s in sentences)]).list.drop_nulls()
    )


def per_key(frame: pl.DataFrame, key: str, texts: dict[int, pl.Expr]) -> pl.Series:
    """Per row, the text of the expression its `key` selects; each expression runs on its own rows only, so that
    a dozen sentence patterns cost one pass over the rows rather than a dozen (null where the key is null)."""
    indexed = frame.with_row_index("row_")
    parts = [
        part.select("row_", text=texts[int(value)])
        for (value,), part in indexed.partition_by(key, as_dict=True).items()
        if value is not None
    ]
    missing = indexed.filter(pl.col(key).is_null()).select("row_", text=pl.lit(None, pl.String))
    return pl.concat([*parts, missing]).sort("row_")["text"]


def _component_sentence(component: Component) -> pl.Expr:
    cid = component.id
    weight = pl.col("stage").replace_strict({s: w for s, w in component.weights.items()}, default=0.0)
    points = pl.format(
        "得{}分（权重{}）", pl.col(f"points_{cid}").round(1).cast(pl.String), weight.cast(pl.Float64).round(1)
    )
    if component.scoring == "direct":
        return pl.format("{}：{}", pl.lit(component.title), points)
    unit = BY_NAME[component.value].unit if component.value in BY_NAME else None
    return pl.format(
        "{}{}（{}第{}百分位）：{}",
        pl.lit(component.title),
        display.expr(pl.col(f"value_{cid}"), unit, pl.Float64(), with_unit=True).fill_null("未填"),
        pl.lit(_PEERS[component.peers]),
        display.expr(pl.col(f"score_{cid}"), display.PERCENTILE),
        points,
    )

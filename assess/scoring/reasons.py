"""The reasons behind a score and an index, as sentences, rendered from the factors a run keeps where they are shown
(explain, the workbook, `assess score`). A run stores numbers, not sentences: per scored firm its largest factors
(`FACTOR`: the feature, its value and percentile among the scored firms, its effect on the log-odds against the
average firm, and the score the firm would have were the feature average), per firm the index's largest components
(`COMPONENT`), and the R&D intensity a near miss needs (`rd_intensity_needed`).

Score reasons, most important first: the factors ('研发投入强度5.2%（参评企业第92百分位），使评分提高：该项若为平均
水平，评分为0.41'), what the R&D intensity would have to reach for a firm just below the cut-off, and the sentences
of the four sub-judgements (the criteria pack's messages). Where the index stands in for the classifier: a sentence
saying so, then the index reasons. Index reasons: the firm's stage and index, then its largest components with their
scores, weights and points. Runs stored before the schema kept factors (version 6) kept the sentences themselves
(`reasons`, `index_reasons`), which are shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from assess import display
from assess.contract import Contract
from assess.features import BY_NAME
from assess.scoring.config import CRITERIA, Component, ScoringConfig

FACTOR = pl.Struct(
    {"feature": pl.String, "value": pl.Float64, "percentile": pl.Float64, "effect": pl.Float64, "without": pl.Float64}
)
COMPONENT = pl.Struct(
    {"component": pl.String, "value": pl.Float64, "percentile": pl.Float64, "points": pl.Float64, "weight": pl.Float64}
)
FALLBACK = "标注不足、未训练模型：评分为创新能力指数 / 100（指数代替）"
_PEERS = {"province": "全省", "division": "全省同行业大类"}


@dataclass(frozen=True)
class Wording:
    """What the sentences need besides a firm's numbers: the cut-off and near margin the scores were read against,
    the index's stages and components, and the contract's level labels."""

    cutoff: float
    near_margin: float
    config: ScoringConfig
    contract: Contract

    @classmethod
    def of(cls, config: ScoringConfig, contract: Contract, manifest: dict | None = None) -> Wording:
        """The wording of fresh scores, or with a run's manifest, of that run's (the cut-offs it recorded)."""
        recorded = (manifest or {}).get("scoring", {}).get("classifier", {}).get("parameters", {})
        spec = config.classifier.spec
        return cls(
            float(recorded.get("cutoff", spec.value("cutoff"))),
            float(recorded.get("near_margin", spec.value("near_margin"))),
            config,
            contract,
        )


def index_reasons(frame: pl.DataFrame, wording: Wording) -> pl.Series:
    """Per row of scores (`stage`, `index`, `index_factors`, and for runs before schema version 6 `index_reasons`):
    its stage and index, then its largest components (null where the firm has no index)."""
    stages = {s.id: s.title for s in wording.config.index.spec.stages}
    stage = pl.col("stage").replace_strict(stages, default="—")
    head = pl.format("{}企业，创新能力指数{}（按{}权重计分）", stage, pl.col("index").round(1).cast(pl.String), stage)
    components = {c.component.id: _component_sentence(c.component) for c in wording.config.index.components}
    said = _per_item(frame, "index_factors", "component", components)
    rendered = frame.select(
        pl.when(pl.col("index_factors").is_not_null()).then(pl.concat_list([head, said]).list.drop_nulls())
    ).to_series()
    return _kept(frame, "index_reasons", rendered)


def score_reasons(
    frame: pl.DataFrame, wording: Wording, criteria: pl.DataFrame | None, index: pl.Series | None = None
) -> pl.Series:
    """Per row of scores (credit_code, `scored`, `score`, `score_source`, `factors`, `rd_intensity`,
    `rd_intensity_needed`, the index's columns, and for runs before schema version 6 `reasons`): the reasons of its
    score (null outside the classifier's population). `criteria` holds the criteria pack's sentences
    (`message_<criterion>` by credit_code); without it they are left out. `index` is the rows' index reasons where
    they are at hand."""
    index = index_reasons(frame, wording) if index is None else index
    messages = (
        frame.select("credit_code").join(criteria, on="credit_code", how="left", maintain_order="left")
        if criteria is not None
        else pl.DataFrame({f"message_{c}": pl.Series([None] * frame.height, dtype=pl.String) for c in CRITERIA})
    )
    factors = _per_item(frame, "factors", "feature", _factor_texts(wording.contract))
    parts = frame.select(
        "scored",
        "score_source",
        factors=pl.concat_list([factors, _lever(wording)]).list.drop_nulls(),
        index=index,
        criteria=pl.concat_list([messages[f"message_{c}"] for c in CRITERIA]).list.drop_nulls(),
    )
    rendered = parts.select(
        pl.when(pl.col("scored") & (pl.col("score_source") == "index"))
        .then(pl.concat_list(pl.lit(FALLBACK)).list.concat("index"))
        .when(pl.col("scored"))
        .then(pl.col("factors"))
        .list.concat("criteria")
    ).to_series()
    return _kept(frame, "reasons", rendered)


def leading(
    frame: pl.DataFrame, wording: Wording, count: int, criteria: Callable[[], pl.DataFrame], *, by_index: bool
) -> pl.Series:
    """The first `count` reasons of each row's score (or with `by_index`, of its index), evaluating the criteria
    sentences only where the factors and the R&D sentence leave room for them."""
    index = index_reasons(frame, wording)
    if by_index:
        return index.list.head(count)
    found = score_reasons(frame, wording, None, index)
    short = frame.select(pl.col("scored") & (found.list.len() < count)).to_series()
    if short.any():
        found = score_reasons(frame, wording, criteria(), index)
    return found.list.head(count)


def _kept(frame: pl.DataFrame, column: str, rendered: pl.Series) -> pl.Series:
    """Rendered sentences, or the sentences a run stored before factors were kept, where it has them."""
    if column not in frame.columns:
        return rendered
    return frame.select(pl.coalesce(pl.col(column), rendered)).to_series().alias(rendered.name)


def _per_item(frame: pl.DataFrame, column: str, key: str, texts: dict[str, pl.Expr]) -> pl.Series:
    """Per row, the sentence of each item of its list `column` (a list of structs), chosen by the item's `key`."""
    items = (
        frame.select(pl.col(column).alias("item_"))
        .with_row_index("firm_")
        .explode("item_")
        .unnest("item_")
        .with_row_index("at_")
    )
    said = _per_key(items, key, texts)
    grouped = items.select("firm_", said=said).group_by("firm_", maintain_order=True).agg(pl.col("said"))
    return grouped.sort("firm_")["said"]


def _per_key(frame: pl.DataFrame, key: str, texts: dict[str, pl.Expr]) -> pl.Series:
    """Per row, the text of the expression its `key` selects; each expression runs on its own rows only, so that a
    dozen sentence patterns cost one pass over the rows rather than a dozen (null where the key is null or
    unknown)."""
    parts = [
        part.select("at_", text=texts[value])
        for (value,), part in frame.partition_by(key, as_dict=True).items()
        if value in texts
    ]
    known = pl.concat([*parts, frame.head(0).select("at_", text=pl.lit(None, pl.String))])
    return frame.select("at_").join(known, on="at_", how="left", maintain_order="left")["text"]


def _factor_texts(contract: Contract) -> dict[str, pl.Expr]:
    """Per feature: '研发投入强度5.2%（参评企业第92百分位），使评分提高：该项若为平均水平，评分为0.41'; a yes/no or a
    level is named without a percentile."""
    texts: dict[str, pl.Expr] = {}
    for name, spec in BY_NAME.items():
        if name.startswith(("is_", "has_")):
            answer = pl.when(pl.col("value") > 0).then(pl.lit("是")).when(pl.col("value") == 0).then(pl.lit("否"))
            said = pl.format("{}：{}", pl.lit(spec.title), answer.fill_null("未填"))
        elif spec.labels is not None:
            levels = {float(i): label for i, label in enumerate(contract.field(spec.labels).choices)}
            said = pl.format("{}：{}", pl.lit(spec.title), pl.col("value").replace_strict(levels, default="未填"))
        else:
            said = pl.format(
                "{}{}（参评企业第{}百分位）",
                pl.lit(spec.title),
                display.expr(pl.col("value"), spec.unit, pl.Float64(), with_unit=True).fill_null("未填"),
                display.expr(pl.col("percentile"), display.PERCENTILE).fill_null("—"),
            )
        texts[name] = pl.format(
            "{}，使评分{}：该项若为平均水平，评分为{}",
            said,
            pl.when(pl.col("effect") >= 0).then(pl.lit("提高")).otherwise(pl.lit("降低")),
            pl.col("without").round(2).cast(pl.String),
        )
    return texts


def _lever(wording: Wording) -> pl.Expr:
    """For a firm whose score lies just below the cut-off: the R&D intensity it would need to reach it, or that no
    rise of it alone would do."""
    score, needed = pl.col("score"), pl.col("rd_intensity_needed")
    near = (
        (pl.col("score_source") == "model") & (score >= wording.cutoff - wording.near_margin) & (score < wording.cutoff)
    )
    head = pl.format(
        "评分{}，略低于三高一核心评分线{}", score.round(2).cast(pl.String), pl.lit(display.value(wording.cutoff, None))
    )
    return (
        pl.when(near & needed.is_not_null() & needed.is_not_nan())
        .then(
            pl.format(
                "{}：其他指标不变，研发投入强度由{}提高到{}以上即可达到评分线",
                head,
                display.expr(pl.col("rd_intensity"), display.PERCENT).fill_null("未填"),
                display.expr(needed, display.PERCENT),
            )
        )
        .when(near)
        .then(pl.format("{}：仅提高研发投入强度不能使评分达到评分线", head))
    )


def _component_sentence(component: Component) -> pl.Expr:
    points = pl.format("得{}分（权重{}）", pl.col("points").round(1).cast(pl.String), pl.col("weight").round(1))
    if component.scoring == "direct":
        return pl.format("{}：{}", pl.lit(component.title), points)
    unit = BY_NAME[component.value].unit if component.value in BY_NAME else None
    return pl.format(
        "{}{}（{}第{}百分位）：{}",
        pl.lit(component.title),
        display.expr(pl.col("value"), unit, pl.Float64(), with_unit=True).fill_null("未填"),
        pl.lit(_PEERS[component.peers]),
        display.expr(pl.col("percentile"), display.PERCENTILE),
        points,
    )

"""The scoring configuration in `rules/scoring/`: the classifier (label, population, features and their monotone
direction, cut-offs) and the innovation-capacity index (stages, components, weights). Both are validated when they
load, their expressions checked like a rule pack's, and hashed for the run manifest."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from sqlglot import exp

from assess.features import BY_NAME, FEATURE_NAMES
from assess.kernel import expressions
from assess.kernel.populations import Populations, compile_tree, population_tree
from assess.kernel.spec import PackError, Parameter, SpecModel, read_spec, single
from assess.rules.packs import RuleSet

SCORING_FOLDER = "scoring"  # inside a rule folder
# The four sub-judgements of 三高一核心, as the scores of a run keep them (true, false or null: 待补数据).
CRITERIA = ("rd_share", "growth", "market_share", "core_tech")


class Criterion(SpecModel):
    title: str
    rules: list[str]  # rule ids of the criteria pack; the criterion holds when any of them flags the firm


class ModelFeature(SpecModel):
    name: str
    monotone: Literal["increasing", "none"]


class ClassifierSpec(SpecModel):
    id: Literal["classifier"]
    version: int
    title: str
    source: str
    label: str
    population: list[str]
    criteria_pack: str
    criteria: dict[str, Criterion]
    features: list[ModelFeature]
    parameters: dict[str, Parameter]

    @model_validator(mode="after")
    def _known(self) -> ClassifierSpec:
        unknown = [f.name for f in self.features if f.name not in FEATURE_NAMES]
        if unknown:
            raise ValueError(f"未知的特征列：{'、'.join(unknown)}")
        if self.label in {f.name for f in self.features}:
            raise ValueError("标注列不能同时作为特征")
        if tuple(self.criteria) != CRITERIA:
            raise ValueError(f"criteria 应依次为 {'、'.join(CRITERIA)}")
        missing = {"min_per_class", "cutoff", "near_margin", "top_factors", "cv_folds", "seed", "calibration"}
        if missing - set(self.parameters):
            raise ValueError(f"缺少参数：{'、'.join(sorted(missing - set(self.parameters)))}")
        return self

    def value(self, name: str) -> int | float | str | bool:
        return single(name, self.parameters[name].value)


class Stage(SpecModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    condition: str


class Component(SpecModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    group: str
    value: str
    scoring: Literal["percentile", "direct"]
    peers: Literal["province", "division"] = "province"
    weights: dict[str, Annotated[float, Field(ge=0)]]  # points are never negative: the index rounds as such


class IndexSpec(SpecModel):
    id: Literal["innovation_index"]
    version: int
    title: str
    source: str
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    stages: list[Stage]
    components: list[Component]

    @model_validator(mode="after")
    def _weights(self) -> IndexSpec:
        stages = [s.id for s in self.stages]
        for stage in stages:
            total = sum(c.weights.get(stage, 0) for c in self.components)
            if abs(total - 100) > 1e-9:
                raise ValueError(f"阶段「{stage}」的权重合计为 {total:g}，应为 100")
        for component in self.components:
            if set(component.weights) - set(stages):
                raise ValueError(f"指标「{component.id}」的权重用了未定义的阶段")
        return self


@dataclass(frozen=True)
class ClassifierConfig:
    spec: ClassifierSpec
    path: Path
    sha256: str
    population: exp.Expr  # who is scored (never null)
    unit_of: dict[str, str | None]  # feature -> display unit

    @cached_property
    def population_sql(self) -> str:
        return expressions.to_sql(self.population)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.spec.features]

    def restricted(self, names: Sequence[str]) -> ClassifierConfig:
        """The same configuration reading only these of its features, in its own order (a model trained where the
        labelled data could not teach the others)."""
        kept = [f for f in self.spec.features if f.name in names]
        return dataclasses.replace(self, spec=self.spec.model_copy(update={"features": kept}))


@dataclass(frozen=True)
class CompiledComponent:
    component: Component
    value: exp.Expr

    @cached_property
    def value_sql(self) -> str:
        return expressions.to_sql(self.value)


@dataclass(frozen=True)
class IndexConfig:
    spec: IndexSpec
    path: Path
    sha256: str
    stage: exp.Expr  # CASE over the stages, first that holds
    components: tuple[CompiledComponent, ...]

    @cached_property
    def stage_sql(self) -> str:
        return expressions.to_sql(self.stage)


@dataclass(frozen=True)
class ScoringConfig:
    classifier: ClassifierConfig
    index: IndexConfig

    def manifest(self) -> dict:
        return {
            name: {
                "file": f"scoring/{config.path.name}",
                "version": config.spec.version,
                "sha256": config.sha256,
                "parameters": {key: p.value for key, p in config.spec.parameters.items()},
            }
            for name, config in (("classifier", self.classifier), ("index", self.index))
        }


def _classifier(path: Path, rules: RuleSet) -> ClassifierConfig:
    spec, sha = read_spec(path, ClassifierSpec)
    pack = rules.pack(spec.criteria_pack)
    rule_ids = {rule.id.split(".", 1)[1] for rule in pack.rules}
    for key, criterion in spec.criteria.items():
        unknown = sorted(set(criterion.rules) - rule_ids)
        if unknown:
            raise PackError(
                f"规则文件「{path.name}」中子判断「{key}」引用了「{pack.id}」中没有的规则：{'、'.join(unknown)}。"
            )
    return ClassifierConfig(
        spec=spec,
        path=path,
        sha256=sha,
        population=population_tree(path, "population", spec.population, rules.populations),
        unit_of={f.name: BY_NAME[f.name].unit for f in spec.features},
    )


def _index(path: Path, populations: Populations) -> IndexConfig:
    spec, sha = read_spec(path, IndexSpec)
    stage = exp.Case(
        ifs=[
            exp.If(
                this=compile_tree(path, s.id, s.condition, spec.parameters, populations, predicate=True),
                true=exp.Literal.string(s.id),
            )
            for s in spec.stages
        ]
    )
    components = tuple(
        CompiledComponent(c, compile_tree(path, c.id, c.value, spec.parameters, populations, predicate=False))
        for c in spec.components
    )
    return IndexConfig(spec=spec, path=path, sha256=sha, stage=stage, components=components)


def load_scoring(rules: RuleSet) -> ScoringConfig:
    return ScoringConfig(
        classifier=_classifier(rules.directory / SCORING_FOLDER / "classifier.yaml", rules),
        index=_index(rules.directory / SCORING_FOLDER / "innovation_index.yaml", rules.populations),
    )

"""Rule packs: one YAML file per policy instrument in `rules/`, loaded, validated and compiled before anything runs.

A pack is either `flags` (rules that pick out firms, each within a population and scope) or `rubric` (an official
scoring scheme: gates, banded indicators, a pass condition and fast tracks). A bad pack fails at load with the file,
the rule id and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from sqlglot import exp

from assess.kernel import expressions
from assess.kernel.expressions import Scalar
from assess.kernel.messages import fill_parameters
from assess.kernel.populations import (
    POPULATIONS_FILE,
    Populations,
    checked,
    conjunction,
    inputs,
    load_populations,
    never_null,
    three_valued,
    unknown_populations,
)
from assess.kernel.spec import (
    ID_PATTERN,
    Basis,
    PackError,
    Parameter,
    SpecModel,
    overrides_of,
    read_spec,
    values_of,
    with_values,
)
from assess.sizes import SIZE_CLASSES_FILE

Role = Literal["no_rd_activity", "institution_coverage"]  # 一清零 and 一提升: the plan's two firm-level targets
ROLE_TITLES: dict[Role, str] = {
    "no_rd_activity": "一清零（无研发活动）",
    "institution_coverage": "一提升（研发机构覆盖）",
}
# The parameters `stats` and the workbook read of the pack that plays each role.
ROLE_PARAMETERS: dict[Role, tuple[str, ...]] = {
    "no_rd_activity": ("revenue_min",),
    "institution_coverage": ("revenue_min", "coverage_target"),
}


class Rule(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    population: list[str] = Field(default_factory=list)
    scope: str = "true"
    scope_title: str | None = None  # the scope in words (parameters filled in), for saying why a rule does not apply
    condition: str
    message: str  # why a firm is flagged
    otherwise: str | None = None  # why a firm the rule applies to is not flagged, where explanations need it


class Band(SpecModel):
    min: float
    points: float
    strict: bool = False  # "more than" rather than "at least"


class Measure(SpecModel):
    title: str
    value: str
    bands: list[Band]

    @field_validator("bands")
    @classmethod
    def _descending(cls, bands: list[Band]) -> list[Band]:
        if [b.min for b in bands] != sorted((b.min for b in bands), reverse=True):
            raise ValueError("档位须按下限从高到低排列")
        return bands


class Indicator(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    max_points: float
    basis: Basis
    measures: list[Measure]  # the best of them counts
    # A blank value scores 0 points (a count left blank: none), or leaves the points unknown (a figure the scheme
    # needs, such as 科技人员: the verdict then turns on it only if it could change the outcome).
    if_missing: Literal["zero", "unknown"] = "zero"


class Condition(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    condition: str


class Pack(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    version: int
    kind: Literal["flags", "rubric"]
    role: Role | None = None  # what the figures read this pack for; a role pack has exactly one flag rule
    title: str
    source: str
    target: str | None = None
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    gates: list[Condition] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    passing: str = "true"
    passing_title: str | None = None  # the pass condition in words, for the sentence saying what decided a verdict
    fast_track: list[Condition] = Field(default_factory=list)
    cannot_check: list[str] = Field(default_factory=list)  # a rubric's conditions the filings cannot show


TARGETS_FILE = "targets.yaml"  # the plan's headline targets (assess.run.headline), inside a rule folder


# A compiled pack holds engine-neutral trees (`assess.dialects`); the `*_sql` properties are their DuckDB SQL.


@dataclass(frozen=True)
class CompiledRule:
    id: str  # pack.rule
    title: str
    population: exp.Expr  # populations and scope: who the rule applies to (never null)
    condition: exp.Expr  # among them, who is flagged; null where an input is missing (待补数据)
    message: str  # template with {column} placeholders; parameters already filled in
    otherwise: str | None  # the same, for a firm the rule applies to but does not flag
    columns: tuple[str, ...]  # feature columns the messages name
    inputs: tuple[str, ...]  # feature columns the condition reads: the ones to fill in when it is unknown
    # (why a firm outside it is outside, in words; condition) per population and scope
    parts: tuple[tuple[str, exp.Expr], ...] = ()

    @cached_property
    def population_sql(self) -> str:
        return expressions.to_sql(self.population)

    @cached_property
    def condition_sql(self) -> str:
        return expressions.to_sql(self.condition)

    @property
    def trees(self) -> tuple[exp.Expr, ...]:
        return (self.population, self.condition, *(part for _, part in self.parts))


@dataclass(frozen=True)
class CompiledIndicator:
    id: str
    title: str
    points: exp.Expr  # null when the indicator's value is missing and its pack says if_missing: unknown
    inputs: tuple[str, ...]  # feature columns an unknown indicator reads; empty when a blank scores 0

    @cached_property
    def points_sql(self) -> str:
        return expressions.to_sql(self.points)


@dataclass(frozen=True)
class CompiledCondition:
    id: str
    title: str
    tree: exp.Expr
    inputs: tuple[str, ...]  # feature columns it reads

    @cached_property
    def sql(self) -> str:
        return expressions.to_sql(self.tree)


@dataclass(frozen=True)
class CompiledRubric:
    gates: tuple[CompiledCondition, ...]  # null where an input is missing
    indicators: tuple[CompiledIndicator, ...]
    passing: exp.Expr  # over the score and points at both bounds; null where an unknown indicator could decide it
    fast_track: tuple[CompiledCondition, ...]  # false where an input is missing: a claim not made

    @cached_property
    def passing_sql(self) -> str:
        return expressions.to_sql(self.passing)

    @property
    def trees(self) -> tuple[exp.Expr, ...]:
        conditions = (*self.gates, *self.fast_track)
        return (*(c.tree for c in conditions), *(i.points for i in self.indicators), self.passing)


@dataclass(frozen=True)
class LoadedPack:
    pack: Pack
    path: Path
    sha256: str
    rules: tuple[CompiledRule, ...]
    rubric: CompiledRubric | None

    @property
    def id(self) -> str:
        return self.pack.id

    @property
    def trees(self) -> tuple[exp.Expr, ...]:
        """Every compiled tree of the pack."""
        rubric = self.rubric.trees if self.rubric is not None else ()
        return (*(tree for rule in self.rules for tree in rule.trees), *rubric)


def load_pack(path: Path, populations: Populations) -> LoadedPack:
    pack, sha = read_spec(path, Pack)
    values = values_of(pack.parameters)
    rules = tuple(_compile_rule(path, pack, rule, values, populations) for rule in pack.rules)
    rubric = _compile_rubric(path, pack, values, populations) if pack.kind == "rubric" else None
    if pack.kind == "flags" and not rules:
        raise PackError(f"规则文件「{path.name}」是 flags 类规则包，但没有任何规则。")
    if pack.role is not None and (pack.kind != "flags" or len(rules) != 1):
        raise PackError(f"规则文件「{path.name}」承担角色 {pack.role}，应是只有一条规则的 flags 类规则包。")
    return LoadedPack(pack=pack, path=path, sha256=sha, rules=rules, rubric=rubric)


def _compile_rule(
    path: Path, pack: Pack, rule: Rule, values: dict[str, Scalar], populations: Populations
) -> CompiledRule:
    rule_id = f"{pack.id}.{rule.id}"
    unknown = unknown_populations(rule.population, populations)
    if unknown:
        raise PackError(f"规则文件「{path.name}」中规则「{rule_id}」引用了未定义的人群：{'、'.join(unknown)}。")
    scope = checked(path, rule_id, rule.scope, values, populations.trees, predicate=True)
    population = exp.and_(conjunction(rule.population, populations), exp.paren(scope))
    condition = checked(path, rule_id, rule.condition, values, populations.trees, predicate=True)
    message, columns = fill_parameters(path, rule_id, rule.message, pack.parameters)
    otherwise, otherwise_columns = (
        fill_parameters(path, rule_id, rule.otherwise, pack.parameters) if rule.otherwise is not None else (None, ())
    )
    return CompiledRule(
        id=rule_id,
        title=rule.title,
        population=never_null(population),
        condition=three_valued(condition),
        message=message,
        otherwise=otherwise,
        columns=tuple(dict.fromkeys((*columns, *otherwise_columns))),
        inputs=inputs(condition),
        parts=_parts(path, pack, rule, scope, populations),
    )


def _parts(
    path: Path, pack: Pack, rule: Rule, scope: exp.Expr, populations: Populations
) -> tuple[tuple[str, exp.Expr], ...]:
    """What a firm must be for the rule to apply, one part per population and one for the scope, each with the
    sentence that says a firm is outside it."""
    parts = [
        (f"不属于{short_title(populations.spec.populations[name].title)}", never_null(populations.trees[name]))
        for name in rule.population
    ]
    if rule.scope.strip().lower() != "true":
        said, _ = fill_parameters(path, f"{pack.id}.{rule.id}", rule.scope_title or "适用范围", pack.parameters)
        parts.append((f"不在“{said}”范围内", never_null(scope)))
    return tuple(parts)


def short_title(title: str) -> str:
    """A population's name without its explanation: 规上工业企业 from 规上工业企业：门类B、C、D中……"""
    return title.split("：")[0].split("（")[0]


def _compile_rubric(path: Path, pack: Pack, values: dict[str, Scalar], populations: Populations) -> CompiledRubric:
    def condition(item: Condition, *, gate: bool) -> CompiledCondition:
        tree = checked(path, f"{pack.id}.{item.id}", item.condition, values, populations.trees, predicate=True)
        return CompiledCondition(item.id, item.title, three_valued(tree) if gate else never_null(tree), inputs(tree))

    indicators = []
    for indicator in pack.indicators:
        cases: list[exp.Expr] = []
        read: list[str] = []
        for measure in indicator.measures:
            tree = checked(path, f"{pack.id}.{indicator.id}", measure.value, values, populations.trees, predicate=False)
            cases.append(_banded(tree, measure.bands, blank_unknown=indicator.if_missing == "unknown"))
            read += inputs(tree) if indicator.if_missing == "unknown" else ()
        # The best measure: a blank one (null) is passed over, as DuckDB's and Spark's greatest both do.
        points = cases[0] if len(cases) == 1 else exp.Greatest(this=cases[0], expressions=cases[1:], ignore_nulls=True)
        indicators.append(CompiledIndicator(indicator.id, indicator.title, points, tuple(dict.fromkeys(read))))
    points_columns = frozenset({"score"} | {f"points_{i.id}" for i in pack.indicators})
    passing = checked(
        path,
        f"{pack.id}.passing",
        pack.passing,
        values,
        populations.trees,
        predicate=True,
        extra_columns=points_columns,
    )
    low, high = _at(passing, "low"), _at(passing, "high")
    return CompiledRubric(
        gates=tuple(condition(g, gate=True) for g in pack.gates),
        indicators=tuple(indicators),
        # Decided when it comes out the same with every unknown indicator at 0 and at its maximum; else open.
        passing=exp.case().when(exp.EQ(this=exp.paren(low), expression=exp.paren(high)), exp.paren(low.copy())),
        fast_track=tuple(condition(f, gate=False) for f in pack.fast_track),
    )


def _banded(value: exp.Expr, bands: list[Band], *, blank_unknown: bool) -> exp.Expr:
    """A measure's points: the first band its value reaches (0 below them all), null for a blank value where the
    indicator's points are then unknown."""
    case = exp.case()
    if blank_unknown:
        case = case.when(exp.Is(this=exp.paren(value.copy()), expression=exp.null()), exp.null())
    for band in bands:
        compare = exp.GT if band.strict else exp.GTE
        reached = compare(this=exp.paren(value.copy()), expression=exp.Literal.number(band.min))
        case = case.when(reached, exp.Literal.number(band.points))
    return exp.cast(case.else_(exp.Literal.number(0)), exp.DataType.Type.DOUBLE)


def _at(passing: exp.Expr, bound: str) -> exp.Expr:
    """The pass condition over the score and points with every unknown indicator at its lowest or highest points
    (columns `score_low`, `points_<id>_low`, ... that evaluate_rubric provides)."""

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and (node.name == "score" or node.name.startswith("points_")):
            return exp.column(f"{node.name}_{bound}")
        return node

    return never_null(passing.copy().transform(rename))


@dataclass(frozen=True)
class RuleSet:
    populations: Populations
    packs: tuple[LoadedPack, ...]

    def pack(self, pack_id: str) -> LoadedPack:
        for pack in self.packs:
            if pack.id == pack_id:
                return pack
        raise PackError(f"没有名为「{pack_id}」的规则包：可用的有 {'、'.join(p.id for p in self.packs)}。")

    def role(self, role: Role) -> LoadedPack:
        """The pack that plays this role, with the parameters the figures read of it; refused when it is missing."""
        for pack in self.packs:
            if pack.pack.role == role:
                missing = [name for name in ROLE_PARAMETERS[role] if name not in pack.pack.parameters]
                if missing:
                    said = f"规则文件「{pack.path.name}」承担角色 {role}（{ROLE_TITLES[role]}），缺少参数"
                    raise PackError(f"{said}：{'、'.join(missing)}。")
                return pack
        raise PackError(f"规则文件夹「{self.directory}」中没有承担角色 {role}（{ROLE_TITLES[role]}）的规则包。")

    @property
    def directory(self) -> Path:
        """The rule folder the packs were read from."""
        return self.populations.path.parent

    @property
    def flag_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.rules)


def load_rules(directory: Path, overrides: dict[str, Scalar] | None = None) -> RuleSet:
    """Every pack in the rule folder; `overrides` ("pack.parameter" -> value) re-compiles with other thresholds."""
    populations = load_populations(directory / POPULATIONS_FILE)
    packs = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (POPULATIONS_FILE, SIZE_CLASSES_FILE, TARGETS_FILE):  # reference files, not packs
            continue
        packs.append(load_pack(path, populations))
    for role in ROLE_TITLES:
        playing = [p.path.name for p in packs if p.pack.role == role]
        if len(playing) > 1:
            raise PackError(f"角色 {role}（{ROLE_TITLES[role]}）只能由一个规则包承担，现有：{'、'.join(playing)}。")
    loaded = RuleSet(populations=populations, packs=tuple(packs))
    return loaded if not overrides else with_overrides(loaded, overrides)


def with_overrides(rules: RuleSet, overrides: dict[str, Scalar]) -> RuleSet:
    """The packs compiled again with other parameter values ("pack.parameter" -> value)."""
    packs = []
    for loaded in rules.packs:
        changed = overrides_of(loaded.id, overrides)
        if not changed:
            packs.append(loaded)
            continue
        parameters = with_values(loaded.id, loaded.pack.parameters, changed)
        pack = loaded.pack.model_copy(update={"parameters": parameters})
        values = values_of(parameters)
        compiled = tuple(_compile_rule(loaded.path, pack, r, values, rules.populations) for r in pack.rules)
        rubric = _compile_rubric(loaded.path, pack, values, rules.populations) if pack.kind == "rubric" else None
        packs.append(LoadedPack(pack=pack, path=loaded.path, sha256=loaded.sha256, rules=compiled, rubric=rubric))
    missing = sorted({k.split(".", 1)[0] for k in overrides} - {p.id for p in rules.packs})
    if missing:
        raise PackError(f"没有名为「{'、'.join(missing)}」的规则包。")
    return RuleSet(populations=rules.populations, packs=tuple(packs))

"""Rule packs: one YAML file per policy instrument in `rules/`, loaded, validated and compiled before anything runs.

A pack is either `flags` (rules that pick out firms, each within a population and scope) or `rubric` (an official
scoring scheme: gates, banded indicators, a pass condition and fast tracks). A bad pack fails at load with the file,
the rule id and the reason.
"""

from __future__ import annotations

import hashlib
import math
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlglot import exp

from assess import display
from assess.features import FEATURE_NAMES
from assess.paths import RULES_DIR
from assess.rules import expressions
from assess.rules.expressions import ExpressionError, Scalar
from assess.rules.validation_messages import validation_message

Basis = Literal["policy", "official", "default"]
BASIS_LABELS = {"policy": "[政策]", "official": "[官方]", "default": "[默认]"}
_Spec = TypeVar("_Spec", bound=BaseModel)


class PackError(Exception):
    """A pack that cannot be used; the message names the file, the rule and the reason in Chinese."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Model):
    value: Scalar
    basis: Basis
    title: str
    unit: str | None = None


class Population(_Model):
    title: str
    condition: str


class PopulationFile(_Model):
    version: int
    source: str
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    populations: dict[str, Population]


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    population: list[str] = Field(default_factory=list)
    scope: str = "true"
    condition: str
    message: str  # why a firm is flagged
    otherwise: str | None = None  # why a firm the rule applies to is not flagged, where explanations need it


class Band(_Model):
    min: float
    points: float
    strict: bool = False  # "more than" rather than "at least"


class Measure(_Model):
    title: str
    value: str
    bands: list[Band]

    @field_validator("bands")
    @classmethod
    def _descending(cls, bands: list[Band]) -> list[Band]:
        if [b.min for b in bands] != sorted((b.min for b in bands), reverse=True):
            raise ValueError("档位须按下限从高到低排列")
        return bands


class Indicator(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    max_points: float
    basis: Basis
    measures: list[Measure]  # the best of them counts


class Condition(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    condition: str


class Pack(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int
    kind: Literal["flags", "rubric"]
    title: str
    source: str
    target: str | None = None
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    gates: list[Condition] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    passing: str = "true"
    fast_track: list[Condition] = Field(default_factory=list)


@dataclass(frozen=True)
class CompiledRule:
    id: str  # pack.rule
    title: str
    population_sql: str  # populations and scope: who the rule applies to
    condition_sql: str  # among them, who is flagged
    message: str  # template with {column} placeholders; parameters already filled in
    otherwise: str | None  # the same, for a firm the rule applies to but does not flag
    columns: tuple[str, ...]  # feature columns the messages name


@dataclass(frozen=True)
class CompiledIndicator:
    id: str
    title: str
    points_sql: str


@dataclass(frozen=True)
class CompiledRubric:
    gates: tuple[tuple[str, str, str], ...]  # (id, title, sql)
    indicators: tuple[CompiledIndicator, ...]
    passing_sql: str  # over `score` and `points_<indicator>`
    fast_track: tuple[tuple[str, str, str], ...]


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


@dataclass(frozen=True)
class Populations:
    spec: PopulationFile
    path: Path
    sha256: str
    trees: dict[str, exp.Expr]  # compiled, parameters and nested populations substituted


def _read(path: Path) -> tuple[dict, str]:
    try:
        data = path.read_bytes()
        loaded = yaml.safe_load(data)
    except (OSError, yaml.YAMLError) as exc:
        raise PackError(f"规则文件「{path.name}」无法读取：{exc}") from exc
    if not isinstance(loaded, dict):
        raise PackError(f"规则文件「{path.name}」的内容应是一个映射（键: 值）。")
    return loaded, hashlib.sha256(data).hexdigest()


def load_populations(path: Path = RULES_DIR / "populations.yaml") -> Populations:
    raw, sha = _read(path)
    try:
        spec = PopulationFile(**raw)
    except ValidationError as exc:
        raise PackError(validation_message(path, exc)) from exc
    values = {name: p.value for name, p in spec.parameters.items()}
    trees: dict[str, exp.Expr] = {}
    pending = dict(spec.populations)
    while pending:  # a population may name others defined before or after it, but not itself
        ready = {
            name: p
            for name, p in pending.items()
            if not (expressions.names(_parsed(path, name, p.condition)) & (set(pending) - {name}))
        }
        if not ready:
            raise PackError(f"规则文件「{path.name}」中的人群定义相互引用：{'、'.join(pending)}。")
        for name, population in ready.items():
            trees[name] = _checked(path, name, population.condition, values, trees, predicate=True)
            del pending[name]
    return Populations(spec=spec, path=path, sha256=sha, trees=trees)


def _parsed(path: Path, rule: str, text: str) -> exp.Expr:
    try:
        return expressions.parse(text)
    except ExpressionError as exc:
        raise PackError(f"规则文件「{path.name}」中「{rule}」有误：{exc}") from exc


def _checked(
    path: Path,
    rule: str,
    text: str,
    parameters: dict[str, Scalar],
    populations: dict[str, exp.Expr],
    *,
    predicate: bool,
    extra_columns: frozenset[str] = frozenset(),
) -> exp.Expr:
    try:
        return expressions.check(text, FEATURE_NAMES | extra_columns, parameters, populations, predicate=predicate)
    except ExpressionError as exc:
        raise PackError(f"规则文件「{path.name}」中「{rule}」有误：{exc}") from exc


def compile_expression(
    path: Path,
    label: str,
    text: str,
    parameters: dict[str, Parameter],
    populations: Populations,
    *,
    predicate: bool,
    extra_columns: frozenset[str] = frozenset(),
) -> str:
    """DuckDB SQL for an expression of another configuration file (a stage, an index component, a tier gate),
    checked exactly as a rule's; a condition is false, never null, where a value it reads is missing."""
    values = {name: p.value for name, p in parameters.items()}
    tree = _checked(path, label, text, values, populations.trees, predicate=predicate, extra_columns=extra_columns)
    sql = expressions.to_sql(tree)
    return f"coalesce({sql}, false)" if predicate else sql


def population_sql(path: Path, label: str, names: list[str], populations: Populations) -> str:
    """The conjunction of named populations, as SQL."""
    unknown = [p for p in names if p not in populations.trees]
    if unknown:
        raise PackError(f"规则文件「{path.name}」中「{label}」引用了未定义的人群：{'、'.join(unknown)}。")
    parts = [exp.paren(populations.trees[p].copy()) for p in names]
    tree = exp.and_(*parts) if len(parts) > 1 else parts[0] if parts else exp.true()
    return f"coalesce({expressions.to_sql(tree)}, false)"


def read_spec(path: Path, model: type[_Spec]) -> tuple[_Spec, str]:
    """A configuration file (a pack, a scoring or tier file) validated against its model, with its SHA-256; its
    `id` must be the file's name. A Chinese message names the file and the field when it is not."""
    raw, sha = _read(path)
    try:
        spec = model(**raw)
    except ValidationError as exc:
        raise PackError(validation_message(path, exc)) from exc
    if getattr(spec, "id", path.stem) != path.stem:
        raise PackError(f"规则文件「{path.name}」的 id「{getattr(spec, 'id', '')}」应与文件名一致。")
    return spec, sha


def load_pack(path: Path, populations: Populations) -> LoadedPack:
    pack, sha = read_spec(path, Pack)
    values = {name: p.value for name, p in pack.parameters.items()}
    rules = tuple(_compile_rule(path, pack, rule, values, populations) for rule in pack.rules)
    rubric = _compile_rubric(path, pack, values, populations) if pack.kind == "rubric" else None
    if pack.kind == "flags" and not rules:
        raise PackError(f"规则文件「{path.name}」是 flags 类规则包，但没有任何规则。")
    return LoadedPack(pack=pack, path=path, sha256=sha, rules=rules, rubric=rubric)


def _compile_rule(
    path: Path, pack: Pack, rule: Rule, values: dict[str, Scalar], populations: Populations
) -> CompiledRule:
    rule_id = f"{pack.id}.{rule.id}"
    unknown = [p for p in rule.population if p not in populations.trees]
    if unknown:
        raise PackError(f"规则文件「{path.name}」中规则「{rule_id}」引用了未定义的人群：{'、'.join(unknown)}。")
    scope = _checked(path, rule_id, rule.scope, values, populations.trees, predicate=True)
    parts = [exp.paren(populations.trees[p].copy()) for p in rule.population] + [exp.paren(scope)]
    population = exp.and_(*parts) if len(parts) > 1 else parts[0]
    condition = _checked(path, rule_id, rule.condition, values, populations.trees, predicate=True)
    message, columns = _message(path, rule_id, rule.message, pack.parameters)
    otherwise, otherwise_columns = (
        _message(path, rule_id, rule.otherwise, pack.parameters) if rule.otherwise is not None else (None, ())
    )
    return CompiledRule(
        id=rule_id,
        title=rule.title,
        population_sql=f"coalesce({expressions.to_sql(population)}, false)",
        condition_sql=f"coalesce({expressions.to_sql(condition)}, false)",
        message=message,
        otherwise=otherwise,
        columns=tuple(dict.fromkeys((*columns, *otherwise_columns))),
    )


def _message(path: Path, rule_id: str, template: str, parameters: dict[str, Parameter]) -> tuple[str, tuple[str, ...]]:
    """Fill the parameters into a message template now; the feature columns it names are filled per firm."""
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    unknown = sorted(set(fields) - FEATURE_NAMES - set(parameters))
    if unknown:
        raise PackError(
            f"规则文件「{path.name}」中规则「{rule_id}」的提示语引用了未知的列或参数：{'、'.join(unknown)}。"
        )
    filled = template
    for name, parameter in parameters.items():
        filled = filled.replace("{" + name + "}", display.value(parameter.value, parameter.unit))
    return filled, tuple(dict.fromkeys(f for f in fields if f in FEATURE_NAMES))


def _compile_rubric(path: Path, pack: Pack, values: dict[str, Scalar], populations: Populations) -> CompiledRubric:
    def condition(item: Condition) -> tuple[str, str, str]:
        tree = _checked(path, f"{pack.id}.{item.id}", item.condition, values, populations.trees, predicate=True)
        return item.id, item.title, f"coalesce({expressions.to_sql(tree)}, false)"

    indicators = []
    for indicator in pack.indicators:
        cases = []
        for measure in indicator.measures:
            tree = _checked(
                path, f"{pack.id}.{indicator.id}", measure.value, values, populations.trees, predicate=False
            )
            value = expressions.to_sql(tree)
            whens = " ".join(
                f"WHEN ({value}) {'>' if b.strict else '>='} {b.min} THEN {b.points}" for b in measure.bands
            )
            cases.append(f"CAST(CASE {whens} ELSE 0 END AS DOUBLE)")
        points = cases[0] if len(cases) == 1 else f"greatest({', '.join(cases)})"
        indicators.append(CompiledIndicator(indicator.id, indicator.title, points))
    points_columns = frozenset({"score"} | {f"points_{i.id}" for i in pack.indicators})
    passing = _checked(
        path,
        f"{pack.id}.passing",
        pack.passing,
        values,
        populations.trees,
        predicate=True,
        extra_columns=points_columns,
    )
    return CompiledRubric(
        gates=tuple(condition(g) for g in pack.gates),
        indicators=tuple(indicators),
        passing_sql=f"coalesce({expressions.to_sql(passing)}, false)",
        fast_track=tuple(condition(f) for f in pack.fast_track),
    )


@dataclass(frozen=True)
class RuleSet:
    populations: Populations
    packs: tuple[LoadedPack, ...]

    def pack(self, pack_id: str) -> LoadedPack:
        for pack in self.packs:
            if pack.id == pack_id:
                return pack
        raise PackError(f"没有名为「{pack_id}」的规则包：可用的有 {'、'.join(p.id for p in self.packs)}。")

    @property
    def flag_rules(self) -> tuple[CompiledRule, ...]:
        return tuple(rule for pack in self.packs for rule in pack.rules)


def load_rules(directory: Path = RULES_DIR, overrides: dict[str, Scalar] | None = None) -> RuleSet:
    """Every pack in the directory; `overrides` ("pack.parameter" -> value) re-compiles with other thresholds."""
    populations = load_populations(directory / "populations.yaml")
    packs = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "populations.yaml":
            continue
        packs.append(load_pack(path, populations))
    loaded = RuleSet(populations=populations, packs=tuple(packs))
    return loaded if not overrides else with_overrides(loaded, overrides)


def overrides_of(pack_id: str, overrides: dict[str, Scalar]) -> dict[str, Scalar]:
    """The overrides ("pack.parameter" -> value) of one pack, by parameter name."""
    return {key.split(".", 1)[1]: value for key, value in overrides.items() if key.split(".", 1)[0] == pack_id}


def with_values(pack_id: str, parameters: dict[str, Parameter], changed: dict[str, Scalar]) -> dict[str, Parameter]:
    """A pack's parameters with other values. Each must be a parameter of the pack and of the same kind as the
    value it replaces (a number for a number, 是/否 for 是/否), so that a threshold never compares against text."""
    unknown = sorted(set(changed) - set(parameters))
    if unknown:
        raise PackError(f"规则包「{pack_id}」没有参数：{'、'.join(unknown)}。")
    for name, value in changed.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise PackError(f"参数「{pack_id}.{name}」应为有限的数字，收到的是「{value}」。")
        expected = _kind(parameters[name].value)
        if _kind(value) != expected:
            raise PackError(f"参数「{pack_id}.{name}」应为{expected}，收到的是「{value}」。")
    return {name: p.model_copy(update={"value": changed.get(name, p.value)}) for name, p in parameters.items()}


def _kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true 或 false"
    return "数字" if isinstance(value, int | float) else "文字"


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
        values = {name: p.value for name, p in parameters.items()}
        compiled = tuple(_compile_rule(loaded.path, pack, r, values, rules.populations) for r in pack.rules)
        rubric = _compile_rubric(loaded.path, pack, values, rules.populations) if pack.kind == "rubric" else None
        packs.append(LoadedPack(pack=pack, path=loaded.path, sha256=loaded.sha256, rules=compiled, rubric=rubric))
    missing = sorted({k.split(".", 1)[0] for k in overrides} - {p.id for p in rules.packs})
    if missing:
        raise PackError(f"没有名为「{'、'.join(missing)}」的规则包。")
    return RuleSet(populations=rules.populations, packs=tuple(packs))

"""Tier packs in `rules/tiers/`: one per cultivation list. A pack names what the list is ranked by, its gates (all
must hold, each with a message that shows the firm's value beside the threshold), its exclusions, its quota and
allocation parameters, and, for a list without a quota, which near misses to show. Validated and compiled at load,
with the same expression checks as the rule packs."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from sqlglot import exp

from assess.kernel import expressions
from assess.kernel.expressions import Scalar
from assess.kernel.messages import fill_parameters
from assess.kernel.populations import compile_gate, compile_tree
from assess.kernel.spec import (
    ID_PATTERN,
    PackError,
    Parameter,
    SpecModel,
    overrides_of,
    read_spec,
    single,
    with_values,
)
from assess.rules.packs import RuleSet
from assess.scoring.config import CRITERIA
from assess.tiers.select import Allocation
from assess.validation_messages import reasons

TIERS_FOLDER = "tiers"  # inside a rule folder
# Run outputs a tier expression may read beside the features: the firm's score and index in this run, and how many
# of the four 三高一核心 sub-judgements it meets (criteria_met) or cannot be judged on for missing data (criteria_open).
CRITERIA_COLUMNS = {"criteria_met", "criteria_open"}
CRITERION = "criterion_{}"  # a sub-judgement's verdict beside the features (one, market_share, shares a feature's name)
RUN_COLUMNS = {
    "three_highs_score": "三高一核心评分",
    "innovation_index": "创新能力指数",
    "criteria_met": "满足的三高一核心子判断数",
    "criteria_open": "待补数据的三高一核心子判断数",
}
# The managers' workbook's fixed sheets: no list file may take their names.
RESERVED_SHEETS = ("说明", "汇总", "研发活动清零", "研发机构提升", "数据问题")
_REQUIRED = ("quota", "near_share", "city_minimum", "city_proportional", "chain_cap")


class Gate(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    condition: str
    message: str  # the firm's value beside the threshold, {column} and {parameter} placeholders


class Exclusion(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    condition: str | None = None  # an expression over features and parameters
    flagged_by: list[str] = Field(default_factory=list)  # rule ids of this run's flag packs
    selected_on: list[str] = Field(default_factory=list)  # other lists: a firm selected there is not a candidate
    when: str | None = None  # a boolean parameter that switches a flagged_by or selected_on exclusion on

    @model_validator(mode="after")
    def _one_kind(self) -> Exclusion:
        if sum(map(bool, (self.condition, self.flagged_by, self.selected_on))) != 1:
            raise ValueError(f"排除条件「{self.id}」应只用 condition、flagged_by、selected_on 中的一种")
        return self


class Near(SpecModel):
    gate: str  # the one gate a near miss fails
    condition: str  # how close it must come


class TierPack(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    version: int
    title: str
    role: Literal["list"]
    # The workbook sheet: at most 31 characters, none of those Excel refuses in a sheet's name.
    sheet: str = Field(min_length=1, max_length=31, pattern=r"^[^\\/\[\]:*?]+$")
    order: int  # lists are drawn, shown and written in this order
    source: str
    rank_by: Literal["three_highs_score", "innovation_index"]
    summary: str | None = None  # what the list is, in one sentence for the 说明 sheet ({parameter} placeholders)
    parameters: dict[str, Parameter]
    gates: list[Gate]
    exclusions: list[Exclusion] = Field(default_factory=list)
    near: Near | None = None

    @model_validator(mode="after")
    def _complete(self) -> TierPack:
        missing = [name for name in _REQUIRED if name not in self.parameters]
        if missing:
            raise ValueError(f"缺少参数：{'、'.join(missing)}")
        for name in ("quota", "city_minimum", "chain_cap"):
            value = self.parameters[name].value
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"参数 {name} 应为不小于 0 的整数，现为「{value}」")
        share = self.parameters["near_share"].value
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(f"参数 near_share 应为 0 到 1 之间的比例，现为「{share}」")
        if not isinstance(self.parameters["city_proportional"].value, bool):
            raise ValueError("参数 city_proportional 应为 true 或 false")
        if self.near is not None and self.near.gate not in {g.id for g in self.gates}:
            raise ValueError(f"near.gate「{self.near.gate}」不是本规则包的门槛")
        return self


@dataclass(frozen=True)
class CompiledGate:
    id: str
    title: str
    tree: exp.Expr  # null where an input is missing: the firm's status is then 待补数据
    message: str  # parameters filled in; {column} placeholders remain
    inputs: tuple[str, ...]  # feature columns the condition reads

    @cached_property
    def sql(self) -> str:
        return expressions.to_sql(self.tree)


@dataclass(frozen=True)
class LoadedTier:
    pack: TierPack
    path: Path
    sha256: str
    gates: tuple[CompiledGate, ...]
    exclusions: tuple[tuple[Exclusion, exp.Expr | None], ...]  # with the compiled condition, if any
    near: exp.Expr | None
    columns: tuple[str, ...]  # feature and run columns the gate messages name and the gates read
    summary: str | None  # what the list is, parameters filled in

    @property
    def id(self) -> str:
        return self.pack.id

    @cached_property
    def near_sql(self) -> str | None:
        return expressions.to_sql(self.near) if self.near is not None else None

    @cached_property
    def exclusion_sql(self) -> tuple[tuple[Exclusion, str | None], ...]:
        """The exclusions with their conditions as DuckDB SQL."""
        return tuple((e, expressions.to_sql(tree) if tree is not None else None) for e, tree in self.exclusions)

    @cached_property
    def exclusion_columns(self) -> tuple[str | None, ...]:
        """Per exclusion, the column of the gated rows that holds its condition (`exclusion_<i>`, numbered over the
        compiled ones); None for one decided by flags or other lists instead."""
        numbers = itertools.count()
        return tuple(None if sql is None else f"exclusion_{next(numbers)}" for _, sql in self.exclusion_sql)

    @property
    def trees(self) -> tuple[exp.Expr, ...]:
        """Every compiled tree of the pack."""
        conditions = (tree for _, tree in self.exclusions if tree is not None)
        return (*(g.tree for g in self.gates), *conditions, *((self.near,) if self.near is not None else ()))

    def value(self, name: str) -> int | float | str | bool:
        return single(name, self.pack.parameters[name].value)

    @property
    def allocation(self) -> Allocation:
        return Allocation(
            quota=int(self.value("quota")),
            city_minimum=int(self.value("city_minimum")),
            proportional=bool(self.value("city_proportional")),
            chain_cap=int(self.value("chain_cap")),
        )

    @property
    def rank_title(self) -> str:
        return RUN_COLUMNS[self.pack.rank_by]


def load_tier(path: Path, rules: RuleSet, overrides: dict[str, Scalar] | None = None) -> LoadedTier:
    """A tier pack, compiled; `overrides` ("pack.parameter" -> value) compile it with other values."""
    pack, sha = read_spec(path, TierPack)
    changed = overrides_of(pack.id, overrides or {})
    if changed:
        parameters = with_values(pack.id, pack.parameters, changed)
        try:  # validated again: a quota of -5 or 1.5 is no list
            pack = TierPack.model_validate({**dict(pack), "parameters": parameters})
        except ValidationError as exc:
            raise PackError(f"改动后的清单规则包「{pack.id}」不可用：{'；'.join(reasons(exc))}。") from exc
    extra = frozenset(RUN_COLUMNS)

    def compiled(label: str, text: str) -> exp.Expr:
        return compile_tree(path, label, text, pack.parameters, rules.populations, predicate=True, extra_columns=extra)

    gates: list[CompiledGate] = []
    columns: list[str] = []
    for gate in pack.gates:
        label = f"{pack.id}.{gate.id}"
        message, named = fill_parameters(path, label, gate.message, pack.parameters, extra)
        tree, read = compile_gate(path, label, gate.condition, pack.parameters, rules.populations, extra)
        if CRITERIA_COLUMNS & set(re.findall(r"\w+", gate.condition)):  # its open inputs are the open sub-judgements
            read = (*read, *(CRITERION.format(c) for c in CRITERIA))
        gates.append(CompiledGate(gate.id, gate.title, tree, message, read))
        columns += [*named, *read]
    known = {rule.id for rule in rules.flag_rules}
    exclusions = []
    for exclusion in pack.exclusions:
        unknown = sorted(set(exclusion.flagged_by) - known)
        if unknown:
            raise PackError(
                f"规则文件「{path.name}」中排除条件「{exclusion.id}」引用了未知的规则：{'、'.join(unknown)}。"
            )
        switch = pack.parameters.get(exclusion.when) if exclusion.when is not None else None
        if exclusion.when is not None and (switch is None or not isinstance(switch.value, bool)):
            raise PackError(f"规则文件「{path.name}」中排除条件「{exclusion.id}」的 when 应是本包的一个是/否参数。")
        condition = compiled(f"{pack.id}.{exclusion.id}", exclusion.condition) if exclusion.condition else None
        exclusions.append((exclusion, condition))
    near = compiled(f"{pack.id}.near", pack.near.condition) if pack.near is not None else None
    summary = fill_parameters(path, f"{pack.id}.summary", pack.summary, pack.parameters)[0] if pack.summary else None
    return LoadedTier(pack, path, sha, tuple(gates), tuple(exclusions), near, tuple(dict.fromkeys(columns)), summary)


def load_tiers(rules: RuleSet, cutoff: float, overrides: dict[str, Scalar] | None = None) -> tuple[LoadedTier, ...]:
    """Every tier pack of the rule folder in its declared order, with `overrides` for what-if comparisons. A
    `score_min` must be the classifier's cut-off, so that the 三高一核心 list and the near-miss sentences of the scores
    never read against two different lines."""
    paths = sorted((rules.directory / TIERS_FOLDER).glob("*.yaml"))
    tiers = tuple(sorted((load_tier(path, rules, overrides) for path in paths), key=lambda t: (t.pack.order, t.id)))
    drawing_order(tiers)  # refuses a list that names an unknown list, or lists that wait for each other
    sheets = [t.pack.sheet for t in tiers]
    repeated = sorted({s for s in sheets if sheets.count(s) > 1} | {s for s in sheets if s in RESERVED_SHEETS})
    if repeated:
        raise PackError(f"清单规则包的工作表名重复或与固定工作表同名：{'、'.join(repeated)}。")
    for tier in tiers:
        if "score_min" in tier.pack.parameters and tier.value("score_min") != cutoff:
            raise PackError(
                f"规则文件「{tier.path.name}」的 score_min（{tier.value('score_min')}）与 "
                f"rules/scoring/classifier.yaml 的 cutoff（{cutoff}）不一致：两处评分线须相同。"
            )
    return tiers


def drawing_order(tiers: tuple[LoadedTier, ...]) -> tuple[LoadedTier, ...]:
    """The lists in the order they must be drawn: a list whose exclusions name the firms selected on other lists
    comes after those lists (科技领军 before 科技小巨人); otherwise in their declared order."""
    by_id = {tier.id: tier for tier in tiers}
    ordered: list[LoadedTier] = []
    waiting: list[str] = []

    def visit(tier: LoadedTier) -> None:
        if tier in ordered:
            return
        if tier.id in waiting:
            cycle = "、".join([*waiting[waiting.index(tier.id) :], tier.id])
            raise PackError(f"清单规则包的 selected_on 互相等待：{cycle}。")
        waiting.append(tier.id)
        for exclusion, _ in tier.exclusions:
            for other in exclusion.selected_on:
                if other not in by_id:
                    raise PackError(
                        f"规则文件「{tier.path.name}」中排除条件「{exclusion.id}」引用了未知的清单：{other}。"
                    )
                visit(by_id[other])
        waiting.pop()
        ordered.append(tier)

    for tier in tiers:
        visit(tier)
    return tuple(ordered)

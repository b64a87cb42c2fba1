"""The plan's headline targets (rules/targets.yaml): each with its value, basis and the sentence of the plan it
comes from; read with the rule folder so that a run records them and a bad file is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from assess.kernel.spec import PackError, Parameter, SpecModel, read_spec, single
from assess.rules.packs import TARGETS_FILE, RuleSet


class Target(Parameter):
    quote: str  # the plan's sentence, with its section


class TargetsSpec(SpecModel):
    version: int
    source: str
    first_year: int
    population: str  # the named population whose R&D is reported
    quotes: dict[str, str] = Field(default_factory=dict)  # for targets whose numbers live in a rule pack
    targets: dict[str, Target]

    def number(self, name: str) -> float:
        return float(single(name, self.targets[name].value))


REQUIRED = ("hte_count", "hte_chain_share", "little_giant_per_year", "leader_per_year")


def load_targets(rules: RuleSet) -> tuple[TargetsSpec, str]:
    """The targets of the rule folder with the file's SHA-256; refused when one the figures read is missing."""
    path: Path = rules.directory / TARGETS_FILE
    spec, sha = read_spec(path, TargetsSpec)
    missing = [name for name in REQUIRED if name not in spec.targets]
    if missing:
        raise PackError(f"规则文件「{path.name}」缺少目标：{'、'.join(missing)}。")
    if spec.population not in rules.populations.trees:
        raise PackError(f"规则文件「{path.name}」的 population「{spec.population}」不是已定义的人群。")
    return spec, sha

"""Everything an assessment reads from a rule folder: the rule packs, the scoring configuration and the tier packs.

`overrides` ("pack.parameter" -> value) load them with other values for a what-if comparison; each goes to the pack
that owns it, a rule pack or a tier pack. The scoring files are not overridden: a changed model or index needs a new
run (its scores are stored with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assess.contract import load_contract
from assess.kernel.expressions import Scalar
from assess.kernel.spec import PackError
from assess.rules.packs import ROLE_TITLES, LoadedPack, RuleSet, load_rules, with_overrides
from assess.run.targets import TargetsSpec, load_targets
from assess.scoring.config import SCORING_FOLDER, ScoringConfig, load_scoring
from assess.sizes import SIZE_CLASSES_FILE
from assess.store import file_sha256
from assess.tiers.packs import TIERS_FOLDER, LoadedTier, load_tiers

CHAIN_MAP_FILE = "chain_map.csv"  # industry codes to the plan's chain directions, inside a rule folder


@dataclass(frozen=True)
class Config:
    directory: Path  # the rule folder
    rules: RuleSet
    scoring: ScoringConfig
    tiers: tuple[LoadedTier, ...]
    targets: TargetsSpec

    @property
    def chain_map(self) -> Path:
        return self.directory / CHAIN_MAP_FILE

    @property
    def size_classes(self) -> Path:
        return self.directory / SIZE_CLASSES_FILE

    def folder_manifest(self) -> dict:
        """The rule folder a run used: its path and the SHA-256 of every file in it."""
        files = sorted(p for p in self.directory.rglob("*") if p.is_file())
        return {
            "path": str(self.directory.resolve()),
            "files": {p.relative_to(self.directory).as_posix(): file_sha256(p) for p in files},
        }


def _check_levels(pack: LoadedPack) -> None:
    """The institution levels the coverage counts must be levels a filing can give (not 无)."""
    levels = pack.pack.parameters.get("institution_levels")
    if levels is None:
        return
    known = load_contract().institution_levels
    chosen = levels.value if isinstance(levels.value, tuple) else (str(levels.value),)
    wrong = [level for level in chosen if level not in known]
    if wrong or not chosen or not isinstance(levels.value, tuple):
        raise PackError(
            f"规则文件「{pack.path.name}」的 institution_levels 应是 {'、'.join(known)} 中的一个或几个（列表），"
            f"现为「{'、'.join(map(str, chosen))}」。"
        )


def load_config(directory: Path, overrides: dict[str, Scalar] | None = None) -> Config:
    """The rule folder compiled. Without overrides the compiled folder is kept while none of its files changes (a
    web server reads it on every page; compiling takes a quarter of a second)."""
    if not overrides:
        return _unchanged(directory.resolve(), _fingerprint(directory))
    return _compiled(directory, overrides)


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file of the folder with its modification time and size: a change of any makes another key."""
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found.append((str(path.relative_to(directory)), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


@lru_cache(maxsize=8)
def _unchanged(directory: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> Config:
    return _compiled(directory, {})


def _compiled(directory: Path, overrides: dict[str, Scalar]) -> Config:
    packs = {key.split(".", 1)[0] for key in overrides}
    scoring_files = sorted(packs & {path.stem for path in (directory / SCORING_FOLDER).glob("*.yaml")})
    if scoring_files:
        raise PackError(
            f"「{'、'.join(scoring_files)}」的参数决定评分本身，不能做假设分析：请改规则文件夹中 scoring/ 下的文件后"
            "重新评估（assess run）。"
        )
    tier_ids = {path.stem for path in (directory / TIERS_FOLDER).glob("*.yaml")}  # a pack's id is its file's name
    for_tiers = {key: value for key, value in overrides.items() if key.split(".", 1)[0] in tier_ids}
    rules = load_rules(directory)
    for role in ROLE_TITLES:  # a run's figures need both target packs: refused before anything runs
        rules.role(role)
    rubrics = sorted(packs & {p.id for p in rules.packs if p.rubric})
    if rubrics:
        raise PackError(
            f"假设分析只比较一清零、一提升的标记结果和培育清单；评分规则包（{'、'.join(rubrics)}）的参数请改规则文件后"
            "重新评估（assess run）。"
        )
    for_rules = {key: value for key, value in overrides.items() if key not in for_tiers}
    if for_rules:
        rules = with_overrides(rules, for_rules)
    _check_levels(rules.role("institution_coverage"))
    scoring = load_scoring(rules)
    cutoff = float(scoring.classifier.spec.value("cutoff"))
    return Config(directory, rules, scoring, load_tiers(rules, cutoff, overrides=for_tiers), load_targets(rules)[0])

"""Every compiled tree of a rule folder and of the features, by where it comes from: what the dialect tests walk."""

from __future__ import annotations

from sqlglot import exp

from assess.contract import load_contract
from assess.features import View, feature_views
from assess.reference import load_reference
from assess.run.config import Config


def views(config: Config) -> tuple[View, ...]:
    contract = load_contract()
    return feature_views(contract, load_reference(contract), config.size_classes)


def pack_trees(config: Config) -> dict[str, tuple[exp.Expr, ...]]:
    """pack file -> its compiled trees."""
    found: dict[str, tuple[exp.Expr, ...]] = {"populations.yaml": tuple(config.rules.populations.trees.values())}
    found |= {pack.path.name: pack.trees for pack in config.rules.packs}
    found |= {f"tiers/{tier.path.name}": tier.trees for tier in config.tiers}
    classifier, index = config.scoring.classifier, config.scoring.index
    found["scoring"] = (classifier.population, index.stage, *(c.value for c in index.components))
    return found

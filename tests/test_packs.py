"""A bad rule pack fails at load, naming the file, the rule and the reason, before anything runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assess.kernel.spec import PackError
from assess.resources import PACKAGED_RULES
from assess.rules.packs import load_rules

GOOD_RULE = """
id: {pack}
version: 1
kind: flags
title: 测试规则包
source: 测试
parameters:
  revenue_min: {{value: 5000, unit: 万元, basis: policy, title: 营业收入下限}}
rules:
  - id: probe
    title: 测试规则
    population: [above_scale_industrial]
    condition: "{condition}"
    message: "{message}"
"""


def _rules_dir(tmp_path: Path, condition: str, message: str = "营业收入{revenue}万元", pack: str = "probe") -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(PACKAGED_RULES / "populations.yaml", directory)
    text = GOOD_RULE.format(pack=pack, condition=condition, message=message)
    (directory / f"{pack}.yaml").write_text(text, encoding="utf-8")
    return directory


def _refusal(directory: Path) -> str:
    with pytest.raises(PackError) as caught:
        load_rules(directory)
    return str(caught.value)


def test_a_well_formed_pack_loads(tmp_path: Path) -> None:
    rules = load_rules(_rules_dir(tmp_path, "revenue >= revenue_min AND rd_expense = 0"))
    assert [r.id for r in rules.flag_rules] == ["probe.probe"]


def test_an_unknown_column_is_refused_with_file_and_rule(tmp_path: Path) -> None:
    message = _refusal(_rules_dir(tmp_path, "revenu >= revenue_min"))
    assert "probe.yaml" in message and "probe.probe" in message and "revenu" in message


@pytest.mark.parametrize(
    "condition",
    [
        "revenue >= (SELECT max(revenue) FROM filings)",
        "read_csv('/etc/passwd') IS NOT NULL",
        "1 = 1; DROP TABLE filings",
        "revenue + 1",
        "upper(name) = 'X'",
    ],
)
def test_anything_but_a_condition_is_refused(tmp_path: Path, condition: str) -> None:
    message = _refusal(_rules_dir(tmp_path, condition))
    assert "probe.yaml" in message and "probe.probe" in message


def test_a_malformed_pack_is_refused_with_the_field_at_fault(tmp_path: Path) -> None:
    directory = _rules_dir(tmp_path, "rd_expense = 0")
    path = directory / "probe.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("basis: policy", "basis: guess"), encoding="utf-8")
    message = _refusal(directory)
    assert "probe.yaml" in message and "basis" in message


@pytest.mark.parametrize(
    ("wrong", "right", "said"),
    [
        ("basis: policy", "basis: guess", "parameters.revenue_min.basis：只能是 policy、official 或 default"),
        ("    title: 测试规则\n", "", "rules.0.title：缺少这一项"),
        ("kind: flags", "kind: flags\ncolour: red", "colour：不认识这一项"),
        ("version: 1", "version: 第一版", "version：应为整数"),
        ("  - id: probe", "  - id: Probe-1", "rules.0.id：只能由小写英文字母、数字和下划线组成，且以字母开头"),
        ("value: 5000, unit", "value: [5000], unit", "revenue_min.value：应为以下之一：true 或 false、整数、数字"),
    ],
)
def test_a_malformed_pack_is_explained_in_chinese(tmp_path: Path, wrong: str, right: str, said: str) -> None:
    directory = _rules_dir(tmp_path, "rd_expense = 0")
    path = directory / "probe.yaml"
    text = path.read_text(encoding="utf-8")
    assert wrong in text
    path.write_text(text.replace(wrong, right), encoding="utf-8")
    message = _refusal(directory)
    assert message.startswith("规则文件「probe.yaml」格式有误：") and said in message
    assert not any(word in message for word in ("Field required", "Input should", "Extra inputs", "String should"))


def test_a_message_naming_an_unknown_value_is_refused(tmp_path: Path) -> None:
    message = _refusal(_rules_dir(tmp_path, "rd_expense = 0", message="营业收入{turnover}万元"))
    assert "turnover" in message


def test_an_override_of_an_unknown_parameter_is_refused() -> None:
    with pytest.raises(PackError, match="revenue_max"):
        load_rules(PACKAGED_RULES, overrides={"yiqingling.revenue_max": 1})


def test_every_rule_parameter_and_population_is_documented() -> None:
    from assess.run.config import load_config
    from assess.run.docs import render

    config = load_config(PACKAGED_RULES)
    rules, scoring, tiers = config.rules, config.scoring, config.tiers
    text = (Path(__file__).parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    stale = "docs/rules.md is stale: run .venv/bin/python -m assess.run.docs docs/rules.md"
    assert text == render(rules, scoring, tiers), stale
    assert all(f"`{name}`" in text for tier in tiers for name in tier.pack.parameters)
    assert all(f"`{c.id}`" in text for c in scoring.index.spec.components)
    assert all(f"`{name}`" in text for name in [*scoring.classifier.spec.parameters, *scoring.index.spec.parameters])
    for loaded in rules.packs:
        assert all(f"`{rule.id}`" in text for rule in rules.flag_rules)
        assert all(f"`{name}`" in text for name in loaded.pack.parameters)
    assert all(f"`{name}`" in text for name in rules.populations.spec.populations)
    assert all(f"`{name}`" in text for name in rules.populations.spec.parameters)

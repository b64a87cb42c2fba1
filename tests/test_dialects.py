"""One compiled form, two dialects: the features and every pack compile to engine-neutral trees that call only the
functions DuckDB and Spark share, and a pack calling a function only one engine has is refused at load, by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlglot

from assess.dialects import foreign_functions
from assess.kernel.spec import PackError
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from tests.compiled import pack_trees, views


def test_every_feature_view_calls_only_functions_both_engines_share() -> None:
    found = {view.name: foreign_functions(view.tree) for view in views(load_config(PACKAGED_RULES))}
    assert found and not any(found.values()), found


def test_every_packaged_pack_calls_only_functions_both_engines_share() -> None:
    trees = pack_trees(load_config(PACKAGED_RULES))
    assert {"populations.yaml", "yiqingling.yaml", "tech_sme.yaml", "scoring"} <= set(trees)
    foreign = {name: [f for tree in found for f in foreign_functions(tree)] for name, found in trees.items()}
    assert all(found for found in trees.values()) and not any(foreign.values()), foreign


def test_the_walk_finds_the_functions_only_one_engine_has() -> None:
    """The walk itself can fail: DuckDB's list_position and Spark's bround are not shared."""
    tree = sqlglot.parse_one(
        "SELECT list_position(designation, chain) + bround(revenue, 0) FROM features", read="duckdb"
    )
    assert foreign_functions(tree) == ["list_position", "bround"]


PACK = """
id: probe
version: 1
kind: flags
title: 测试规则包
source: 测试
rules:
  - id: probe
    title: 测试规则
    condition: "{condition}"
    message: 测试
"""


@pytest.mark.parametrize(
    ("condition", "function"),
    [
        ("even(employees) AND revenue >= 5000", "even"),  # DuckDB only
        ("bround(revenue, 0) >= 5000", "bround"),  # Spark only
    ],
)
def test_a_pack_calling_a_function_only_one_engine_has_is_refused_naming_it(
    tmp_path: Path, condition: str, function: str
) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, folder)
    (folder / "probe.yaml").write_text(PACK.format(condition=condition), encoding="utf-8")
    with pytest.raises(PackError) as refused:
        load_config(folder)
    said = str(refused.value)
    assert "probe.yaml" in said and "probe.probe" in said
    assert f"函数「{function}」" in said and "不是 DuckDB、Spark 共有的函数" in said

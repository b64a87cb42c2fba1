"""The chain map places each industry code where the plan puts it: the corrections of the policy review, codes taken
out of a broader row, codes the map had missed, and a map with a wrong row refused before a run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assess.cli import app
from assess.errors import PackError
from assess.resources import PACKAGED_RULES
from assess.run.config import load_config
from assess.run.context import RunContext
from assess.store import Store
from tests.conftest import HEADER, Ingester, Rows, firm_row, write_xlsx

runner = CliRunner()

PLACED = {
    "2530": "核能",  # 核燃料加工, not 煤与石油清洁高效利用 with the rest of division 25
    "3513": "高端海工装备",  # 深海石油钻探设备, not 工程机械
    "3517": "轨道交通与动力装备",  # 隧道施工专用机械: the plan's 超大型隧道掘进设备
    "3841": "储能",  # 锂离子电池
    "3842": "储能",  # 镍氢电池: the rest of group 384
    "3963": "无人机",  # 智能无人飞行器制造, missing before
    "6440": "高端软件与网络通信",  # 互联网安全服务: the plan's 网络空间安全
    "6450": "人工智能与大数据",  # 互联网数据服务, beside 655 信息处理和存储支持服务
    "3612": "新能源汽车",  # 新能源车整车: still in division 36's direction
    "3812": "新能源汽车",  # 电动机制造: still in group 381's direction
    "3973": "集成电路",  # 集成电路制造: still in group 397's direction
}
OUTSIDE = {
    "3611": "汽柴油车整车",
    "3620": "汽车用发动机",
    "3811": "发电机",
    "3031": "粘土砖瓦",
    "1321": "宠物饲料（132 饲料）",
    "2621": "氮肥（262 肥料）",
    "6572": "游戏",
    "3742": "运载火箭",
    "3736": "船舶拆除",
    "3843": "铅蓄电池",
    "3844": "锌锰电池",
    "3974": "显示器件",
    "3975": "半导体照明器件",
}


def _directions(store: Store, ingest: Ingester, tmp_path: Path, rules: Path = PACKAGED_RULES) -> dict[str, str | None]:
    codes = [*PLACED, *OUTSIDE]
    rows: Rows = [HEADER, *(firm_row(i, 行业代码=code) for i, code in enumerate(codes, start=1))]
    result = ingest(write_xlsx(tmp_path / "codes.xlsx", {"表1": rows}))
    assert result.accepted == len(codes)
    ctx = RunContext(store, load_config(rules), 2024)
    found = ctx.con.sql("SELECT industry_code, direction FROM features_base WHERE year = 2024").fetchall()
    return dict(found)


def test_each_corrected_code_is_placed_where_the_plan_puts_it(store: Store, ingest: Ingester, tmp_path: Path) -> None:
    directions = _directions(store, ingest, tmp_path)
    assert {code: directions[code] for code in PLACED} == PLACED
    assert {code: directions[code] for code in OUTSIDE} == dict.fromkeys(OUTSIDE)


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("9999,集成电路,新一代信息技术,不存在的代码", "「9999」不是 GB/T 4754-2017"),
        ("3562,储能,新一代信息技术,方向不属于这条产业链", "「储能」不是产业链「新一代信息技术」的方向"),
        ("3562,集成电路,新一代信息技术,", "缺少 rationale"),
        ("3562,集成电路,,只填了方向", "direction 和 chain 应同时填写"),
    ],
)
def test_a_wrong_row_of_the_map_is_refused_with_its_line(
    store: Store, ingest: Ingester, tmp_path: Path, row: str, said: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    mapped = rules / "chain_map.csv"
    lines = mapped.read_text(encoding="utf-8").splitlines()
    mapped.write_text("\n".join([*lines, row]) + "\n", encoding="utf-8")
    with pytest.raises(PackError) as refused:
        _directions(store, ingest, tmp_path, rules)
    assert f"chain_map.csv 第{len(lines) + 1}行" in str(refused.value) and said in str(refused.value)


def test_unmapped_lists_the_codes_outside_every_direction_by_count(tmp_path: Path) -> None:
    rows: Rows = [
        HEADER,
        *(firm_row(i, 行业代码="3611") for i in (1, 2)),  # taken out of 新能源汽车 by its own row
        firm_row(3, 行业代码="4610"),  # 自来水生产和供应: no row at all
        firm_row(4, 行业代码="3562"),  # in 集成电路
    ]
    db = str(tmp_path / "a.duckdb")
    filed = write_xlsx(tmp_path / "f.xlsx", {"表1": rows})
    assert runner.invoke(app, ["ingest", str(filed), "--db", db]).exit_code == 0
    result = runner.invoke(app, ["chains", "unmapped", "--year", "2024", "--json", "--db", db])
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert [(r["industry_code"], r["firms"]) for r in found] == [("3611", 2), ("4610", 1)]
    assert found[0]["industry_name"] == "汽柴油车整车制造" and "不属新能源汽车" in found[0]["excluded_by"]
    assert found[1]["excluded_by"] is None
    missing = runner.invoke(app, ["chains", "unmapped", "--year", "2019", "--db", db])
    assert missing.exit_code == 1 and "没有 2019 年度的填报" in missing.stderr

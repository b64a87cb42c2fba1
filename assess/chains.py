"""The chain map of a rule folder: GB/T 4754-2017 codes to the plan's chain directions, with a rationale per row.

A row names a division, group or class; the most specific row that matches a firm's industry code places it. A
row with neither direction nor chain takes its code out of a broader row (燃油车整车 out of 汽车制造业). The map is
checked when a run reads it: every code must be one of GB/T 4754-2017, every direction one of the plan's, under the
chain named beside it, and every row must say why.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from assess.contract import Contract
from assess.errors import PackError
from assess.reference import industry_names
from assess.resources import read_text

COLUMNS = ("code", "direction", "chain", "rationale")


@dataclass(frozen=True)
class ChainMapRow:
    code: str
    direction: str | None  # None with chain None: the code is taken out of every direction
    chain: str | None
    rationale: str

    @property
    def excludes(self) -> bool:
        return self.direction is None


def read_chain_map(path: Path, contract: Contract) -> tuple[ChainMapRow, ...]:
    """The rows in file order, or a PackError naming the file, the line and what is wrong."""
    reader = csv.DictReader(io.StringIO(read_text(path)))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise PackError(f"{path.name}：表头应为 {','.join(COLUMNS)}。")
    names = industry_names()
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = ChainMapRow(
            code=(raw["code"] or "").strip(),
            direction=(raw["direction"] or "").strip() or None,
            chain=(raw["chain"] or "").strip() or None,
            rationale=(raw["rationale"] or "").strip(),
        )
        problem = _problem(row, names, contract)
        if problem:
            raise PackError(f"{path.name} 第{line}行：{problem}")
        rows.append(row)
    return tuple(rows)


def _problem(row: ChainMapRow, names: dict[str, str], contract: Contract) -> str | None:
    if row.code not in names:
        return f"「{row.code}」不是 GB/T 4754-2017 的大类、中类或小类代码。"
    if not row.rationale:
        return "缺少 rationale（归属理由）。"
    if row.direction is None and row.chain is None:
        return None
    if row.direction is None or row.chain is None:
        return "direction 和 chain 应同时填写（都不填表示把该代码排除在所有方向之外）。"
    if row.direction not in contract.chains.get(row.chain, ()):
        return f"「{row.direction}」不是产业链「{row.chain}」的方向。"
    return None

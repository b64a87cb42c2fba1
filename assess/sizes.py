"""Enterprise size classes by sector (rules/size_classes.yaml): which indicators each sector uses and their bounds.

Read and checked when a run installs the features: every code must be a GB/T 4754-2017 section or code, every
sector must name at least one indicator, and each indicator's bounds must fall from large to small. The features
compute the class from this table in SQL, so the numbers live in the rule folder, with their basis and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from assess.errors import PackError
from assess.reference import Reference
from assess.resources import read_yaml
from assess.validation_messages import validation_message

SIZE_CLASSES_FILE = "size_classes.yaml"  # inside a rule folder
INDICATORS = {"employees": "从业人员（人）", "revenue": "营业收入（万元）", "total_assets": "资产总额（万元）"}
CLASSES = ("大型", "中型", "小型", "微型")

Bounds = tuple[float, float, float]  # the lower bounds of large, medium and small


class _Sector(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    codes: list[str]
    employees: Bounds | None = None
    revenue: Bounds | None = None
    total_assets: Bounds | None = None


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    basis: Literal["policy", "official", "default"]
    source: str
    sectors: list[_Sector]


@dataclass(frozen=True)
class Sector:
    title: str
    codes: tuple[str, ...]
    bounds: dict[str, Bounds]  # indicator -> bounds


@dataclass(frozen=True)
class SizeTable:
    source: str
    basis: str
    sectors: tuple[Sector, ...]


def read_size_table(path: Path, reference: Reference) -> SizeTable:
    """The table, or a PackError naming the file, the sector and what is wrong."""
    try:
        table = _Table.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise PackError(validation_message(path, exc)) from exc
    known = set(reference.industry_sections) | set(reference.industry_sections.values())
    sectors = []
    for item in table.sectors:
        bounds = {name: value for name in INDICATORS if (value := getattr(item, name)) is not None}
        unknown = [code for code in item.codes if code not in known]
        if unknown:
            raise PackError(f"{path.name}「{item.title}」：{'、'.join(unknown)} 不是 GB/T 4754-2017 的门类或代码。")
        if not bounds:
            raise PackError(f"{path.name}「{item.title}」：至少要有一项指标（{'、'.join(INDICATORS)}）。")
        for name, (large, medium, small) in bounds.items():
            if not large >= medium >= small >= 0:
                raise PackError(f"{path.name}「{item.title}」的 {name} 应依次为大型、中型、小型的下限，从大到小。")
        sectors.append(Sector(item.title, tuple(item.codes), bounds))
    return SizeTable(table.source, table.basis, tuple(sectors))


def size_class_sql(table: SizeTable, filing: str, section: str) -> str:
    """A CASE over a filing's columns (`filing` is its table alias: employees, revenue, total_assets, industry_code)
    and its industry `section` giving the size class, or null where the sector has no bands or an indicator the
    class turns on is missing."""
    matches = []
    for sector in table.sectors:
        for code in sector.codes:
            test = f"{section} = '{code}'" if code.isalpha() else f"starts_with({filing}.industry_code, '{code}')"
            specificity = 0 if code.isalpha() else len(code)
            matches.append((specificity, test, sector))
    matches.sort(key=lambda m: -m[0])  # the most specific code first
    branches = " ".join(f"WHEN {test} THEN {_classify(sector, filing)}" for _, test, sector in matches)
    return f"CASE {branches} END"


def _classify(sector: Sector, filing: str) -> str:
    """Large, medium or small when every bound of the class is met; unknown (null) while an indicator the class
    turns on is missing; micro otherwise."""
    outcome = f"'{CLASSES[3]}'"
    for level in (2, 1, 0):
        meets = " AND ".join(f"{filing}.{name} >= {bounds[level]}" for name, bounds in sector.bounds.items())
        outcome = f"CASE WHEN ({meets}) THEN '{CLASSES[level]}' WHEN ({meets}) IS NULL THEN NULL ELSE {outcome} END"
    return outcome


def bounds_text(sector: Sector) -> str:
    """A sector's bands in words: 从业人员（人）≥1000/300/20；营业收入（万元）≥40000/2000/300."""
    return "；".join(
        f"{INDICATORS[name]}≥{'/'.join(f'{b:g}' for b in bounds)}" for name, bounds in sector.bounds.items()
    )

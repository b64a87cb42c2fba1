"""Reference lists the validator checks against: the GB/T 4754-2017 code list and the range of filing years."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assess.contract import Contract
from assess.resources import INDUSTRY_CODES, read_text


@dataclass(frozen=True)
class Reference:
    industry_sections: dict[str, str]  # division, group or class code -> section letter
    year_bounds: tuple[int, int]


@cache
def _industry_rows(path: Path) -> tuple[dict[str, str], ...]:
    """The divisions, groups and classes of the code list (sections, level 1, are named by their rows' section)."""
    return tuple(row for row in csv.DictReader(io.StringIO(read_text(path))) if row["level"] != "1")


@cache
def _industry(path: Path) -> dict[str, str]:
    return {row["code"]: row["section"] for row in _industry_rows(path)}


@cache
def industry_names() -> dict[str, str]:
    """Division, group and class codes of GB/T 4754-2017 with their names."""
    return {row["code"]: row["name"] for row in _industry_rows(INDUSTRY_CODES)}


def load_reference(contract: Contract, today: dt.date | None = None) -> Reference:
    this_year = (today or dt.date.today()).year
    return Reference(industry_sections=_industry(INDUSTRY_CODES), year_bounds=(contract.first_year, this_year))

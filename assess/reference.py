"""Reference lists the validator checks against: the GB/T 4754-2017 code list and the range of filing years."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assess.contract import Contract
from assess.paths import industry_codes_path


@dataclass(frozen=True)
class Reference:
    industry_sections: dict[str, str]  # division, group or class code -> section letter
    year_bounds: tuple[int, int]


@cache
def _industry(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row["section"] for row in csv.DictReader(handle) if row["level"] != "1"}


def load_reference(contract: Contract, today: dt.date | None = None) -> Reference:
    this_year = (today or dt.date.today()).year
    return Reference(industry_sections=_industry(industry_codes_path()), year_bounds=(contract.first_year, this_year))

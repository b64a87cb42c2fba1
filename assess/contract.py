"""The filing contract, loaded from `schemas/` into typed objects.

The YAML files are the single source: the readers, the validator, the blank template, the docs and the tests all
read them through this module, so a header alias or an error message changes in one place.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assess.resources import SCHEMAS_DIR, read_yaml

Kind = Literal[
    "credit_code",
    "text",
    "year",
    "city",
    "industry",
    "boolean",
    "choice",
    "chain",
    "money",
    "count",
    "percent",
    "set",
    "date",
]
Level = Literal["error", "warning", "info"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(_Frozen):
    """One field of a filing: its canonical header, the other headers it answers to, and how its cells parse."""

    name: str
    header: str
    aliases: tuple[str, ...] = ()
    kind: Kind
    required: bool
    unit: str | None = None
    signed: bool = False
    max_length: int | None = None  # characters, for text: a longer value is E-TOO-LONG
    plausible_max: Decimal | None = None  # in `unit`: a larger value is kept but warned about (W-IMPLAUSIBLE)
    choices: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    note: str | None = None

    @property
    def header_with_unit(self) -> str:
        """The header as the blank template writes it, e.g. 营业收入（万元）."""
        return f"{self.header}（{self.unit}）" if self.unit else self.header


class ProblemSpec(_Frozen):
    """One entry of the problem catalogue."""

    code: str
    level: Level
    title: str
    message: str
    hint: str


class Limits(_Frozen):
    """What one uploaded file may hold (`limits` in filing.yaml); beyond any of them the file is refused whole."""

    file_mb: int
    unpacked_mb: int
    unpacked_ratio: int
    columns: int
    sheets: int
    sheet_cells: int


class Memory(_Frozen):
    """What is held in memory at a time (`memory` in filing.yaml): DuckDB's limit for the store, beyond which it
    spills to disk, and the pieces a file is read in and a run is written in."""

    store_mb: int
    csv_block_mb: int
    parquet_rows: int
    xlsx_cut_mb: int
    run_rows: int
    workbook_rows: int


class Contract(_Frozen):
    version: int
    fields: tuple[FieldSpec, ...]
    money_units: dict[str, Decimal]
    count_units: tuple[str, ...]
    percent_units: tuple[str, ...]
    missing: tuple[str, ...]
    booleans: dict[str, tuple[str, ...]]
    total_markers: tuple[str, ...]
    header_search_rows: int
    header_min_matches: int
    header_key_fields: tuple[str, ...]
    jump_ratio: Decimal
    first_year: int
    limits: Limits
    memory: Memory
    problems: dict[str, ProblemSpec]
    cities: dict[str, str]
    province_prefix: str
    chains: dict[str, tuple[str, ...]]
    header_lookup: dict[str, str]  # folded header text (canonical or alias) -> field name

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def institution_levels(self) -> list[str]:
        """The R&D-institution levels a filing can give above 无 (the first choice), lowest first."""
        return list(self.field("rd_institution").choices)[1:]

    def problem(self, code: str) -> ProblemSpec:
        return self.problems[code]

    @property
    def chain_names(self) -> frozenset[str]:
        names = set(self.chains)
        for directions in self.chains.values():
            names.update(directions)
        return frozenset(names)


def fold(text: str) -> str:
    """Fold a header or cell the way the contract matches it: full-width to half-width, no spaces, upper case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def _header_lookup(fields: tuple[FieldSpec, ...]) -> dict[str, str]:
    return {fold(text): spec.name for spec in fields for text in (spec.header, *spec.aliases)}


@cache
def load_contract(schemas_dir: Path = SCHEMAS_DIR) -> Contract:
    filing = read_yaml(schemas_dir / "filing.yaml")
    fields = tuple(FieldSpec(**spec) for spec in filing["fields"])
    problems = read_yaml(schemas_dir / "problems.yaml")["problems"]
    cities = read_yaml(schemas_dir / "cities.yaml")
    chains = read_yaml(schemas_dir / "chains.yaml")["chains"]
    return Contract(
        version=filing["version"],
        fields=fields,
        money_units={unit: Decimal(factor) for unit, factor in filing["units"]["money"].items()},
        count_units=tuple(filing["units"]["count"]),
        percent_units=tuple(filing["units"]["percent"]),
        missing=tuple(filing["missing"]),
        booleans={key: tuple(str(v) for v in values) for key, values in filing["booleans"].items()},
        total_markers=tuple(filing["total_markers"]),
        header_search_rows=filing["header_search_rows"],
        header_min_matches=filing["header_min_matches"],
        header_key_fields=tuple(filing["header_key_fields"]),
        jump_ratio=Decimal(str(filing["jump_ratio"])),
        first_year=filing["first_year"],
        limits=Limits(**filing["limits"]),
        memory=Memory(**filing["memory"]),
        problems={code: ProblemSpec(code=code, **spec) for code, spec in problems.items()},
        cities={**cities["cities"], **cities["legacy_prefixes"]},
        province_prefix=cities["province_prefix"],
        chains={chain: tuple(directions) for chain, directions in chains.items()},
        header_lookup=_header_lookup(fields),
    )

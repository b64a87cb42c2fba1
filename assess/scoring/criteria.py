"""The four sub-judgements of 三高一核心 (研发投入占比高, 复合增长率高, 市场占有率高, 拥有核心硬科技), each from the
rules of the criteria pack the classifier configuration names: a run keeps whether each holds, and the sentence
saying why is the criteria pack's message, evaluated where the reasons are shown."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from assess.features import view_for
from assess.rules.engine import evaluate_rules
from assess.rules.packs import RuleSet
from assess.scoring.config import CRITERIA, ClassifierConfig


def criteria_query(rules: RuleSet, config: ClassifierConfig, year: int, credit_code: str | None = None) -> exp.Expr:
    """Per firm with a filing in the year (or one firm): credit_code and each criterion, true when any of its rules
    flags the firm, null where open for missing data (SQL's OR: true if any holds, else null if any is open)."""
    pack = {r.id.split(".", 1)[1]: r for r in rules.pack(config.spec.criteria_pack).rules}
    holds = {short: f"({r.population_sql} AND {r.condition_sql})" for short, r in pack.items()}
    columns = ", ".join(
        f"({' OR '.join(holds[name] for name in config.spec.criteria[key].rules)}) AS {key}" for key in CRITERIA
    )
    firm = "" if credit_code is None else f" AND credit_code = {exp.Literal.string(credit_code).sql()}"
    view = view_for([r.population_sql + r.condition_sql for r in pack.values()])
    return sqlglot.parse_one(f"SELECT credit_code, {columns} FROM {view} WHERE year = {year:d}{firm}", read="duckdb")


def criteria(
    con: duckdb.DuckDBPyConnection,
    rules: RuleSet,
    config: ClassifierConfig,
    year: int,
    firms: Sequence[str],
) -> pl.DataFrame:
    """Per firm of `firms` (credit codes) with a filing in the year: each criterion (as `criteria_query` decides it)
    and `message_<criterion>`, the sentence explaining it."""
    evaluated = evaluate_rules(con, rules.pack(config.spec.criteria_pack).rules, year, firms)
    outputs = [pl.col("credit_code")]
    for key in CRITERIA:
        names = config.spec.criteria[key].rules
        outputs.append(pl.any_horizontal([pl.col(f"holds_{r}") for r in names]).alias(key))
        outputs.append(pl.coalesce([pl.col(f"message_{r}") for r in names]).alias(f"message_{key}"))
    return evaluated.select(outputs)

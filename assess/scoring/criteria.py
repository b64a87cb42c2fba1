"""The four sub-judgements of 三高一核心 (研发投入占比高, 复合增长率高, 市场占有率高, 拥有核心硬科技), each from the
rules of the criteria pack the classifier configuration names: a run keeps whether each holds, and the sentence
saying why is the criteria pack's message, evaluated where the reasons are shown."""

from __future__ import annotations

import duckdb
import polars as pl

from assess.features import view_for
from assess.rules.engine import evaluate_rules
from assess.rules.packs import RuleSet
from assess.scoring.config import CRITERIA, ClassifierConfig


def criteria(
    con: duckdb.DuckDBPyConnection,
    rules: RuleSet,
    config: ClassifierConfig,
    year: int,
    credit_code: str | None = None,
    *,
    messages: bool = False,
) -> pl.DataFrame:
    """Per firm with a filing in the year (or one firm): each criterion (true when any of its rules flags the firm,
    null where open for missing data) and, with `messages`, `message_<criterion>`, the sentence explaining it."""
    pack = rules.pack(config.spec.criteria_pack).rules
    if messages:
        evaluated = evaluate_rules(con, pack, year, credit_code)
    else:  # the verdicts alone, without a sentence for every firm
        holds = ", ".join(f"{r.population_sql} AND {r.condition_sql} AS holds_{r.id.split('.', 1)[1]}" for r in pack)
        evaluated = con.sql(
            f"""SELECT credit_code, {holds} FROM {view_for([r.population_sql + r.condition_sql for r in pack])}
                WHERE year = $year AND ($code IS NULL OR credit_code = $code)""",
            params={"year": year, "code": credit_code},
        ).pl()
    outputs = [pl.col("credit_code")]
    for key in CRITERIA:
        names = config.spec.criteria[key].rules
        outputs.append(pl.any_horizontal([pl.col(f"holds_{r}") for r in names]).alias(key))
        if messages:
            outputs.append(pl.coalesce([pl.col(f"message_{r}") for r in names]).alias(f"message_{key}"))
    return evaluated.select(outputs)

"""The long tables of the managers' workbook, streamed from a stored run a batch at a time: each list's firms with the
reasons of their ranking value (rendered per batch from the factors the run kept), the 一清零 and 一提升 firms with
what they filed, and the data problems with the 待补数据 rows of the run's open verdicts. Each is in the order the
workbook shows it, sorted by the store; with a city, only that city's firms (and problems on its accepted rows)."""

from __future__ import annotations

from functools import cache

import polars as pl

from assess.kernel.unknown import UNKNOWN as UNKNOWN_WORD
from assess.kernel.unknown import VERDICT_TITLES, to_fill_expr
from assess.outputs.rows import Rows, streamed
from assess.run import runs, stats
from assess.run.config import Config
from assess.run.context import RunContext
from assess.run.reasons import leading
from assess.scoring.config import CRITERIA
from assess.store import Store
from assess.tiers.packs import LoadedTier
from assess.tiers.select import CLOSEST, UNKNOWN

STATUS_WORDS = {"selected": "入选", "near": "接近", UNKNOWN: "待补数据", CLOSEST: "未入选（本市最接近）"}
TO_FILL = "I-TO-FILL"  # the problem code of a verdict a missing input left open
_VALUE_SHOWN = 100  # characters of a raw value 数据问题 shows
# The columns of 数据问题's content: where (city and firm, upload, file, sheet, row, column), what and what to do.
_PROBLEM_FIELDS = (
    "city", "credit_code", "upload_id", "file", "sheet", "row", "column", "code", "level", "value", "message", "hint",
)  # fmt: skip
# The order of the firm tables: the official order of the cities, as 汇总 lists them, then by credit code; rows
# without either last.
_IN_CITY_ORDER = "list_position($cities, city) NULLS LAST, credit_code NULLS LAST"


def list_rows(store: Store, run: runs.Run, config: Config, tier: LoadedTier, city: str | None, closest: bool) -> Rows:
    """The list's selected, near and open firms (with `closest`, its closest firms too: a city's list with nobody
    selected), 入选 in rank order, then the others by their position among the eligible firms."""
    statuses = ["selected", "near", UNKNOWN, *([CLOSEST] if closest else [])]
    rendered = ", ".join(f"s.{c}" for c in [*CRITERIA, "scored", "score_source", "stage", "rd_intensity_needed"])
    sql = f"""
        SELECT t.status, t.rank, t.position, t.credit_code, s.name, s.city, s.chain, s.direction, t.value, s.score,
               s."index", s.rd_intensity, t.gates, t.lacks, {rendered},
               {", ".join(f"s.{c}" for c in runs.REASON_COLUMNS)}, f.revenue
        FROM tier_results AS t JOIN scores AS s USING (run_id, credit_code)
        LEFT JOIN ({_filed_sql(store, ["revenue"])}) AS f USING (credit_code)
        WHERE t.run_id = $run AND t.list_id = $list AND list_contains($statuses, t.status)
          AND ($city IS NULL OR s.city = $city)
        ORDER BY t.status <> 'selected',
                 CASE WHEN t.status <> $closest THEN coalesce(t.rank, t.position) END NULLS LAST,
                 t.rank NULLS LAST, t.position NULLS LAST, t.credit_code
    """
    params = {"run": run.run_id, "list": tier.id, "statuses": statuses, "city": city, "closest": CLOSEST}
    context = cache(lambda: RunContext(store, config, run.year))  # the feature views, installed once if needed

    def shape(batch: pl.DataFrame) -> pl.DataFrame:
        said = leading(store, config, run, tier, batch, context)
        return batch.select(
            status=pl.col("status").replace_strict(STATUS_WORDS),
            rank=pl.when(pl.col("status") != CLOSEST).then(pl.coalesce("rank", "position")),
            credit_code="credit_code",
            name="name",
            city="city",
            chain="chain",
            direction="direction",
            value="value",
            score="score",
            index="index",
            rd_intensity="rd_intensity",
            revenue="revenue",
            gates="gates",
            reasons=said.list.join("；"),
            lacks="lacks",
            **(_criteria() if "criteria_met" in tier.columns else {}),
        )

    return streamed(store.con, sql, params | {"year": run.year}, store.contract.memory.workbook_rows, shape)


def _criteria() -> dict[str, pl.Expr]:
    """Each 三高一核心 sub-judgement as 符合/不符合/待补数据, and the number met."""
    words = {
        c: pl.col(c).replace_strict(VERDICT_TITLES, default=UNKNOWN_WORD, return_dtype=pl.String) for c in CRITERIA
    }
    met = pl.sum_horizontal([pl.col(c).fill_null(False).cast(pl.Int64) for c in CRITERIA])
    return {**words, "criteria_met": met}


def hit_rows(store: Store, run: runs.Run, rule_id: str, city: str | None, fields: list[str]) -> Rows:
    """The firms a rule flagged, with the values they filed of `fields` and the rule's message."""
    sql = f"""
        SELECT h.credit_code, h.name, h.city, h.chain, h.direction, {", ".join(f"f.{f}" for f in fields)}, h.message
        FROM rule_hits AS h LEFT JOIN ({_filed_sql(store, fields)}) AS f USING (credit_code)
        WHERE h.run_id = $run AND h.rule_id = $rule AND ($city IS NULL OR h.city = $city) AND h.verdict
        ORDER BY {_IN_CITY_ORDER}
    """
    params = {"run": run.run_id, "rule": rule_id, "city": city, "year": run.year, "cities": _cities(store)}
    return streamed(store.con, sql, params, store.contract.memory.workbook_rows)


def _filed_sql(store: Store, fields: list[str]) -> str:
    """The query of the filed values of the year `$year` (money as 万元 floats)."""
    money = {spec.name for spec in store.contract.fields if spec.kind == "money"}
    columns = ", ".join(f"CAST({f} AS DOUBLE) AS {f}" if f in money else f for f in fields)
    return f"SELECT credit_code, {columns} FROM filings WHERE year = $year"


def _cities(store: Store) -> list[str]:
    return list(dict.fromkeys(store.contract.cities.values()))


def problem_rows(store: Store, run: runs.Run, config: Config, city: str | None) -> Rows:
    """The problems of the run's uploads, with the city and credit code of the filing on their row (none for a row
    that was not accepted), then per firm the run's open verdicts (`_to_fill`) at the row of its filing in force; in
    the cities' order, then by credit code; a firm's problems in the order found, its open verdicts after them."""
    sql = f"""
        SELECT * EXCLUDE (part, upload_at, seq) FROM (
            SELECT f.city, f.credit_code, p.upload_id, u.file_name AS file, p.sheet, p.row_number AS row,
                   p.column_header AS column, p.code, p.level, p.value, p.message, p.hint,
                   0 AS part, list_position($uploads, p.upload_id) AS upload_at, p.seq
            FROM problems AS p JOIN uploads AS u USING (upload_id)
            LEFT JOIN (SELECT DISTINCT upload_id, sheet, row_number, city, credit_code FROM filing_versions
                       WHERE list_contains($uploads, upload_id)) AS f
              ON f.upload_id = p.upload_id AND f.sheet IS NOT DISTINCT FROM p.sheet AND f.row_number = p.row_number
            WHERE list_contains($uploads, p.upload_id)
            UNION ALL BY NAME
            SELECT f.city, f.credit_code, f.upload_id, u.file_name AS file, f.sheet, f.row_number AS row,
                   NULL AS column, $code AS code, 'info' AS level, NULL AS value, o.said AS message, $hint AS hint,
                   1 AS part, 0 AS upload_at, 0 AS seq
            FROM open_verdicts AS o JOIN filings AS f USING (credit_code) JOIN uploads AS u USING (upload_id)
            WHERE f.year = $year
        )
        WHERE $city IS NULL OR city = $city
        ORDER BY {_IN_CITY_ORDER}, part, upload_at, seq
    """
    params = {
        "uploads": run.manifest["uploads"], "code": TO_FILL, "hint": store.contract.problems[TO_FILL].hint,
        "year": run.year, "city": city, "cities": _cities(store),
    }  # fmt: skip
    opened = {"open_verdicts": _to_fill(store, run, config, city).to_arrow()}
    return streamed(store.con, sql, params, store.contract.memory.workbook_rows, _shown_problems, opened)


def _shown_problems(batch: pl.DataFrame) -> pl.DataFrame:
    return batch.with_columns(value=_shortened(pl.col("value"))).select(_PROBLEM_FIELDS)


def _shortened(value: pl.Expr) -> pl.Expr:
    """A raw value of more than `_VALUE_SHOWN` characters (a paragraph pasted into a name, say) as its beginning and
    its length: the sheet shows what the value was, the uploaded file keeps it whole."""
    length = value.str.len_chars()
    beginning = value.str.slice(0, _VALUE_SHOWN)
    return pl.when(length > _VALUE_SHOWN).then(pl.format("{}……（共{}字）", beginning, length)).otherwise(value)


def _to_fill(store: Store, run: runs.Run, config: Config, city: str | None) -> pl.DataFrame:
    """Per firm, what the run's open verdicts (待补数据) say to fill in: the 一清零 and 一提升 rules, the rubrics and
    the lists, in that order (credit_code, said)."""
    found = []
    for role in (stats.NO_RD, stats.INSTITUTION):
        rule = stats.role_rule(run.manifest, role)
        title = config.rules.role(role).pack.title.split("：")[0]
        open_ = runs.hits(store, run, rule, city, unknown=True).filter(pl.col("verdict").is_null())
        found.append(
            open_.select("credit_code", said=pl.format("{}：请补填{}", pl.lit(title), to_fill_expr(pl.col("missing"))))
        )
    for pack in config.rules.packs:
        if pack.rubric is None:
            continue
        named = pl.lit(pack.pack.title.split("（")[0])
        said = pl.format("{}：无法判断，请补填{}", named, to_fill_expr(pl.col("missing")))
        found.append(runs.rubric_open(store, run, pack.id).select("credit_code", said=said))
    for tier in config.tiers:
        open_ = runs.tier_results(store, run, tier.id, (UNKNOWN,))
        found.append(open_.select("credit_code", said=pl.format("{}：{}", pl.lit(tier.pack.title), pl.col("lacks"))))
    return pl.concat(found).group_by("credit_code", maintain_order=True).agg(pl.col("said").str.join("；"))

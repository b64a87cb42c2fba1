"""What the report shows, read from the store: the year's figures and their trend since the first year, the lists
with their funnels, the uploads and their problems, the packs and thresholds. Nothing here formats or draws.

Every number the page shows is looked up here by a path into an object the command line prints with --json
(`stats`, `lists`, `uploads`, `problems`), so that a test can hold each one against its source.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from assess.run import runs
from assess.run.config import Config
from assess.run.figures import year_figures
from assess.store import Store
from assess.tiers.evaluate import lack_kind
from assess.tiers.funnel import funnel_text, harshest_gate
from assess.tiers.packs import LoadedTier
from assess.tiers.select import NEAR, SELECTED

UNPLACED = "未定地市"  # problems on rows not accepted, or on a whole sheet: no stored filing tells their city


@dataclass(frozen=True)
class ListPart:
    id: str
    title: str
    quota: int
    ranked_by: str
    summary: str | None
    selected: pl.DataFrame  # rank, credit_code, name, city, chain, value
    by_city: dict[str, int]
    by_chain: dict[str, int]
    funnel: pl.DataFrame  # step, kind, label, firms
    funnel_text: str  # the funnel in one line
    harshest: tuple[str, int] | None
    near: int
    near_lacks: list[tuple[str, int]]  # the commonest reasons a near firm is not on the list


@dataclass(frozen=True)
class Upload:
    upload_id: int
    file: str
    uploaded_at: dt.datetime
    cities: list[str]
    counts: dict[str, int]  # rows_read, accepted, rejected, skipped, warnings
    problems: dict[str, int]  # by code (in a city's report, on that city's rows only)
    by_city: dict[str, dict[str, int]]  # by code, then by city in the official order (UNPLACED last)


@dataclass(frozen=True)
class ReportContent:
    year: int
    city: str | None
    cities: list[str]  # the cities shown, in the official order
    run: runs.Run
    figures: dict[int, dict]  # by year (the years with a run up to this one): the `stats --json` object
    lists: list[ListPart]
    scores: pl.Series  # the 三高一核心 scores of the firms scored (for the distribution)
    cutoff: float
    uploads: list[Upload]
    problem_titles: dict[str, str]  # the catalogue's title of every problem code
    missing: list[tuple[str, int]]  # inputs most often missing (待补数据), with the firms lacking them
    jumps: list[dict]  # filings whose figures jumped (W-JUMP): name, city, column, said
    packs: list[dict]  # from the run's manifest: id, title, version, file, sha256
    model: dict
    parameters: list[dict] = field(default_factory=list)  # pack, name, title, value, unit, basis
    # the model's card as it was trained: labels, calibration by score band, the check on the latest year
    card: dict = field(default_factory=dict)


def report_content(store: Store, run: runs.Run, config: Config, city: str | None) -> ReportContent:
    contract = store.contract
    cities = [city] if city else list(dict.fromkeys(contract.cities.values()))
    years = [y for y in range(contract.first_year, run.year + 1) if _has_run(store, y)]
    figures = {y: year_figures(store, run if y == run.year else runs.latest(store, y)) for y in years}
    scored = runs.scores(store, run)
    if city:
        scored = scored.filter(pl.col("city") == city)
    return ReportContent(
        year=run.year,
        city=city,
        cities=cities,
        run=run,
        figures=figures,
        lists=[_list_part(store, run, tier, city) for tier in config.tiers],
        scores=scored["score"].drop_nulls(),
        cutoff=float(config.scoring.classifier.spec.value("cutoff")),
        uploads=_uploads(store, run, city),
        problem_titles={code: spec.title for code, spec in contract.problems.items()},
        missing=_missing(store, run, city),
        jumps=_jumps(store, run, city),
        packs=[
            {k: p.get(k) for k in ("id", "title", "version", "file", "sha256")}
            for p in [*run.manifest["packs"], *run.manifest.get("tiers", [])]
        ],
        model=run.manifest.get("scoring", {}).get("model", {}),
        parameters=_parameters(config, run.manifest),
        card=_card(store, run.manifest.get("scoring", {}).get("model", {})),
    )


def _card(store: Store, model: dict) -> dict:
    """The registered model's training report (n_train, n_positive, calibration, temporal, ...); empty without one."""
    if model.get("fallback", True):
        return {}
    found = store.con.execute("SELECT report FROM models WHERE model_id = ?", [model["model_id"]]).fetchall()
    return json.loads(found[0][0]) if found else {}


def _has_run(store: Store, year: int) -> bool:
    return bool(store.con.execute("SELECT count(*) FROM runs WHERE year = ?", [year]).fetchall()[0][0])


def _list_part(store: Store, run: runs.Run, tier: LoadedTier, city: str | None) -> ListPart:
    list_id = tier.id
    frame = runs.tier_results(store, run, list_id, (SELECTED, NEAR))
    if city:
        frame = frame.filter(pl.col("city") == city)
    selected = frame.filter(pl.col("status") == SELECTED)
    near = frame.filter(pl.col("status") == NEAR)
    lacks = Counter(lack_kind(text) for text in near["lacks"].drop_nulls().to_list())
    funnel = runs.funnel(store, run, list_id, city)
    return ListPart(
        id=list_id,
        title=tier.pack.title,
        quota=tier.allocation.quota,
        ranked_by=tier.rank_title,
        summary=tier.summary,
        selected=selected.select("rank", "credit_code", "name", "city", "chain", "value"),
        by_city=dict(Counter(selected["city"].to_list())),
        by_chain=dict(Counter(c or "（未标明产业链）" for c in selected["chain"].to_list())),
        funnel=funnel,
        funnel_text=funnel_text(funnel, tier.allocation.quota),
        harshest=harshest_gate(funnel) if not funnel.is_empty() else None,
        near=near.height,
        near_lacks=lacks.most_common(3),
    )


def _uploads(store: Store, run: runs.Run, city: str | None) -> list[Upload]:
    """The uploads the run read, each with the cities of its filings and its problems by code."""
    found = []
    for upload_id in run.manifest.get("uploads", []):
        record = store.upload(upload_id)
        cities = sorted(
            {
                str(row[0])
                for row in store.con.execute(
                    "SELECT DISTINCT city FROM filing_versions WHERE upload_id = ? AND city IS NOT NULL", [upload_id]
                ).fetchall()
            }
        )
        if city and city not in cities:
            continue
        problems = store.problems(upload_id, placed=True)
        if city:
            problems = problems.filter(pl.col("city") == city)
        found.append(
            Upload(
                upload_id=upload_id,
                file=record["file_name"],
                uploaded_at=record["uploaded_at"],
                cities=cities,
                counts={k: int(record[k]) for k in ("rows_read", "accepted", "rejected", "skipped", "warnings")},
                problems=dict(Counter(problems["code"].to_list())),
                by_city=_by_city(problems, list(dict.fromkeys(store.contract.cities.values()))),
            )
        )
    return found


def _by_city(problems: pl.DataFrame, cities: list[str]) -> dict[str, dict[str, int]]:
    """Problems by code, then by the city of the filing on their row; a row that was not accepted has no city
    the store can vouch for, and counts under UNPLACED."""
    order = {name: i for i, name in enumerate([*cities, UNPLACED])}
    counted = Counter(zip(problems["code"].to_list(), problems["city"].fill_null(UNPLACED).to_list(), strict=True))
    found: dict[str, dict[str, int]] = {}
    for (code, place), n in sorted(counted.items(), key=lambda item: (item[0][0], order.get(item[0][1], len(order)))):
        found.setdefault(code, {})[place] = n
    return found


def _missing(store: Store, run: runs.Run, city: str | None) -> list[tuple[str, int]]:
    """The inputs whose absence left a verdict open (待补数据), by the firms lacking each, most first."""
    from assess.kernel.unknown import to_fill

    rows = store.con.execute(
        """
        SELECT credit_code, unnest(missing) FROM rule_hits
        WHERE run_id = ? AND verdict IS NULL AND (? IS NULL OR city = ?)
        """,
        [run.run_id, city, city],
    ).fetchall()
    firms: dict[str, set[str]] = {}
    for code, name in rows:
        firms.setdefault(to_fill([name]), set()).add(code)
    return sorted(((name, len(codes)) for name, codes in firms.items()), key=lambda item: (-item[1], item[0]))[:10]


def _jumps(store: Store, run: runs.Run, city: str | None) -> list[dict]:
    """The filings whose figures jumped from the year before (W-JUMP) in the uploads the run read: the firm, its
    city, the column and what changed."""
    uploads = run.manifest.get("uploads", [])
    if not uploads:
        return []
    rows = store.con.execute(
        f"""
        SELECT DISTINCT f.name, f.city, p.column_header, p.message FROM problems AS p
        JOIN filing_versions AS f
          ON f.upload_id = p.upload_id AND f.sheet IS NOT DISTINCT FROM p.sheet AND f.row_number = p.row_number
        WHERE p.code = 'W-JUMP' AND p.upload_id IN ({", ".join("?" * len(uploads))}) AND (? IS NULL OR f.city = ?)
        ORDER BY f.city, f.name, p.column_header
        """,
        [*uploads, city, city],
    ).fetchall()
    # the message after its place in the file (文件「…」工作表「…」第N行「…」列：)
    return [{"name": n, "city": c, "column": col, "said": m.split("列：", 1)[-1]} for n, c, col, m in rows]


def _parameters(config: Config, manifest: dict) -> list[dict]:
    """Every parameter the run used, with its title, unit and basis from the rule folder."""
    used = {p["id"]: p.get("parameters", {}) for p in [*manifest["packs"], *manifest.get("tiers", [])]}
    specs = [(p.id, p.pack.title, p.pack.parameters) for p in config.rules.packs]
    specs += [(t.id, t.pack.title, t.pack.parameters) for t in config.tiers]
    return [
        {
            "pack": title,
            "name": name,
            "title": spec.title,
            "value": used.get(pack_id, {}).get(name, spec.value),
            "unit": spec.unit,
            "basis": spec.basis,
        }
        for pack_id, title, parameters in specs
        for name, spec in parameters.items()
    ]

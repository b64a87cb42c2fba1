"""What goes into the managers' workbook, gathered from one stored run: its uploads, versions and every threshold
it used, the summary by city and by chain, the 一清零 and 一提升 firms, the three lists with their near misses, and
the data problems. With a city, only that city's firms (and problems on its accepted rows) are included."""

from __future__ import annotations

import datetime as dt
from typing import cast

import polars as pl

from assess import display
from assess.chains import read_chain_map
from assess.kernel.spec import Parameter
from assess.outputs.lists_rows import hit_rows, list_rows, problem_rows
from assess.outputs.lists_workbook import PROVINCE, TOTAL, ListSheet, ListsWorkbook, RdRow, TargetRow, Threshold
from assess.reference import load_reference
from assess.run import runs, stats
from assess.run.config import Config
from assess.sizes import bounds_text, read_size_table
from assess.store import Store
from assess.tiers.funnel import EXCLUDED, funnel_text, harshest_gate
from assess.tiers.packs import LoadedTier

_CARRIED = (display.PERCENT, display.SCORE)  # units `display.value` writes in the number (10%) or leaves unsaid


def _shown(value: object, unit: str | None) -> str:
    """A parameter's value with its unit, as 说明 lists it: 5000万元, 10%, 第70百分位, 500人, 0.5 (a score), 是."""
    text = display.value(value, unit)
    if unit is None or unit in _CARRIED or isinstance(value, bool | list | tuple):
        return text
    return f"第{text}百分位" if unit == display.PERCENTILE else text + unit


def thresholds(config: Config, manifest: dict) -> tuple[Threshold, ...]:
    """Every parameter the run used, with the value it used, from the packs, populations, scoring and tiers."""
    used: dict[str, dict] = {p["id"]: p["parameters"] for p in manifest["packs"]}
    scoring = manifest.get("scoring", {})
    used |= {f"scoring.{name}": scoring[name]["parameters"] for name in ("classifier", "index") if name in scoring}
    used |= {f"tier.{t['id']}": t["parameters"] for t in manifest.get("tiers", [])}
    sources: list[tuple[str, str, dict[str, Parameter]]] = [
        ("人群定义（rules/populations.yaml）", "", config.rules.populations.spec.parameters),
        *((f"{p.pack.title}（rules/{p.path.name}）", p.id, p.pack.parameters) for p in config.rules.packs),
        (f"{config.scoring.classifier.spec.title}（rules/scoring/classifier.yaml）", "scoring.classifier",
         config.scoring.classifier.spec.parameters),
        (f"{config.scoring.index.spec.title}（rules/scoring/innovation_index.yaml）", "scoring.index",
         config.scoring.index.spec.parameters),
        *((f"{t.pack.title}（rules/tiers/{t.path.name}）", f"tier.{t.id}", t.pack.parameters) for t in config.tiers),
        ("规划目标（rules/targets.yaml）", "targets", dict(config.targets.targets)),
    ]  # fmt: skip
    found = []
    for source, key, parameters in sources:
        values = used.get(key, {})
        for name, parameter in parameters.items():
            value = values.get(name, parameter.value)
            found.append(Threshold(source, name, parameter.title, _shown(value, parameter.unit), parameter.basis))
    return tuple(found)


def size_thresholds(config: Config, store: Store) -> tuple[Threshold, ...]:
    """The size bands of each sector, as the 说明 sheet lists thresholds."""
    table = read_size_table(config.size_classes, load_reference(store.contract))
    source = f"企业规模划型（rules/{config.size_classes.name}）"
    return tuple(
        Threshold(source, "、".join(s.codes), f"{s.title}：大型/中型/小型下限", bounds_text(s), table.basis)
        for s in table.sectors
    )


def _headline(figures: dict | None, city: str | None) -> dict:
    """The run's headline figures as 汇总 shows them: a province workbook gets the targets and the R&D by city and
    by chain; a city workbook the R&D of its own firms only."""
    if figures is None:
        return {}
    rd = figures["rd"]
    if city is not None:
        return {"rd_by_city": (_rd_row(city, rd["by_city"].get(city, {})),)}
    return {
        "targets": tuple(_target_row(t) for t in figures["targets"]),
        "rd_by_city": (*(_rd_row(k, v) for k, v in rd["by_city"].items()), _rd_row(TOTAL, rd["province"])),
        "rd_by_chain": tuple(_rd_row(k, v) for k, v in rd["by_flagship_chain"].items()),
    }


def _target_row(target: dict) -> TargetRow:
    unit = "%" if target.get("unit") == "比例" else "家"

    def shown(value: float | None) -> str:
        if value is None:
            return display.MISSING
        return f"{value:.1%}" if unit == "%" else f"{value:,.0f}家"

    return TargetRow(
        target["title"], shown(target["value"]), shown(target["target"]), target["gap"], target["basis"],
        target["said"], target["quote"],
    )  # fmt: skip


def _rd_row(key: str, figure: dict) -> RdRow:
    return RdRow(
        key, figure.get("firms", 0), figure.get("rd"), figure.get("revenue"), figure.get("intensity"),
        figure.get("rd_previous"), figure.get("growth"),
    )  # fmt: skip


def chain_map_threshold(config: Config, store: Store) -> Threshold:
    """The chain map as one entry of the thresholds: our default, how many rows, and the direction it cannot place."""
    rows = read_chain_map(config.chain_map, store.contract)
    mapped = {row.direction for row in rows if not row.excludes}
    unplaced = [d for directions in store.contract.chains.values() for d in directions if d not in mapped]
    words = f"按行业代码归入方向的对照表，{len(rows)}行（其中{sum(row.excludes for row in rows)}行把代码排除在外）"
    if unplaced:
        words += f"；{'、'.join(unplaced)}没有对应的行业代码，只按企业申报的产业链或方向计入"
    return Threshold(f"产业链对照表（rules/{config.chain_map.name}）", "chain_map", words, f"{len(rows)}行", "default")


def _amount(wan: float) -> str:
    """An amount in 万元 as a heading reads it: 10000 -> 1亿元, 5000 -> 5000万元."""
    return f"{display.value(wan / 10000, None)}亿元" if wan >= 10000 else f"{display.value(wan, None)}万元"


def versions(manifest: dict) -> pl.DataFrame:
    rows = [(f"规则包 {p['id']}（{p['file']}）", str(p["version"]), p["sha256"]) for p in manifest["packs"]]
    rows += [("人群定义", "", manifest["populations"]["sha256"]), ("产业链对照表", "", manifest["chain_map"]["sha256"])]
    if "size_classes" in manifest:  # recorded from the run that first read the size bands from their own file
        rows.append(("企业规模划型", "", manifest["size_classes"]["sha256"]))
    scoring = manifest.get("scoring", {})
    for name in ("classifier", "index"):
        if name in scoring:
            rows.append((f"评分配置 {scoring[name]['file']}", str(scoring[name]["version"]), scoring[name]["sha256"]))
    model = scoring.get("model")
    if model is not None:
        rows.append(
            ("评分模型：未训练（标注不足，以创新能力指数代替）", "", "")
            if model["fallback"]
            else (f"评分模型 第{model['model_id']}号（{model['file']}）", "", model["sha256"])
        )
    rows += [(f"清单规则 {t['file']}", str(t["version"]), t["sha256"]) for t in manifest.get("tiers", [])]
    rows += [(f"软件 {name}", version, "") for name, version in manifest["packages"].items()]
    return pl.DataFrame(rows, schema=["item", "version", "sha256"], orient="row")


def _selected(store: Store, run: runs.Run, tier: LoadedTier, city: str | None) -> pl.DataFrame:
    """The city and chain of each firm the list selected (in the city, with one)."""
    found = runs.tier_results(store, run, tier.id, ("selected",)).select("city", "chain")
    return found if city is None else found.filter(pl.col("city") == city)


def _list_sheet(
    store: Store, run: runs.Run, config: Config, tier: LoadedTier, city: str | None, selected: pl.DataFrame
) -> ListSheet:
    """A list's sheet (a city's list with nobody selected shows its closest firms too) with its funnel for the
    workbook's area, and the funnel in words."""
    funnel = runs.funnel(store, run, tier.id, city)
    nobody = city is not None and selected.is_empty()
    worst = harshest_gate(funnel) if not funnel.is_empty() else None
    harshest = [f"筛掉企业最多的门槛：{worst[0]}（减少{worst[1]}家）。"] if worst is not None and worst[1] else []
    steps = ["筛选过程：" + funnel_text(funnel, tier.allocation.quota)] if funnel.height else []
    said = [*(["本市无入选企业；清单工作表列出本市最接近入选的企业。"] if nobody else []), *steps, *harshest]
    lines = [*(["本市无入选企业；上表为本市最接近入选的企业及其差距。"] if nobody else []), *harshest]
    shown = funnel.with_columns(
        label=pl.when(pl.col("kind") == EXCLUDED).then(pl.format("排除：{}", "label")).otherwise("label")
    )
    rows = list_rows(store, run, config, tier, city, closest=nobody)
    return ListSheet(
        tier.id, tier.pack.sheet, rows, tier.rank_title, "criteria_met" in tier.columns, tier.pack.title, shown,
        tuple(said), tuple(lines),
    )  # fmt: skip


def _summary(
    store: Store, run: runs.Run, selected: dict[str, pl.DataFrame], city: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The counts of 汇总 by city and by chain; `selected` holds the city and chain of each list's selected firms."""
    counts = runs.counts(store, run)
    figures = stats.targets(counts, run.year, store.contract, run.manifest)
    target = float(figures["thresholds"]["coverage_target"])
    cities = [city] if city else list(figures["no_rd"]["by_city"])
    by_city = pl.DataFrame(
        [
            {
                "key": name,
                **{k: selected[k].filter(pl.col("city") == name).height for k in selected},
                "no_rd": figures["no_rd"]["by_city"].get(name, 0),
                "no_rd_unknown": figures["no_rd_unknown"]["by_city"].get(name, 0),
                **_coverage_columns(figures["institution_coverage"]["by_city"][name]),
                "inst_target": target,
            }
            for name in cities
        ]
    )
    no_rd = runs.hits(store, run, stats.role_rule(run.manifest, stats.NO_RD), city, unknown=True)
    coverage = (
        stats.city_chain_coverage(counts, run.year, city, store.contract, run.manifest)
        if city
        else figures["institution_coverage"]["by_flagship_chain"]
    )
    rows = []
    for chain in store.contract.chains:
        in_chain = no_rd.filter(pl.col("chain") == chain)
        rows.append(
            {
                "key": chain,
                **{k: selected[k].filter(pl.col("chain") == chain).height for k in selected},
                "no_rd": in_chain.filter(pl.col("verdict")).height,
                "no_rd_unknown": in_chain.filter(pl.col("verdict").is_null()).height,
                # A run saved before counts by city and chain were kept leaves a city's coverage by chain blank.
                **_coverage_columns(coverage[chain] if coverage else None),
                "inst_target": target,
            }
        )
    counted = {name: pl.Int64 for name in ("inst_firms", "inst_covered", "inst_unknown", "inst_needed")}
    return by_city, pl.DataFrame(rows, schema_overrides=counted)


def _coverage_columns(figures: dict | None) -> dict:
    """A coverage figure of `stats.coverage` as the 汇总 columns; blank when the run kept none."""
    names = {"inst_firms": "firms", "inst_covered": "covered", "inst_unknown": "unknown", "inst_needed": "needed"}
    return {column: figures[key] if figures else None for column, key in names.items()} | {
        "inst_rate": figures["rate"] if figures else None
    }


def workbook_content(
    store: Store, run: runs.Run, config: Config, city: str | None = None, notes: tuple[str, ...] = ()
) -> ListsWorkbook:
    uploads = store.uploads().filter(pl.col("upload_id").is_in(run.manifest["uploads"]))
    selected = {tier.id: _selected(store, run, tier, city) for tier in config.tiers}
    by_city, by_chain = _summary(store, run, selected, city)
    floor = stats.role_pack(run.manifest, stats.INSTITUTION)["parameters"]["revenue_min"]
    model = run.manifest.get("scoring", {}).get("model", {})
    source = (
        "三高一核心评分：标注不足，未训练模型，评分为创新能力指数 / 100。"
        if model.get("fallback", True)
        else f"三高一核心评分：第{model['model_id']}号模型（经校准的概率），按企业分组交叉验证 ROC AUC "
        f"{model['cv']['roc_auc']:.3f}。"
    )
    titles = {p.id: p.pack.title for p in config.rules.packs}
    standing = (
        source,
        "排名相同时，研发投入强度高者在前，再按统一社会信用代码升序。",
        "“接近”：符合全部门槛但名额已满、排名紧随其后的企业（个数见各清单的 near_share），或三高一核心评分略低于"
        "评分线的企业，“差距”列说明所差。“待补数据”：能判断的门槛都符合、但缺少某个门槛所需数据的企业，不入选，"
        "“差距”列说明应补填什么。",
        "研发机构覆盖率计入的研发机构级别："
        + "、".join(stats.institution_levels(run.manifest, store.contract))
        + "（参数 institution_levels）。",
        *(f"{tier.pack.title}：{tier.summary}" for tier in config.tiers if tier.summary),
        *(
            f"{titles.get(pack, pack)}：符合{n['passed']}家，不符合{n['failed']}家，"
            f"待补数据{n['unknown']}家（缺少判断所需数据，见“数据问题”）。"
            for pack, n in (runs.rubric_counts(store, run).items() if city is None else ())
        ),
        *(
            f"{p.pack.title}：“符合”只是按填报数据预筛，以下条件无法从填报核查：{'；'.join(p.pack.cannot_check)}。"
            for p in config.rules.packs
            if p.pack.cannot_check
        ),
    )
    return ListsWorkbook(
        year=run.year,
        scope=f"{city}市" if city else PROVINCE,
        run_id=run.run_id,
        data_as_of=cast(dt.datetime, uploads["uploaded_at"].max()) if uploads.height else run.created_at,
        written_at=dt.datetime.now().replace(microsecond=0),
        uploads=uploads.select("upload_id", "file_name", "sha256", "uploaded_at"),
        versions=versions(run.manifest),
        thresholds=(
            *thresholds(config, run.manifest),
            *size_thresholds(config, store),
            chain_map_threshold(config, store),
        ),
        notes=(*standing, *notes),
        institution_floor=_amount(floor),
        by_city=by_city,
        by_chain=by_chain,
        no_rd=hit_rows(store, run, stats.role_rule(run.manifest, stats.NO_RD), city, ["revenue", "rd_expense"]),
        no_institution=hit_rows(
            store, run, stats.role_rule(run.manifest, stats.INSTITUTION), city, ["revenue", "rd_institution"]
        ),
        lists=tuple(_list_sheet(store, run, config, tier, city, selected[tier.id]) for tier in config.tiers),
        **_headline(runs.figures(store, run), city),
        problems=problem_rows(store, run, config, city),
    )

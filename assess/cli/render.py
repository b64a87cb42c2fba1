"""What the command line prints: Chinese tables for people (on stdout), notices and errors on stderr, JSON on stdout.

Tables show only what a reader needs to act on; full data goes to --json and the Excel files.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assess.access import payloads

# For annotations only: every command loads this module, `assess --help` included, so polars is imported by the
# functions that use it.
if TYPE_CHECKING:
    import polars as pl

    from assess.ingest.upload import IngestResult
    from assess.kernel.expressions import Scalar
    from assess.run.runs import Run
    from assess.store.upkeep import Check
    from assess.tiers.packs import LoadedTier

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LEVELS = {"error": "错误", "warning": "警告", "info": "提示"}


def notice(message: str) -> None:
    err.print(escape(message))


def run_source(run: Run) -> None:
    notice(f"以下结果来自 {run.year} 年度第 {run.run_id} 次评估（{run.created_at:%Y-%m-%d %H:%M}）。")


def error(message: str) -> None:
    err.print(f"[red]错误：[/red]{escape(message)}")


def warning(message: str) -> None:
    err.print(f"[yellow]注意：[/yellow]{escape(message)}")


def json_out(payload: object) -> None:
    sys.stdout.write(payloads.dumps(payload))
    sys.stdout.write("\n")


def ingest_summary(results: list[IngestResult], workbooks: dict[int, Path]) -> None:
    for i, r in enumerate(results):
        if r.error:
            out.print(f"[bold]{escape(r.file)}[/bold]：[red]未导入[/red]（{escape(r.error)}）")
            continue
        again = f"（与第 {r.upload_id} 批完全相同，未重复导入）" if r.duplicate_upload else ""
        out.print(
            f"[bold]{escape(r.file)}[/bold]{again}：上传批次 {r.upload_id}；读取 {r.rows_read} 行，"
            f"接收 {r.accepted}，拒收 {r.rejected}，跳过 {r.skipped}，警告 {r.warnings}。"
        )
        if r.replaced:
            out.print(
                f"  替换了 {r.replaced} 条已有填报（同一信用代码、同一年度的旧版本不再有效；"
                f"撤回本批次可恢复：assess retract {r.upload_id}）。"
            )
        common = Counter(r.problems["code"].to_list()).most_common(5) if r.problems.height else []
        if common:
            out.print("  最常见的问题：" + "，".join(f"{code} × {n}" for code, n in common))
        if i in workbooks:
            out.print(f"  问题清单已写入：{escape(str(workbooks[i]))}")


def _score(value: float | None) -> str:
    """A score or ranking value with three decimals, never rounded into a cut-off (0.498 stays below 0.500)."""
    from assess.display import score

    return "—" if value is None else score(value)


def _cell(value: object) -> str:
    """Money (decimals in 万元, and floats) as 12,344.44; everything else as it is."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    return str(value)


# Columns whose text is never broken (a credit code cut in two cannot be searched for); every other column folds.
_WHOLE = {"credit_code": len("91370100MA3C5JXW2K")}
# Columns of numbers already written as text (three-decimal scores), aligned as numbers.
_FIGURES = {"value", "score", "index"}


def new_table(title: str) -> Table:
    """A table that fits an 80-column terminal: rules under the header only, no side borders."""
    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")


def add_column(table: Table, header: str, *, right: bool = False, whole: int | None = None) -> None:
    """A column whose header and cells fold onto more lines rather than being cut; `whole` keeps text unbroken."""
    table.add_column(
        header, justify="right" if right else "left", no_wrap=whole is not None, min_width=whole, overflow="fold"
    )


def _table(title: str, frame: pl.DataFrame, columns: dict[str, str]) -> None:
    """`columns` in the order a reader needs them: what to act on first, where it is (codes, rows) last."""
    table = new_table(title)
    for name, header in columns.items():
        numeric = name in _FIGURES or (frame.schema[name].is_numeric() if name in frame.schema else False)
        add_column(table, header, right=numeric, whole=_WHOLE.get(name) or (1 if numeric else None))
    for row in frame.select(list(columns)).iter_rows():
        table.add_row(*[_cell(v) for v in row])
    out.print(table)


def filings_table(frame: pl.DataFrame) -> None:
    _table(
        f"当前有效的填报（共 {frame.height} 条；金额单位：万元；全部字段见 --json）",
        frame,
        {
            "name": "企业名称",
            "year": "年度",
            "city": "地市",
            "revenue": "营业收入",
            "rd_expense": "研发费用",
            "rd_institution": "研发机构",
            "credit_code": "统一社会信用代码",
        },
    )


def uploads_table(frame: pl.DataFrame) -> None:
    import polars as pl

    shown = frame.with_columns(
        state=pl.when(pl.col("retracted_at").is_null()).then(pl.lit("有效")).otherwise(pl.lit("已撤回")),
        uploaded_at=pl.col("uploaded_at").dt.strftime("%Y-%m-%d %H:%M"),
    )
    _table(
        "上传批次",
        shown,
        {
            "upload_id": "批次",
            "file_name": "文件",
            "uploaded_at": "时间",
            "rows_read": "读取",
            "accepted": "接收",
            "rejected": "拒收",
            "skipped": "跳过",
            "warnings": "警告",
            "state": "状态",
        },
    )


def problems_table(frame: pl.DataFrame) -> None:
    """Each problem before its place in the file (the file is named once, in the title), then its code."""
    import polars as pl

    from assess.ingest.problems import location, prefix

    files = "、".join(frame["file"].unique(maintain_order=True).to_list())
    shown = frame.with_columns(
        where=location(),
        said=pl.col("message").str.strip_prefix(prefix()),
        code=pl.format("{} {}", pl.col("level").replace_strict(LEVELS), "code"),
    )
    _table(
        f"文件「{files}」的问题（共 {frame.height} 个）", shown, {"said": "问题", "where": "位置", "code": "级别和代码"}
    )


def year_table(frame: pl.DataFrame) -> None:
    _table("各年度当前有效填报", frame, {"year": "年度", "filings": "企业数", "cities": "地市数"})


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _larger(summary: dict) -> str:
    return f"营业收入{summary['thresholds']['institution_revenue_min']}万元以上企业"


def stats_summary(summary: dict) -> None:
    coverage = summary["institution_coverage"]
    province = coverage["province"]
    thresholds = summary["thresholds"]
    target = _rate(thresholds["coverage_target"])
    unknown_no_rd = summary.get("no_rd_unknown", {}).get("province", 0)
    out.print(
        f"[bold]{summary['year']} 年度[/bold]：营业收入{thresholds['no_rd_revenue_min']}万元以上、"
        f"无研发活动的企业 {summary['no_rd']['province']} 家（目标清零"
        + (f"；另有 {unknown_no_rd} 家待补数据" if unknown_no_rd else "")
        + f"）；{_larger(summary)}研发机构覆盖率 {_rate(province['rate'])}"
        f"（{province['covered']}/{province['firms'] - province['unknown']}，目标 {target} 左右"
        + (f"；另有 {province['unknown']} 家待补数据" if province["unknown"] else "")
        + "）。"
    )
    out.print(f"计入覆盖率的研发机构级别：{'、'.join(thresholds['institution_levels'])}。")
    if province["needed"]:
        out.print(f"还需 {province['needed']} 家建立研发机构，覆盖率方可达到 {target}。")
    for pack, counted in summary.get("rubrics", {}).items():
        out.print(
            f"{counted.get('title', pack)}：符合 {counted['passed']} 家，不符合 {counted['failed']} 家，"
            f"待补数据 {counted['unknown']} 家（详见 assess rubric --pack {pack}）。"
        )
    headline = summary.get("headline")
    if headline:
        for name in ("no_rd", "institution_coverage"):
            if name in headline["quotes"]:
                out.print(f"[dim]依据 [政策]：方案{escape(headline['quotes'][name])}[/dim]")
        _headline(headline)
    out.print(
        f"下表中，无研发：营业收入{thresholds['no_rd_revenue_min']}万元以上、无研发活动的企业；"
        f"大企业：{_larger(summary)}；有机构：其中有研发机构的；还需：覆盖率达到{target}还需新建研发机构的企业数；"
        "清零待补、提升待补：缺少判断所需数据的企业数（单位均为家）。"
    )
    for key, title in (("by_city", "各市"), ("by_flagship_chain", "各标志性产业链"), ("by_chain", "各产业链方向")):
        table = new_table(title)
        headers = ("名称", "无研发", "覆盖率", "还需", "大企业", "有机构", "清零待补", "提升待补")
        for i, header in enumerate(headers):
            add_column(table, header, right=i > 0)
        for name, no_rd in summary["no_rd"][key].items():
            c = coverage[key][name]
            unknown = summary.get("no_rd_unknown", {}).get(key, {}).get(name, 0)
            table.add_row(
                name,
                str(no_rd),
                _rate(c["rate"]),
                str(c["needed"]),
                str(c["firms"]),
                str(c["covered"]),
                str(unknown),
                str(c["unknown"]),
            )
        out.print(table)


def _headline(headline: dict) -> None:
    """The plan's headline targets with their gaps and sources, then the R&D of 规上工业 firms by city."""
    out.print("[bold]规划目标[/bold]")
    for target in headline["targets"]:
        out.print(f"  {escape(target['said'])}")
        out.print(f"  [dim]依据 [政策]：方案{escape(target['quote'])}[/dim]")
    rd = headline["rd"]
    table = new_table("规上工业企业研发经费（R&D经费内部支出，未填的用研发费用）")
    for header in ("地市", "企业数", "研发经费（万元）", "研发投入强度", "比上年增长"):
        add_column(table, header, right=header != "地市")
    for name, figure in [*rd["by_city"].items(), ("全省", rd["province"])]:
        spent = "—" if figure["rd"] is None else f"{figure['rd']:,.2f}"
        table.add_row(name, str(figure["firms"]), spent, _rate(figure["intensity"]), _rate(figure["growth"]))
    out.print(table)


def flags_table(frame: pl.DataFrame, titles: dict[str, str]) -> None:
    """One table per rule, its title the rule's: each firm with the reason first, where it is after."""
    import polars as pl

    flagged = frame.filter(pl.col("verdict")).height
    out.print(f"被标记的企业 {flagged} 家次；缺少判断所需数据（待补数据）{frame.height - flagged} 家次。")
    for (rule_id,), hits in frame.group_by("rule_id", maintain_order=True):
        marked = hits.filter(pl.col("verdict")).height
        _table(
            f"{titles.get(str(rule_id), rule_id)}：标记 {marked} 家，待补数据 {hits.height - marked} 家",
            hits,
            {"name": "企业名称", "message": "原因", "city": "地市", "credit_code": "统一社会信用代码"},
        )


def rubric_table(frame: pl.DataFrame, pack: str, indicators: dict[str, str], cannot_check: tuple[str, ...]) -> None:
    """Each firm's verdict with what decided it (a failed gate, a fast track, the score, a missing input); the points
    per indicator are in --json and `assess explain`."""
    import polars as pl

    from assess.kernel.unknown import VERDICT_TITLES

    shown = frame.with_columns(
        verdict=pl.col("verdict").replace_strict(
            {True: VERDICT_TITLES[True], False: VERDICT_TITLES[False]}, default=pl.lit(VERDICT_TITLES[None])
        ),
        score=pl.col("score").map_elements(lambda v: f"{v:g}", return_dtype=pl.String),
    )
    verdicts = frame["verdict"]
    _table(
        f"{pack}：符合 {verdicts.sum()} 家，不符合 {(~verdicts).sum()} 家，待补数据 {verdicts.null_count()} 家"
        f"（共 {frame.height} 家）",
        shown,
        {
            "name": "企业名称",
            "verdict": "结论",
            "decided_by": "依据",
            "score": "得分",
            "city": "地市",
            "credit_code": "统一社会信用代码",
        },
    )
    out.print(f"各指标（{'、'.join(indicators.values())}）的得分见 --json 或 assess explain。")
    if cannot_check:
        out.print("“符合”只是按填报数据预筛，以下条件无法从填报核查：")
        for condition in cannot_check:
            out.print(f"  · {escape(condition)}")


def simulation_table(frame: pl.DataFrame, overrides: dict[str, Scalar], titles: dict[str, str]) -> None:
    import polars as pl

    changed = "，".join(f"{k} = {v}" for k, v in overrides.items())
    _table(
        f"假设分析（{changed}）：各市被标记企业数的变化（未保存）",
        frame.with_columns(
            key=pl.col("key").fill_null("全省"),
            rule=pl.col("rule_id").replace_strict(titles, default=pl.col("rule_id")),
        ),
        {
            "rule": "规则",
            "key": "地区",
            "population": "适用企业",
            "hits": "现标记",
            "population_new": "改后适用",
            "hits_new": "改后标记",
            "change": "变化",
        },
    )


def list_simulation_table(
    frame: pl.DataFrame,
    overrides: dict[str, Scalar],
    titles: dict[str, str],
    statuses: dict[str | None, str],
    run_id: int,
) -> None:
    """Every status of every list for the province; a city only where its count moves."""
    import polars as pl

    changed = "，".join(f"{k} = {v}" for k, v in overrides.items())
    if frame.filter((pl.col("before") > 0) | (pl.col("after") > 0)).is_empty():
        out.print(f"假设分析（{escape(changed)}）：改动前后都没有企业进入任何培育清单（按第 {run_id} 次评估的评分）。")
        return
    shown = frame.filter(pl.col("city").is_null() | (pl.col("change") != 0))
    _table(
        f"假设分析（{changed}）：培育清单的变化（按第 {run_id} 次评估的评分，未保存）",
        shown.with_columns(
            list=pl.col("list_id").replace_strict(titles, default=pl.col("list_id")),
            area=pl.col("city").fill_null("全省"),
            state=pl.col("status").replace_strict(statuses, default=pl.col("status")),
        ),
        {"list": "清单", "area": "地区", "state": "状态", "before": "现有", "after": "改后", "change": "变化"},
    )


def trend_table(figures: list[dict]) -> None:
    table = new_table("一清零一提升：逐年进展（全省）")
    target = _rate(figures[-1]["thresholds"]["coverage_target"])
    for header in (
        "年度",
        "无研发活动（家，目标清零）",
        _larger(figures[-1]),
        "有研发机构",
        f"覆盖率（目标{target}左右）",
    ):
        add_column(table, header, right=header != "年度")
    for f in figures:
        c = f["institution_coverage"]["province"]
        table.add_row(str(f["year"]), str(f["no_rd"]["province"]), str(c["firms"]), str(c["covered"]), _rate(c["rate"]))
    out.print(table)


def _metric_line(name: str, metrics: dict) -> str:
    return (
        f"{name}：样本 {metrics['n']}（确认 {metrics['n_positive']}），ROC AUC {metrics['roc_auc']:.3f}，"
        f"PR AUC {metrics['pr_auc']:.3f}，Brier {metrics['brier']:.3f}"
    )


def train_summary(trained: dict, card: Path | None) -> None:
    out.print(f"训练样本 {trained['n_train']} 条：专家确认 {trained['n_positive']}，否决 {trained['n_negative']}。")
    if trained["fallback"]:
        out.print(trained["message"])
        return
    out.print(_metric_line("按企业分组交叉验证", trained["cv"]))
    for name, why in trained.get("left_out", {}).items():
        out.print(escape(f"未使用的特征 {name}：{why}。"))
    if trained.get("temporal"):
        t = trained["temporal"]
        out.print(_metric_line(f"时间检验（检验 {t['test_year']} 年）", t))
    out.print(f"模型编号 {trained['model_id']}，SHA-256 {trained['sha256'][:16]}…；模型卡：{escape(str(card))}")


def model_summary(model: dict) -> None:
    """Which model a run's scores came from (from its manifest)."""
    if model["fallback"]:
        notice(model["reason"])
        return
    cv = model["cv"]
    notice(
        f"三高一核心评分模型：第 {model['model_id']} 号（{model['file']}），"
        f"按企业分组交叉验证 ROC AUC {cv['roc_auc']:.3f}，PR AUC {cv['pr_auc']:.3f}，Brier {cv['brier']:.3f}。"
    )


def exported_model(model: dict | None) -> str:
    """What an export says of its scoring model (from its manifest)."""
    if model is None:
        return (
            "库中还没有按当前专家评审结果训练的评分模型，未导出模型：Spark 上评估前请先运行 assess train 再重新导出。"
        )
    if model["record"] is None:
        return f"未导出模型：{model['report']['message']}"
    return f"评分模型第 {model['record']['model_id']} 号一并导出（{model['record']['file']}）。"


def scores_table(frame: pl.DataFrame, limit: int) -> None:
    import polars as pl

    shown = frame.head(limit).with_columns(
        score=pl.col("score").map_elements(_score, return_dtype=pl.String),
        index=pl.col("index").round(1),
        first=pl.col("reasons").list.first(),
        source=pl.col("score_source").replace_strict({"model": "模型", "index": "指数代替"}, default=None),
    )
    _table(
        f"三高一核心评分（共 {frame.height} 家，显示前 {min(limit, frame.height)} 家）",
        shown,
        {
            "city": "地市",
            "credit_code": "统一社会信用代码",
            "name": "企业名称",
            "score": "评分",
            "source": "来源",
            "index": "创新能力指数",
            "first": "首要原因",
        },
    )


def list_table(
    frame: pl.DataFrame, title: str, ranked_by: str, quota: int, limit: int, statuses: tuple[str, ...] = ("selected",)
) -> None:
    import polars as pl

    from assess.tiers.select import STATUS_TITLES

    quota_text = f"名额 {quota} 家" if quota else "不设名额"
    columns = {
        "rank": "排名",
        "name": "企业名称",
        "city": "地市",
        "value": ranked_by,
        "credit_code": "统一社会信用代码",
    }
    if statuses != ("selected",):  # why each firm is where it is, before where it is
        columns = {"state": "状态", "name": "企业名称", "value": ranked_by, "lacks": "差距", "city": "地市"}
    _table(
        f"{title}：{frame.height} 家（{quota_text}；按{ranked_by}排序，显示前 {min(limit, frame.height)} 家）",
        frame.head(limit).with_columns(
            value=pl.col("value").map_elements(_score, return_dtype=pl.String),
            state=pl.col("status").replace_strict(STATUS_TITLES, default=pl.col("status")).str.split("（").list.first(),
        ),
        columns,
    )


def lists_by_year(lists: dict[int, dict[str, pl.DataFrame]], tiers: tuple[LoadedTier, ...], limit: int) -> None:
    """Each list with a column per year: the firm's rank that year (blank where it was not on the list)."""
    import polars as pl

    for tier in tiers:
        frames = [
            frame.select("credit_code", "name", "city", pl.col("rank").alias(str(year)))
            for year, by_id in lists.items()
            if (frame := by_id.get(tier.id)) is not None
        ]
        if not frames:
            continue
        wide = (
            pl.concat(frames, how="diagonal")
            .group_by("credit_code", maintain_order=True)
            .agg(
                pl.col("name").drop_nulls().last(),
                pl.col("city").drop_nulls().last(),
                *(pl.col(str(y)).max() for y in lists),
            )
        )
        wide = wide.sort([pl.col(str(y)) for y in reversed(list(lists))], nulls_last=True)
        years = {str(y): f"{y}排名" for y in lists}
        _table(
            f"{tier.pack.title}：{len(lists)} 个年度共 {wide.height} 家入选（显示前 {min(limit, wide.height)} 家）",
            wide.head(limit),
            {"name": "企业名称", "city": "地市", **years},
        )


def flags_by_year(hits: dict[int, pl.DataFrame], titles: dict[str, str]) -> None:
    """Per rule and year the flagged and unknown counts, then each firm with its mark per year (● 标记, ? 待补数据)."""
    import polars as pl

    years = [str(y) for y in hits]
    long = pl.concat(
        [
            frame.select("rule_id", "credit_code", "name", "city", "verdict", year=pl.lit(str(y)))
            for y, frame in hits.items()
        ]
    )
    if long.is_empty():
        out.print(f"{years[0]}—{years[-1]} 年度都没有被标记或待补数据的企业。")
        return
    counts = (
        long.group_by("rule_id", "year")
        .agg(flagged=pl.col("verdict").sum(), unknown=pl.col("verdict").null_count())
        .with_columns(said=pl.format("{} (待补{})", "flagged", "unknown"))
        .pivot("year", index="rule_id", values="said")
        .with_columns(rule=pl.col("rule_id").replace_strict(titles, default=pl.col("rule_id")))
    )
    _table(
        "逐年被标记的企业数（括号内为待补数据）",
        counts,
        {"rule": "规则", **{y: y for y in years if y in counts.columns}},
    )
    marks = long.with_columns(
        mark=pl.when(pl.col("verdict")).then(pl.lit("●")).otherwise(pl.lit("?")),
        rule=pl.col("rule_id").replace_strict(titles, default=pl.col("rule_id")),
    ).pivot("year", index=["rule", "credit_code", "name", "city"], values="mark")
    _table(
        f"逐年标记情况（● 被标记，? 待补数据；共 {marks.height} 家次）",
        marks.sort("rule", "city", "credit_code"),
        {"rule": "规则", "name": "企业名称", "city": "地市", **{y: y for y in years if y in marks.columns}},
    )


def stats_by_year(figures: list[dict]) -> None:
    """The province's trend, then per city a column per year: firms without R&D, and the institution coverage."""
    trend_table(figures)
    cities = list(figures[-1]["no_rd"]["by_city"])
    for title, cell in (
        ("各市无研发活动企业数（目标清零）", lambda f, c: str(f["no_rd"]["by_city"].get(c, 0))),
        (
            f"各市研发机构覆盖率（目标{_rate(figures[-1]['thresholds']['coverage_target'])}左右）",
            lambda f, c: _rate(f["institution_coverage"]["by_city"].get(c, {}).get("rate")),
        ),
    ):
        table = new_table(title)
        add_column(table, "地市")
        for f in figures:
            add_column(table, str(f["year"]), right=True)
        for city in cities:
            table.add_row(city, *(cell(f, city) for f in figures))
        out.print(table)


def explanation(found: dict) -> None:
    """`assess explain` for people: the firm, its rule results, its score and index, each list's gates."""
    from assess.kernel.unknown import VERDICT_TITLES

    out.print(
        f"[bold]{found['name']}[/bold]（{found['credit_code']}），{found['city']}，"
        f"{found['chain'] or '不属标志性产业链'}；{found['year']} 年度第 {found['run_id']} 次评估。"
    )
    if found["changes_since_run"]:
        out.print(
            "[bold yellow]注意：下面的规则结果和清单门槛按现在的填报和规则文件重算，清单状态、排名和评分是该次评估的；"
        )
        for change in found["changes_since_run"]:
            out.print(f"[yellow]  · {escape(change)}[/yellow]")
        out.print("[yellow]  两者可能不一致，重新评估（assess run）后再看。[/yellow]")
    out.print("[bold]规则结果[/bold]")
    for rule in found["rules"]:
        said, title = rule["message"], rule["title"]
        text = said if said and said.startswith(title.split("（")[0]) else f"{title}：{said}" if said else title
        if not rule.get("applies", True):
            out.print(f"  – 不适用 {escape(title)}：{escape('；'.join(rule['outside']))}")
            continue
        mark = "? 待补数据" if rule["flagged"] is None else "● 标记" if rule["flagged"] else "○ 未标记"
        out.print(f"  {mark} {escape(text)}")
    for rubric in found["rubrics"]:
        verdict = VERDICT_TITLES[rubric["verdict"]]
        if rubric["decided_by"]:
            verdict += f"（{rubric['decided_by']}）"
        if rubric["verdict"] is None:
            verdict += f"，请补填{rubric['to_fill']}"
        elif rubric["verdict"] and rubric["cannot_check"]:
            verdict += f"；仅为预筛，另须核查：{'；'.join(rubric['cannot_check'])}"
        score = "—" if rubric["score"] is None else f"{rubric['score']:g}"  # None: an unknown indicator
        out.print(f"  {escape(rubric['title'])}：得分 {score}，{escape(verdict)}")
    score = found["score"]
    out.print("[bold]评分与指数[/bold]")
    if score["score"] is not None:
        source = "模型" if score["source"] == "model" else "创新能力指数代替"
        out.print(f"  三高一核心评分 {_score(score['score'])}（{source}）")
        for reason in score["reasons"]:
            out.print(f"    · {escape(reason)}")
    else:
        out.print("  不在三高一核心评分范围（标志性产业链领域的中小企业）")
    out.print(f"  创新能力指数 {score['index']:.1f}")
    for reason in score["index_reasons"]:
        out.print(f"    · {escape(reason)}")
    out.print("[bold]培育清单[/bold]")
    for listed in found["lists"]:
        place = f"，排名第 {listed['rank']}" if listed["rank"] else ""
        place += f"（符合门槛企业中第 {listed['position']}）" if listed["position"] else ""
        out.print(f"  {listed['title']}：{listed['status_text']}{place}")
        for gate in listed["gates"]:
            mark = "?" if gate["passed"] is None else "✓" if gate["passed"] else "✗"
            out.print(f"    {mark} {escape(gate['title'])}：{escape(gate['detail'])}")
        if listed["lacks"]:
            out.print(f"    差距：{escape(listed['lacks'])}")


def show_lists(
    lists: dict[str, pl.DataFrame],
    tiers: tuple[LoadedTier, ...],
    limit: int,
    statuses: tuple[str, ...] = ("selected",),
    funnels: dict[str, pl.DataFrame] | None = None,
    nearest: dict[str, pl.DataFrame] | None = None,
) -> None:
    by_id = {tier.id: tier for tier in tiers}
    for list_id, frame in lists.items():
        tier = by_id[list_id]
        list_table(frame, tier.pack.title, tier.rank_title, tier.allocation.quota, limit, statuses)
        if funnels is not None:
            funnel_lines(funnels.get(list_id), tier.allocation.quota)
        if nearest and list_id in nearest:
            if nearest[list_id].is_empty():  # no firm of the city filed that year
                out.print("本市无入选企业。")
                continue
            out.print("本市无入选企业。最接近的企业：")
            list_table(nearest[list_id], f"{tier.pack.title}（本市最接近的企业）", tier.rank_title, 0, limit, ("near",))


def funnel_lines(steps: pl.DataFrame | None, quota: int) -> None:
    """How the list came to its length: the firms left after each gate, those excluded, the selected."""
    from assess.tiers.funnel import funnel_text, harshest_gate

    if steps is None or steps.is_empty():
        out.print("（该次评估未记录筛选过程：重新评估后可见。）")
        return
    out.print("筛选过程：" + escape(funnel_text(steps, quota)))
    worst = harshest_gate(steps)
    if worst is not None and worst[1]:
        out.print(f"筛掉企业最多的门槛：{escape(worst[0])}（减少 {worst[1]} 家）。")


def unmapped_table(frame: pl.DataFrame, year: int) -> None:
    _table(
        f"{year} 年度不属于任何产业链方向的企业，按行业代码（共 {frame['firms'].sum()} 家，{frame.height} 个代码）",
        frame,
        {
            "industry_code": "行业代码",
            "industry_name": "行业名称",
            "firms": "企业数",
            "declared_chain": "其中申报了产业链",
            "excluded_by": "对照表中的排除理由",
        },
    )


def users_table(found: list[dict]) -> None:
    """The web app's users and whether each has a token in force; never a password's hash or a token."""
    from assess.access.accounts import ROLE_TITLES

    if not found:
        notice("还没有网页用户：用 assess user add 添加。")
        return
    table = new_table(f"网页用户（共 {len(found)} 个）")
    for header in ("用户名", "角色", "地市", "添加时间", "停用时间", "API 令牌"):
        add_column(table, header)
    for user in found:
        table.add_row(
            escape(user["name"]),
            ROLE_TITLES[user["role"]],
            user["city"] or "",
            f"{user['created_at']:%Y-%m-%d %H:%M}",
            f"{user['disabled_at']:%Y-%m-%d %H:%M}" if user["disabled_at"] else "",
            "有" if user["has_token"] else "无",
        )
    out.print(table)


def audit_table(frame: pl.DataFrame, start: dt.date | None) -> None:
    """The audit log, oldest first; refused accesses in red. Names and details are shown as typed, never as markup."""
    from assess.access.audit import ACTION_TITLES, OUTCOME_TITLES, REFUSED

    since = f"{start:%Y-%m-%d} 以来" if start else "全部"
    if frame.is_empty():
        notice(f"审计日志中没有记录（{since}）。")
        return
    table = new_table(f"审计日志（{since}，共 {frame.height} 条）")
    for header in ("时间", "用户", "操作", "对象", "结果", "说明"):
        add_column(table, header)
    for row in frame.iter_rows(named=True):
        outcome = OUTCOME_TITLES.get(row["outcome"], row["outcome"])
        table.add_row(
            f"{row['logged_at']:%Y-%m-%d %H:%M:%S}",
            escape(row["user_name"] or ""),
            escape(ACTION_TITLES.get(row["action"], row["action"])),
            escape(row["object"] or ""),
            f"[red]{outcome}[/red]" if row["outcome"] == REFUSED else escape(outcome),
            escape(row["detail"] or ""),
        )
    out.print(table)


def checks_table(checks: list[Check]) -> None:
    """Each check of `assess doctor`: passed or not, and what it found."""
    table = new_table(f"数据库检查（{sum(c.ok for c in checks)}/{len(checks)} 项正常）")
    add_column(table, "检查项")
    add_column(table, "结果")
    add_column(table, "发现")
    for check in checks:
        table.add_row(
            escape(check.name), "[green]正常[/green]" if check.ok else "[red]有问题[/red]", escape(check.detail)
        )
    out.print(table)

"""The report as one self-contained HTML page: the template (templates/report.html.j2, package data) filled from the
content, charts inline as SVG, CSS inline, no external URL.

Numbers reach the page through `number`, which looks each one up by its path in the object a command prints with
--json and writes that path beside it (data-src, data-path, data-value): the page can be checked against its sources.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from assess import display
from assess.outputs.saving import save_workbook
from assess.report import charts
from assess.report.content import ReportContent
from assess.resources import TEMPLATES_DIR

BASIS = {"policy": "[政策]", "official": "[官方]", "default": "[默认]"}
KINDS = {
    "count": charts.count,
    "rate": charts.percent,
    "score": display.score,
    "money": lambda v: f"{v:,.2f}",
    "metric": lambda v: f"{v:.3f}",  # a model's ROC AUC, Brier score, mean prediction: three decimals, rounded
}


def lookup(source: object, path: str) -> object:
    """The value at a dotted path (keys, or list positions) of a JSON-like object; None where it is absent."""
    found = source
    for key in path.split("."):
        if isinstance(found, Mapping):
            found = found.get(key)
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            return None
    return found


def number(src: str, source: object, path: str, kind: str = "count") -> Markup:
    """A number of the page: its value at `path` of `source` (the object `src` names), shown by its kind."""
    value = lookup(source, path)
    shown = charts.NO_DATA if value is None else KINDS[kind](float(value))  # type: ignore[arg-type]
    raw = "null" if value is None else str(value)
    return Markup(
        f'<span class="n" data-src="{escape(src)}" data-path="{escape(path)}" data-kind="{kind}" '
        f'data-value="{escape(raw)}">{escape(shown)}</span>'
    )


def render_report(content: ReportContent, synthetic: bool = False) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        c=content,
        charts=_charts(content),
        number=number,
        basis=BASIS,
        value_text=display.value,
        synthetic=synthetic,
        written_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def _charts(content: ReportContent) -> dict[str, Markup]:
    figures = content.figures[content.year]
    years = sorted(content.figures)
    coverage = figures["institution_coverage"]
    target = float(figures["thresholds"]["coverage_target"])
    drawn = {
        "coverage_by_city": charts.ranked_bars(
            {c: coverage["by_city"][c]["rate"] for c in content.cities},
            f"{content.year} 年各市研发机构覆盖率",
            "覆盖率",
            charts.percent,
            target,
        ),
        "no_rd_by_city": charts.ranked_bars(
            {c: figures["no_rd"]["by_city"][c] for c in content.cities},
            f"{content.year} 年各市无研发活动的企业数（目标清零）",
            "企业数（家）",
            charts.count,
        ),
        "no_rd_trend": charts.year_line(
            years,
            [_no_rd(content.figures[y], content.city) for y in years],
            "无研发活动的企业数",
            "家",
            charts.count,
            0,
        ),
        "coverage_trend": charts.year_line(
            years,
            [_area(content.figures[y]["institution_coverage"], content.city)["rate"] for y in years],
            "研发机构覆盖率",
            "覆盖率",
            charts.percent,
            target,
        ),
        "coverage_by_city_trend": charts.small_multiples(
            {c: [_area(content.figures[y]["institution_coverage"], c)["rate"] for y in years] for c in content.cities},
            years,
            "各市研发机构覆盖率逐年变化",
            charts.percent,
            target,
        ),
        "scores": charts.distribution(list(content.scores), content.cutoff, "三高一核心评分的分布"),
    }
    for part in content.lists:
        drawn[f"list_{part.id}"] = charts.ranked_bars(
            {c: float(part.by_city.get(c, 0)) for c in content.cities}, f"{part.title}：各市入选数", "家", charts.count
        )
    return {name: Markup(svg) for name, svg in drawn.items()}


def _no_rd(figures: dict, city: str | None) -> float:
    return float(figures["no_rd"]["province"] if city is None else figures["no_rd"]["by_city"][city])


def _area(coverage: dict, city: str | None) -> dict:
    return coverage["province"] if city is None else coverage["by_city"][city]


class _Page:
    """The page as `save_workbook` saves a file: whole, through a temporary file beside the target, or not at all."""

    def __init__(self, html: str) -> None:
        self.html = html

    def save(self, filename: str) -> None:
        Path(filename).write_text(self.html, encoding="utf-8")


def write_report(content: ReportContent, out: Path, synthetic: bool = False) -> Path:
    return save_workbook(_Page(render_report(content, synthetic)), out)


class _Printed:
    """The page printed to PDF by WeasyPrint (its print styles: A4, a section per page, table headers repeated)."""

    def __init__(self, page: Path) -> None:
        self.page = page

    def save(self, filename: str) -> None:
        import weasyprint

        weasyprint.HTML(filename=str(self.page)).write_pdf(filename)


def write_pdf(page: Path, out: Path) -> Path:
    return save_workbook(_Printed(page), out)

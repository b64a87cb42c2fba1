"""The report's charts, drawn by matplotlib into SVG with every label as a path of Noto Sans CJK (installed with
Debian's fonts-noto-cjk by the project's set-up), so that the page needs none of its reader's fonts. Grey shades and
hatching read in black-and-white print; a missing value is written as 无数据, never drawn as zero."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence

import matplotlib
import numpy as np

matplotlib.use("svg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

FONT = "Noto Sans CJK SC"
NO_DATA = "无数据"
BAR, TARGET, MUTED = "#4d4d4d", "#000000", "#b3b3b3"
WIDTH = 7.0  # inches: the page's text width

plt.rcParams.update(
    {
        "svg.fonttype": "path",  # glyphs as outlines: the page carries its own lettering
        "svg.hashsalt": "assess",  # the same chart gives the same file
        "font.family": [FONT],
        "font.size": 9,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

Format = Callable[[float], str]


def percent(value: float) -> str:
    return f"{value:.1%}"


def count(value: float) -> str:
    return f"{value:,.0f}"


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    # Inline in HTML the namespaces are implied, and the metadata would only name matplotlib's web addresses.
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)


def ranked_bars(
    values: dict[str, float | None], title: str, unit: str, shown: Format, target: float | None = None
) -> str:
    """Horizontal bars, largest first; a name without a value is listed last with 无数据; `target` a dashed line."""
    known = sorted(((k, v) for k, v in values.items() if v is not None), key=lambda kv: -kv[1])
    unknown = [k for k, v in values.items() if v is None]
    names = [k for k, _ in known] + unknown
    figure, axes = plt.subplots(figsize=(WIDTH, 0.28 * len(names) + 0.9))
    positions = range(len(names))
    axes.barh(list(positions)[: len(known)], [v for _, v in known], color=BAR, height=0.6)
    for i, (_, value) in enumerate(known):
        axes.annotate(shown(value), (value, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    for i in range(len(known), len(names)):
        axes.annotate(NO_DATA, (0, i), xytext=(3, 0), textcoords="offset points", va="center", color=MUTED)
    axes.set_yticks(list(positions), names)
    axes.invert_yaxis()
    axes.set_xlabel(unit)
    axes.set_title(title, loc="left")
    if target is not None:
        axes.axvline(target, color=TARGET, linestyle="--", linewidth=1)
        axes.annotate(f"目标 {shown(target)}", (target, -0.6), xytext=(2, 0), textcoords="offset points", fontsize=8)
    axes.set_xlim(0, max([v for _, v in known] + [target or 0, 1e-9]) * 1.18)
    if shown is count:  # whole firms: no tick between two counts
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(lambda value, _: shown(value))
    return _svg(figure)


def year_line(
    years: Sequence[int], values: Sequence[float | None], title: str, unit: str, shown: Format, target: float | None
) -> str:
    """One figure over the years against its target; a year without data is marked 无数据 on the axis."""
    figure, axes = plt.subplots(figsize=(WIDTH / 2, 2.4))
    _trend(axes, years, values, shown, target)
    axes.set_title(title, loc="left")
    axes.set_ylabel(unit)
    return _svg(figure)


def small_multiples(
    series: dict[str, Sequence[float | None]], years: Sequence[int], title: str, shown: Format, target: float | None
) -> str:
    """One small trend per name (city or chain) on a shared scale, four to a row."""
    columns = 4
    rows = math.ceil(len(series) / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(WIDTH, 1.5 * rows + 0.4), sharey=True, squeeze=False)
    for axes, (name, values) in zip(grid.flat, series.items(), strict=False):
        _trend(axes, years, values, shown, target, small=True)
        axes.set_title(name, fontsize=8)
    for axes in list(grid.flat)[len(series) :]:
        axes.set_visible(False)
    figure.suptitle(title, x=0.01, ha="left")
    figure.tight_layout()
    return _svg(figure)


def _trend(
    axes: Axes,
    years: Sequence[int],
    values: Sequence[float | None],
    shown: Format,
    target: float | None,
    *,
    small: bool = False,
) -> None:
    known = [(y, v) for y, v in zip(years, values, strict=True) if v is not None]
    if known:
        axes.plot([y for y, _ in known], [v for _, v in known], color=BAR, marker="o", markersize=3)
    for y, v in zip(years, values, strict=True):
        if v is None:
            axes.annotate(NO_DATA, (y, 0), ha="center", fontsize=7, color=MUTED)
        elif not small:
            axes.annotate(shown(v), (y, v), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8)
    if target is not None:
        axes.axhline(target, color=TARGET, linestyle="--", linewidth=1)
    axes.set_xticks(list(years), [str(y) for y in years], fontsize=7 if small else 8)
    axes.yaxis.set_major_formatter(lambda value, _: shown(value))


def distribution(scores: Sequence[float], cutoff: float, title: str) -> str:
    """The scores' histogram with the cut-off marked."""
    figure, axes = plt.subplots(figsize=(WIDTH / 2, 2.4))
    if scores:
        # One array, not a list: matplotlib checks a list's items one by one (seconds for a province's scores).
        axes.hist(np.asarray(scores, dtype=float), bins=20, range=(0, 1), color=BAR, edgecolor="white")
    else:
        axes.annotate(NO_DATA, (0.5, 0.5), xycoords="axes fraction", ha="center", color=MUTED)
    axes.axvline(cutoff, color=TARGET, linestyle="--", linewidth=1)
    axes.annotate(f"评分线 {cutoff:.3f}", (cutoff, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                  textcoords="offset points", fontsize=8)  # fmt: skip
    axes.set_xlabel("三高一核心评分")
    axes.set_ylabel("企业数（家）")
    axes.set_title(title, loc="left")
    return _svg(figure)

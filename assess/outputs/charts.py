"""The charts of the managers' workbook: counts per city (or chain) and the coverage against its target, their text
sized to print at 9 pt or more on a sheet scaled down to `printing.MIN_SCALE`."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun

CHART_HEIGHT = 7.5  # cm
_TEXT_SIZE = 1100  # hundredths of a point: 11 pt, as the cells
_TITLE_SIZE = 1200
_FEW = 5  # counts below this are marked one by one


def _text(size: int = _TEXT_SIZE) -> RichText:
    properties = CharacterProperties(sz=size)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=properties), endParaRPr=properties)])


def _title(text: str) -> Title:
    properties = CharacterProperties(sz=_TITLE_SIZE, b=True)
    run = RegularTextRun(rPr=properties, t=text)
    return Title(tx=Text(rich=RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=properties), r=[run])])))


def _bar_chart(title: str, number_format: str, width: float) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = _title(title)
    chart.width = width  # type: ignore[assignment]  # centimetres, any number; the stubs say int
    chart.height = CHART_HEIGHT
    chart.y_axis.number_format = number_format
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False  # without these, recent Excel hides both axes
    chart.y_axis.delete = False
    chart.x_axis.txPr = _text()
    chart.x_axis.tickLblSkip = 1  # every city or chain named
    chart.y_axis.txPr = _text()
    return chart


def count_chart(title: str, counts: Reference, categories: Reference, largest: int, width: float) -> BarChart:
    """One count per category (its header the series' name), on an axis of its own, marked in whole firms when
    the `largest` count is small (an axis up to 1 would be marked 0, 0.5, 1)."""
    chart = _bar_chart(title, "0", width)
    if largest < _FEW:
        chart.y_axis.majorUnit = 1
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = max(1, largest)
    chart.add_data(counts, titles_from_data=True)
    chart.set_categories(categories)
    chart.legend = None
    return chart


def coverage_chart(title: str, rates: Reference, targets: Reference, categories: Reference, width: float) -> BarChart:
    """The coverage of each category as bars, its target as a line over them, from 0 to 100%."""
    chart = _bar_chart(title, "0%", width)
    chart.add_data(rates, titles_from_data=True)
    chart.set_categories(categories)
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    target = LineChart()
    target.add_data(targets, titles_from_data=True)
    target.set_categories(categories)
    chart += target
    chart.legend.position = "b"
    chart.legend.txPr = _text()
    return chart

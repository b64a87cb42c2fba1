"""The managers' workbook on paper: a province and a city workbook of a real run, converted to PDF with LibreOffice
(as tests/test_pdf_conversion.py does) and measured: A4 landscape, no text under 9 pt, every cell of the firm sheets
whole in the PDF, the key columns repeated on every page across. Pictures of the pages of 说明, 汇总 and a list are
kept in $ASSESS_TEST_ARTEFACTS (build/test-artefacts/ by default) for a person to look at. The same workbooks show
what a reader relies on: the firms to act on and the data problems in the cities' order, the lists in rank order and
every parameter with its unit."""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pdfplumber
import polars as pl
import pypdfium2
import pytest

from assess import api, display
from assess.contract import load_contract
from assess.outputs.lists_rows import _shortened
from assess.outputs.printing import MIN_FONT_POINTS, cell_text, lines, measure, page_units, plan, shown
from tests.conftest import SMALL_YEAR, copy_store
from tests.test_pdf_conversion import convert_to_pdf

ARTEFACTS = Path(os.environ.get("ASSESS_TEST_ARTEFACTS") or Path(__file__).parent.parent / "build" / "test-artefacts")
CITY = "济南"
FIRM_SHEETS = ("研发活动清零", "研发机构提升", "三高一核心", "科技小巨人候选", "科技领军候选", "数据问题")
WIDE_LIST = "三高一核心"  # the list with the most columns: it prints on pages across
KEYS = ["序号", "状态", "排名", "统一社会信用代码", "企业名称"]
A4_LANDSCAPE = (841.9, 595.3)  # points
FOOTER = re.compile(r"(\S+)\s+第\s*(\d+)\s*页，共\s*(\d+)\s*页")
PICTURES = {"说明": 1, "汇总": 2, WIDE_LIST: 2}  # the first pages of each kept as pictures
MIN_PICTURE_BYTES = 20_000
# Parameters of the packaged rules (by their names in the rule files) and how 说明 reads their values.
UNITS = {
    "tech_staff_share_min": "10%",
    "coverage_target": "70%",
    "rd_pct_min": "第70百分位",
    "main_revenue_min": "2000万元",
    "pass_score": "60分",
    "employees_max": "500人",
    "cutoff": display.value(0.5, display.SCORE),
    "chain_only": "是",
}
MIN_INK = 0.01  # share of a page's pixels that are not white
WHITE = 250  # grey levels from here up count as white


@dataclass(frozen=True)
class Printed:
    workbook: Path
    pdf: Path
    sheets: dict[str, list[int]]  # sheet name -> its pages, 0-based, from the footers
    sizes: list[float]  # the size of every character, in points
    cells: dict[str, list[list[str]]]  # sheet name -> the rows of the tables on its pages, cells as printed


def _squeezed(text: str | None) -> str:
    """The text without white space or invisible characters (a zero-width space prints nothing)."""
    return "".join(char for char in text or "" if not char.isspace() and unicodedata.category(char) != "Cf")


def _read(workbook: Path, pdf: Path) -> Printed:
    sheets: dict[str, list[int]] = defaultdict(list)
    cells: dict[str, list[list[str]]] = defaultdict(list)
    sizes: list[float] = []
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages):
            assert (round(page.width, 1), round(page.height, 1)) == A4_LANDSCAPE, number
            footer = FOOTER.search(page.extract_text().splitlines()[-1])
            assert footer is not None, f"第 {number + 1} 页没有页脚"
            assert int(footer[2]) == number + 1 and int(footer[3]) == len(document.pages)
            sheets[footer[1]].append(number)
            sizes += [char["size"] for char in page.chars]
            if footer[1] in FIRM_SHEETS:
                for table in page.find_tables():
                    cells[footer[1]] += [[_squeezed(cell) for cell in row] for row in table.extract()]
    return Printed(workbook, pdf, dict(sheets), sizes, dict(cells))


@pytest.fixture(scope="module")
def printed(small_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Printed]:
    """The province's and 济南's workbooks of a run of the small store, and their PDFs, read once."""
    folder = tmp_path_factory.mktemp("printed")
    with api.open_store(copy_store(small_store, folder)) as store:
        api.run_year(store, SMALL_YEAR)
        [province] = api.export_workbooks(store, SMALL_YEAR, out=folder / "全省.xlsx")
        [city] = api.export_workbooks(store, SMALL_YEAR, out=folder / f"{CITY}.xlsx", city=CITY)
    found = {}
    for workbook in (province, city):
        result = convert_to_pdf(workbook, folder / "pdf", folder / "lo-profile")
        assert result.returncode == 0, result.stderr
        found[workbook.stem] = _read(workbook, folder / "pdf" / f"{workbook.stem}.pdf")
    return found


def _firm_cells(workbook: Path) -> Iterator[tuple[str, str, str]]:
    """(sheet, cell, text as shown) of every cell with text on the firm sheets."""
    book = openpyxl.load_workbook(workbook)
    for name in FIRM_SHEETS:
        for row in book[name].iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield name, cell.coordinate, _squeezed(cell_text(cell))


@pytest.mark.parametrize("scope", ["全省", CITY])
def test_no_text_prints_under_9_pt(printed: dict[str, Printed], scope: str) -> None:
    assert min(printed[scope].sizes) >= MIN_FONT_POINTS


@pytest.mark.parametrize("scope", ["全省", CITY])
def test_every_firm_sheet_cell_prints_whole(printed: dict[str, Printed], scope: str) -> None:
    """A cell's text cut by its column or its row would not be found whole in a cell of the PDF's tables."""
    found = printed[scope]
    whole = {name: {cell for row in rows for cell in row} for name, rows in found.cells.items()}
    cut = [(name, where, text) for name, where, text in _firm_cells(found.workbook) if text not in whole[name]]
    assert not cut, f"{len(cut)} 个单元格打印不全，如 {cut[:5]}"


def test_a_list_too_wide_for_a_page_repeats_its_key_columns(printed: dict[str, Printed]) -> None:
    found = printed["全省"]
    headers = [row for row in found.cells[WIDE_LIST] if row[: len(KEYS)] == KEYS]
    assert len(headers) == len(found.sheets[WIDE_LIST])  # every page starts with the keys and the header
    sheet = openpyxl.load_workbook(found.workbook)[WIDE_LIST]
    assert sheet.col_breaks.count >= 1  # pages across
    assert sheet.print_title_cols == "$A:$E" and sheet.print_title_rows == "$1:$1"
    assert sheet.freeze_panes == "F2"  # beside the firm's name, below the header


def test_pictures_of_the_pages_are_kept(printed: dict[str, Printed]) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    found = printed["全省"]
    document = pypdfium2.PdfDocument(found.pdf)
    written = []
    for sheet, count in PICTURES.items():
        for order, number in enumerate(found.sheets[sheet][:count], start=1):
            image = document[number].render(scale=1.5).to_pil()
            path = ARTEFACTS / f"培育清单_全省_{sheet}_{order}.png"
            image.save(path)
            ink = sum(image.convert("L").histogram()[:WHITE]) / (image.width * image.height)
            assert ink > MIN_INK, path
            written.append(path)
    assert all(path.stat().st_size > MIN_PICTURE_BYTES for path in written)


# --- what the workbook says ------------------------------------------------------------------------------------


def _rows(workbook: Path, sheet: str) -> list[dict[str, object]]:
    found = openpyxl.load_workbook(workbook)[sheet]
    titles = [str(cell.value) for cell in found[1]]
    return [dict(zip(titles, row, strict=True)) for row in found.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("sheet", ["研发活动清零", "研发机构提升", "数据问题"])
def test_unranked_sheets_run_in_the_official_order_of_the_cities(printed: dict[str, Printed], sheet: str) -> None:
    cities = list(dict.fromkeys(load_contract().cities.values()))
    rows = _rows(printed["全省"].workbook, sheet)
    keys = [
        (cities.index(str(row["地市"])) if row["地市"] else len(cities), str(row["统一社会信用代码"] or "~"))
        for row in rows
    ]
    assert len(rows) > 1 and keys == sorted(keys)
    assert len({row["地市"] for row in rows}) > 1


def test_lists_keep_their_rank_order(printed: dict[str, Printed]) -> None:
    rows = _rows(printed["全省"].workbook, WIDE_LIST)
    ranks = [row["排名"] for row in rows if row["状态"] == "入选"]
    assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) > 1


def test_data_problems_say_what_to_do(printed: dict[str, Printed]) -> None:
    rows = _rows(printed["全省"].workbook, "数据问题")
    assert rows and all(row["修改建议"] for row in rows)
    assert all(row["地市"] == CITY for row in _rows(printed[CITY].workbook, "数据问题"))


def test_parameters_read_with_their_units(printed: dict[str, Printed]) -> None:
    """Ratios as percentages, percentiles, money in 万元, counts with their unit, scores as they are."""
    guide = openpyxl.load_workbook(printed["全省"].workbook)["说明"]
    values = {row[3]: row[1] for row in guide.iter_rows(values_only=True) if row[3]}
    assert {name: values[name] for name in UNITS} == UNITS


# --- the layout's rules, on their own -----------------------------------------------------------------------------


def test_a_table_that_fits_prints_on_one_page_width() -> None:
    columns = [measure(["营业收入12345.68万元"] * 3, "说明", wraps=True)] * 3
    fit = plan(columns, 1)
    assert fit.breaks == [] and fit.scale == 100


def test_a_wide_table_splits_its_columns_at_the_smallest_scale() -> None:
    keys = [measure(["91370100MA3C5L8X4Q"], "统一社会信用代码", wraps=False)]
    texts = [measure(["中" * 200], f"原因{n}", wraps=True) for n in range(16)]
    fit = plan([*keys, *texts], 1)
    assert fit.scale * 11 / 100 >= MIN_FONT_POINTS and fit.breaks
    pages = [fit.widths[1 : fit.breaks[0]]] + [
        fit.widths[start:end] for start, end in zip(fit.breaks, [*fit.breaks[1:], len(fit.widths)], strict=True)
    ]
    room = page_units(fit.scale) - fit.widths[0]
    assert all(sum(width + 0.7 for width in page) <= room + 1e-6 for page in pages)


@pytest.mark.parametrize(
    ("text", "width", "count"),
    [
        ("中" * 8, 20, 1),
        ("中" * 9, 20, 2),  # 18 units in a 20-unit column: past what a line holds beside the cell's margins
        ("中" * 6 + "ABCDEFGH", 20, 2),  # a run of Latin letters moves to the next line whole
        ("A" * 40, 20, 3),  # unless it is longer than a line
        ("中" * 8 + "，", 20, 2),  # a closing mark never starts a line: the character before it goes along
        ("中中\n中中", 20, 2),
    ],
)
def test_lines_as_a_spreadsheet_wraps_them(text: str, width: float, count: int) -> None:
    assert lines(text, width) == count


def test_a_pasted_paragraph_shows_its_beginning_and_its_length() -> None:
    values = pl.DataFrame({"value": ["约500", "中" * 400, None]})
    shortened = values.select(_shortened(pl.col("value")))["value"].to_list()
    assert shortened == ["约500", "中" * 100 + "……（共400字）", None]


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (12345.675, "#,##0.00", "12,345.68"),
        (0.0345, "0.00%", "3.45%"),
        (0.7, "0.0%", "70.0%"),
        (0.9685, "0.000", "0.969"),
        (3, "0", "3"),
        ("9137", "@", "9137"),
        (None, "0", ""),
    ],
)
def test_values_read_as_the_cell_shows_them(value: object, number_format: str, text: str) -> None:
    assert shown(value, number_format) == text

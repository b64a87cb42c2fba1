"""The report: every number on the page is the one the command line prints with --json for the same year, a city's
report names no other city, and the page holds no address of anything outside itself."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import pypdfium2
import pytest
from typer.testing import CliRunner

from assess import api
from assess.cli import app
from assess.ingest import Options
from assess.report.render import lookup
from assess.resources import SAMPLE_DIR
from assess.tiers.evaluate import lack_kind
from tests.conftest import copy_store

runner = CliRunner()
YEARS = (2023, 2024)
SECTIONS = ("一页摘要", "目标进展", "清单构成", "数据质量", "方法")
ARTEFACTS = Path(os.environ.get("ASSESS_TEST_ARTEFACTS") or Path(__file__).parent.parent / "build" / "test-artefacts")


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """150 synthetic firms filed 2021-2024 and the messy sample workbook (problems of every kind), a run for 2023
    and one for 2024."""
    folder = tmp_path_factory.mktemp("report")
    panel = folder / "合成样例.xlsx"
    api.sample(panel, 150, 2021, 2024, 3)
    db = folder / "assess.duckdb"
    with api.open_store(db) as store:
        results = api.ingest(store, [panel, SAMPLE_DIR / "messy.xlsx"], Options())
        assert all(r.error is None for r in results)
        for year in YEARS:
            api.run_year(store, year)
    return db


def _json(*args: str | Path) -> object:
    result = runner.invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


class _Numbers(HTMLParser):
    """The page's numbers (data-src, data-path, data-kind, data-value and the text shown) and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "span" and "data-src" in found:
            self._open = {**found, "shown": ""}

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open is not None:
            self._open["shown"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.numbers.append(self._open)
            self._open = None


def _parsed(page: Path) -> _Numbers:
    parser = _Numbers()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _reads_as(shown: str, kind: str, value: float) -> bool:
    """Whether the text shown is the value as its kind is written (rounded for display)."""
    digits = float(shown.replace(",", "").rstrip("%"))
    if kind == "rate":
        return abs(digits / 100 - value) <= 0.0005 + 1e-12
    if kind == "money":
        return abs(digits - value) <= 0.005 + 1e-9
    if kind == "metric":
        return abs(digits - value) <= 0.0005 + 1e-12
    return digits == value


def test_every_number_equals_its_source_on_the_command_line(assessed: Path, tmp_path: Path) -> None:
    page = tmp_path / "报告.html"
    assert runner.invoke(app, ["report", "--year", "2024", "--out", str(page), "--db", str(assessed)]).exit_code == 0
    numbers = _parsed(page).numbers
    sources: dict[str, object] = {}

    def source(src: str) -> object:
        if src not in sources:
            kind, _, rest = src.partition(":")
            key, _, chain = rest.partition(":chain=")
            key, _, city = key.partition(":city=")
            if kind == "stats":
                sources[src] = _json("stats", "--year", key, "--db", assessed)
            elif kind == "lists":
                extra = ["--chain", chain] if chain else []
                found = _json("lists", "--year", key, *extra, "--db", assessed)
                assert isinstance(found, dict)
                sources[src] = {list_id: {"count": len(firms)} for list_id, firms in found.items()}
            elif kind == "uploads":
                uploads = _json("uploads", "--db", assessed)
                assert isinstance(uploads, list)
                sources[src] = next(u for u in uploads if str(u["upload_id"]) == key)
            else:
                problems = _json("problems", key, "--db", assessed)
                assert isinstance(problems, list)
                # a problem's city is that of the filing its row gave; a row not accepted has none (未定地市)
                if city:
                    found = [p for p in problems if (p["city"] or "未定地市") == city]
                    sources[src] = dict(Counter(p["code"] for p in found))
                    return sources[src]
                codes = [p["code"] for p in problems]
                sources[src] = {code: codes.count(code) for code in codes}
        return sources[src]

    kinds = {n["data-src"].split(":")[0] for n in numbers}
    assert kinds == {"stats", "lists", "uploads", "problems"}
    assert {n["data-src"] for n in numbers} >= {f"stats:{y}" for y in YEARS}
    for number in numbers:
        expected = lookup(source(number["data-src"]), number["data-path"])
        where = f"{number['data-src']} {number['data-path']}"
        if expected is None:
            assert number["data-value"] == "null" and number["shown"] == "无数据", where
            continue
        assert isinstance(expected, int | float), where
        assert float(number["data-value"]) == pytest.approx(expected), where
        assert _reads_as(number["shown"], number["data-kind"], float(expected)), (where, number["shown"])


def test_the_method_section_shows_the_card_of_the_model_that_scored(small_store: Path, tmp_path: Path) -> None:
    """方法 gives the registered model's validation, labels and calibration, each number the one `assess train --json`
    printed when it was trained (kept as the model's report in the store)."""
    db = copy_store(small_store, tmp_path)
    page = tmp_path / "报告.html"
    with api.open_store(db) as store:
        api.run_year(store, 2024)
        api.report(store, 2024, page)
        printed = {m: json.loads(r) for m, r in store.con.execute("SELECT model_id, report FROM models").fetchall()}
    numbers = [n for n in _parsed(page).numbers if n["data-src"].startswith("train:")]
    assert {"cv.roc_auc", "n_train", "n_positive", "temporal.brier", "calibration.0.observed"} <= {
        n["data-path"] for n in numbers
    }
    for number in numbers:
        expected = lookup(printed[int(number["data-src"].removeprefix("train:"))], number["data-path"])
        assert isinstance(expected, int | float), number
        assert _reads_as(number["shown"], number["data-kind"], float(expected)), number


def test_a_city_report_names_no_other_city(assessed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chart labels are drawn as text here (the report draws them as outlines), so that they can be read."""
    monkeypatch.setitem(plt.rcParams, "svg.fonttype", "none")
    with api.open_store(assessed) as store:
        cities = list(dict.fromkeys(store.contract.cities.values()))
        for city in cities:
            page = api.report(store, 2024, tmp_path / f"{city}.html", city)
            text = "".join(_parsed(page).text)
            others = [other for other in cities if other != city and other in text]
            assert city in text and not others, (city, others)


def test_the_page_needs_nothing_from_outside(assessed: Path, tmp_path: Path) -> None:
    page = tmp_path / "报告.html"
    with api.open_store(assessed) as store:
        api.report(store, 2024, page)
    html = page.read_text(encoding="utf-8")
    # References inside the page (a chart's clip path, url(#p1)) are all there is.
    assert not re.search(r"https?:|//[a-z]|url\((?!#)|<link|<script|<img|@import", html, re.IGNORECASE)
    assert html.count("<svg") >= 6 and "<text" not in html  # every label an outline: no font of the reader's


def test_the_printable_copy_has_a_page_per_section_at_least(assessed: Path, tmp_path: Path) -> None:
    page, pdf = tmp_path / "报告.html", tmp_path / "报告.pdf"
    status = runner.invoke(
        app, ["report", "--year", "2024", "--out", str(page), "--pdf", str(pdf), "--db", str(assessed)]
    ).exit_code
    assert status == 0
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert len(document) >= len(SECTIONS) and all(title in text for title in SECTIONS)


def test_a_real_browser_opens_it_offline_with_every_chart_visible(assessed: Path, tmp_path: Path) -> None:
    """Debian's chromium, driven by Playwright through its executable path (no browser download), with the network
    off: no console error, no request but the page itself, every chart drawn with a size. The full-page screenshot
    and the browser's PDF are kept as test artefacts."""
    from playwright.sync_api import ConsoleMessage, Request, sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "找不到 chromium：`make test` 会通过 scripts/ensure-debs 安装它。"
    page_file = tmp_path / "报告.html"
    with api.open_store(assessed) as store:
        api.report(store, 2024, page_file)
    errors: list[str] = []
    requests: list[str] = []
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_context(offline=True, viewport={"width": 1366, "height": 768}).new_page()

            def console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    errors.append(message.text)

            def request(sent: Request) -> None:
                requests.append(sent.url)

            page.on("console", console)
            page.on("request", request)
            page.on("requestfailed", lambda failed: errors.append(f"failed: {failed.url}"))
            page.goto(page_file.as_uri())
            charts = page.locator("figure svg")
            boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            assert len(boxes) >= 6 and all(box and box["width"] > 50 and box["height"] > 50 for box in boxes)
            page.screenshot(path=str(ARTEFACTS / "评估报告_全省.png"), full_page=True)
            page.pdf(path=str(ARTEFACTS / "评估报告_全省_浏览器打印.pdf"), format="A4", print_background=True)
        finally:
            browser.close()
    assert not errors and requests == [page_file.as_uri()]
    printed = pypdfium2.PdfDocument(ARTEFACTS / "评估报告_全省_浏览器打印.pdf")
    text = "".join(printed[i].get_textpage().get_text_range() for i in range(len(printed)))
    assert all(title in text for title in SECTIONS) and len(printed) >= len(SECTIONS)


def test_what_a_near_miss_lacks_reads_as_the_quota_the_chain_cap_or_a_gate(assessed: Path) -> None:
    """清单构成 counts near misses by what they lack, without their own figures."""
    with api.open_store(assessed) as store:
        found = api.lists(store, 2024, statuses=("near",))
    kinds = {lack_kind(text) for frame in found.lists.values() for text in frame["lacks"].drop_nulls().to_list()}
    gates = {f"未达门槛“{gate.title}”" for tier in found.tiers for gate in tier.gates}
    assert kinds and kinds <= {"名额已满", "所在产业链名额已满"} | gates

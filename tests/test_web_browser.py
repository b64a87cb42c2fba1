"""A city's staff member in a real browser (Debian's chromium, driven by Playwright through its executable path) on a
real `assess serve`: signs in, uploads the messy sample workbook, reads the counts and the first problem, downloads the
问题清单, starts a run and waits for it, opens a firm's explanation and downloads the city workbook, which holds that
city only. A screenshot of each page is kept under $ASSESS_TEST_ARTEFACTS/web/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from assess import api
from assess.access import accounts
from assess.ingest import Options
from assess.ingest.problems import prefix
from assess.resources import SAMPLE_DIR
from tests.conftest import SMALL_YEAR, copy_store

ARTEFACTS = Path(os.environ.get("ASSESS_TEST_ARTEFACTS") or Path(__file__).parent.parent / "build" / "test-artefacts")
CITY, USER, PASSWORD = "济南", "济南科技局", "a-long-enough-password"
MESSY = SAMPLE_DIR / "messy.xlsx"
CITIES = (
    "济南",
    "青岛",
    "淄博",
    "枣庄",
    "东营",
    "烟台",
    "潍坊",
    "济宁",
    "泰安",
    "威海",
    "日照",
    "临沂",
    "德州",
    "聊城",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(small_store: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`assess serve` on a copy of the small store with one city user, in its own process; its address and db."""
    db = copy_store(small_store, tmp_path)
    with api.open_store(db) as store:
        accounts.add_user(store, USER, "city", CITY, PASSWORD)
    port = _free_port()
    command = [str(Path(sys.executable).with_name("assess")), "serve", "--db", str(db), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    address = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{address}/signin", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.2)
        yield address, db
    finally:
        server.terminate()
        server.wait(timeout=30)


def _expected(tmp_path: Path) -> tuple[dict, str]:
    """The counts and the first error the messy workbook gives when a city's staff upload it, from the library."""
    with api.open_store(tmp_path / "scratch.duckdb") as store:
        [result] = api.ingest(store, [MESSY], Options(city=CITY))
    errors = result.problems.filter(pl.col("level") == "error").with_columns(
        said=pl.col("message").str.strip_prefix(prefix())
    )
    counts = {k: getattr(result, k) for k in ("rows_read", "accepted", "rejected", "skipped", "warnings")}
    return counts, errors["said"][0]


def test_a_city_user_uploads_checks_runs_explains_and_downloads(served: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import ConsoleMessage, Page, sync_playwright

    address, _ = served
    counts, first_error = _expected(tmp_path)
    chromium = shutil.which("chromium")
    assert chromium, "找不到 chromium：`make test` 会通过 scripts/ensure-debs 安装它。"
    shots = ARTEFACTS / "web"
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
            page = context.new_page()

            def console(message: ConsoleMessage) -> None:
                if message.type == "error":  # a script or style the policy blocked says so here
                    errors.append(message.text)

            page.on("console", console)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{address}/signin")
            shot(page, "01_登录")
            page.fill("input[name=name]", USER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{address}/upload")
            shot(page, "02_上传")

            page.set_input_files("#files", str(MESSY))
            page.click("#upload-form button[type=submit]")
            page.wait_for_url("**/uploads/*", timeout=120_000)
            shot(page, "03_检查结果")
            shown = {k: int(page.inner_text(f"#{k.replace('_', '-')}")) for k in counts}
            assert shown == counts
            assert page.inner_text("#problems tbody tr:first-child td:nth-child(3)").strip() == first_error

            with page.expect_download() as problem_download:
                page.click("#problem-workbook")
            saved = tmp_path / problem_download.value.suggested_filename
            problem_download.value.save_as(saved)
            assert saved.name == "messy_问题清单.xlsx"
            sheets = openpyxl.load_workbook(saved, read_only=True).worksheets
            rows = sum(1 for sheet in sheets for _ in sheet.iter_rows(values_only=True))
            assert rows > counts["rejected"]

            page.goto(f"{address}/uploads")
            shot(page, "04_上传记录")
            page.goto(f"{address}/runs")
            page.select_option("#run-year", str(SMALL_YEAR))
            shot(page, "05_评估")
            page.click("#start-run")
            page.wait_for_url(f"**/lists?year={SMALL_YEAR}", timeout=300_000)
            shot(page, "06_清单")

            for status in ("selected", "near", "eligible", "unknown", "excluded"):
                page.goto(f"{address}/lists?year={SMALL_YEAR}&status={status}")
                if page.locator("table.firms a").count():
                    break
            page.locator("table.firms a").first.click()
            page.wait_for_selector("#explanation")
            shot(page, "07_企业")

            page.goto(f"{address}/targets")
            shot(page, "08_目标进展")
            page.goto(f"{address}/downloads")
            shot(page, "09_下载")
            with page.expect_download() as workbook_download:
                page.locator("a.city-workbook").first.click()
            workbook = tmp_path / "city.xlsx"
            workbook_download.value.save_as(workbook)
        finally:
            browser.close()
    assert not errors
    book = openpyxl.load_workbook(workbook, read_only=True)
    named = {str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row if c in CITIES}
    assert named == {CITY}


def test_the_command_line_is_told_that_the_server_holds_the_database(served: tuple[str, Path]) -> None:
    address, db = served
    said = subprocess.run(
        [str(Path(sys.executable).with_name("assess")), "uploads", "--db", str(db)], capture_output=True, text=True
    )
    assert said.returncode == 1 and "正由网页服务使用" in said.stderr and address in said.stderr

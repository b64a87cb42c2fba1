"""The web app as its users meet it: a city sees only its own firms, uploads, lists, workbooks and figures, by page
or by /api/, and every refusal is in the audit log; an analyst reads and never writes; forms need their CSRF token;
uploads are checked by content and size; a second job waits its turn."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from fastapi.testclient import TestClient

from assess import api
from assess.access import accounts, audit
from assess.access.desk import Desk
from assess.resources import SAMPLE_DIR
from assess.synthetic import messy
from assess.synthetic.panel import generate_panel
from assess.synthetic.writers import write_panel
from assess.web.app import create_app
from assess.web.jobs import QUEUED
from assess.web.settings import WebSettings
from tests.conftest import SMALL_YEAR, copy_store

YEAR = SMALL_YEAR
PASSWORD = "a-long-enough-password"
USERS = {"province": ("省厅", None), "city": ("济南科技局", "济南"), "analyst": ("分析员", None)}
OTHER_CITY_USER = ("青岛科技局", "青岛")


@dataclass
class Site:
    client: TestClient
    db: Path
    tokens: dict[str, str]
    other_upload: int  # an upload 青岛 made
    own_upload: int  # one 济南 made
    other_firm: tuple[str, str]  # credit code and name of a firm of 青岛 only
    own_firm: str  # credit code of a firm of 济南


def _city_file(folder: Path, city: str, seed: int) -> Path:
    panel = generate_panel(80, YEAR, YEAR, seed).filter(pl.col("city") == city)
    path = folder / f"{city}_{YEAR}.xlsx"
    write_panel(panel, path)
    return path


@pytest.fixture(scope="module")
def site(small_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    db = copy_store(small_store, folder)
    tokens = {}
    with api.open_store(db) as store:
        for role, (name, city) in {**USERS, "other": OTHER_CITY_USER}.items():
            accounts.add_user(store, name, "city" if role == "other" else role, city, PASSWORD)
            tokens[role] = accounts.new_token(store, name)
        qingdao = accounts.by_name(store, OTHER_CITY_USER[0])
        jinan = accounts.by_name(store, USERS["city"][0])
        assert qingdao is not None and jinan is not None
        [other] = Desk(store, qingdao).ingest([_city_file(folder, "青岛", 31)], None, None)
        [own] = Desk(store, jinan).ingest([_city_file(folder, "济南", 32)], None, None)
        api.run_year(store, YEAR)
        filings = store.filings(YEAR)
    codes = {c: set(filings.filter(pl.col("city") == c)["credit_code"]) for c in ("青岛", "济南")}
    other_code = sorted(codes["青岛"] - codes["济南"])[0]
    other_name = filings.filter(pl.col("credit_code") == other_code)["name"][0]
    assert other.upload_id is not None and own.upload_id is not None
    with TestClient(create_app(WebSettings(db=db)), base_url="https://testserver") as client:
        yield Site(
            client, db, tokens, other.upload_id, own.upload_id, (other_code, other_name), sorted(codes["济南"])[0]
        )


def _bearer(site: Site, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[role]}"}


def _sign_in(site: Site, role: str) -> str:
    """Sign in as the role's user (a fresh session); the session's CSRF token."""
    name = {**USERS, "other": OTHER_CITY_USER}[role][0]
    site.client.cookies.clear()
    token = _csrf(site.client.get("/signin").text)
    said = site.client.post("/signin", data={"name": name, "password": PASSWORD, "csrf": token}, follow_redirects=False)
    assert said.status_code == 303, said.text
    return _csrf(site.client.get("/uploads").text)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _refusals(site: Site, user: str) -> int:
    store = site.client.app.state.server.store  # type: ignore[attr-defined]
    log = audit.since(store)
    return log.filter((pl.col("user_name") == user) & (pl.col("outcome") == audit.REFUSED)).height


API_PATHS = [
    f"/api/stats?year={YEAR}",
    f"/api/lists?year={YEAR}",
    f"/api/flags?year={YEAR}",
    "/api/uploads",
    "/api/problems/1",
    f"/api/explain/913700000000000000?year={YEAR}",
    "/api/firms/913700000000000000",
    f"/api/filings?year={YEAR}",
    f"/api/rubric?year={YEAR}&pack=tech_sme",
]


@pytest.mark.parametrize("path", API_PATHS)
def test_every_api_path_answers_401_without_a_valid_token(site: Site, path: str) -> None:
    site.client.cookies.clear()
    assert site.client.get(path).status_code == 401
    assert site.client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    signed = _sign_in(site, "province")  # a page session is no token
    assert signed and site.client.get(path).status_code == 401


def test_the_api_returns_what_the_command_line_prints(site: Site) -> None:
    from typer.testing import CliRunner

    from assess.cli import app

    printed = CliRunner().invoke(app, ["lists", "--year", str(YEAR), "--json", "--db", str(site.db)])
    # the server holds the database in this process only, so the command line may read it here
    assert printed.exit_code == 0, printed.stderr
    answered = site.client.get(f"/api/lists?year={YEAR}", headers=_bearer(site, "analyst"))
    assert answered.status_code == 200 and answered.json() == json.loads(printed.stdout)


# What a city user might ask for of another city, by page or by API, and what it must get.
def _asks(site: Site) -> list[tuple[str, str, int]]:
    code, upload = site.other_firm[0], site.other_upload
    return [
        ("firm (explanation)", f"/api/explain/{code}?year={YEAR}", 404),
        ("firm (filings)", f"/api/firms/{code}", 404),
        ("filings", f"/api/filings?year={YEAR}&city=青岛", 403),
        ("firm page", f"/firms/{code}?year={YEAR}", 404),
        ("upload page", f"/uploads/{upload}", 404),
        ("problem list", f"/api/problems/{upload}", 404),
        ("problem workbook", f"/uploads/{upload}/problems.xlsx", 404),
        ("list", f"/api/lists?year={YEAR}&city=青岛", 403),
        ("list page", f"/lists?year={YEAR}&city=青岛", 403),
        ("flags", f"/api/flags?year={YEAR}&city=青岛", 403),
        ("workbook", f"/downloads/workbook?year={YEAR}&city=青岛", 403),
        ("report", f"/downloads/report?year={YEAR}&city=青岛", 403),
    ]


def test_a_city_user_gets_nothing_of_another_citys_objects_and_each_refusal_is_logged(site: Site) -> None:
    _sign_in(site, "city")
    user = USERS["city"][0]
    for what, path, status in _asks(site):
        before = _refusals(site, user)
        answer = site.client.get(path, headers=_bearer(site, "city") if path.startswith("/api/") else {})
        assert answer.status_code == status, (what, answer.status_code)
        assert site.other_firm[1] not in answer.text, what  # the name the user did not give is never said
        assert _refusals(site, user) == before + 1, what


@pytest.mark.parametrize("role", ["province", "analyst"])
def test_the_province_and_analysts_read_every_citys_objects(site: Site, role: str) -> None:
    _sign_in(site, role)
    for what, path, _ in _asks(site):
        answer = site.client.get(path, headers=_bearer(site, role) if path.startswith("/api/") else {})
        assert answer.status_code == 200, (role, what, answer.status_code)


def test_a_city_user_cannot_retract_another_citys_upload(site: Site) -> None:
    token = _sign_in(site, "city")
    answer = site.client.post(f"/uploads/{site.other_upload}/retract", data={"csrf": token})
    assert answer.status_code == 404
    store = site.client.app.state.server.store  # type: ignore[attr-defined]
    assert store.upload(site.other_upload)["retracted_at"] is None


def test_a_city_users_figures_hold_its_own_city_only(site: Site) -> None:
    figures = site.client.get(f"/api/stats?year={YEAR}", headers=_bearer(site, "city")).json()
    assert set(figures["no_rd"]["by_city"]) == {"济南"}
    assert set(figures["institution_coverage"]["by_city"]) == {"济南"}
    said = json.dumps(figures, ensure_ascii=False)
    assert not [c for c in ("青岛", "烟台", "潍坊", "淄博") if c in said]
    for path in (f"/api/filings?year={YEAR}", f"/api/rubric?year={YEAR}&pack=tech_sme"):
        rows = site.client.get(path, headers=_bearer(site, "city")).json()
        assert rows and {row["city"] for row in rows} == {"济南"}, path
    uploads = site.client.get("/api/uploads", headers=_bearer(site, "city")).json()
    assert [u["upload_id"] for u in uploads] == [site.own_upload]


def test_a_city_user_reads_its_own_firm_and_workbook(site: Site, tmp_path: Path) -> None:
    _sign_in(site, "city")
    assert site.client.get(f"/firms/{site.own_firm}?year={YEAR}").status_code == 200
    answer = site.client.get(f"/downloads/workbook?year={YEAR}")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    (tmp_path / "city.xlsx").write_bytes(answer.content)
    book = openpyxl.load_workbook(tmp_path / "city.xlsx", read_only=True)
    cities = {
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell in ("青岛", "烟台", "济南")
    }
    assert cities == {"济南"}


def test_an_analyst_reads_every_city_and_writes_nothing(site: Site) -> None:
    qingdao = site.client.get(f"/api/lists?year={YEAR}&city=青岛", headers=_bearer(site, "analyst"))
    assert qingdao.status_code == 200
    explained = site.client.get(f"/api/explain/{site.other_firm[0]}?year={YEAR}", headers=_bearer(site, "analyst"))
    assert explained.status_code == 200 and explained.json()["name"] == site.other_firm[1]
    token = _sign_in(site, "analyst")
    before = _refusals(site, USERS["analyst"][0])
    with (SAMPLE_DIR / "messy.xlsx").open("rb") as handle:
        upload = site.client.post("/upload", data={"csrf": token}, files=[("files", ("messy.xlsx", handle))])
    assert upload.status_code == 403
    assert site.client.post("/runs", data={"csrf": token, "year": str(YEAR)}).status_code == 403
    assert site.client.post(f"/uploads/{site.own_upload}/retract", data={"csrf": token}).status_code == 403
    assert _refusals(site, USERS["analyst"][0]) == before + 3


def test_a_form_without_its_csrf_token_changes_nothing(site: Site) -> None:
    _sign_in(site, "province")
    answer = site.client.post(f"/uploads/{site.own_upload}/retract", data={"csrf": "forged"})
    assert answer.status_code == 400 and "页面已过期" in answer.text
    store = site.client.app.state.server.store  # type: ignore[attr-defined]
    assert store.upload(site.own_upload)["retracted_at"] is None


def test_the_session_cookie_is_http_only_strict_and_secure_over_https(site: Site) -> None:
    site.client.cookies.clear()
    token = _csrf(site.client.get("/signin").text)
    said = site.client.post(
        "/signin", data={"name": USERS["province"][0], "password": PASSWORD, "csrf": token}, follow_redirects=False
    )
    cookie = said.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_every_page_carries_a_strict_content_security_policy(site: Site) -> None:
    _sign_in(site, "province")
    for path in ("/signin", "/upload", "/uploads", "/runs", f"/lists?year={YEAR}", "/targets", "/downloads"):
        answer = site.client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "unsafe-inline" not in policy, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"https?://|<script>|\son\w+=", answer.text), path  # nothing from elsewhere, no inline


def test_the_report_is_a_download_with_its_own_policy(site: Site) -> None:
    _sign_in(site, "province")
    answer = site.client.get(f"/downloads/report?year={YEAR}")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    assert "style-src 'unsafe-inline'" in answer.headers["content-security-policy"]


def test_signing_in_is_paused_after_repeated_failures(site: Site) -> None:
    site.client.cookies.clear()
    token = _csrf(site.client.get("/signin").text)
    wrong = {"name": USERS["analyst"][0], "password": "wrong-password", "csrf": token}
    codes = [site.client.post("/signin", data=wrong).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    right = {**wrong, "password": PASSWORD}
    assert site.client.post("/signin", data=right).status_code == 429  # even the right password waits


def test_an_html_table_saved_as_xls_is_refused_by_its_content(site: Site) -> None:
    token = _sign_in(site, "city")
    page = "<html><body><table><tr><td>统一社会信用代码</td></tr></table></body></html>".encode()
    answer = site.client.post("/upload", data={"csrf": token}, files=[("files", ("导出.xls", page))])
    assert answer.status_code == 400 and "网页表格" in answer.text and "另存为 .xlsx" in answer.text


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(site: Site, tmp_path: Path) -> None:
    small = WebSettings(db=tmp_path / "limit.duckdb", max_upload_mb=1)
    with api.open_store(small.db) as store:
        accounts.add_user(store, "市", "city", "济南", PASSWORD)
    with TestClient(create_app(small)) as client:
        token = _csrf(client.get("/signin").text)
        client.post("/signin", data={"name": "市", "password": PASSWORD, "csrf": token})
        token = _csrf(client.get("/upload").text)
        big = b"credit_code,name\n" + b"9" * (2 << 20)
        answer = client.post("/upload", data={"csrf": token}, files=[("files", ("大.csv", big))])
        assert answer.status_code == 400 and "1 MB" in answer.text
        assert client.app.state.server.store.uploads().is_empty()  # type: ignore[attr-defined]


def test_a_code_confirmed_on_the_upload_page_is_accepted_as_the_command_lines_accept_bad_check(
    tmp_path: Path,
) -> None:
    """The hint of a wrong check character says to confirm the code on the upload page: doing so accepts its row
    with W-USCC-ACCEPTED, as --accept-bad-check does."""
    settings = WebSettings(db=tmp_path / "confirm.duckdb")
    with api.open_store(settings.db) as store:
        accounts.add_user(store, "省", "province", None, PASSWORD)
    with TestClient(create_app(settings)) as client:
        token = _csrf(client.get("/signin").text)
        client.post("/signin", data={"name": "省", "password": PASSWORD, "csrf": token})
        token = _csrf(client.get("/upload").text)
        confirmed = f"  {messy.ACCEPTED_CODE.lower()}\n"
        with (SAMPLE_DIR / "messy.xlsx").open("rb") as handle:
            client.post(
                "/upload",
                data={"csrf": token, "confirmed": confirmed},
                files=[("files", ("messy.xlsx", handle))],
            )
        server = client.app.state.server  # type: ignore[attr-defined]
        for _ in range(1200):
            if not server.jobs.busy():
                break
            threading.Event().wait(0.05)
        [upload_id] = server.store.uploads()["upload_id"].to_list()
        problems = server.store.problems(upload_id)
    about = problems.filter(pl.col("value") == messy.ACCEPTED_CODE)["code"].to_list()
    assert about == ["W-USCC-ACCEPTED"]
    hint = problems.filter(pl.col("code") == "E-USCC-CHECK")["hint"].to_list()
    assert hint and all("确认属实的信用代码" in h and "--accept-bad-check" in h for h in hint)


def test_a_second_job_waits_in_the_queue_and_says_its_place(site: Site) -> None:
    _sign_in(site, "province")
    server = site.client.app.state.server  # type: ignore[attr-defined]
    user = accounts.User(USERS["province"][0], "province", None)
    release = threading.Event()
    started = threading.Event()

    def hold(desk: Desk, progress: object) -> str:
        started.set()
        release.wait(30)
        return "/uploads"

    first = server.jobs.submit("run", "占用写入", user, hold)
    assert started.wait(10)
    second = server.jobs.submit("upload", "排队的上传", user, lambda desk, progress: "/uploads")
    try:
        assert second.state == QUEUED and server.jobs.place(second) == 1
        page = site.client.get(f"/jobs/{second.id}")
        assert page.status_code == 200 and "排队中" in page.text and "排第 1 位" in page.text
    finally:
        release.set()
    for job in (first, second):
        while job.state in ("queued", "running"):
            threading.Event().wait(0.05)
    assert second.state == "done"

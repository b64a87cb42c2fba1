"""The pages: sign-in, 上传 and its 检查结果, 上传记录, 评估, 清单, 企业, 下载 and 目标进展, rendered on the server from
templates/web/. Every page reads and writes through the signed-in user's desk; writes go through the job queue."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import polars as pl
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from assess import api, display
from assess.access import accounts, audit
from assess.access.accounts import ROLE_TITLES
from assess.access.desk import Desk
from assess.errors import InputError
from assess.ingest.problems import prefix
from assess.progress import Progress
from assess.resources import TEMPLATES_DIR
from assess.tiers.select import STATUS_TITLES
from assess.web import guard
from assess.web.context import PageDesk, StoreDep, server
from assess.web.jobs import DONE, FAILED, STATE_TITLES

router = APIRouter()
templates = Jinja2Templates(directory=TEMPLATES_DIR / "web")
templates.env.globals.update(
    role_titles=ROLE_TITLES, state_titles=STATE_TITLES, status_titles=STATUS_TITLES, score=display.score
)
PROBLEMS_SHOWN = 20  # on an upload's 检查结果; the 问题清单 workbook holds them all
ACCEPTED = (".xlsx", ".xls", ".csv", ".parquet")  # what the upload form offers to pick
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}  # an upload's rejected rows first, then what to check


def page(request: Request, name: str, http_status: int = 200, **context: object) -> Response:
    session = request.session
    session.setdefault("csrf", guard.new_csrf())
    return templates.TemplateResponse(request, name, {"csrf": session["csrf"], **context}, status_code=http_status)


def checked_form(request: Request, given: str | None) -> None:
    """A form's CSRF token must be the session's."""
    if not guard.csrf_matches(request.session.get("csrf"), given):
        raise InputError("页面已过期或来源不明：请刷新页面后重试。")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


# --- signing in --------------------------------------------------------------------------------------------------


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return page(request, "signin.html.j2", next=next, said=None)


@router.post("/signin")
def sign_in(
    request: Request,
    store: StoreDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    checked_form(request, csrf)
    limit = server(request).settings
    guard_limit: guard.SignInLimit = request.app.state.sign_in_limit
    wait = guard_limit.wait(name, _address(request))
    if wait:
        audit.record(store, name, "sign_in", None, audit.REFUSED, "登录失败次数过多，暂停登录")
        window = f"{limit.sign_in_window_s // 60} 分钟内最多 {limit.sign_in_failures} 次"
        said = f"登录失败次数过多：请 {max(1, wait // 60)} 分钟后再试（{window}）。"
        return page(request, "signin.html.j2", 429, next=next, said=said)
    user = accounts.signed_in(store, name, password)
    if user is None:
        guard_limit.failed(name, _address(request))
        audit.record(store, name, "sign_in", None, audit.FAILED, "用户名或密码不正确")
        return page(request, "signin.html.j2", 401, next=next, said="用户名或密码不正确，或该用户已停用。")
    guard_limit.succeeded(name, _address(request))
    request.session.clear()
    request.session.update(user=user.name, csrf=guard.new_csrf(), since=dt.datetime.now().isoformat())
    audit.record(store, user.name, "sign_in", None)
    return _see_other(next if next.startswith("/") and not next.startswith("//") else "/")


@router.post("/signout")
def sign_out(request: Request, desk: PageDesk, csrf: Annotated[str, Form()] = "") -> Response:
    checked_form(request, csrf)
    audit.record(desk.store, desk.user.name, "sign_out", None)
    request.session.clear()
    return _see_other("/signin")


@router.get("/")
def home(desk: PageDesk) -> Response:
    return _see_other("/upload" if desk.user.writes else "/targets")


# --- uploads -----------------------------------------------------------------------------------------------------


def _years(desk: Desk) -> list[int]:
    return list(range(dt.date.today().year, desk.store.contract.first_year - 1, -1))


@router.get("/upload")
def upload_page(request: Request, desk: PageDesk) -> Response:
    settings = server(request).settings
    return page(
        request,
        "upload.html.j2",
        user=desk.user,
        years=_years(desk),
        units=list(desk.store.contract.money_units),
        max_mb=settings.max_upload_mb,
        max_files=settings.max_files,
        accepted=ACCEPTED,
    )


@router.post("/upload")
async def upload(request: Request, desk: PageDesk) -> Response:
    """The files are checked by their content, kept in a folder of their own and ingested by the writer in turn."""
    settings = server(request).settings
    size = int(request.headers.get("content-length") or 0)
    if not size or size > settings.max_upload_bytes * settings.max_files:
        raise InputError(f"上传内容过大或长度未知：每个文件不超过 {settings.max_upload_mb} MB。")
    desk.writer("upload", "文件上传")
    form = await request.form(max_files=settings.max_files, max_fields=20)
    checked_form(request, str(form.get("csrf") or ""))
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        raise InputError("请选择要上传的文件。")
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=_staging(request)))
    try:
        saved = [await _saved(f, folder, settings.max_upload_bytes) for f in files]
    except InputError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    year = _int(form.get("year"))
    unit = str(form.get("unit") or "") or None
    confirmed = _codes(str(form.get("confirmed") or ""))

    def work(worker: Desk, progress: Progress) -> str:
        try:
            results = worker.ingest(saved, year, unit, progress, confirmed)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        ids = [str(r.upload_id) for r in results if r.upload_id]
        refused = [r for r in results if r.error]
        if refused and not ids:
            raise InputError("；".join(str(r.error) for r in refused))
        return f"/uploads/{ids[0]}" if len(ids) == 1 else "/uploads?latest=" + ",".join(ids)

    title = "检查并导入 " + "、".join(p.name for p in saved)
    job = server(request).jobs.submit("upload", title, desk.user, work)
    if request.headers.get("x-requested-with") == "assess":
        return JSONResponse({"job": f"/jobs/{job.id}"})
    return _see_other(f"/jobs/{job.id}")


def _staging(request: Request) -> Path:
    db = server(request).settings.db
    folder = db.with_name(db.name + ".web-uploads")
    folder.mkdir(exist_ok=True)
    return folder


async def _saved(file: UploadFile, folder: Path, limit: int) -> Path:
    """The uploaded file in a folder of its own, refused (before anything is queued) when too large or when the
    ingest would refuse it by its content."""
    name = Path((file.filename or "").replace("\\", "/")).name.strip() or "上传文件"
    target = folder / f"{uuid.uuid4().hex[:8]}" / name
    target.parent.mkdir()
    written = 0
    with target.open("wb") as out:
        while block := await file.read(1 << 20):
            written += len(block)
            if written > limit:
                raise InputError(f"「{name}」超过 {limit >> 20} MB 的上传上限：请拆分后再上传。")
            out.write(block)
    refused = api.refusal(target)
    if refused:
        raise InputError(refused)
    return target


def _int(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@router.get("/jobs/{job_id}")
def job_page(request: Request, desk: PageDesk, job_id: str) -> Response:
    job = server(request).jobs.find(job_id, desk.user)
    if job is None:
        return page(
            request, "error.html.j2", 404, user=desk.user, said="没有找到这项任务（服务重启后，任务记录不再保留）。"
        )
    if job.state == DONE and job.result:
        return _see_other(job.result)
    place = server(request).jobs.place(job)
    return page(request, "job.html.j2", user=desk.user, job=job, place=place, failed=job.state == FAILED)


@router.get("/jobs/{job_id}/state")
def job_state(request: Request, desk: PageDesk, job_id: str) -> JSONResponse:
    job = server(request).jobs.find(job_id, desk.user)
    if job is None:
        return JSONResponse({"error": "没有找到这项任务。"}, status_code=404)
    said = {"state": job.state, "title": STATE_TITLES[job.state], "step": job.step, "share": job.share}
    return JSONResponse(said | {"place": server(request).jobs.place(job), "result": job.result, "error": job.error})


def _codes(text: str) -> frozenset[str]:
    """The credit codes typed into the upload form's 确认属实的信用代码, one per line or separated by commas,
    spaces or 、, as the command line's --accept-bad-check takes them."""
    return frozenset(code.upper() for code in re.split(r"[\s,，、;；]+", text) if code)


@router.get("/uploads")
def uploads_page(request: Request, desk: PageDesk, latest: str = "") -> Response:
    frame = desk.uploads().sort("upload_id", descending=True)
    fresh = {int(i) for i in latest.split(",") if i.isdigit()}
    return page(request, "uploads.html.j2", user=desk.user, uploads=frame.to_dicts(), fresh=fresh)


@router.get("/uploads/{upload_id}")
def upload_result(request: Request, desk: PageDesk, upload_id: int) -> Response:
    record = desk.upload(upload_id)
    problems = desk.problems(upload_id)
    # each problem's place is shown in its own column, so its message goes without it
    said = pl.col("message").str.strip_prefix(prefix())
    first = problems.with_columns(said=said).sort(
        pl.col("level").replace_strict(LEVEL_ORDER, default=3), maintain_order=True
    )
    shown = first.head(PROBLEMS_SHOWN).to_dicts()
    return page(
        request,
        "upload_result.html.j2",
        user=desk.user,
        upload=record,
        verdict=_verdict(record),
        problems=shown,
        problem_count=problems.height,
        errors=problems.filter(problems["level"] == "error").height,
    )


def _verdict(record: dict) -> str:
    """The upload in one sentence."""
    if record["retracted_at"] is not None:
        return f"该批次已于 {record['retracted_at']:%Y-%m-%d %H:%M} 撤回，其填报不再有效。"
    read, accepted, rejected = record["rows_read"], record["accepted"], record["rejected"]
    if rejected:
        fix = "请按下面的问题修改被拒收的行，再上传修改后的文件"
        return f"读取 {read} 行，接收 {accepted} 行，拒收 {rejected} 行：{fix}。"
    if record["warnings"]:
        return f"读取 {read} 行，全部接收（{accepted} 行）；有 {record['warnings']} 个警告，请核对。"
    return f"读取 {read} 行，全部接收（{accepted} 行），没有发现问题。"


@router.get("/uploads/{upload_id}/problems.xlsx")
def problem_workbook(desk: PageDesk, upload_id: int) -> Response:
    record = desk.upload(upload_id)
    folder = Path(tempfile.mkdtemp(prefix="download-"))
    name = f"{Path(record['file_name']).stem}_问题清单.xlsx"
    written = desk.problem_workbook(upload_id, folder / name)
    return _download(written, folder)


@router.get("/uploads/{upload_id}/retract")
def retract_page(request: Request, desk: PageDesk, upload_id: int) -> Response:
    return page(request, "retract.html.j2", user=desk.user, upload=desk.upload(upload_id))


@router.post("/uploads/{upload_id}/retract")
def retract(request: Request, desk: PageDesk, upload_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    checked_form(request, csrf)
    desk.writer("retract", f"上传批次 {upload_id}")
    desk.upload(upload_id)  # another city's upload is not found before anything is queued

    def work(worker: Desk, progress: Progress) -> str:
        worker.retract(upload_id)
        return f"/uploads/{upload_id}"

    job = server(request).jobs.submit("retract", f"撤回上传批次 {upload_id}", desk.user, work)
    return _see_other(f"/jobs/{job.id}")


# --- runs and what they found ------------------------------------------------------------------------------------


@router.get("/runs")
def runs_page(request: Request, desk: PageDesk) -> Response:
    jobs = server(request).jobs.recent(desk.user, "run")
    return page(request, "runs.html.j2", user=desk.user, years=_years(desk), done=desk.years(), jobs=jobs)


@router.post("/runs")
def start_run(
    request: Request, desk: PageDesk, year: Annotated[int, Form()], csrf: Annotated[str, Form()] = ""
) -> Response:
    checked_form(request, csrf)
    desk.writer("run", f"{year} 年度评估")

    def work(worker: Desk, progress: Progress) -> str:
        worker.run(year, progress)
        return f"/lists?year={year}"

    job = server(request).jobs.submit("run", f"{year} 年度评估", desk.user, work)
    return _see_other(f"/jobs/{job.id}")


def _year(desk: Desk, year: int | None) -> int | None:
    done = desk.years()
    return year if year is not None else (done[0] if done else None)


@router.get("/lists")
def lists_page(
    request: Request,
    desk: PageDesk,
    year: int | None = None,
    city: str | None = None,
    chain: str | None = None,
    status: str = "selected",
) -> Response:
    shown = _year(desk, year)
    if shown is None:
        return page(request, "empty.html.j2", user=desk.user, said="还没有评估结果：请先在「评估」页发起评估。")
    found = desk.lists(shown, city=city or None, chain=chain or None, statuses=(status,))
    lists = [
        {"id": t.id, "title": t.pack.title, "ranked_by": t.rank_title, "firms": found.lists[t.id].to_dicts()}
        for t in found.tiers
    ]
    return page(
        request,
        "lists.html.j2",
        user=desk.user,
        year=shown,
        years=desk.years(),
        lists=lists,
        city=desk.city(city or None),
        cities=list(dict.fromkeys(desk.store.contract.cities.values())),
        chains=list(desk.store.contract.chains),
        chain=chain or "",
        status=status,
    )


@router.get("/firms/{credit_code}")
def firm_page(request: Request, desk: PageDesk, credit_code: str, year: int | None = None) -> Response:
    filings = desk.firm(credit_code)
    shown = _year(desk, year)
    explained = desk.explain(credit_code, shown) if shown is not None and shown in filings["year"].to_list() else None
    return page(request, "firm.html.j2", user=desk.user, filings=filings.to_dicts(), explained=explained, year=shown)


@router.get("/targets")
def targets_page(request: Request, desk: PageDesk, year: int | None = None) -> Response:
    shown = _year(desk, year)
    if shown is None:
        return page(request, "empty.html.j2", user=desk.user, said="还没有评估结果：请先在「评估」页发起评估。")
    return page(request, "targets.html.j2", user=desk.user, year=shown, years=desk.years(), f=desk.stats(shown))


# --- downloads ---------------------------------------------------------------------------------------------------


@router.get("/downloads")
def downloads_page(request: Request, desk: PageDesk) -> Response:
    cities = [desk.user.city] if desk.user.city else list(dict.fromkeys(desk.store.contract.cities.values()))
    return page(request, "downloads.html.j2", user=desk.user, years=desk.years(), cities=cities)


@router.get("/downloads/workbook")
def workbook(desk: PageDesk, year: int, city: str | None = None) -> Response:
    where = desk.city(city or None, "download")
    folder = Path(tempfile.mkdtemp(prefix="download-"))
    written = desk.workbook(year, folder / f"{year}_{where or '全省'}_培育清单.xlsx", where)
    return _download(written, folder)


@router.get("/downloads/report")
def report(desk: PageDesk, year: int, city: str | None = None) -> Response:
    where = desk.city(city or None, "download")
    folder = Path(tempfile.mkdtemp(prefix="download-"))
    written = desk.report(year, folder / f"{year}_{where or '全省'}_评估报告.html", where)
    response = _download(written, folder, "text/html; charset=utf-8")
    response.headers["content-security-policy"] = guard.REPORT_POLICY
    return response


_MEDIA = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _download(path: Path, folder: Path, media: str | None = None) -> FileResponse:
    """A file made for this request, sent as an attachment and removed once sent."""
    return FileResponse(
        path,
        media_type=media or _MEDIA[path.suffix],
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(path.name)}"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )

"""The web app: FastAPI with server-rendered pages and /api/, on one DuckDB file that the server holds while it runs
(the command line is told so), with one writer thread for uploads and runs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from assess.access.desk import Hidden, Refused
from assess.errors import InputError, OutputError, StoreError
from assess.resources import TEMPLATES_DIR
from assess.store import Store, serving
from assess.web import api_routes, guard, pages
from assess.web.context import NotSignedIn, Server
from assess.web.jobs import JobQueue
from assess.web.settings import WebSettings

# What each refusal answers, and in which words when the message is not the user's own.
_log = logging.getLogger("assess.web")
_STATUS = {Refused: 403, Hidden: 404, InputError: 400, StoreError: 404, OutputError: 500}


def create_app(settings: WebSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.db)
        serving.mark(settings.db, settings.host, settings.port)
        jobs = JobQueue(store, settings.rules)
        app.state.server = Server(settings, store, jobs)
        try:
            yield
        finally:
            jobs.stop()
            store.close()
            serving.unmark(settings.db)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sign_in_limit = guard.SignInLimit(settings.sign_in_failures, settings.sign_in_window_s)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),  # sessions end with the server
        session_cookie="assess_session",
        max_age=settings.session_hours * 3600,
        same_site="strict",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(guard.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=TEMPLATES_DIR / "web" / "static"), name="static")
    app.include_router(api_routes.router)
    app.include_router(pages.router)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "需要有效的 API 令牌（Authorization: Bearer 令牌）。"}, status_code=401)
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)

    for kind, status in _STATUS.items():
        app.add_exception_handler(kind, _said(status))
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _crash)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _said(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return _error(request, status, str(exc))

    return handler


async def _invalid(request: Request, exc: Exception) -> Response:
    return _error(request, 400, "请求的参数不完整或格式不对：请检查年度、编号等取值。")


async def _http(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return _error(request, status, "没有找到这个页面。" if status == 404 else "请求无法处理。")


async def _crash(request: Request, exc: Exception) -> Response:
    """A fault of the program: logged with its traceback for the operator, one sentence for the user."""
    _log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(request, 500, "处理请求时发生内部错误，已记录在服务日志中：请稍后重试或联系管理员。")


def _error(request: Request, status: int, said: str) -> Response:
    if _is_api(request):
        return JSONResponse({"error": said}, status_code=status)
    return pages.page(request, "error.html.j2", status, user=None, said=said)


def serve(settings: WebSettings) -> None:
    """Serve until stopped (Ctrl+C)."""
    import uvicorn

    # Idle connections are kept longer than a script's client keeps them (httpx: 5 s), so that the server never
    # closes one just as the client sends on it.
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="warning", timeout_keep_alive=30
    )

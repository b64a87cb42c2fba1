"""`assess serve`: the web app on the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assess.cli import render
from assess.cli.common import DbOption, RulesOption, app


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址；只在本机使用时保持 127.0.0.1")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    max_upload_mb: Annotated[int, typer.Option(help="每个上传文件的大小上限（MB）")] = 50,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="经 HTTPS 提供服务时打开：登录凭据只经加密连接发送")
    ] = False,
    db: DbOption = None,
    rules: RulesOption = None,
) -> None:
    """网页服务：各市上传和检查填报、发起评估、查看清单和下载工作簿，/api/ 供分析人员的脚本调用。

    服务运行期间独占数据库：命令行请改用网页或 /api/，或先停止服务（Ctrl+C）。
    """
    from assess.store import resolve_db
    from assess.web.app import serve as run_server
    from assess.web.settings import WebSettings

    path = resolve_db(db)
    settings = WebSettings(
        db=path, rules=rules, host=host, port=port, max_upload_mb=max_upload_mb, secure_cookies=secure_cookies
    )
    shown = f"[{host}]" if ":" in host else host
    render.notice(f"网页服务：http://{shown}:{port}/（数据库 {Path(path)}；按 Ctrl+C 停止）")
    run_server(settings)

"""What every request of the web app starts from: a connection of its own to the server's database, the user (from
the session for pages, from the bearer token for /api/), and that user's desk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from assess.access import accounts, audit
from assess.access.accounts import User
from assess.access.desk import Desk
from assess.store import Store
from assess.web.jobs import JobQueue
from assess.web.settings import WebSettings


class NotSignedIn(Exception):
    """A page asked for without a session (redirect to sign in) or an /api/ path without a valid token (401)."""


@dataclass
class Server:
    """What the app holds while it runs (app.state.server)."""

    settings: WebSettings
    store: Store
    jobs: JobQueue


def server(request: Request) -> Server:
    found: Server = request.app.state.server
    return found


def request_store(request: Request) -> Iterator[Store]:
    store = Store.sharing(server(request).store)
    try:
        yield store
    finally:
        store.close()


StoreDep = Annotated[Store, Depends(request_store)]


def page_user(request: Request, store: StoreDep) -> User:
    name = request.session.get("user")
    user = accounts.by_name(store, name) if isinstance(name, str) else None
    if user is None:
        request.session.clear()
        raise NotSignedIn
    return user


def api_user(request: Request, store: StoreDep) -> User:
    said = request.headers.get("authorization", "")
    scheme, _, token = said.partition(" ")
    user = accounts.by_token(store, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        audit.record(store, None, "read", request.url.path, audit.REFUSED, "API 令牌缺失或无效")
        raise NotSignedIn
    return user


def page_desk(request: Request, store: StoreDep, user: Annotated[User, Depends(page_user)]) -> Desk:
    return Desk(store, user, server(request).settings.rules)


def api_desk(request: Request, store: StoreDep, user: Annotated[User, Depends(api_user)]) -> Desk:
    return Desk(store, user, server(request).settings.rules)


PageDesk = Annotated[Desk, Depends(page_desk)]
ApiDesk = Annotated[Desk, Depends(api_desk)]

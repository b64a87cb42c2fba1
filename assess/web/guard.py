"""Web hygiene: the security headers of every response, CSRF tokens for forms and the sign-in rate limit. (What an
uploaded file is, by its content, the ingest's own check says: `api.refusal`.)"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages run no inline script and load nothing from elsewhere; the report (inline styles, inline SVG) sets its own.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
    b"cache-control": b"no-store",
}


class SecurityHeaders:
    """Adds the headers above to every response, and the page policy where a route set no policy of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _HEADERS.items() if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


class SignInLimit:
    """At most `failures` failed sign-ins for one name from one address within `window` seconds."""

    def __init__(self, failures: int, window: int) -> None:
        self.failures, self.window = failures, window
        self._failed: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait(self, name: str, address: str) -> int:
        """Seconds before the next try is allowed (0: now)."""
        with self._lock:
            recent = self._recent((name, address))
            return 0 if len(recent) < self.failures else int(recent[0] + self.window - time.monotonic()) + 1

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            self._recent((name, address)).append(time.monotonic())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failed.pop((name, address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        found = self._failed[key]
        while found and found[0] < time.monotonic() - self.window:
            found.popleft()
        return found

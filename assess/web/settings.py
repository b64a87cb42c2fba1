"""What an operator may set for `assess serve`: where the database is, the rule folder, the limits of an upload and of
signing in, and whether cookies are sent over HTTPS only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MB = 1 << 20


@dataclass(frozen=True)
class WebSettings:
    db: Path
    rules: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 50  # per file
    max_files: int = 20  # per upload
    sign_in_failures: int = 5  # failed sign-ins allowed for one name from one address ...
    sign_in_window_s: int = 15 * 60  # ... within this many seconds, before further tries wait
    session_hours: int = 10  # a working day; then sign in again
    secure_cookies: bool = False  # True when served over HTTPS (behind a proxy that terminates TLS)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * MB

"""The web app's users: who they are (province, city or analyst), their passwords (argon2 hashes) and personal API
tokens (only a token's SHA-256 is kept). The command line manages them (`assess user ...`); the web app checks them."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assess.errors import InputError, StoreError
from assess.store import Store

PROVINCE, CITY, ANALYST = "province", "city", "analyst"
ROLE_TITLES = {PROVINCE: "省级", CITY: "地市", ANALYST: "分析人员"}
MIN_PASSWORD = 10  # characters
TOKEN_BYTES = 32

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    name: str
    role: str
    city: str | None  # a city user's city; None for the province and analysts

    @property
    def writes(self) -> bool:
        """Whether the user may upload, retract and start runs (analysts read only)."""
        return self.role in (PROVINCE, CITY)

    @property
    def title(self) -> str:
        return f"{ROLE_TITLES[self.role]}·{self.city}" if self.city else ROLE_TITLES[self.role]


def new_user(store: Store, name: str, role: str, city: str | None) -> User:
    """The user `add_user` would add, refused as it would be refused, before anyone types a password for it."""
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise InputError("用户名不能为空，也不能含空格。")
    if role not in ROLE_TITLES:
        raise InputError(f"角色「{role}」不存在：可选 province（省级）、city（地市）、analyst（分析人员）。")
    cities = set(store.contract.cities.values())
    if role == CITY and city not in cities:
        raise InputError("地市用户须用 --city 指定所属地市，如 --city 济南。")
    if role != CITY and city is not None:
        raise InputError("只有地市用户（--role city）有所属地市。")
    if _row(store, name) is not None:
        raise InputError(f"用户「{name}」已存在。")
    return User(name, role, city)


def add_user(store: Store, name: str, role: str, city: str | None, password: str) -> User:
    """A new user; a city user names a city of the contract, the others none."""
    user = new_user(store, name, role, city)
    if len(password) < MIN_PASSWORD:
        raise InputError(f"密码至少 {MIN_PASSWORD} 个字符。")
    store.con.execute(
        """
        INSERT INTO users (user_id, name, role, city, password_hash, created_at)
        VALUES (nextval('user_ids'), ?, ?, ?, ?, ?)
        """,
        [user.name, role, city, _hasher.hash(password), dt.datetime.now()],
    )
    return user


# The demo database's users, one of each role; their passwords are made afresh by each `assess demo`.
DEMO_USERS = (("省厅演示", PROVINCE, None), ("济南演示", CITY, "济南"), ("分析演示", ANALYST, None))


def demo_users(store: Store) -> list[tuple[User, str]]:
    """The demo users with new passwords (shown once, kept nowhere but as hashes)."""
    made = []
    for name, role, city in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        made.append((add_user(store, name, role, city, password), password))
    return made


def users(store: Store) -> list[dict]:
    """Every user, without secrets: name, role, city, created, disabled, whether a token is in force."""
    rows = store.con.execute(
        """
        SELECT name, role, city, created_at, disabled_at, token_sha256 IS NOT NULL AS has_token
        FROM users ORDER BY user_id
        """
    ).fetchall()
    keys = ("name", "role", "city", "created_at", "disabled_at", "has_token")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def disable(store: Store, name: str) -> None:
    """The user can no longer sign in, and the token is revoked; the user's uploads and log entries stay."""
    _existing(store, name)
    store.con.execute(
        "UPDATE users SET disabled_at = ?, token_sha256 = NULL WHERE name = ? AND disabled_at IS NULL",
        [dt.datetime.now(), name],
    )


def new_token(store: Store, name: str) -> str:
    """A new personal token for the JSON API; the previous one stops working."""
    row = _existing(store, name)
    if row["disabled_at"] is not None:
        raise InputError(f"用户「{name}」已停用，不能发放令牌。")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    store.con.execute(
        "UPDATE users SET token_sha256 = ?, token_created_at = ? WHERE name = ?",
        [_digest(token), dt.datetime.now(), name],
    )
    return token


def signed_in(store: Store, name: str, password: str) -> User | None:
    """The user whose name and password these are, if enabled; None otherwise (without saying which was wrong)."""
    row = _row(store, name.strip())
    if row is None or row["disabled_at"] is not None:
        _hasher.hash(password)  # the same work as a real check, so that timing tells no name apart
        return None
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row["name"], row["role"], row["city"])


def by_token(store: Store, token: str) -> User | None:
    found = store.con.execute(
        "SELECT name, role, city FROM users WHERE token_sha256 = ? AND disabled_at IS NULL", [_digest(token)]
    ).fetchall()
    return User(*found[0]) if found else None


def by_name(store: Store, name: str) -> User | None:
    """An enabled user (a session names its user; a user disabled meanwhile is signed out)."""
    row = _row(store, name)
    return None if row is None or row["disabled_at"] is not None else User(row["name"], row["role"], row["city"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row(store: Store, name: str) -> dict | None:
    found = store.con.execute(
        "SELECT name, role, city, password_hash, disabled_at FROM users WHERE name = ?", [name]
    ).fetchall()
    keys = ("name", "role", "city", "password_hash", "disabled_at")
    return dict(zip(keys, found[0], strict=True)) if found else None


def _existing(store: Store, name: str) -> dict:
    row = _row(store, name)
    if row is None:
        raise StoreError(f"没有用户「{name}」：请用 assess user list 查看。")
    return row

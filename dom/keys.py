"""API keys: who may call the HTTP API, and with which scopes. Stored hashed, shown once.

A key is 32 random bytes, so a single SHA-256 of it is as good as a slow password hash: nobody
can guess their way back from the hash. The row keeps the hash, the scopes and a short public id
(`k_...`) that names the key in lists and in `revoke`, never the key itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    update,
)

from inventory import to_micros


def utcnow() -> datetime:
    return datetime.now(UTC)


SCOPES: Final = (
    "availability:read",
    "reservations:write",
    "stock:write",
    "network:write",
    "orders:read",
    "orders:write",
    "rules:read",
    "rules:write",
    "metrics",
    "admin",
)
# A writer of orders or rules reads them too: the OMS that submits an order reads it back.
IMPLIED: Final = {"orders:write": ("orders:read",), "rules:write": ("rules:read",)}
KEY_PREFIX = "dom_"
MAX_KEY_NAME_CHARS = 64
MAX_RATE_PER_S = 1_000_000

metadata = MetaData()
API_KEY = Table(
    "api_key",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(MAX_KEY_NAME_CHARS), nullable=False),
    Column("scopes", String(256), nullable=False),  # space separated
    Column("hash", String(64), nullable=False, unique=True),
    Column("rate_per_s", Integer, nullable=True),  # None: the engine's default limit
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger, nullable=True),
)


def generation_key(prefix: str) -> str:
    """The Redis counter bumped at every revocation: API processes drop their cached keys when
    it moves (api.access)."""
    return f"{prefix}:keys:generation"


class InvalidKey(ValueError):
    """A key that cannot be created as asked (an unknown scope, say): the message says why."""


class UnknownKey(LookupError):
    """No key has this id."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[str]
    rate_per_s: int | None
    created_us: int
    revoked_us: int | None = None

    def allows(self, scope: str) -> bool:
        """`admin` may do anything; a writer of orders or rules reads them (IMPLIED); every
        other scope allows only itself."""
        return any(scope in grants(held) for held in self.scopes)


def grants(scope: str) -> frozenset[str]:
    """What a key holding `scope` may do."""
    if scope == "admin":
        return frozenset(SCOPES)
    return frozenset((scope, *IMPLIED.get(scope, ())))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> frozenset[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidKey(f"unknown scope(s) {', '.join(unknown)}; scopes are {', '.join(SCOPES)}")
    if not scopes:
        raise InvalidKey(f"a key has at least one scope of {', '.join(SCOPES)}")
    return frozenset(scopes)


class KeyStore:
    """The `api_key` table, beside the ledger's tables in the same database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def create(
        self, name: str, scopes: list[str], rate_per_s: int | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret: the only time the secret is seen."""
        name = name.strip()
        if not 1 <= len(name) <= MAX_KEY_NAME_CHARS or not name.isprintable():
            raise InvalidKey(f"a key's name is 1 to {MAX_KEY_NAME_CHARS} printable characters")
        if rate_per_s is not None and not 1 <= rate_per_s <= MAX_RATE_PER_S:
            raise InvalidKey(f"rate_per_s is 1 to {MAX_RATE_PER_S:,} requests a second")
        key = ApiKey(
            "k_" + secrets.token_hex(6),
            name,
            check_scopes(scopes),
            rate_per_s,
            to_micros(utcnow()),
        )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {
            "id": key.id, "name": key.name, "scopes": " ".join(sorted(key.scopes)),
            "hash": digest(secret), "rate_per_s": rate_per_s, "created_us": key.created_us,
        }  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(API_KEY.insert(), row)
        return key, secret

    def find(self, secret: str) -> ApiKey | None:
        """The live key with this secret; None for an unknown or a revoked one."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(API_KEY).where(
                    API_KEY.c.hash == digest(secret), API_KEY.c.revoked_us.is_(None)
                )
            ).first()
        return _key(row) if row is not None else None

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            return [
                _key(row) for row in conn.execute(select(API_KEY).order_by(API_KEY.c.created_us))
            ]

    def count(self) -> int:
        """Keys ever made, revoked ones too: none means a fresh install."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(API_KEY)) or 0)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key for good; revoking it again changes nothing and says when it was."""
        now_us = to_micros(utcnow())
        with self.engine.begin() as conn:
            conn.execute(
                update(API_KEY)
                .where(API_KEY.c.id == key_id, API_KEY.c.revoked_us.is_(None))
                .values(revoked_us=now_us)
            )
            row = conn.execute(select(API_KEY).where(API_KEY.c.id == key_id)).first()
        if row is None:
            raise UnknownKey(f"no API key has the id {key_id!r}")
        return _key(row)


def _key(row) -> ApiKey:  # type: ignore[no-untyped-def]
    return ApiKey(
        row.id,
        row.name,
        frozenset(row.scopes.split()),
        row.rate_per_s,
        row.created_us,
        row.revoked_us,
    )

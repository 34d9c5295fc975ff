"""Operations' models: API keys, reconcile and rebuild reports, health."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas.common import In, Out
from dom.keys import MAX_KEY_NAME_CHARS, MAX_RATE_PER_S, SCOPES

Scope = Literal[SCOPES]  # type: ignore[valid-type]


class KeyIn(In):
    name: str = Field(min_length=1, max_length=MAX_KEY_NAME_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$")
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES))  # type: ignore[valid-type]
    rate_per_s: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RATE_PER_S,
        description="requests a second; the engine's default if null",
    )


class KeyOut(Out):
    id: str
    name: str
    scopes: list[str]
    rate_per_s: int | None
    created_at: datetime
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="the secret: shown this once, stored only hashed")


class ReconcileIn(In):
    repair: bool = Field(default=False, description="bring back what drifted, besides listing it")


class DriftOut(Out):
    kind: str
    location: str
    sku: str
    ledger: int | None
    found: int | None
    detail: str


class ShortOut(Out):
    location: str
    sku: str
    on_hand: int
    reserved: int
    safety: int
    missing: int = Field(description="reserved units stock no longer backs")
    holds: list[str] = Field(description="the reservations left short")


class ReconcileOut(Out):
    checked: int
    drifts: list[DriftOut]
    repaired: int
    short: list[ShortOut]


class RebuildOut(Out):
    positions: int
    inbound_skus: int
    network_version: str
    generation: int


class HealthOut(Out):
    status: Literal["ok"]


class ReadyOut(Out):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description="sql, redis, projection: ok, or what is wrong")

"""Rule sets: the planner-owned configuration the allocation core routes by, in versions.

Every order and shipment records the version that routed it. A version is written once and
never changed; activating one makes it the version new routing uses. Until one is activated the
engine routes by the default cost model of DESIGN.md, under the version name `default`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, Text, select

from allocation.rules import Rules
from inventory import reading, to_micros

DEFAULT_VERSION = "default"
ACTIVE_CACHE_S = 1.0  # how long a process routes by the version it last read before reading again

metadata = MetaData()
RULE_SET = Table(
    "rule_set",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("body", Text, nullable=False),  # the Rules document (JSON)
    Column("note", Text, nullable=False, default=""),  # why it was activated
    Column("created_us", BigInteger, nullable=False),
    Column("activated_us", BigInteger, nullable=True),
)


class RuleSets:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._lock = threading.Lock()
        self._active: tuple[float, str, Rules] | None = None

    def active(self) -> tuple[str, Rules]:
        """The version new routing uses, and its rules (read again every ACTIVE_CACHE_S)."""
        now = time.monotonic()
        cached = self._active
        if cached is not None and now - cached[0] < ACTIVE_CACHE_S:
            return cached[1], cached[2]
        with reading(self.engine) as conn:
            row = conn.execute(
                select(RULE_SET.c.version, RULE_SET.c.body)
                .where(RULE_SET.c.activated_us.is_not(None))
                .order_by(RULE_SET.c.activated_us.desc())
                .limit(1)
            ).first()
        if row is None:
            version, rules = DEFAULT_VERSION, Rules(version=DEFAULT_VERSION)
        else:
            version, rules = row.version, Rules.model_validate_json(row.body)
        with self._lock:
            self._active = (now, version, rules)
        return version, rules

    def activate(self, rules: Rules, note: str = "") -> str:
        """Record `rules` as a new version and make it the one routing uses; returns the version."""
        now_us = to_micros(datetime.now(UTC))
        with self.engine.begin() as conn:
            count = len(conn.execute(select(RULE_SET.c.version)).all())
            version = f"v{count + 1}"
            body = rules.model_copy(update={"version": version}).model_dump_json()
            conn.execute(
                RULE_SET.insert(),
                {"version": version, "body": body, "note": note, "created_us": now_us,
                 "activated_us": now_us},
            )  # fmt: skip
        with self._lock:
            self._active = None
        return version

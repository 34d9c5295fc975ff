"""Helpers shared by the hold tests: requests, concurrent callers, invariant 1 checked in SQL, and
the reservations as recorded."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from sqlalchemy import select

from inventory.availability.sources import Query
from inventory.domain.projected import Projected
from inventory.holds.request import HoldLine, HoldRequest
from inventory.sql.schema import (
    PositionChannelRow,
    PositionRow,
    ReservationLineRow,
    ReservationRow,
)

T = TypeVar("T")
POS = PositionRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__
PCH = PositionChannelRow.__table__


def hold(
    *lines: tuple[str, int],
    rid: str | None = None,
    ttl_s: int | None = None,
    location: str | None = None,
    **kw,
) -> HoldRequest:
    """A hold of (sku, units) lines, each pinned to `location` when given."""
    return HoldRequest(
        id=rid or uuid.uuid4().hex,
        lines=[HoldLine(sku=s, quantity=q, location=location) for s, q in lines],
        ttl_s=ttl_s,
        **kw,
    )


def showing(free: dict[tuple[str, str], int]) -> dict[tuple[str, str], Projected]:
    """What a projection proposes that shows `free` units free at each position."""
    return {key: Projected(1, units, 0, 0, 0) for key, units in free.items()}


def available(backend, s: str, query: Query = Query()) -> int:
    return backend.reader.check([s], query)[0].available


def together(*calls: Callable[[], T]) -> list[T]:
    """Each call from its own thread, all released together; answers in call order."""
    start = threading.Barrier(len(calls))

    def go(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def all_at_once(attempt: Callable[[HoldRequest], T], requests: list[HoldRequest]) -> list[T]:
    """`attempt` of each request from its own thread, all released together."""
    return together(*(partial(attempt, request) for request in requests))


def assert_never_oversold(backend) -> None:
    """Invariant 1 at every position, and reserved is exactly the units of held and consumed
    lines there, each channel's part of it exactly its own: a hold given back twice, or never,
    or to another channel, shows up here."""
    kept: dict[tuple[str, str], int] = defaultdict(int)
    by_channel: dict[tuple[str, str, str], int] = defaultdict(int)
    with backend.ledger.engine.connect() as conn:
        query = select(LINE, RES.c.channel).join(RES, RES.c.id == LINE.c.reservation_id)
        for r in conn.execute(query.where(RES.c.status.in_(["held", "consumed"]))):
            kept[(r.location, r.sku)] += r.quantity
            by_channel[(r.location, r.sku, r.channel)] += r.quantity
        positions = list(conn.execute(select(POS)))
        parts = {(r.location, r.sku, r.channel): r.reserved for r in conn.execute(select(PCH))}
    assert positions, "no position at all: the test checked nothing"
    for p in positions:
        key = (p.location, p.sku)
        assert 0 <= p.reserved <= p.on_hand - p.safety, key
        assert p.reserved == kept.get(key, 0), key
    assert {k: n for k, n in parts.items() if n} == dict(by_channel)


def reservation_rows(backend) -> dict[str, tuple]:
    """Every reservation as recorded: its status, content hash and lines."""
    lines: dict[str, set] = defaultdict(set)
    with backend.ledger.engine.connect() as conn:
        for r in conn.execute(select(LINE)):
            lines[r.reservation_id].add((r.line, r.location, r.sku, r.quantity))
        rows = list(conn.execute(select(RES)))
    return {r.id: (r.status, r.request_hash, frozenset(lines[r.id])) for r in rows}

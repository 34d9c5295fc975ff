"""Expiry, in one place: when a hold is due, releasing due holds in SQL (each exactly once,
in batches), and the sweeper thread that does it without anyone calling.

A cart hold is due after its own `ttl_s`, or after the engine's configured TTL
(DOM_RESERVATION_TTL_S) when it names none; an order's allocation is never due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, select

from inventory.holds.lifecycle import expire
from inventory.holds.outcome import Changes, HoldStatus
from inventory.holds.request import HoldRequest
from inventory.sql.schema import ReservationRow

RES = ReservationRow.__table__
DEFAULT_CART_TTL_S = 900  # a cart hold that names no TTL, unless the engine is configured otherwise
EXPIRY_BATCH = 1000  # holds expired in one transaction
log = logging.getLogger(__name__)


def expires_us(
    request: HoldRequest, now_us: int, cart_ttl_s: int = DEFAULT_CART_TTL_S
) -> int | None:
    """When a hold decided at `now_us` is due: a cart hold after its own TTL, or `cart_ttl_s`
    when it names none; None for an allocation, which never expires."""
    if request.kind == "allocation":
        return None
    return now_us + (request.ttl_s or cart_ttl_s) * 1_000_000


def expire_due(conn: Connection, now_us: int, limit: int, changes: Changes) -> list[str]:
    """Expire up to `limit` holds whose time has come; each is expired exactly once."""
    due = list(conn.scalars(
        select(RES.c.id).where(RES.c.status == HoldStatus.held, RES.c.expires_us <= now_us).order_by(RES.c.expires_us).limit(limit)
    ))  # fmt: skip
    if not due:
        return []
    return expire(conn, due, now_us, changes)


def expire_all(
    transaction: Callable[[Callable[[Connection], list[str]]], list[str]],
    project: Callable[[dict], object],
    now_us: Callable[[], int],
) -> int:
    """Expire every due hold, a batch per transaction, projecting each batch once committed;
    returns how many expired. Safe to run anywhere, any time, by as many processes as like."""
    total = 0
    while True:
        changes = Changes()
        at_us = now_us()

        def work(conn: Connection, changes: Changes = changes, at_us: int = at_us) -> list[str]:
            changes.positions.clear()
            return expire_due(conn, at_us, EXPIRY_BATCH, changes)

        expired = transaction(work)
        project(changes.positions)
        total += len(expired)
        if len(expired) < EXPIRY_BATCH:
            return total


class ExpirySweeper:
    """Expires due holds every `interval_s` in a background thread, so nobody has to call."""

    def __init__(self, expire: Callable[[], int], interval_s: float) -> None:
        self._expire = expire
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="expiry-sweeper", daemon=True)

    def start(self) -> ExpirySweeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._expire()
            except Exception:  # a failed sweep changed nothing; the next tick tries again
                log.exception("expiring holds failed; retrying in %.1f s", self._interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

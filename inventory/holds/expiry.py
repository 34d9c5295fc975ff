"""Expiry, in one place: when a cart hold is due, releasing due holds in SQL (each exactly
once), and the sweeper thread that does it without anyone calling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, select, update

from inventory.holds.lifecycle import give_back
from inventory.holds.outcome import Changes
from inventory.sql.schema import ReservationRow

RES = ReservationRow.__table__


def expire_due(conn: Connection, now_us: int, limit: int, changes: Changes) -> list[str]:
    """Expire up to `limit` holds whose time has come; each is expired exactly once."""
    due = list(conn.scalars(
        select(RES.c.id).where(RES.c.status == "held", RES.c.expires_us <= now_us).order_by(RES.c.expires_us).limit(limit)
    ))  # fmt: skip
    if not due:
        return []
    expired = list(conn.scalars(
        update(RES).where(RES.c.id.in_(due), RES.c.status == "held").values(status="expired", closed_us=now_us).returning(RES.c.id)
    ))  # fmt: skip
    if expired:
        give_back(conn, expired, changes)
    return expired


log = logging.getLogger(__name__)


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

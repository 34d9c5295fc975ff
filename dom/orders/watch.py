"""Orders that wait on stock: re-routed when it arrives, and when a count leaves them short.

The ledger tells the watch which positions each committed stock batch changed
(Ledger.watch_stock); its thread then, off the feed's path:
  - moves the allocations those positions no longer back (short holds, newest first) back to
    backorders and routes them again;
  - routes again the parked orders waiting for those SKUs, oldest first.
Every `interval_s` it also sweeps every parked order (stock that arrived while no process
watched, or through another process), and cancels the backorders that waited longer than
OrderTerms.parked_max_s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, select

from dom.events import outbox
from dom.orders import store
from dom.orders.allocate import RESERVATION_PREFIX, give_back
from dom.orders.cancel import cancel
from dom.orders.context import OrdersContext
from dom.orders.model import OPEN, ShipmentStatus
from dom.orders.reroute import reroute
from dom.orders.tables import BACKORDER
from inventory import Changes, HoldStatus, from_micros, reading, to_micros

log = logging.getLogger(__name__)
MAX_ORDERS_PER_PASS = 500  # parked orders one pass routes again; the next pass takes the rest
SHORT = "short"  # a shipment whose allocation a count left short: its `rejection`


class StockWatch:
    def __init__(self, ctx: OrdersContext, interval_s: float) -> None:
        self.ctx = ctx
        self.interval_s = interval_s
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> StockWatch:
        self.ctx.ledger.watch_stock(self.noticed)
        self._thread = threading.Thread(target=self._run, name="dom-stock-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def noticed(self, changed: Mapping[tuple[str, str], Any]) -> None:
        """A stock batch committed: note its positions (on the ingesting thread, so no I/O)."""
        with self._lock:
            self._keys.update(changed)
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if woken:
                    with self._lock:
                        keys, self._keys = self._keys, set()
                    self.handle(keys)
                else:
                    self.sweep()
            except Exception:  # a pass that failed is retried by the next sweep
                log.exception("the stock watch's pass failed")

    def handle(self, keys: set[tuple[str, str]]) -> None:
        """Positions changed: move short allocations back and route waiting orders again."""
        if not keys:
            return
        for hold in self.ctx.reservations.short(sorted(keys)):
            if hold.status is HoldStatus.consumed and hold.reservation_id.startswith(
                RESERVATION_PREFIX
            ):
                fell_short(self.ctx, hold.reservation_id[len(RESERVATION_PREFIX) :])
        skus = sorted({sku for _, sku in keys})
        with reading(self.ctx.ledger.engine) as conn:
            waiting = _waiting(conn, skus)
        for order_id in waiting:
            reroute(self.ctx, order_id, "stock_arrived")

    def sweep(self) -> None:
        """Route every parked order again; cancel what waited too long."""
        now = self.ctx.ledger.clock()
        oldest = to_micros(now - timedelta(seconds=self.ctx.terms.parked_max_s))
        with reading(self.ctx.ledger.engine) as conn:
            expired = conn.execute(
                select(BACKORDER.c.order_id, BACKORDER.c.line_id)
                .where(BACKORDER.c.since_us < oldest)
                .limit(MAX_ORDERS_PER_PASS)
            ).all()
            waiting = _waiting(conn, None)
        by_order: dict[str, list[str]] = {}
        for row in expired:
            by_order.setdefault(row.order_id, []).append(row.line_id)
        for order_id, lines in by_order.items():
            waited = self.ctx.terms.parked_max_s
            cancel(self.ctx, order_id, lines, f"no stock came within {waited} s")
        for order_id in waiting:
            if order_id not in by_order:
                reroute(self.ctx, order_id, "stock_arrived")


def _waiting(conn: Connection, skus: list[str] | None) -> list[str]:
    """Orders with backorders a re-route may serve (of `skus`), the longest waiting first."""
    query = select(BACKORDER.c.order_id, BACKORDER.c.since_us).where(BACKORDER.c.escalated == 0)
    if skus is not None:
        query = query.where(BACKORDER.c.sku.in_(skus))
    rows = conn.execute(query.order_by(BACKORDER.c.since_us).limit(MAX_ORDERS_PER_PASS * 4))
    return list(dict.fromkeys(row.order_id for row in rows))[:MAX_ORDERS_PER_PASS]


def fell_short(ctx: OrdersContext, shipment_id: str) -> None:
    """A count left this shipment's allocation short: it gives its units back and its lines are
    routed again (not a rejection: the location is not left out, nobody is escalated)."""
    changes = Changes()
    moved = ctx.ledger.transaction(
        partial(_fell_short, ctx, shipment_id=shipment_id, changes=changes)
    )
    ctx.ledger.project(changes.positions)
    if moved is not None:
        reroute(ctx, moved, "short")


def _fell_short(
    ctx: OrdersContext, conn: Connection, *, shipment_id: str, changes: Changes
) -> str | None:
    changes.positions.clear()
    found = store.shipment(conn, shipment_id)
    if found is None:
        return None
    store.lock_order(conn, found.order_id)
    shipment = store.shipment(conn, shipment_id, lock=True)
    if shipment is None or shipment.status not in OPEN:
        return None
    now_us = ctx.now_us()
    give_back(conn, ctx.reservations, shipment.id, changes)
    store.set_shipment(conn, shipment_id, ShipmentStatus.rejected, now_us, SHORT)
    why = f"its allocation at {shipment.location} fell short after a count"
    penalty = ctx.rule_sets.active()[1].backorder_penalty
    store.add_backorders(
        conn, shipment.order_id, [(ln, sku, q, why) for ln, sku, q in shipment.lines], penalty,
        now_us,
    )  # fmt: skip
    store.record(conn, shipment.order_id, "shipment.short", now_us, shipment_id,
                 location=shipment.location)  # fmt: skip
    status = store.settle_status(conn, shipment.order_id, now_us)
    payload = {"id": shipment_id, "order": shipment.order_id, "location": shipment.location,
               "status": "rejected", "reason": SHORT, "order_status": status.value,
               "at": from_micros(now_us).isoformat()}  # fmt: skip
    outbox.record(conn, "shipment.rejected", shipment.order_id, payload, now_us)
    return shipment.order_id

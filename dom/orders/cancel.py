"""Cancelling an order, whole or some of its lines: what has not left is released.

A shipment is one allocation, so it is cancelled whole: an open shipment holding a cancelled
line is cancelled, and its other lines are routed again. Backordered units of a cancelled line
are dropped. Units that have left (shipped, ready, collected) are not cancelled: an order with
nothing left to cancel says so. Cancelling what is cancelled already is a replay.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, update

from dom.events import outbox
from dom.orders import store
from dom.orders.allocate import give_back
from dom.orders.context import OrdersContext
from dom.orders.errors import OrderConflict, UnknownOrder
from dom.orders.model import OPEN, ShipmentStatus
from dom.orders.reroute import reroute
from dom.orders.tables import BACKORDER, LINE
from dom.orders.views import summary
from inventory import Changes


def cancel(
    ctx: OrdersContext, order_id: str, lines: list[str] | None, reason: str
) -> dict[str, Any]:
    """Cancel `lines` of the order (every line when None); the order as it then stands."""
    changes = Changes()
    answer, reroute_after = ctx.ledger.transaction(
        partial(_cancel, ctx, order_id=order_id, lines=lines, reason=reason, changes=changes)
    )
    ctx.ledger.project(changes.positions)
    if reroute_after:
        again = reroute(ctx, order_id, "cancelled_lines")
        if again is not None:
            return again
    return answer


def _cancel(
    ctx: OrdersContext,
    conn: Connection,
    *,
    order_id: str,
    lines: list[str] | None,
    reason: str,
    changes: Changes,
) -> tuple[dict[str, Any], bool]:
    changes.positions.clear()
    order = store.lock_order(conn, order_id)
    if order is None:
        raise UnknownOrder(f"no order {order_id!r}")
    known = {
        row.line_id: row for row in conn.execute(LINE.select().where(LINE.c.order_id == order_id))
    }
    targets = set(known) if lines is None else set(lines)
    unknown = sorted(targets - known.keys())
    if unknown:
        raise UnknownOrder(f"order {order_id!r} has no line {', '.join(map(repr, unknown))}")
    now_us = ctx.now_us()
    cancelled: dict[str, int] = {}
    others: list[tuple[str, str, int, str]] = []
    shipments_cancelled = []
    for shipment in store.shipments(conn, order_id):
        if shipment.status not in OPEN or not targets & {ln for ln, _, _ in shipment.lines}:
            continue
        give_back(conn, ctx.reservations, shipment.id, changes)
        store.set_shipment(conn, shipment.id, ShipmentStatus.cancelled, now_us)
        store.record(conn, order_id, "shipment.cancelled", now_us, shipment.id, reason=reason)
        shipments_cancelled.append(shipment.id)
        for line_id, sku, units in shipment.lines:
            if line_id in targets:
                cancelled[line_id] = cancelled.get(line_id, 0) + units
            else:
                others.append((line_id, sku, units, f"its shipment {shipment.id} was cancelled"))
    for row in store.backorders(conn, order_id):
        if row.line_id in targets:
            cancelled[row.line_id] = cancelled.get(row.line_id, 0) + row.quantity
            conn.execute(
                delete(BACKORDER).where(
                    BACKORDER.c.order_id == order_id, BACKORDER.c.line_id == row.line_id
                )
            )
    if not cancelled:
        answer = store.view(conn, order_id)
        assert answer is not None
        already = all(known[line].cancelled for line in targets)
        if already:
            return answer, False  # cancelled before: a replay
        raise OrderConflict(
            f"order {order_id!r} has nothing left to cancel of those lines: their units have left"
        )
    for line_id, units in cancelled.items():
        conn.execute(
            update(LINE)
            .where(LINE.c.order_id == order_id, LINE.c.line_id == line_id)
            .values(cancelled=LINE.c.cancelled + units)
        )
    penalty = ctx.rule_sets.active()[1].backorder_penalty
    store.add_backorders(conn, order_id, others, penalty, now_us)
    status = store.settle_status(conn, order_id, now_us)
    store.record(
        conn, order_id, "cancelled", now_us, reason=reason, status=status.value,
        lines=[{"id": line_id, "quantity": units} for line_id, units in sorted(cancelled.items())],
    )  # fmt: skip
    answer = store.view(conn, order_id)
    assert answer is not None
    payload = summary(answer) | {"reason": reason, "cancelled": sorted(cancelled)}
    outbox.record_many(conn, [("order.cancelled", order_id, payload)], now_us)
    return answer, bool(others)

"""Shipment events from locations: accepted, rejected (with its reason), shipped, ready for
pickup, collected, cancelled. Each is one transaction: the shipment's move, its effect on the
ledger, the order's new status, its history and its events.

- Shipped (or, for a pickup from the store's own shelf, collected) settles the shipment's
  allocation: on_hand and reserved both drop, once (inventory's settlement).
- Rejected gives the allocation back, and the reason decides what the ledger learns:
  `not_found` counts the location's position zero as of now, `damaged` writes the units off,
  `no_capacity` changes no stock. The location is left out of the order for a while, and the
  rejected lines are routed again, or, past the order's allowed rejections, wait for a person.
- Cancelled (the location or the customer stopped it) gives the allocation back; its lines'
  units are cancelled.
The same event again is a replay: it answers the shipment as it stands and changes nothing. An
event the shipment's state does not allow is refused, saying what it may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, update

from dom.events import outbox
from dom.orders import store
from dom.orders.allocate import give_back
from dom.orders.context import OrdersContext
from dom.orders.errors import InvalidShipmentEvent, UnknownShipment
from dom.orders.model import (
    OrderStatus,
    RejectionReason,
    ShipmentEvent,
    next_status,
    settles_on,
)
from dom.orders.reroute import reroute
from dom.orders.tables import LINE, ORDER
from dom.orders.views import summary
from inventory import Changes, EventType, StockEvent, from_micros, to_micros

REJECTION_SOURCE = "rejection"


@dataclass(frozen=True, slots=True)
class Posted:
    shipment: dict[str, Any]
    replayed: bool
    reroute: bool = False
    stock_changed: bool = False


def post(
    ctx: OrdersContext,
    shipment_id: str,
    event: ShipmentEvent,
    reason: RejectionReason | None = None,
    at: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Apply a location's event to its shipment; the shipment as it then stands, and whether
    the event was a replay."""
    if (event is ShipmentEvent.rejected) != (reason is not None):
        raise InvalidShipmentEvent(
            "a rejection names its reason (not_found, damaged or no_capacity)"
            if reason is None
            else f"only a rejection has a reason; a {event} event has none"
        )
    changes = Changes()
    posted: Posted = ctx.ledger.transaction(
        partial(_apply, ctx, shipment_id=shipment_id, event=event, reason=reason, at=at,
                changes=changes)
    )  # fmt: skip
    ctx.ledger.project(changes.positions)
    if posted.stock_changed:
        ctx.ledger.notify_stock(changes.positions)  # other allocations there may be short now
    if posted.reroute:
        reroute(ctx, posted.shipment["order"], "rejected")
    return posted.shipment, posted.replayed


def _apply(
    ctx: OrdersContext,
    conn: Connection,
    *,
    shipment_id: str,
    event: ShipmentEvent,
    reason: RejectionReason | None,
    at: datetime | None,
    changes: Changes,
) -> Posted:
    changes.positions.clear()
    found = store.shipment(conn, shipment_id)
    if found is None:
        raise UnknownShipment(f"no shipment {shipment_id!r}")
    order = store.lock_order(conn, found.order_id)  # the order first, as every writer of it
    shipment = store.shipment(conn, shipment_id, lock=True)
    assert shipment is not None and order is not None
    kind = f"shipment.{event}"
    done = store.happened(conn, shipment_id, kind)
    if done is not None:  # a replay answers what the event was answered first
        return Posted(done.get("answer") or view(shipment, order.status), True)
    new = next_status(shipment.route, shipment.status, event)
    now_us = ctx.now_us()
    now = from_micros(now_us)
    if settles_on(shipment.route, event):
        ctx.reservations.settle_in(conn, shipment.reservation_id, shipment.id, at or now, changes)
    escalated = False
    if event is ShipmentEvent.rejected:
        assert reason is not None
        escalated = _reject(ctx, conn, shipment, order, reason, now, changes)
    elif event is ShipmentEvent.cancelled:
        give_back(conn, ctx.reservations, shipment.id, changes)
        for line_id, _, units in shipment.lines:
            conn.execute(
                update(LINE)
                .where(LINE.c.order_id == shipment.order_id, LINE.c.line_id == line_id)
                .values(cancelled=LINE.c.cancelled + units)
            )
    store.set_shipment(conn, shipment_id, new, now_us, reason.value if reason else None)
    detail: dict[str, Any] = {"location": shipment.location, "status": new.value}
    if reason is not None:
        detail["reason"] = reason.value
    if at is not None:
        detail["at"] = at.astimezone(UTC).isoformat()
    status = store.settle_status(conn, shipment.order_id, now_us)
    after = store.shipment(conn, shipment_id)
    assert after is not None
    answer = view(after, status)
    store.record(conn, shipment.order_id, kind, now_us, shipment_id, **detail, answer=answer)
    events: list[tuple[str, str, dict[str, Any]]] = [(kind, shipment.order_id, answer)]
    if status != order.status:
        standing = store.view(conn, shipment.order_id)
        assert standing is not None
        if status is OrderStatus.fulfilled:
            events.append(("order.completed", shipment.order_id, summary(standing)))
        elif status is OrderStatus.escalated:
            events.append(("order.escalated", shipment.order_id, summary(standing)))
        elif status is OrderStatus.parked:
            events.append(("order.parked", shipment.order_id, summary(standing)))
    outbox.record_many(conn, events, now_us)
    rejected = event is ShipmentEvent.rejected
    wrote = rejected and reason is not RejectionReason.no_capacity
    return Posted(answer, False, rejected and not escalated, wrote)


def _reject(
    ctx: OrdersContext,
    conn: Connection,
    shipment: store.Shipment,
    order: Any,
    reason: RejectionReason,
    now: datetime,
    changes: Changes,
) -> bool:
    """Give the allocation back, tell the ledger what the reason means, leave the location out
    of the order for a while, and backorder the lines (escalated past the allowed rejections).
    Returns whether the order now waits for a person."""
    give_back(conn, ctx.reservations, shipment.id, changes)
    units: dict[str, int] = {}
    for _, sku, quantity in shipment.lines:
        units[sku] = units.get(sku, 0) + quantity
    written = []
    for n, (sku, quantity) in enumerate(sorted(units.items())):
        event_id = f"reject:{shipment.id}:{n}"
        if reason is RejectionReason.not_found:
            written.append(StockEvent(event_id, shipment.location, sku, EventType.count, 0, now,
                                      REJECTION_SOURCE))  # fmt: skip
        elif reason is RejectionReason.damaged:
            written.append(StockEvent(event_id, shipment.location, sku, EventType.adjust,
                                      -quantity, now, REJECTION_SOURCE))  # fmt: skip
    if written:
        changes.stock_written(ctx.ledger.write_in(conn, written).changed)
    rejections = order.rejections + 1
    escalated = rejections >= ctx.terms.max_rejections
    conn.execute(
        update(ORDER)
        .where(ORDER.c.id == order.id)
        .values(rejections=rejections, escalated=int(escalated or order.escalated))
    )
    until = now + timedelta(seconds=ctx.terms.exclusion_s)
    why = f"rejected shipment {shipment.id}: {reason.value}"
    store.exclude(conn, order.id, shipment.location, to_micros(until), why)
    penalty = ctx.rule_sets.active()[1].backorder_penalty
    waiting = [
        (line_id, sku, quantity, f"rejected by {shipment.location}: {reason.value}")
        for line_id, sku, quantity in shipment.lines
    ]
    store.add_backorders(conn, order.id, waiting, penalty, to_micros(now), escalated)
    return escalated


def view(shipment: store.Shipment, order_status: str) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "order": shipment.order_id,
        "location": shipment.location,
        "route": shipment.route,
        "status": shipment.status.value,
        "lines": [{"id": line_id, "sku": sku, "quantity": q} for line_id, sku, q in shipment.lines],
        "order_status": str(order_status),
    }

"""Routing an order's backordered units again: after a rejection, when stock arrives for a
parked order, when a count leaves its allocation short, or when a person asks.

The backorders are read, routed outside any transaction, then allocated in one transaction that
first locks the order and checks its backorders are still those that were routed (two stock
arrivals may race to re-route one order: the second finds nothing left to do). A plan that
allocates nothing changes nothing: the order stays parked as it was.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection, update

from dom.events import outbox
from dom.orders import store
from dom.orders.allocate import allocate, reservation_id
from dom.orders.context import OrdersContext
from dom.orders.model import OrderIn, OrderStatus
from dom.orders.routing import Lines, Routed
from dom.orders.tables import ORDER
from dom.orders.views import summary
from inventory import Changes, reading


class _Again(Exception):
    """The stock or the backorders moved since the plan was made: route again."""


def reroute(
    ctx: OrdersContext, order_id: str, cause: str, escalated_too: bool = False
) -> dict[str, Any] | None:
    """Route what the order has backordered (escalated units too when `escalated_too`: a
    person's decision); the order as it then stands, or None when nothing could be allocated."""
    attempts = ctx.terms.route_attempts
    for attempt in range(1, attempts + 1):
        with reading(ctx.ledger.engine) as conn:
            row = store.lock_order(conn, order_id, lock=False)
            if row is None or row.status == OrderStatus.cancelled:
                return None
            if row.escalated and not escalated_too:
                return None
            waiting = _waiting(conn, order_id, escalated_too)
            excluded = store.exclusions(conn, order_id, ctx.now_us())
        if not waiting:
            return None
        order = OrderIn.model_validate_json(row.body)
        choice = ctx.rule_sets.for_order(order.id)  # an experiment's order keeps its arm
        rule_set = (choice.version, choice.rules)
        routed = ctx.router.route(order, waiting, rule_set, excluded)
        if not routed.plan["shipments"]:
            return None
        changes = Changes()
        work = partial(
            _commit, ctx, order=order, waiting=waiting, routed=routed, cause=cause,
            escalated_too=escalated_too, last=attempt == attempts, changes=changes,
            penalty=rule_set[1].backorder_penalty,
        )  # fmt: skip
        try:
            answer = ctx.ledger.transaction(work)
        except _Again:
            continue
        ctx.ledger.project(changes.positions)
        return answer
    return None


def _waiting(conn: Connection, order_id: str, escalated_too: bool) -> Lines:
    return [
        (b.line_id, b.sku, b.quantity)
        for b in store.backorders(conn, order_id)
        if escalated_too or not b.escalated
    ]


def _commit(
    ctx: OrdersContext,
    conn: Connection,
    *,
    order: OrderIn,
    waiting: Lines,
    routed: Routed,
    cause: str,
    escalated_too: bool,
    last: bool,
    changes: Changes,
    penalty: float,
) -> dict[str, Any] | None:
    changes.positions.clear()
    row = store.lock_order(conn, order.id)
    if row is None or row.status == OrderStatus.cancelled:
        return None
    if _waiting(conn, order.id, escalated_too) != waiting:
        raise _Again  # re-routed or changed by another process meanwhile
    now_us = ctx.now_us()
    first = store.next_shipment_number(conn, order.id)
    plan = routed.plan
    allocation = allocate(conn, ctx.reservations, order, routed, first, changes, now_us)
    if allocation.refused and not last:
        raise _Again
    if not allocation.held:
        return None
    version = routed.explanation["rule_set"]
    skus = {line_id: sku for line_id, sku, _ in waiting}
    left = {line_id: units for line_id, _, units in waiting}
    for shipment_id, shipment in allocation.held:
        store.insert_shipment(
            conn, order.id, shipment_id, reservation_id(shipment_id), shipment, skus, version,
            now_us,
        )  # fmt: skip
        for line in shipment["lines"]:
            left[line["id"]] -= line["quantity"]
    reasons = {b["id"]: b["reason"] for b in plan["backordered"]}
    for shipment, reason in allocation.refused:
        for line in shipment["lines"]:
            reasons[line["id"]] = f"taken by concurrent orders: {reason}"
    still = [
        (line_id, skus[line_id], units, reasons.get(line_id, "no stock where it may come from"))
        for line_id, units in left.items()
    ]
    store.replace_backorders(conn, order.id, still, penalty, now_us)
    store.add_penalties(conn, order.id, sum(plan["penalties"].values()))
    if escalated_too:
        conn.execute(update(ORDER).where(ORDER.c.id == order.id).values(escalated=0))
    status = store.settle_status(conn, order.id, now_us)
    store.record(
        conn, order.id, "rerouted", now_us, cause=cause, status=status.value,
        shipments=[shipment_id for shipment_id, _ in allocation.held],
        backordered=[{"id": w[0], "quantity": w[2], "reason": w[3]} for w in still if w[2]],
    )  # fmt: skip
    store.decided(conn, order.id, cause, version, routed.explanation, now_us)
    answer = store.view(conn, order.id)
    assert answer is not None
    events = [("order.routed", order.id, summary(answer) | {"cause": cause})]
    if answer["backordered"]:
        events.append(("order.parked", order.id, summary(answer)))
    outbox.record_many(conn, events, now_us)
    return answer

"""Submitting an order: route it, allocate the plan atomically, commit, answer.

The plan is made against the stock availability offers now (dom.orders.routing); the ledger then
decides, on locked rows, whether each shipment's units are still there
(dom.orders.allocate). If a concurrent order took some first, the whole attempt rolls back and
the order is routed again on fresh stock, up to OrderTerms.route_attempts times; the last
attempt keeps what it got and backorders the rest, saying why. The order's records, its
allocations, the routing decision and its events commit in one transaction.

A cart reservation the order names is released inside that same transaction, just before the
plan's holds are taken, so its units are the order's to take and nobody else's: the plan counts
them as available where they are held, and where it prefers other stock the cart's units go
back to stock at the commit, never before.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from sqlalchemy import Connection

from dom.events import outbox
from dom.orders import store
from dom.orders.allocate import allocate, reservation_id
from dom.orders.context import OrdersContext
from dom.orders.errors import CartUnusable, OrderConflict
from dom.orders.model import OrderIn, OrderStatus
from dom.orders.routing import Routed
from dom.orders.views import summary
from dom.rulesets import experiments
from dom.rulesets.service import Choice
from inventory import Changes, HoldStatus, Reservation, UnknownReservation


class _Again(Exception):
    """A shipment's units were taken since the plan was made: roll back, route again."""


def submit(ctx: OrdersContext, order: OrderIn) -> tuple[dict[str, Any], bool]:
    """The order's answer, and whether it is a replay of an earlier submission."""
    first = ctx.ledger.read(lambda conn: store.first_answer(conn, order.id))
    if first is not None:
        return _replay(order, first), True
    choice = ctx.rule_sets.for_order(order.id)  # the active version, or an experiment's arm
    rule_set = (choice.version, choice.rules)
    ctx.reservations.number_channel(order.channel)
    cart = _cart(ctx, order)
    extra: dict[tuple[str, str], int] = defaultdict(int)
    for take in cart.takes if cart is not None else ():
        extra[(take.location, take.sku)] += take.quantity
    lines = [(line.id, line.sku, line.quantity) for line in order.lines]
    attempts = ctx.terms.route_attempts
    for attempt in range(1, attempts + 1):
        routed = ctx.router.route(order, lines, rule_set, None, extra)
        changes = Changes()
        try:
            answer, replayed = ctx.ledger.transaction(
                partial(_commit, ctx, order=order, routed=routed, cart=cart,
                        last=attempt == attempts, changes=changes,
                        penalty=rule_set[1].backorder_penalty, choice=choice)
            )  # fmt: skip
        except _Again:
            continue
        ctx.ledger.project(changes.positions)
        return answer, replayed
    raise AssertionError("the last attempt always commits")


def _replay(order: OrderIn, first: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    digest, answer = first
    if digest != order.digest():
        raise OrderConflict(f"order {order.id!r} was submitted before with another body")
    return answer


def _cart(ctx: OrdersContext, order: OrderIn) -> Reservation | None:
    if order.reservation is None:
        return None
    try:
        cart = ctx.reservations.get(order.reservation)
    except UnknownReservation:
        raise CartUnusable(f"no reservation {order.reservation!r}") from None
    if cart.status is not HoldStatus.held:
        by = f" by order {cart.order_id!r}" if cart.order_id else ""
        raise CartUnusable(f"reservation {order.reservation!r} is {cart.status}{by}")
    return cart


def _commit(
    ctx: OrdersContext,
    conn: Connection,
    *,
    order: OrderIn,
    routed: Routed,
    cart: Reservation | None,
    last: bool,
    changes: Changes,
    penalty: float,
    choice: Choice,
) -> tuple[dict[str, Any], bool]:
    changes.positions.clear()  # a retried transaction starts afresh
    first = store.first_answer(conn, order.id)  # a concurrent retry committed it meanwhile
    if first is not None:
        return _replay(order, first), True
    now_us = ctx.now_us()
    version = routed.explanation["rule_set"]
    given_back: dict[tuple[str, str, str], int] = defaultdict(int)
    if cart is not None:
        status = ctx.reservations.release_in(conn, cart.id, changes, order.id)
        if status is not HoldStatus.released:
            raise CartUnusable(f"reservation {cart.id!r} is {status}")
        for take in cart.takes:
            given_back[(take.location, take.sku, cart.channel)] += take.quantity
    plan = routed.plan
    allocation = allocate(conn, ctx.reservations, order, routed, 1, changes, now_us, given_back)
    if allocation.refused and not last:
        raise _Again
    skus = {line.id: line.sku for line in order.lines}
    waiting = [(b["id"], skus[b["id"]], b["quantity"], b["reason"]) for b in plan["backordered"]]
    for shipment, reason in allocation.refused:
        waiting += [
            (
                line["id"],
                skus[line["id"]],
                line["quantity"],
                f"taken by concurrent orders: {reason}",
            )
            for line in shipment["lines"]
        ]
    penalties = sum(plan["penalties"].values())
    store.insert_order(conn, order, OrderStatus.routed, version, penalties, now_us)
    for shipment_id, shipment in allocation.held:
        store.insert_shipment(
            conn, order.id, shipment_id, reservation_id(shipment_id), shipment, skus, version,
            now_us,
        )  # fmt: skip
    store.add_backorders(conn, order.id, waiting, penalty, now_us)
    status = store.settle_status(conn, order.id, now_us)
    store.record(conn, order.id, "submitted", now_us, rule_set=version, cart=order.reservation)
    store.record(
        conn, order.id, status.value, now_us,
        shipments=[shipment_id for shipment_id, _ in allocation.held],
        backordered=[{"id": w[0], "quantity": w[2], "reason": w[3]} for w in waiting],
    )  # fmt: skip
    store.decided(conn, order.id, "submitted", version, routed.explanation, now_us)
    answer = store.view(conn, order.id)
    assert answer is not None
    store.keep_first_answer(conn, order.id, answer)
    experiments.record(conn, choice, order.id, answer, now_us)
    events: list[tuple[str, str, dict[str, Any]]] = [("order.routed", order.id, summary(answer))]
    if status is OrderStatus.parked or answer["backordered"]:
        events.append(("order.parked", order.id, summary(answer)))
    outbox.record_many(conn, events, now_us)
    return answer, False

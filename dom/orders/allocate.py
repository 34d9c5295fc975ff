"""Allocating a plan's shipments in the ledger, inside the transaction that records the order:
each shipment is one hold pinned to its location, with no expiry, consumed by the order at once
(a shipment settles its own allocation when it leaves). All of it commits with the order's
records, or none of it does: a crash between the two can leave no unit held for nobody.

Each shipment first takes its place in its location's day (dom.orders.capacity); a shipment
whose location's day is full is refused like one whose stock a concurrent order took.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from dom.orders import capacity
from dom.orders.model import OrderIn
from dom.orders.routing import Routed
from inventory import Changes, HoldLine, HoldRequest, HoldStatus, Reservations

RESERVATION_PREFIX = "order:"  # an allocation's reservation id: `order:<shipment id>`


def reservation_id(shipment_id: str) -> str:
    return RESERVATION_PREFIX + shipment_id


@dataclass(slots=True)
class Allocation:
    """Of a plan's shipments: those held (shipment id, planned shipment) and those the ledger
    refused (planned shipment, why): stock a concurrent order took since the plan was made."""

    held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def allocate(
    conn: Connection,
    reservations: Reservations,
    order: OrderIn,
    routed: Routed,
    first_number: int,
    changes: Changes,
    now_us: int,
    given_back: Mapping[tuple[str, str, str], int] | None = None,
) -> Allocation:
    """Hold each of the plan's shipments at its location and consume it for the order;
    shipment ids are `<order id>-S<n>` from `first_number` on, in plan order (a refused one
    leaves a gap)."""
    allocation = Allocation()
    day = capacity.day_of(now_us)
    planned: list[tuple[int, dict[str, Any]]] = []
    for k, shipment in enumerate(routed.plan["shipments"]):
        limit = routed.limits[shipment["location"]]
        if capacity.take(conn, shipment["location"], day, limit):
            planned.append((k, shipment))
        else:
            why = f"{shipment['location']} has allocated its {limit} shipments for today"
            allocation.refused.append((shipment, why))
    skus = {line.id: line.sku for line in order.lines}
    requests = [
        HoldRequest(
            id=reservation_id(f"{order.id}-S{first_number + k}"),
            lines=[
                HoldLine(sku=skus[line["id"]], quantity=line["quantity"], location=s["location"])
                for line in s["lines"]
            ],
            method=order.delivery.method,
            store=order.store,
            channel=order.channel,
            kind="allocation",
        )
        for k, s in planned
    ]
    outcomes = reservations.hold_in(conn, requests, changes, given_back) if requests else []
    for (k, shipment), request, outcome in zip(planned, requests, outcomes, strict=True):
        if outcome.status is HoldStatus.held and not outcome.replayed:
            reservations.consume_in(conn, request.id, order.id, changes)
            allocation.held.append((f"{order.id}-S{first_number + k}", shipment))
        else:
            capacity.put_back(conn, shipment["location"], day)
            reason = outcome.reason or f"reservation {request.id!r} is recorded already"
            allocation.refused.append((shipment, reason))
    return allocation


def give_back(
    conn: Connection, reservations: Reservations, shipment_id: str, changes: Changes
) -> None:
    """A shipment that will not leave: its units back to stock, its place in its location's
    day free again."""
    reservations.give_back_in(conn, reservation_id(shipment_id), changes)
    capacity.give_back(conn, shipment_id)

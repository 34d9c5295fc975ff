"""The orders' records in SQL: what is written when an order, a shipment or a backorder moves,
and the order as it stands, read back. Every function runs inside the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from dom.orders.model import OrderIn, OrderStatus, ShipmentStatus, finished, order_status
from dom.orders.tables import (
    BACKORDER,
    DECISION,
    EXCLUSION,
    HISTORY,
    LINE,
    ORDER,
    SHIPMENT,
    SHIPMENT_LINE,
)
from inventory import from_micros


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def iso(us: int) -> str:
    return from_micros(us).isoformat()


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    order_id: str
    location: str
    route: str
    status: ShipmentStatus
    reservation_id: str
    lines: tuple[tuple[str, str, int], ...]  # (line id, sku, units)
    cost: float


def lock_order(conn: Connection, order_id: str, lock: bool = True) -> Any:
    """The order's row, locked until the transaction ends (PostgreSQL; SQLite has one writer):
    two changes of one order never interleave."""
    query = select(ORDER).where(ORDER.c.id == order_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def insert_order(
    conn: Connection,
    order: OrderIn,
    status: OrderStatus,
    rule_set: str,
    penalties: float,
    now_us: int,
) -> None:
    conn.execute(
        insert(ORDER),
        {"id": order.id, "digest": order.digest(), "body": order.model_dump_json(),
         "channel": order.channel, "method": order.delivery.method, "status": status,
         "rule_set": rule_set, "penalties": penalties, "rejections": 0, "escalated": 0, "first_answer": "{}",
         "created_us": now_us, "updated_us": now_us},
    )  # fmt: skip
    conn.execute(
        insert(LINE),
        [
            {"order_id": order.id, "line_id": line.id, "n": n, "sku": line.sku,
             "quantity": line.quantity, "cancelled": 0}
            for n, line in enumerate(order.lines)
        ],
    )  # fmt: skip


def insert_shipment(
    conn: Connection,
    order_id: str,
    shipment_id: str,
    reservation_id: str,
    planned: Mapping[str, Any],
    skus: Mapping[str, str],
    rule_set: str,
    now_us: int,
) -> None:
    """A planned shipment (allocation.plan's shape), allocated under `reservation_id`."""
    conn.execute(
        insert(SHIPMENT),
        {"id": shipment_id, "order_id": order_id, "location": planned["location"],
         "route": planned["route"], "status": ShipmentStatus.allocated,
         "reservation_id": reservation_id, "rule_set": rule_set, "cost": planned["cost"],
         "cost_breakdown": _json(planned["cost_breakdown"]),
         "distance_km": planned["distance_km"], "reason": planned["reason"],
         "rejection": None, "created_us": now_us, "updated_us": now_us},
    )  # fmt: skip
    conn.execute(
        insert(SHIPMENT_LINE),
        [
            {"shipment_id": shipment_id, "line_id": line["id"], "sku": skus[line["id"]],
             "quantity": line["quantity"]}
            for line in planned["lines"]
        ],
    )  # fmt: skip


def shipments(conn: Connection, order_id: str) -> list[Shipment]:
    rows = conn.execute(
        select(SHIPMENT).where(SHIPMENT.c.order_id == order_id).order_by(SHIPMENT.c.created_us)
    ).all()
    return _with_lines(conn, rows)


def shipment(conn: Connection, shipment_id: str, lock: bool = False) -> Shipment | None:
    query = select(SHIPMENT).where(SHIPMENT.c.id == shipment_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = conn.execute(query).all()
    found = _with_lines(conn, rows)
    return found[0] if found else None


def _with_lines(conn: Connection, rows: list[Any]) -> list[Shipment]:
    if not rows:
        return []
    lines: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for r in conn.execute(
        select(SHIPMENT_LINE).where(SHIPMENT_LINE.c.shipment_id.in_([row.id for row in rows]))
    ):
        lines[r.shipment_id].append((r.line_id, r.sku, r.quantity))
    return [
        Shipment(row.id, row.order_id, row.location, row.route, ShipmentStatus(row.status),
                 row.reservation_id, tuple(sorted(lines[row.id])), row.cost)
        for row in sorted(rows, key=lambda r: (r.created_us, _number(r.id)))
    ]  # fmt: skip


def _number(shipment_id: str) -> int:
    return int(shipment_id.rsplit("-S", 1)[1])


def next_shipment_number(conn: Connection, order_id: str) -> int:
    """One past the order's highest shipment number (refused plans leave gaps)."""
    ids = conn.scalars(select(SHIPMENT.c.id).where(SHIPMENT.c.order_id == order_id))
    return max((_number(i) for i in ids), default=0) + 1


def set_shipment(conn: Connection, shipment_id: str, status: ShipmentStatus, now_us: int,
                 rejection: str | None = None) -> None:  # fmt: skip
    values: dict[str, Any] = {"status": status, "updated_us": now_us}
    if rejection is not None:
        values["rejection"] = rejection
    conn.execute(update(SHIPMENT).where(SHIPMENT.c.id == shipment_id).values(values))


# -- backorders ----------------------------------------------------------------------------------
def backorders(conn: Connection, order_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(BACKORDER).where(BACKORDER.c.order_id == order_id).order_by(BACKORDER.c.line_id)
        )
    )


def add_backorders(
    conn: Connection,
    order_id: str,
    units: Iterable[tuple[str, str, int, str]],
    penalty: float,
    now_us: int,
    escalated: bool = False,
) -> None:
    """Backorder (line id, sku, units, reason): added to what the line has backordered already."""
    for line_id, sku, quantity, reason in units:
        if quantity <= 0:
            continue
        found = conn.execute(
            select(BACKORDER.c.quantity).where(
                BACKORDER.c.order_id == order_id, BACKORDER.c.line_id == line_id
            )
        ).first()
        if found is None:
            conn.execute(
                insert(BACKORDER),
                {"order_id": order_id, "line_id": line_id, "sku": sku, "quantity": quantity,
                 "reason": reason, "cost": round(penalty * quantity, 4),
                 "escalated": int(escalated), "since_us": now_us},
            )  # fmt: skip
        else:
            total = found.quantity + quantity
            conn.execute(
                update(BACKORDER)
                .where(BACKORDER.c.order_id == order_id, BACKORDER.c.line_id == line_id)
                .values(quantity=total, reason=reason, cost=round(penalty * total, 4),
                        escalated=int(escalated))
            )  # fmt: skip


def replace_backorders(
    conn: Connection,
    order_id: str,
    left: Iterable[tuple[str, str, int, str]],
    penalty: float,
    now_us: int,
) -> None:
    """After a re-route: what is still backordered, line by line (the others are filled)."""
    since = {row.line_id: row.since_us for row in backorders(conn, order_id)}
    conn.execute(delete(BACKORDER).where(BACKORDER.c.order_id == order_id))
    for line_id, sku, quantity, reason in left:
        if quantity > 0:
            conn.execute(
                insert(BACKORDER),
                {"order_id": order_id, "line_id": line_id, "sku": sku, "quantity": quantity,
                 "reason": reason, "cost": round(penalty * quantity, 4), "escalated": 0,
                 "since_us": since.get(line_id, now_us)},
            )  # fmt: skip


# -- exclusions, history, decisions --------------------------------------------------------------
def exclusions(conn: Connection, order_id: str, now_us: int) -> dict[str, str]:
    """Locations this order must not be routed to now, and why."""
    rows = conn.execute(
        select(EXCLUSION.c.location, EXCLUSION.c.reason).where(
            EXCLUSION.c.order_id == order_id, EXCLUSION.c.until_us > now_us
        )
    )
    return {r.location: r.reason for r in rows}


def exclude(conn: Connection, order_id: str, location: str, until_us: int, reason: str) -> None:
    conn.execute(
        delete(EXCLUSION).where(EXCLUSION.c.order_id == order_id, EXCLUSION.c.location == location)
    )
    conn.execute(
        insert(EXCLUSION),
        {"order_id": order_id, "location": location, "until_us": until_us, "reason": reason},
    )


def record(
    conn: Connection,
    order_id: str,
    kind: str,
    now_us: int,
    shipment_id: str | None = None,
    **detail: Any,
) -> None:
    """One entry of the order's history."""
    conn.execute(
        insert(HISTORY),
        {"order_id": order_id, "at_us": now_us, "kind": kind, "shipment_id": shipment_id,
         "detail": _json(detail)},
    )  # fmt: skip


def happened(conn: Connection, shipment_id: str, kind: str) -> dict[str, Any] | None:
    """The detail of the shipment's `kind` event if its history holds one (a retried event is
    a replay), else None."""
    found = conn.execute(
        select(HISTORY.c.detail)
        .where(HISTORY.c.shipment_id == shipment_id, HISTORY.c.kind == kind)
        .limit(1)
    ).first()
    return None if found is None else orjson.loads(found.detail)


def decided(
    conn: Connection, order_id: str, cause: str, rule_set: str, explanation: Any, now_us: int
) -> None:
    conn.execute(
        insert(DECISION),
        {"order_id": order_id, "at_us": now_us, "cause": cause, "rule_set": rule_set,
         "explanation": _json(explanation)},
    )  # fmt: skip


# -- the order as it stands ----------------------------------------------------------------------
def settle_status(conn: Connection, order_id: str, now_us: int) -> OrderStatus:
    """Recompute the order's status from its shipments and backorders, and record it."""
    row = conn.execute(select(ORDER.c.escalated).where(ORDER.c.id == order_id)).one()
    found = shipments(conn, order_id)
    waiting = sum(b.quantity for b in backorders(conn, order_id))
    status = order_status([(s.route, s.status) for s in found], waiting, bool(row.escalated))
    conn.execute(
        update(ORDER).where(ORDER.c.id == order_id).values(status=status, updated_us=now_us)
    )
    return status


def view(conn: Connection, order_id: str) -> dict[str, Any] | None:
    """The order as it stands: the submission answer's shape, every shipment it ever had
    (rejected and cancelled ones beside those that replaced them), and its backorders."""
    row = conn.execute(select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        return None
    found = conn.execute(
        select(SHIPMENT).where(SHIPMENT.c.order_id == order_id).order_by(SHIPMENT.c.created_us)
    ).all()
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if found:
        for r in conn.execute(
            select(SHIPMENT_LINE)
            .where(SHIPMENT_LINE.c.shipment_id.in_([s.id for s in found]))
            .order_by(SHIPMENT_LINE.c.line_id)
        ):
            lines[r.shipment_id].append({"id": r.line_id, "quantity": r.quantity})
    shipped = [
        {"id": s.id, "location": s.location, "route": s.route, "status": s.status,
         "lines": lines[s.id], "cost": s.cost, "cost_breakdown": orjson.loads(s.cost_breakdown),
         "distance_km": s.distance_km, "reason": s.reason, "rejection": s.rejection,
         "rule_set": s.rule_set, "created_at": iso(s.created_us), "updated_at": iso(s.updated_us)}
        for s in sorted(found, key=lambda s: (s.created_us, _number(s.id)))
    ]  # fmt: skip
    waiting = backorders(conn, order_id)
    live = [s for s in shipped if s["status"] not in ("rejected", "cancelled")]
    cost = sum(s["cost"] for s in live) + sum(b.cost for b in waiting) + row.penalties
    order_lines = conn.execute(
        select(LINE).where(LINE.c.order_id == order_id).order_by(LINE.c.n)
    ).all()
    return {
        "id": row.id,
        "status": row.status,
        "rule_set": row.rule_set,
        "channel": row.channel,
        "method": row.method,
        "cost": round(cost, 4),
        "shipments": shipped,
        "backordered": [_backorder(b) for b in waiting],
        "lines": [
            {"id": ln.line_id, "sku": ln.sku, "quantity": ln.quantity, "cancelled": ln.cancelled}
            for ln in order_lines
        ],
        "rejections": row.rejections,
        "created_at": iso(row.created_us),
        "updated_at": iso(row.updated_us),
    }


def _backorder(row: Any) -> dict[str, Any]:
    return {"id": row.line_id, "sku": row.sku, "quantity": row.quantity, "reason": row.reason,
            "escalated": bool(row.escalated), "since": iso(row.since_us)}  # fmt: skip


def add_penalties(conn: Connection, order_id: str, penalties: float) -> None:
    if penalties:
        conn.execute(
            update(ORDER)
            .where(ORDER.c.id == order_id)
            .values(penalties=ORDER.c.penalties + penalties)
        )


def delivered(conn: Connection, order_id: str) -> dict[str, tuple[str, int, float]]:
    """Each line of the order: its SKU, the units the customer has (shipped parcels, collected
    pickups) and its unit price. What a return of the order may give back."""
    body = conn.scalar(select(ORDER.c.body).where(ORDER.c.id == order_id))
    if body is None:
        return {}
    got: dict[str, int] = defaultdict(int)
    for found in shipments(conn, order_id):
        if finished(found.route, found.status):
            for line_id, _, units in found.lines:
                got[line_id] += units
    return {
        line["id"]: (line["sku"], got[line["id"]], float(line.get("price", 0.0)))
        for line in orjson.loads(body)["lines"]
    }


def keep_first_answer(conn: Connection, order_id: str, answer: Mapping[str, Any]) -> None:
    conn.execute(update(ORDER).where(ORDER.c.id == order_id).values(first_answer=_json(answer)))


def first_answer(conn: Connection, order_id: str) -> tuple[str, dict[str, Any]] | None:
    """The digest of the order recorded under `order_id` and what its submission answered."""
    row = conn.execute(
        select(ORDER.c.digest, ORDER.c.first_answer).where(ORDER.c.id == order_id)
    ).first()
    return None if row is None else (row.digest, orjson.loads(row.first_answer))


def open_at(conn: Connection, location: str, limit: int) -> list[dict[str, Any]]:
    """A location's pick list: its open shipments, oldest first, with their lines."""
    rows = conn.execute(
        select(SHIPMENT)
        .where(
            SHIPMENT.c.location == location,
            SHIPMENT.c.status.in_([ShipmentStatus.allocated, ShipmentStatus.accepted]),
        )
        .order_by(SHIPMENT.c.created_us, SHIPMENT.c.id)
        .limit(limit)
    ).all()
    return [
        {"id": s.id, "order": s.order_id, "location": s.location, "route": s.route,
         "status": s.status.value,
         "lines": [{"id": ln, "sku": sku, "quantity": q} for ln, sku, q in s.lines]}
        for s in _with_lines(conn, rows)
    ]  # fmt: skip


def in_status(conn: Connection, status: OrderStatus, limit: int) -> list[dict[str, Any]]:
    """Orders in `status`, the longest unchanged first."""
    rows = conn.execute(
        select(ORDER.c.id).where(ORDER.c.status == status).order_by(ORDER.c.updated_us).limit(limit)
    ).all()
    return [found for row in rows if (found := view(conn, row.id)) is not None]


def shipment_view(conn: Connection, shipment_id: str) -> dict[str, Any] | None:
    """A shipment as a location sees it, with its order's status."""
    found = shipment(conn, shipment_id)
    if found is None:
        return None
    status = conn.scalar(select(ORDER.c.status).where(ORDER.c.id == found.order_id))
    return {
        "id": found.id, "order": found.order_id, "location": found.location,
        "route": found.route, "status": found.status.value,
        "lines": [{"id": ln, "sku": sku, "quantity": q} for ln, sku, q in found.lines],
        "order_status": str(status),
    }  # fmt: skip


def history(conn: Connection, order_id: str, limit: int) -> list[dict[str, Any]] | None:
    """Every state change of the order, oldest first (None: no such order)."""
    if first_answer(conn, order_id) is None:
        return None
    rows = conn.execute(
        select(HISTORY).where(HISTORY.c.order_id == order_id).order_by(HISTORY.c.seq).limit(limit)
    )
    return [
        {"at": iso(r.at_us), "kind": r.kind, "shipment": r.shipment_id,
         "detail": orjson.loads(r.detail)}
        for r in rows
    ]  # fmt: skip


def decisions(conn: Connection, order_id: str) -> list[dict[str, Any]] | None:
    """Every routing decision of the order, oldest first, kept whole (None: no such order)."""
    if first_answer(conn, order_id) is None:
        return None
    rows = conn.execute(
        select(DECISION).where(DECISION.c.order_id == order_id).order_by(DECISION.c.seq)
    )
    return [
        {"at": iso(r.at_us), "cause": r.cause, "rule_set": r.rule_set,
         **orjson.loads(r.explanation)}
        for r in rows
    ]  # fmt: skip

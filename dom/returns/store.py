"""The returns' records in SQL: a return and its routed lines, their receipt, and the return as
it stands, read back. Every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from dom.returns.model import ReturnIn, ReturnStatus, return_status
from dom.returns.tables import RETURN, RETURN_LINE
from inventory import from_micros


def _iso(us: int | None) -> str | None:
    return None if us is None else from_micros(us).isoformat()


def digest(conn: Connection, return_id: str) -> str | None:
    """The digest of the return registered under `return_id`, if one is."""
    return conn.scalar(select(RETURN.c.digest).where(RETURN.c.id == return_id))


def lock(conn: Connection, return_id: str) -> Any:
    """The return's row, locked until the transaction ends (PostgreSQL; SQLite has one writer)."""
    query = select(RETURN).where(RETURN.c.id == return_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def insert_return(
    conn: Connection,
    ret: ReturnIn,
    decisions: list[dict[str, Any]],
    prices: Mapping[str, float],
    rule_set: str,
    now_us: int,
) -> None:
    conn.execute(
        insert(RETURN),
        {"id": ret.id, "digest": ret.digest(), "order_id": ret.order,
         "drop_off": ret.drop_off.model_dump_json(), "status": ReturnStatus.registered,
         "rule_set": rule_set, "created_us": now_us, "updated_us": now_us},
    )  # fmt: skip
    conn.execute(
        insert(RETURN_LINE),
        [
            {"return_id": ret.id, "line_id": line.id, "n": n, "sku": line.sku,
             "quantity": line.quantity, "condition": line.condition,
             "order_line": line.order_line, "price": prices[line.id],
             "destination": d["destination"], "route": d["route"],
             "distance_km": d["distance_km"], "cost": d["cost"], "value": d["value"],
             "net_cost": d["net_cost"], "cost_breakdown": orjson.dumps(d["cost_breakdown"]).decode(),
             "reason": d["reason"], "received_us": None, "stock_event": None}
            for n, (line, d) in enumerate(zip(ret.lines, decisions, strict=True))
        ],
    )  # fmt: skip


def returned(conn: Connection, order_id: str) -> dict[str, int]:
    """Units of each line of the order that its returns registered so far."""
    rows = conn.execute(
        select(RETURN_LINE.c.order_line, func.sum(RETURN_LINE.c.quantity))
        .join(RETURN, RETURN.c.id == RETURN_LINE.c.return_id)
        .where(RETURN.c.order_id == order_id)
        .group_by(RETURN_LINE.c.order_line)
    ).all()
    return {line: int(units) for line, units in rows}


def lines(conn: Connection, return_id: str) -> list[Any]:
    return conn.execute(
        select(RETURN_LINE).where(RETURN_LINE.c.return_id == return_id).order_by(RETURN_LINE.c.n)
    ).all()


def mark_received(
    conn: Connection, return_id: str, received: Mapping[str, str | None], now_us: int
) -> ReturnStatus:
    """Record the receipt of lines (line id -> the ledger event that restocked it, if any) and
    the return's status that follows."""
    for line_id, stock_event in received.items():
        conn.execute(
            update(RETURN_LINE)
            .where(RETURN_LINE.c.return_id == return_id, RETURN_LINE.c.line_id == line_id)
            .values(received_us=now_us, stock_event=stock_event)
        )
    status = return_status([row.received_us is not None for row in lines(conn, return_id)])
    conn.execute(
        update(RETURN).where(RETURN.c.id == return_id).values(status=status, updated_us=now_us)
    )
    return status


def view(conn: Connection, return_id: str) -> dict[str, Any] | None:
    """The return as it stands: each line with where it goes, why, at what cost and whether it
    has been received."""
    row = conn.execute(select(RETURN).where(RETURN.c.id == return_id)).first()
    if row is None:
        return None
    found = lines(conn, return_id)
    return {
        "id": row.id,
        "order": row.order_id,
        "status": row.status,
        "rule_set": row.rule_set,
        "drop_off": orjson.loads(row.drop_off),
        "cost": round(sum(ln.cost for ln in found), 4),
        "net_cost": round(sum(ln.net_cost for ln in found), 4),
        "lines": [
            {"id": ln.line_id, "sku": ln.sku, "quantity": ln.quantity,
             "condition": ln.condition, "order_line": ln.order_line, "price": ln.price,
             "destination": ln.destination, "route": ln.route, "distance_km": ln.distance_km,
             "cost": ln.cost, "value": ln.value, "net_cost": ln.net_cost,
             "cost_breakdown": orjson.loads(ln.cost_breakdown), "reason": ln.reason,
             "received_at": _iso(ln.received_us), "restocked": ln.stock_event is not None}
            for ln in found
        ],
        "created_at": _iso(row.created_us),
        "updated_at": _iso(row.updated_us),
    }  # fmt: skip


def awaiting(conn: Connection, destination: str, limit: int) -> list[dict[str, Any]]:
    """Returns with lines on their way to `destination`, not yet received there, oldest first."""
    ids = conn.execute(
        select(RETURN_LINE.c.return_id)
        .join(RETURN, RETURN.c.id == RETURN_LINE.c.return_id)
        .where(RETURN_LINE.c.destination == destination, RETURN_LINE.c.received_us.is_(None))
        .group_by(RETURN_LINE.c.return_id)
        .order_by(func.min(RETURN.c.created_us), RETURN_LINE.c.return_id)
        .limit(limit)
    ).scalars()
    return [found for return_id in ids if (found := view(conn, return_id)) is not None]

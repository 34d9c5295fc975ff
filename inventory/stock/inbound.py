"""Future supply: purchase orders and transfers in transit, so availability can promise a date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from inventory.domain.time import to_micros
from inventory.sql.schema import InboundRow, LocationRow

if TYPE_CHECKING:
    from inventory.ledger import Ledger


INB = InboundRow.__table__
LOC = LocationRow.__table__
MAX_INBOUND_PER_CALL = 10_000


class InboundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    location: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: int = Field(gt=0, le=1_000_000)
    expected_at: AwareDatetime
    kind: Annotated[str, StringConstraints(pattern="^(po|transfer)$")] = "po"


def record(ledger: Ledger, items: Iterable[InboundIn]) -> int:
    """Record (or replace, by id) inbound supply; unknown locations are refused before anything changes."""
    rows = [
        {"id": i.id, "location": i.location, "sku": i.sku, "quantity": i.quantity,
         "expected_us": to_micros(i.expected_at), "kind": i.kind, "open": True}
        for i in items
    ]  # fmt: skip
    if len(rows) > MAX_INBOUND_PER_CALL:
        raise ValueError(f"at most {MAX_INBOUND_PER_CALL} inbound rows per call, got {len(rows)}")

    def work(conn: Connection) -> None:
        known = set(
            conn.scalars(select(LOC.c.id).where(LOC.c.id.in_({r["location"] for r in rows})))
        )
        unknown = sorted({r["location"] for r in rows} - known)
        if unknown:
            raise ValueError(f"unknown location(s): {', '.join(unknown)}")
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(INB)
        columns = {c: statement.excluded[c] for c in rows[0] if c != "id"}
        conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=columns), rows)

    if rows:
        ledger.transaction(work)
        project_inbound(ledger, {r["sku"] for r in rows})
    return len(rows)


def close(ledger: Ledger, inbound_id: str) -> bool:
    """The supply arrived (its receive event moves on_hand) or was cancelled: stop promising it."""

    def work(conn: Connection) -> tuple[str | None, bool]:
        row = conn.execute(select(INB.c.sku, INB.c.open).where(INB.c.id == inbound_id)).first()
        if row is not None and row.open:
            conn.execute(update(INB).where(INB.c.id == inbound_id).values(open=False))
        return (row.sku, row.open) if row is not None else (None, False)

    sku, closed = ledger.transaction(work)
    if sku is not None:  # a repeated close projects again: the first may not have reached Redis
        project_inbound(ledger, {sku})
    return closed


def _entries(rows) -> dict[str, dict[str, int]]:
    by_sku: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by_sku[r.sku][f"{r.location}|{r.expected_us // 1_000_000}"] += r.quantity
    return by_sku


def project_inbound(ledger: Ledger, skus: set[str]) -> None:
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(INB).where(INB.c.sku.in_(sorted(skus)), INB.c.open.is_(True)))
        by_sku = _entries(rows)
    for sku in skus:
        ledger.projection.set_inbound(sku, by_sku.get(sku, {}))


def open_inbound(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Every SKU's open inbound, as the projection holds it: what a rebuild loads."""
    with ledger.engine.connect() as conn:
        return _entries(conn.execute(select(INB).where(INB.c.open.is_(True))))

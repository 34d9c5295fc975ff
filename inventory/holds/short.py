"""Short holds: reserved units a position no longer has in stock.

A count may come in below what is reserved at a position (stock was lost, stolen, miscounted).
The ledger never takes units back by itself; it names the holds left short, so the order
lifecycle can re-route them. Which holds are short is decided by one rule: at a position, the
stock (on hand less safety) covers the open reservations oldest first, by creation time, then id;
the units beyond it belong to the newest. Read on demand: nothing is kept on the hold or ingest
paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select, tuple_

from inventory.holds.outcome import HoldStatus, ShortHold
from inventory.sql.schema import PositionRow, ReservationLineRow, ReservationRow

POS = PositionRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__
OPEN = (HoldStatus.held, HoldStatus.consumed)


@dataclass(frozen=True, slots=True)
class OpenLine:
    """One line of an open reservation at a position, as the rule orders it."""

    created_us: int
    reservation_id: str
    line: int
    quantity: int
    status: HoldStatus
    order_id: str | None


def short_at(location: str, sku: str, stock: int, lines: Sequence[OpenLine]) -> list[ShortHold]:
    """The rule: `stock` units cover the lines oldest first; what is left uncovered is short."""
    short = []
    left = max(0, stock)
    for ln in sorted(lines, key=lambda ln: (ln.created_us, ln.reservation_id, ln.line)):
        covered = min(left, ln.quantity)
        left -= covered
        if covered < ln.quantity:
            short.append(
                ShortHold(
                    ln.reservation_id, ln.status, ln.order_id, location, sku, ln.line,
                    ln.quantity - covered,
                )
            )  # fmt: skip
    return short


def short_holds(
    conn: Connection, keys: Iterable[tuple[str, str]] | None = None, sku: str | None = None
) -> list[ShortHold]:
    """Every short hold, or those at `keys` or of one `sku`, in (location, sku) order."""
    query = select(POS.c.location, POS.c.sku, POS.c.on_hand - POS.c.safety).where(
        POS.c.reserved > POS.c.on_hand - POS.c.safety
    )
    wanted = sorted(set(keys)) if keys is not None else None
    if wanted is not None:
        if not wanted:
            return []
        query = query.where(tuple_(POS.c.location, POS.c.sku).in_(wanted))
    if sku is not None:
        query = query.where(POS.c.sku == sku)
    stock = {(loc, s): units for loc, s, units in conn.execute(query)}
    if not stock:
        return []
    lines: dict[tuple[str, str], list[OpenLine]] = {key: [] for key in stock}
    at = or_(*(and_(LINE.c.location == loc, LINE.c.sku == s) for loc, s in stock))
    rows = conn.execute(
        select(
            LINE.c.location, LINE.c.sku, RES.c.created_us, RES.c.id, LINE.c.line,
            LINE.c.quantity, RES.c.status, RES.c.order_id,
        )
        .join(RES, RES.c.id == LINE.c.reservation_id)
        .where(RES.c.status.in_(OPEN), at)
    )  # fmt: skip
    for loc, s, created, rid, line, quantity, status, order in rows:
        lines[(loc, s)].append(OpenLine(created, rid, line, quantity, HoldStatus(status), order))
    return [
        hold
        for (loc, s), units in sorted(stock.items())
        for hold in short_at(loc, s, units, lines[(loc, s)])
    ]

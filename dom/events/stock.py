"""Stock events, written inside the ingest transaction that changes the stock (the ledger calls
`record` there: Ledger.with_each_batch), so they commit with the change or not at all.

- `stock.changed`, subject `stock`: the positions a batch changed, at most
  MAX_POSITIONS_PER_EVENT an event (a large batch writes several, in key order), so that no
  event, and no page of the feed, grows with the batch:
  `{"positions": [{"location": "ST-1", "sku": "SKU-1", "on_hand": 7, "reserved": 2,
  "safety": 1, "available": 4}]}`
- `stock.out`, subject the SKU: a position that had units available (on_hand - reserved - safety,
  at least 0) has none after the batch; `stock.back`: one that had none has some again. The
  payload is the position as above. A position's first stock (it held no stock event before) is
  in `stock.changed` only: it was never out, so it is not back.

Holds, releases and settlements change availability too, by `reserved`; they write no stock
event (yet): they are decided on the hold writer's own connection, outside this transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from dom.events import outbox
from inventory import BatchResult, Projected

MAX_POSITIONS_PER_EVENT = 200  # about 20 KB of JSON an event
SUBJECT = "stock"


def record(conn: Connection, result: BatchResult, now_us: int) -> None:
    """The events of one committed batch, in the caller's transaction."""
    changed = sorted(result.changed.items())
    positions = [_position(key, value) for key, value in changed]
    events: list[tuple[str, str, dict[str, Any]]] = [
        ("stock.changed", SUBJECT, {"positions": positions[at : at + MAX_POSITIONS_PER_EVENT]})
        for at in range(0, len(positions), MAX_POSITIONS_PER_EVENT)
    ]
    before = result.on_hand_before
    for (key, value), position in zip(changed, positions, strict=True):
        was = before.get(key)
        if was is None:
            continue
        # Available is on_hand less reserved and safety, at least 0 (Projected.available); an
        # ingest moves on_hand only, so it crossed zero where on_hand crossed their sum.
        kept = value.reserved + value.safety
        if was > kept >= value.on_hand:
            events.append(("stock.out", key[1], position))
        elif value.on_hand > kept >= was:
            events.append(("stock.back", key[1], position))
    outbox.record_many(conn, events, now_us)


def _position(key: tuple[str, str], value: Projected) -> dict[str, Any]:
    location, sku = key
    return {
        "location": location, "sku": sku, "on_hand": value.on_hand, "reserved": value.reserved,
        "safety": value.safety, "available": value.available,
    }  # fmt: skip

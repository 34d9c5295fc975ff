"""The transactional outbox: every domain event is a row written in the SQL transaction of the
change it reports, so an event is never lost (the change committed) nor invented (it rolled back).

Events are numbered by `seq`, and a cursor reader must never see a gap filled later: on
PostgreSQL two transactions may take sequence numbers in one order and commit in the other. So
the writer takes a transaction-level advisory lock just before it appends, held until commit:
events commit in the order of their numbers. Appending is the last step of a transaction, so the
lock is held for the commit only. SQLite has one writer at a time already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

# Domain event types: what a client may receive (DESIGN.md, "Events and jobs").
EVENT_TYPES: Final = (
    "stock.changed",
    "stock.out",
    "stock.back",
    "order.routed",
    "order.parked",
    "order.escalated",
    "order.cancelled",
    "order.completed",
    "shipment.accepted",
    "shipment.rejected",
    "shipment.shipped",
    "shipment.ready_for_pickup",
    "shipment.collected",
    "shipment.cancelled",
    "return.registered",
    "return.received",
)
MAX_SUBJECT_CHARS = 128
MAX_READ_EVENTS = 1_000
# Set in the connection's info by an append: the pool's check-in, after the commit, tells this
# process's webhook deliverer that there is something new (dom.events.wakeup).
APPENDED = "dom.outbox.appended"
_APPEND_LOCK = 0x646F6D6F7574  # "domout": one advisory lock key for every appender

metadata = MetaData()
OUTBOX = Table(
    "outbox_event",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("type", String(32), nullable=False),
    # What the event is about, the key deliveries stay in order by (an order id, a SKU, ...).
    Column("subject", String(MAX_SUBJECT_CHARS), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("created_us", BigInteger, nullable=False),
    Index("outbox_event_subject", "subject", "seq"),
)


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    subject: str
    payload: dict[str, Any]
    created_us: int


class UnknownEventType(ValueError):
    """An event type outside EVENT_TYPES: a programming error, refused before anything is written."""


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


# Appends skip SQLAlchemy's per-row parameter handling, which cost more than the inserts when a
# transaction appends hundreds of events; PostgreSQL takes them by COPY, numbered in their order
# (half an executemany's time; benchmarks/RESULTS.md, "Stock events in the ingest transaction").
_COLUMNS = "type, subject, payload, created_us"
_SQLITE_APPEND = f"INSERT INTO {OUTBOX.name} ({_COLUMNS}) VALUES (?, ?, ?, ?)"
_PG_APPEND = f"COPY {OUTBOX.name} ({_COLUMNS}) FROM STDIN"


def _copy(conn: Connection, rows: list[tuple[str, str, str, int]]) -> None:
    """COPY on the driver's cursor; its errors come out as SQLAlchemy's, as every caller's
    transaction expects (a dropped connection is retried, say)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with cursor.copy(_PG_APPEND) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi_error as error:
        raise DBAPIError.instance(_PG_APPEND, None, error, dbapi_error) from error
    finally:
        cursor.close()


def record(
    conn: Connection, type_: str, subject: str, payload: Mapping[str, Any], now_us: int
) -> None:
    """Append one event inside the caller's transaction (call it last: see the module's doc)."""
    record_many(conn, [(type_, subject, payload)], now_us)


def record_many(
    conn: Connection, events: list[tuple[str, str, Mapping[str, Any]]], now_us: int
) -> None:
    """Append events, in the given order, inside the caller's transaction."""
    if not events:
        return
    for type_, subject, _ in events:
        if type_ not in EVENT_TYPES:
            raise UnknownEventType(f"unknown event type {type_!r}")
        if not 1 <= len(subject) <= MAX_SUBJECT_CHARS:
            raise ValueError(f"an event's subject is 1 to {MAX_SUBJECT_CHARS} characters")
    rows = [(t, s, orjson.dumps(p).decode()) for t, s, p in events]
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
        _copy(conn, [(*row, now_us) for row in rows])
    else:
        conn.exec_driver_sql(_SQLITE_APPEND, [(*row, now_us) for row in rows])
    conn.info[APPENDED] = True


def read_after(
    conn: Connection,
    after: int,
    limit: int = MAX_READ_EVENTS,
    types: frozenset[str] | None = None,
    subject: str | None = None,
) -> list[Event]:
    """Events numbered above `after`, oldest first: at most `limit`, of `types` and `subject`
    when given."""
    query = select(OUTBOX).where(OUTBOX.c.seq > after)
    if types:
        query = query.where(OUTBOX.c.type.in_(sorted(types)))
    if subject is not None:
        query = query.where(OUTBOX.c.subject == subject)
    rows = conn.execute(query.order_by(OUTBOX.c.seq).limit(min(limit, MAX_READ_EVENTS)))
    return [Event(r.seq, r.type, r.subject, orjson.loads(r.payload), r.created_us) for r in rows]


def last_seq(conn: Connection) -> int:
    """The newest event's number (0 before the first)."""
    return int(conn.scalar(select(OUTBOX.c.seq).order_by(OUTBOX.c.seq.desc()).limit(1)) or 0)

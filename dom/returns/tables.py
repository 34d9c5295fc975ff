"""The returns' SQL tables, beside the orders' (their own MetaData). Times are integer
microseconds since the epoch, as in the ledger."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

RETURN = Table(
    "dom_return",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("digest", String(64), nullable=False),  # of the registered body: a retry must match
    Column("order_id", String(64), nullable=True),
    Column("drop_off", Text, nullable=False),  # JSON: {"store"} or {"lat", "lon"}
    Column("status", String(24), nullable=False),
    Column("rule_set", String(64), nullable=False),  # the version whose transfer costs routed it
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("dom_return_order", "order_id"),
)

RETURN_LINE = Table(
    "dom_return_line",
    metadata,
    Column("return_id", String(64), ForeignKey("dom_return.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("n", Integer, nullable=False),  # its place in the return; names its stock event
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("condition", String(8), nullable=False),
    Column("order_line", String(64), nullable=True),
    Column("price", Float, nullable=False),  # per unit, what its value was reckoned from
    Column("destination", String(64), nullable=False),
    Column("route", String(32), nullable=False),
    Column("distance_km", Float, nullable=False),
    Column("cost", Float, nullable=False),
    Column("value", Float, nullable=False),
    Column("net_cost", Float, nullable=False),
    Column("cost_breakdown", Text, nullable=False),  # JSON
    Column("reason", Text, nullable=False),
    Column("received_us", BigInteger, nullable=True),  # when its destination reported it
    Column("stock_event", String(128), nullable=True),  # the ledger's `return` event, if sellable
    Index("dom_return_line_destination", "destination", "received_us"),
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)

"""The orders' SQL tables, beside the ledger's in the same database (their own MetaData, as
dom.keys has). Times are integer microseconds since the epoch, as in the ledger."""

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

ORDER = Table(
    "dom_order",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("digest", String(64), nullable=False),  # of the submitted body: a retry must match
    Column("body", Text, nullable=False),  # the order as submitted (JSON)
    Column("channel", String(32), nullable=False),
    Column("method", String(8), nullable=False),
    Column("status", String(24), nullable=False),
    Column("rule_set", String(64), nullable=False),  # the version that routed it first
    Column("penalties", Float, nullable=False, default=0.0),  # order-level soft-rule penalties
    Column("rejections", Integer, nullable=False, default=0),
    Column("escalated", Integer, nullable=False, default=0),  # 1: in the people's queue
    Column("first_answer", Text, nullable=False),  # what the submission answered (JSON)
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("dom_order_status", "status"),
)

LINE = Table(
    "dom_order_line",
    metadata,
    Column("order_id", String(64), ForeignKey("dom_order.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("n", Integer, nullable=False),  # its place in the order
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False, default=0),  # units cancelled before they left
)

SHIPMENT = Table(
    "dom_shipment",
    metadata,
    Column("id", String(80), primary_key=True),  # <order id>-S<n>
    Column("order_id", String(64), ForeignKey("dom_order.id"), nullable=False),
    Column("location", String(64), nullable=False),
    Column("route", String(8), nullable=False),  # ship, shelf, transfer
    Column("status", String(24), nullable=False),
    Column("reservation_id", String(128), nullable=False, unique=True),  # its allocation
    Column("rule_set", String(64), nullable=False),
    Column("cost", Float, nullable=False),
    Column("cost_breakdown", Text, nullable=False),  # JSON
    Column("distance_km", Float, nullable=False),
    Column("reason", Text, nullable=False),  # why the plan chose it
    Column("rejection", String(16), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("dom_shipment_order", "order_id"),
    Index("dom_shipment_location_status", "location", "status"),
)

SHIPMENT_LINE = Table(
    "dom_shipment_line",
    metadata,
    Column("shipment_id", String(80), ForeignKey("dom_shipment.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
)

# Units of a line nobody serves now: backordered (waiting for stock, re-routed when it comes)
# or escalated (a person decides). A line has at most one such row; it is gone when filled.
BACKORDER = Table(
    "dom_backorder",
    metadata,
    Column("order_id", String(64), ForeignKey("dom_order.id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("cost", Float, nullable=False),  # the backorder penalty it costs the plan
    Column("escalated", Integer, nullable=False, default=0),
    Column("since_us", BigInteger, nullable=False),
    Index("dom_backorder_sku", "sku"),
)

# A location an order must not be routed to again before `until_us` (it rejected a shipment).
EXCLUSION = Table(
    "dom_order_exclusion",
    metadata,
    Column("order_id", String(64), ForeignKey("dom_order.id"), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("until_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)

HISTORY = Table(
    "dom_order_history",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("order_id", String(64), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("shipment_id", String(80), nullable=True),
    Column("detail", Text, nullable=False),  # JSON
    Index("dom_order_history_order", "order_id", "seq"),
)

# Every routing decision, kept whole so it can be explained later: the candidates, what each
# would cost, what was excluded and why, and the plan.
DECISION = Table(
    "dom_routing_decision",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("order_id", String(64), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("cause", String(32), nullable=False),  # submitted, rejected, stock_arrived, ...
    Column("rule_set", String(64), nullable=False),
    Column("explanation", Text, nullable=False),  # JSON
    Index("dom_routing_decision_order", "order_id", "seq"),
)


# Shipments allocated at a location on a day (UTC days since the epoch), for locations whose
# daily capacity is counted (dom.orders.capacity).
LOCATION_DAY = Table(
    "dom_location_day",
    metadata,
    Column("location", String(64), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("shipments", Integer, nullable=False),
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)

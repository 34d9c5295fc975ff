"""The SQL ledger: the system of record for locations, stock events, positions and reservations.

Times are stored as integer microseconds since the epoch (UTC) so that ordering and comparison are
exact and identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer
from sqlmodel import Field, SQLModel


class LocationRow(SQLModel, table=True):
    __tablename__ = "location"

    id: str = Field(primary_key=True, max_length=64)
    # Given once, never changed or reused: the projection's records name locations by slot.
    slot: int = Field(sa_column=Column(Integer, nullable=False, unique=True))
    type: str = Field(max_length=16)
    lat: float
    lon: float
    capabilities: str = Field(default="", max_length=64)  # sorted, comma separated
    capacity_per_day: int = 1_000_000
    lead_time_hours: float = 24.0
    transfer_days: float = 2.0
    active: bool = True
    region: str = Field(default="", max_length=64)


class PositionRow(SQLModel, table=True):
    """`version` grows with every change, so the projection only ever moves forward."""

    __tablename__ = "position"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="position_reserved_not_negative"),
        CheckConstraint("safety >= 0", name="position_safety_not_negative"),
        # PostgreSQL pages filled to 80 % only: an update then fits on its row's page and skips
        # the key index (a HOT update), and a feed rewrites random positions all the time.
        {"sqlite_with_rowid": False, "postgresql_with": {"fillfactor": 80}},
    )

    location: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    # 64-bit: receipts may add up past 2**31 units; the feed's limit is per event, not per position.
    on_hand: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    reserved: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    safety: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    count_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    count_id: str | None = Field(default=None, max_length=128)
    last_delta_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    reported_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # The newest stock event recorded here and its receive stamp; each event names the one
    # recorded before it, so a position's history is found by walking back from here (see
    # inventory.stock.history).
    last_event_id: str | None = Field(default=None, max_length=128)
    last_received_us: int | None = Field(default=None, sa_column=Column(BigInteger))


class PositionChannelRow(SQLModel, table=True):
    """What one sales channel holds at a position: its part of `position.reserved`, kept in the
    same transaction by every hold and every close (inventory.holds), so that a channel fence
    (a share of the stock kept for one channel) is counted against that channel's own holds and
    no other channel's. A channel holding nothing there may have no row, or a row of 0.

    A ledger made before this table had none: it is filled from the open holds when created
    (inventory.sql.engine), so positions held before it count their holds by channel too.
    """

    __tablename__ = "position_channel"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="position_channel_reserved_not_negative"),
        {"sqlite_with_rowid": False},
    )

    location: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    channel: str = Field(primary_key=True, max_length=32)
    reserved: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class SalesChannelRow(SQLModel, table=True):
    """A sales channel's number, given once, never changed or reused: the projection's pool
    entries name a channel by it (inventory.domain.records.pool_slot)."""

    __tablename__ = "sales_channel"

    name: str = Field(primary_key=True, max_length=32)
    number: int = Field(sa_column=Column(Integer, nullable=False, unique=True))


class StockEventRow(SQLModel, table=True):
    """Immutable. `outcome` records whether the event moved on_hand or was already inside a count.

    There is no index by position: a feed touches random positions, and such an index costs a
    random page write per event. `prev_event_id` chains each position's events instead, newest
    first from `position.last_event_id`.
    """

    __tablename__ = "stock_event"
    __table_args__ = ({"sqlite_with_rowid": False},)  # the key is the event id: one B-tree fewer

    event_id: str = Field(primary_key=True, max_length=128)
    location: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    type: str = Field(max_length=16)
    quantity: int
    occurred_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    received_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(default="", max_length=64)
    outcome: str = Field(max_length=16)
    prev_event_id: str | None = Field(default=None, max_length=128)


class SafetyRuleRow(SQLModel, table=True):
    """Safety stock by rule; the most specific rule wins: location+sku, sku, location, location type."""

    __tablename__ = "safety_rule"

    id: int | None = Field(default=None, primary_key=True)
    location_type: str | None = Field(default=None, max_length=16)
    location: str | None = Field(default=None, max_length=64)
    sku: str | None = Field(default=None, max_length=64)
    units: int = Field(sa_column=Column(Integer, CheckConstraint("units >= 0"), nullable=False))


class PolicyRow(SQLModel, table=True):
    """Versioned availability policy (ship-from-store, vendor confidence, channel fences, threshold)."""

    __tablename__ = "availability_policy"

    version: int | None = Field(default=None, primary_key=True)
    body: str  # JSON of inventory.availability.policy.AvailabilityPolicy
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class InboundRow(SQLModel, table=True):
    """Future supply: a purchase order or a transfer in transit, expected at a location on a date."""

    __tablename__ = "inbound"

    id: str = Field(primary_key=True, max_length=128)
    location: str = Field(max_length=64)
    sku: str = Field(max_length=64, index=True)
    quantity: int
    expected_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(default="po", max_length=16)
    open: bool = True


class ReservationRow(SQLModel, table=True):
    """A hold: `held` moves exactly once to `consumed`, `released` or `expired`."""

    __tablename__ = "reservation"
    __table_args__ = (Index("reservation_open_expiry", "status", "expires_us"),)

    id: str = Field(primary_key=True, max_length=128)
    status: str = Field(max_length=16)
    channel: str = Field(default="web", max_length=32)
    request_hash: str = Field(max_length=64)
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    closed_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    order_id: str | None = Field(default=None, max_length=128)


class ReservationLineRow(SQLModel, table=True):
    __tablename__ = "reservation_line"

    reservation_id: str = Field(primary_key=True, max_length=128)
    line: int = Field(primary_key=True)
    location: str = Field(primary_key=True, max_length=64)
    sku: str = Field(max_length=64, sa_column_kwargs={"nullable": False})
    quantity: int = Field(
        sa_column=Column(Integer, CheckConstraint("quantity > 0"), nullable=False)
    )


class SettlementRow(SQLModel, table=True):
    """A shipment that settled a consumed reservation, whole: the reservation moved to `settled`
    and each of its positions got a `ship` stock event, `ship:<shipment_id>:<n>` (n counts the
    reservation's positions in key order). A table of its own, so a ledger made before it gains
    it as it opens, with no migration."""

    __tablename__ = "settlement"

    shipment_id: str = Field(primary_key=True, max_length=96)
    reservation_id: str = Field(max_length=128, unique=True)
    shipped_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    settled_us: int = Field(sa_column=Column(BigInteger, nullable=False))


TABLES = SQLModel.metadata


class CorrectionRow(SQLModel, table=True):
    """A compensating entry written by reconciliation: what was wrong, what it became, and why."""

    __tablename__ = "ledger_correction"

    id: int | None = Field(default=None, primary_key=True)
    location: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    field: str = Field(max_length=16)  # on_hand | reserved
    before: int | None = Field(default=None, sa_column=Column(BigInteger))
    after: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(max_length=256)
    event_id: str | None = Field(
        default=None, max_length=128
    )  # the compensating stock event, if any
    at_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class ProjectionWriterRow(SQLModel, table=True):
    """A process that may write the projection, from its start to its clean close. A row whose
    process is gone names one that may have committed in SQL and died before projecting."""

    __tablename__ = "projection_writer"

    id: str = Field(primary_key=True, max_length=64)
    host: str = Field(max_length=255)
    pid: int
    process_start: str = Field(default="", max_length=32)  # tells a reused pid from its process
    seen_us: int = Field(sa_column=Column(BigInteger, nullable=False))  # its last heartbeat

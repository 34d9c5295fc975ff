"""The unified inventory ledger: locations, stock events, positions, availability, reservations.

This module is the ledger's public surface: what `dom/`, `api/` and other callers may use. The
sub-packages behind it are internal:

  domain/        plain values (locations, stock events, positions as projected, time in µs)
  stock/         stock events: validation, the count rule, ingest, history, inbound, safety stock
  availability/  what may be sold: policy, sources, the arithmetic, tallies, the checkout reader
  holds/         reservations: request, plan, the group-commit writer, SQL decisions, lifecycle,
                 expiry, settlement of shipments, short holds
  projection/    the Redis projection: adapter, background projector, rebuild, reconcile
  sql/           the system of record: engine, schema, locations, the one transaction helper

Names load on first use, so importing one pure module (say the count rule) does not pull in
SQLAlchemy or Redis.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # domain values
    "CLIENT_TEXT": "inventory.domain.text",
    "Capability": "inventory.domain.model",
    "EventType": "inventory.domain.model",
    "Location": "inventory.domain.model",
    "LocationType": "inventory.domain.model",
    "Position": "inventory.domain.model",
    "StockEvent": "inventory.domain.model",
    "Projected": "inventory.domain.projected",
    "to_micros": "inventory.domain.time",
    "from_micros": "inventory.domain.time",
    # wiring
    "open_engine": "inventory.sql.engine",
    "reading": "inventory.sql.engine",
    "transaction": "inventory.sql.transaction",
    "Projection": "inventory.projection.store",
    "UnknownLocation": "inventory.projection.slots",
    # the write side: locations, policy, safety stock, stock events
    "Ledger": "inventory.ledger",
    "LocationIn": "inventory.sql.locations",
    "AvailabilityPolicy": "inventory.availability.policy",
    "ChannelFence": "inventory.availability.policy",
    "VendorConfidence": "inventory.availability.policy",
    "SafetyRule": "inventory.stock.safety",
    "InvalidSafetyRule": "inventory.stock.safety",
    "InboundIn": "inventory.stock.inbound",
    "record_inbound": "inventory.stock.inbound",
    "close_inbound": "inventory.stock.inbound",
    "BatchResult": "inventory.stock.ingest",
    "Outcome": "inventory.stock.count_rule",
    "Verdict": "inventory.stock.count_rule",
    "MAX_BATCH_EVENTS": "inventory.stock.feed",
    "BatchTooLarge": "inventory.stock.feed",
    "position_history": "inventory.stock.history",
    "CountLine": "inventory.stock.full_count",
    "FullCount": "inventory.stock.full_count",
    "InvalidCount": "inventory.stock.full_count",
    "MAX_COUNT_LINES": "inventory.stock.full_count",
    "take_full_count": "inventory.stock.full_count",
    # availability reads
    "AvailabilityReader": "inventory.availability.reader",
    "AsyncAvailabilityReader": "inventory.availability.async_reader",
    "AsyncReads": "inventory.projection.async_reads",
    "ThreadedReads": "inventory.projection.async_reads",
    "LocalCopy": "inventory.projection.tracking",
    "Endpoint": "inventory.projection.tracking",
    "CartTooLarge": "inventory.availability.reader",
    "NetworkNotPublished": "inventory.availability.reader",
    "MAX_CART_SKUS": "inventory.availability.reader",
    "Query": "inventory.availability.sources",
    "InvalidQuery": "inventory.availability.sources",
    "SkuAvailability": "inventory.availability.compute",
    "Contribution": "inventory.availability.compute",
    "Promise": "inventory.availability.compute",
    # reservations
    "Reservations": "inventory.holds.service",
    "HoldLine": "inventory.holds.request",
    "HoldRequest": "inventory.holds.request",
    "Take": "inventory.holds.request",
    "HoldOutcome": "inventory.holds.outcome",
    "HoldStatus": "inventory.holds.outcome",
    "Changes": "inventory.holds.outcome",
    "MAX_HOLD_TTL_S": "inventory.holds.request",
    "DEFAULT_CART_TTL_S": "inventory.holds.expiry",
    "ReservationConflict": "inventory.holds.outcome",
    "UnknownReservation": "inventory.holds.outcome",
    "Reservation": "inventory.holds.outcome",
    "HoldNotConsumed": "inventory.holds.outcome",
    "Settlement": "inventory.holds.outcome",
    "Shipped": "inventory.holds.outcome",
    "InvalidShipment": "inventory.holds.settlement",
    "HoldShort": "inventory.holds.shortfall",
    "ShortHold": "inventory.holds.shortfall",
    "ShortPosition": "inventory.holds.shortfall",
    "Shortfall": "inventory.holds.shortfall",
    "ExpirySweeper": "inventory.holds.expiry",
    # keeping the projection true
    "rebuild": "inventory.projection.rebuild",
    "vouch": "inventory.projection.vouch",
    "Vouched": "inventory.projection.vouch",
    "Attendance": "inventory.projection.vouch",
    "RebuildReport": "inventory.projection.rebuild",
    "reconcile": "inventory.projection.reconcile",
    "ReconcileReport": "inventory.projection.reconcile",
    "Drift": "inventory.projection.reconcile",
}
_RENAMED = {"record_inbound": "record", "close_inbound": "close", "take_full_count": "take"}
__all__ = [
    "CLIENT_TEXT",
    "DEFAULT_CART_TTL_S",
    "MAX_BATCH_EVENTS",
    "MAX_CART_SKUS",
    "MAX_COUNT_LINES",
    "MAX_HOLD_TTL_S",
    "AsyncAvailabilityReader",
    "AsyncReads",
    "Attendance",
    "AvailabilityPolicy",
    "AvailabilityReader",
    "BatchResult",
    "BatchTooLarge",
    "Capability",
    "CartTooLarge",
    "Changes",
    "ChannelFence",
    "Contribution",
    "CountLine",
    "Drift",
    "Endpoint",
    "EventType",
    "ExpirySweeper",
    "FullCount",
    "HoldLine",
    "HoldNotConsumed",
    "HoldOutcome",
    "HoldRequest",
    "HoldShort",
    "HoldStatus",
    "InboundIn",
    "InvalidCount",
    "InvalidQuery",
    "InvalidSafetyRule",
    "InvalidShipment",
    "Ledger",
    "LocalCopy",
    "Location",
    "LocationIn",
    "LocationType",
    "NetworkNotPublished",
    "Outcome",
    "Position",
    "Projected",
    "Projection",
    "Promise",
    "Query",
    "RebuildReport",
    "ReconcileReport",
    "Reservation",
    "ReservationConflict",
    "Reservations",
    "SafetyRule",
    "Settlement",
    "Shipped",
    "ShortHold",
    "ShortPosition",
    "Shortfall",
    "SkuAvailability",
    "StockEvent",
    "Take",
    "ThreadedReads",
    "UnknownLocation",
    "UnknownReservation",
    "VendorConfidence",
    "Verdict",
    "Vouched",
    "close_inbound",
    "from_micros",
    "open_engine",
    "position_history",
    "reading",
    "rebuild",
    "reconcile",
    "record_inbound",
    "take_full_count",
    "to_micros",
    "transaction",
    "vouch",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inventory' has no attribute {name!r}")
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from inventory.availability.async_reader import AsyncAvailabilityReader
    from inventory.availability.compute import Contribution, Promise, SkuAvailability
    from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
    from inventory.availability.reader import (
        MAX_CART_SKUS,
        AvailabilityReader,
        CartTooLarge,
        NetworkNotPublished,
    )
    from inventory.availability.sources import InvalidQuery, Query
    from inventory.domain.model import (
        Capability,
        EventType,
        Location,
        LocationType,
        Position,
        StockEvent,
    )
    from inventory.domain.projected import Projected
    from inventory.domain.time import from_micros, to_micros
    from inventory.holds.expiry import DEFAULT_CART_TTL_S, ExpirySweeper
    from inventory.holds.outcome import (
        HoldNotConsumed,
        HoldOutcome,
        HoldStatus,
        Reservation,
        ReservationConflict,
        Settlement,
        Shipped,
        UnknownReservation,
    )
    from inventory.holds.request import MAX_HOLD_TTL_S, HoldLine, HoldRequest, Take
    from inventory.holds.service import Reservations
    from inventory.holds.settlement import InvalidShipment
    from inventory.holds.shortfall import HoldShort, Shortfall, ShortHold, ShortPosition
    from inventory.ledger import Ledger
    from inventory.projection.async_reads import AsyncReads, ThreadedReads
    from inventory.projection.rebuild import RebuildReport, rebuild
    from inventory.projection.reconcile import Drift, ReconcileReport, reconcile
    from inventory.projection.slots import UnknownLocation
    from inventory.projection.store import Projection
    from inventory.projection.tracking import Endpoint, LocalCopy
    from inventory.projection.vouch import Attendance, Vouched, vouch
    from inventory.sql.engine import open_engine, reading
    from inventory.sql.locations import LocationIn
    from inventory.sql.transaction import transaction
    from inventory.stock.count_rule import Outcome, Verdict
    from inventory.stock.feed import MAX_BATCH_EVENTS, BatchTooLarge
    from inventory.stock.full_count import MAX_COUNT_LINES, CountLine, FullCount, InvalidCount
    from inventory.stock.full_count import take as take_full_count
    from inventory.stock.history import position_history
    from inventory.stock.inbound import InboundIn
    from inventory.stock.inbound import close as close_inbound
    from inventory.stock.inbound import record as record_inbound
    from inventory.stock.ingest import BatchResult
    from inventory.stock.safety import InvalidSafetyRule, SafetyRule

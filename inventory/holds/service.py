"""Reservations, the ledger's holding service: hold (all lines or none), release, consume, expire.

A hold is decided for its group (inventory.holds.group) by the hold writer's thread
(inventory.holds.writer), or alone on the caller's thread when group commit is off. Closing a
hold is one conditional update (inventory.holds.lifecycle); expiry is inventory.holds.expiry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from inventory.availability.reader import AvailabilityReader
from inventory.domain.time import to_micros
from inventory.holds import expiry, lifecycle, settlement
from inventory.holds.group import Changed, GroupDecider
from inventory.holds.outcome import Changes, HoldOutcome, HoldStatus, ShortHold
from inventory.holds.recent_view import DEFAULT_TTL_S as VIEW_TTL_S
from inventory.holds.request import HoldRequest
from inventory.holds.short import short_holds
from inventory.holds.writer import HoldWriter
from inventory.ledger import Ledger


class Reservations:
    def __init__(
        self,
        ledger: Ledger,
        reader: AvailabilityReader,
        group_commit: bool = True,
        view_ttl_s: float = VIEW_TTL_S,
        cart_ttl_s: int = expiry.DEFAULT_CART_TTL_S,
    ) -> None:
        self.ledger = ledger
        self.reader = reader
        self.group_commit = group_commit
        self._decider = GroupDecider(ledger, reader, cart_ttl_s)
        self._writer = HoldWriter(self._decider, view_ttl_s)

    # -- holding ------------------------------------------------------------------------------
    def hold(self, request: HoldRequest | Mapping[str, Any]) -> HoldOutcome:
        """Hold every line or none. A mapping is validated as a HoldRequest first (a pydantic
        ValidationError names each field that is wrong)."""
        if isinstance(request, Mapping):
            request = HoldRequest.model_validate(request)
        elif not isinstance(request, HoldRequest):
            raise TypeError(f"a hold is a HoldRequest or a mapping, not {type(request).__name__}")
        if self.group_commit:
            return self._writer.submit(request)
        committed: Changed = {}
        try:
            [outcome] = self._decider.decide([request], committed)
        finally:
            self.ledger.projection.put(committed)
        return outcome

    def close(self) -> None:
        """Stop the writer once it has decided every hold queued before; a later hold starts a
        new one."""
        self._writer.close()

    # -- closing ------------------------------------------------------------------------------
    def release(self, reservation_id: str) -> HoldStatus:
        return self._close(reservation_id, HoldStatus.released)

    def consume(self, reservation_id: str, order_id: str) -> HoldStatus:
        """The order takes over the held units: they stay reserved until shipped."""
        return self._close(reservation_id, HoldStatus.consumed, order_id)

    def settle(
        self, reservation_id: str, shipment_id: str, shipped_at: datetime | None = None
    ) -> HoldStatus:
        """The consumed hold's shipment left at `shipped_at` (now when not given): its units
        leave reserved and on_hand, once (inventory.holds.settlement). The same shipment again
        is a replay; another shipment, or a hold not consumed, is a ReservationConflict."""
        shipment_id = _shipment_id(shipment_id)
        now = self.ledger.clock()
        when = _shipped_at(shipped_at, now)
        changes = Changes()

        def work(conn: Connection) -> HoldStatus:
            changes.positions.clear()
            return settlement.settle(
                conn, reservation_id, shipment_id, when, to_micros(now), changes
            )

        status = self.ledger.transaction(work)
        self.ledger.projection.put(changes.positions)
        return status

    def short(self, sku: str | None = None) -> list[ShortHold]:
        """Every open hold (or those of one SKU) a count has left without stock behind all its
        units, with where and by how much (inventory.holds.short): to re-route."""
        with self.ledger.engine.connect() as conn:
            return short_holds(conn, sku=sku)

    def _close(
        self, reservation_id: str, to: HoldStatus, order_id: str | None = None
    ) -> HoldStatus:
        changes = Changes()
        now_us = to_micros(self.ledger.clock())

        def work(conn: Connection) -> HoldStatus:
            changes.positions.clear()
            return lifecycle.close(conn, reservation_id, to, now_us, changes, order_id)

        status = self.ledger.transaction(work)
        self.ledger.projection.put(changes.positions)
        return status

    def expire_due(self) -> int:
        """Release every hold past its expiry; returns how many expired (inventory.holds.expiry)."""
        return expiry.expire_all(
            self.ledger.transaction,
            self.ledger.projection.put,
            lambda: to_micros(self.ledger.clock()),
        )


SHIPMENT_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")
MAX_SHIPPED_SKEW = timedelta(minutes=15)  # a shipment may not claim to leave later than this


def _shipment_id(shipment_id: str) -> str:
    if not isinstance(shipment_id, str) or not SHIPMENT_ID.match(shipment_id):
        raise ValueError(f"a shipment id is 1-128 of A-Z a-z 0-9 . _ : / -, not {shipment_id!r}")
    return shipment_id


def _shipped_at(shipped_at: datetime | None, now: datetime) -> datetime:
    if shipped_at is None:
        return now
    if not isinstance(shipped_at, datetime) or shipped_at.tzinfo is None:
        raise ValueError("shipped_at is a datetime with its time zone")
    if shipped_at > now + MAX_SHIPPED_SKEW:
        raise ValueError("shipped_at lies in the future")
    return shipped_at

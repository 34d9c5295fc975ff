"""Reservations, the ledger's holding service: hold (all lines or none), release, consume, expire,
settle (a shipment of a consumed hold), and find the holds stock no longer backs (short).

A hold is decided for its group (inventory.holds.group) by the hold writer's thread
(inventory.holds.writer), or alone on the caller's thread when group commit is off. Closing a
hold is one conditional update (inventory.holds.lifecycle); expiry is inventory.holds.expiry;
settling a shipment is inventory.holds.settlement; short holds are inventory.holds.shortfall.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from inventory.availability.reader import AvailabilityReader
from inventory.domain.time import to_micros
from inventory.holds import expiry, lifecycle, lookup, settlement, shortfall_sql
from inventory.holds.group import Changed, GroupDecider
from inventory.holds.outcome import Changes, HoldOutcome, HoldStatus, Reservation, Settlement
from inventory.holds.recent_view import DEFAULT_TTL_S as VIEW_TTL_S
from inventory.holds.request import HoldRequest
from inventory.holds.shortfall import ShortHold, ShortPosition
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
            self.ledger.project(committed)
        return outcome

    def observe_groups(self, on_group: Callable[[int], None]) -> None:
        """Tell `on_group` the size of every group the hold writer decides (for metrics)."""
        self._writer.on_group = on_group

    def close(self) -> None:
        """Stop the writer once it has decided every hold queued before; a later hold starts a
        new one."""
        self._writer.close()

    def get(self, reservation_id: str) -> Reservation:
        """The reservation as recorded (UnknownReservation when no hold has this id)."""
        now_us = to_micros(self.ledger.clock())
        return self.ledger.read(lambda conn: lookup.find(conn, reservation_id, now_us))

    # -- closing ------------------------------------------------------------------------------
    def release(self, reservation_id: str) -> HoldStatus:
        return self._close(reservation_id, HoldStatus.released)

    def consume(self, reservation_id: str, order_id: str) -> HoldStatus:
        """The order takes over the held units: they stay reserved until shipped. A hold that
        stock no longer backs is not consumed: HoldShort names its shortfall, and it stays held."""
        return self._close(reservation_id, HoldStatus.consumed, order_id)

    def settle(self, reservation_id: str, shipment_id: str, shipped_at: datetime) -> Settlement:
        """A shipment left with the units of `reservation_id`, a hold an order consumed: they
        leave reserved, and on_hand unless a count taken after `shipped_at` already excludes
        them. Once: the same shipment again is a replay returning the first settlement; another
        shipment of a settled reservation, a shipment id given for another, or a hold that is not
        consumed is refused (ReservationConflict, HoldNotConsumed). Bad ids or times raise
        InvalidShipment before anything is read. See inventory.holds.settlement."""
        now = self.ledger.clock()
        settlement.check(shipment_id, shipped_at, now)
        changes = Changes()

        def work(conn: Connection) -> Settlement:
            changes.positions.clear()
            return settlement.settle(
                conn, reservation_id, shipment_id, shipped_at, to_micros(now), changes
            )

        settled = self.ledger.transaction(work)
        self.ledger.project(changes.positions)
        return settled

    def _close(
        self, reservation_id: str, to: HoldStatus, order_id: str | None = None
    ) -> HoldStatus:
        changes = Changes()
        now_us = to_micros(self.ledger.clock())

        def work(conn: Connection) -> HoldStatus:
            changes.positions.clear()
            return lifecycle.close(conn, reservation_id, to, now_us, changes, order_id)

        status = self.ledger.transaction(work)
        self.ledger.project(changes.positions)
        return status

    # -- inside a caller's transaction (an order commits with its allocations) -----------------
    def hold_in(
        self,
        conn: Connection,
        requests: list[HoldRequest],
        changes: Changes,
        given_back: Mapping[tuple[str, str, str], int] | None = None,
    ) -> list[HoldOutcome]:
        """Decide holds inside the caller's transaction, on locked rows: each is held or
        refused; the caller commits them with what it records, or rolls them all back.
        `given_back`: units (location, sku, channel) the transaction released before. Call
        `number_channel` for their channels before the transaction begins."""
        driver = conn.connection.driver_connection
        return self._decider.decide_within(driver, requests, changes, given_back or {})

    def number_channel(self, channel: str) -> None:
        """Give `channel` its number (once, in a transaction of its own): holds count their
        units by channel."""
        self.ledger.projection.channels.number_of(channel)

    def consume_in(
        self, conn: Connection, reservation_id: str, order_id: str, changes: Changes
    ) -> HoldStatus:
        """`consume`, inside the caller's transaction: the caller commits it with what it records."""
        now_us = to_micros(self.ledger.clock())
        return lifecycle.close(conn, reservation_id, HoldStatus.consumed, now_us, changes, order_id)

    def release_in(
        self,
        conn: Connection,
        reservation_id: str,
        changes: Changes,
        for_order: str | None = None,
    ) -> HoldStatus:
        """`release`, inside the caller's transaction; `for_order` names the order whose own
        allocation takes the units over in that transaction (a cart that became an order)."""
        now_us = to_micros(self.ledger.clock())
        return lifecycle.close(
            conn, reservation_id, HoldStatus.released, now_us, changes, for_order
        )

    def give_back_in(self, conn: Connection, reservation_id: str, changes: Changes) -> None:
        """An order gives back the units of a hold it consumed and that will never ship (its
        shipment was rejected or cancelled): they leave reserved, the hold ends `released`.
        Inside the caller's transaction; a hold that is not consumed is left as it is."""
        lifecycle.unconsume(conn, reservation_id, to_micros(self.ledger.clock()), changes)

    def settle_in(
        self,
        conn: Connection,
        reservation_id: str,
        shipment_id: str,
        shipped_at: datetime,
        changes: Changes,
    ) -> Settlement:
        """`settle`, inside the caller's transaction."""
        now = self.ledger.clock()
        settlement.check(shipment_id, shipped_at, now)
        return settlement.settle(
            conn, reservation_id, shipment_id, shipped_at, to_micros(now), changes
        )

    # -- short holds --------------------------------------------------------------------------
    def short(self, positions: Iterable[tuple[str, str]] | None = None) -> list[ShortHold]:
        """Every hold, held or consumed, that stock no longer backs (or those at `positions`,
        (location, sku) pairs), by reservation id, each with its positions and missing units.
        The newest holds at a short position are the short ones (inventory.holds.shortfall).
        A query on demand: every position when none are named."""
        keys = None if positions is None else list(positions)
        with self.ledger.engine.connect() as conn:
            return shortfall_sql.short_holds(conn, keys)

    def short_positions(
        self, positions: Iterable[tuple[str, str]] | None = None
    ) -> list[ShortPosition]:
        """The positions with less stock than is reserved there (or those among `positions`),
        each with the holds it leaves short."""
        keys = None if positions is None else list(positions)
        with self.ledger.engine.connect() as conn:
            return shortfall_sql.short_positions(conn, keys)

    def expire_due(self) -> int:
        """Release every hold past its expiry; returns how many expired (inventory.holds.expiry)."""
        return expiry.expire_all(
            self.ledger.transaction,
            self.ledger.project,
            lambda: to_micros(self.ledger.clock()),
        )

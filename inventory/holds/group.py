"""Deciding one group of holds: pre-check on the projection, decide the rest in one SQL
transaction, and keep what committed for the projection.

The pre-check reads Redis, or, for a SKU read within the last few milliseconds, the writer's
recent view of it (inventory.holds.recent_view): a hold the projection already knows cannot
succeed never reaches SQL. SQL decides the rest (inventory.holds.decide), as the projection
proposes when SQL agrees. The hold's terms are availability's: its method, store and channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from inventory.availability.reader import AvailabilityReader
from inventory.availability.sources import Query
from inventory.domain.projected import Projected, newest
from inventory.domain.time import to_micros
from inventory.holds.decide import decide, recorded
from inventory.holds.dialects import dialect_of
from inventory.holds.outcome import Changes, HoldOutcome, HoldStatus, Key
from inventory.holds.plan import Plan, Terms, plan_hold
from inventory.holds.recent_view import RecentView
from inventory.holds.request import HoldRequest
from inventory.ledger import Ledger
from inventory.sql.transaction import Connections, driver_transaction

Changed = dict[Key, Projected]


@dataclass(slots=True)
class WriterState:
    """What the writer thread keeps between groups: its recent view of the projection and its
    own SQL connection."""

    view: RecentView
    connections: Connections


def merge(into: Changed, more: Changed) -> None:
    """Positions from several transactions of one group: the later version of each wins
    (inventory.domain.projected.newest)."""
    for key, value in more.items():
        into[key] = newest(into.get(key), value)


class GroupDecider:
    """Decides groups of holds for one ledger; the writer thread and direct callers share it."""

    def __init__(self, ledger: Ledger, reader: AvailabilityReader, cart_ttl_s: int) -> None:
        self.ledger = ledger
        self.reader = reader
        self.cart_ttl_s = cart_ttl_s
        self._dialect = dialect_of(ledger.engine)

    def decide(
        self, requests: list[HoldRequest], committed: Changed, writer: WriterState | None = None
    ) -> list[HoldOutcome]:
        """Pre-check the group on the projection (or the writer's recent view of it), then decide
        the rest in one SQL transaction. Nobody is refused on the recent view: those holds are
        decided again on a fresh read.

        Every committed position goes into `committed` as soon as its transaction commits, for
        the projection: a fault later on must not leave the projection behind SQL.
        """
        view = writer.view if writer is not None else None
        connections = writer.connections if writer is not None else self.ledger.engine
        for channel in {request.channel for request in requests}:  # numbered before its first
            self.ledger.projection.channels.number_of(channel)  # hold (see ChannelBook)
        plans, shortfalls, proposed, remembered = self._plan(requests, view)
        if remembered and shortfalls:
            assert view is not None
            view.forget([line.sku for request in requests for line in request.lines])
            plans, shortfalls, proposed, remembered = self._plan(requests, view)
        outcomes: dict[str, HoldOutcome] = {}
        if shortfalls:  # a refused retry of a granted hold gets its grant
            outcomes.update(self._refuse(requests, shortfalls, committed, connections))
        viable = [(request, plans[request.id]) for request in requests if request.id in plans]
        if viable:
            outcomes.update(self._decide_in_sql(viable, proposed, committed, connections))
        if view is not None:
            view.lay_over(committed)
            refused = [r for r in requests if outcomes[r.id].status is HoldStatus.refused]
            if remembered and refused:
                view.forget([line.sku for request in refused for line in request.lines])
                again = self.decide(refused, committed, writer)
                outcomes.update((outcome.id, outcome) for outcome in again)
        return [outcomes[request.id] for request in requests]

    def decide_within(
        self,
        conn: Any,
        requests: list[HoldRequest],
        changes: Changes,
        given_back: Mapping[tuple[str, str, str], int],
    ) -> list[HoldOutcome]:
        """Decide holds inside the caller's open transaction on `conn` (its bare driver
        connection), on locked rows, never as proposed: an order commits its allocations with
        itself, all or nothing. `given_back`: units (location, sku, channel) the same
        transaction released first, which the projection still shows as reserved. Their
        channels are numbered already (Reservations.hold_in): numbering writes, and SQLite's
        one writer is the caller's transaction."""
        plans, shortfalls, _, _ = self._plan(requests, None, given_back)
        outcomes = {
            request.id: HoldOutcome(request.id, HoldStatus.refused, (), shortfalls[request.id])
            for request in requests
            if request.id in shortfalls
        }
        viable = [(request, plans[request.id]) for request in requests if request.id in plans]
        if viable:
            now_us = to_micros(self.ledger.clock())
            decided = decide(
                conn, self._dialect, viable, now_us, changes, None, self.cart_ttl_s, begun=True
            )
            outcomes.update((outcome.id, outcome) for outcome in decided)
        return [outcomes[request.id] for request in requests]

    def _refuse(
        self,
        requests: list[HoldRequest],
        shortfalls: dict[str, str],
        committed: Changed,
        connections: Any,
    ) -> dict[str, HoldOutcome]:
        """Holds the projection refuses: refused, unless recorded already (then the first result)."""
        short = [request for request in requests if request.id in shortfalls]
        replayed = Changes()

        def replays(conn: Any) -> list[HoldOutcome | None]:
            replayed.positions.clear()
            return self._replays(conn, short, replayed)

        found = driver_transaction(connections, replays)
        merge(committed, replayed.positions)
        return {
            request.id: replay
            or HoldOutcome(request.id, HoldStatus.refused, (), shortfalls[request.id])
            for request, replay in zip(short, found, strict=True)
        }

    def _decide_in_sql(
        self,
        viable: list[tuple[HoldRequest, Plan]],
        proposed: Changed,
        committed: Changed,
        connections: Any,
    ) -> dict[str, HoldOutcome]:
        """Decide the holds the projection let through in one transaction."""
        changes = Changes()
        now_us = to_micros(self.ledger.clock())

        def work(conn: Any) -> list[HoldOutcome]:
            changes.positions.clear()
            return decide(conn, self._dialect, viable, now_us, changes, proposed, self.cart_ttl_s)

        decided = driver_transaction(connections, work)
        merge(committed, changes.positions)
        return {outcome.id: outcome for outcome in decided}

    def _replays(
        self, conn: Any, requests: list[HoldRequest], changes: Changes
    ) -> list[HoldOutcome | None]:
        """The first result of each request already recorded (None for the others): one query
        finds which are, so a sold-out SKU's refusals cost one round trip, not one each."""
        known, _ = self._dialect.lookup(conn, [request.id for request in requests], [])
        return [
            recorded(conn, self._dialect, request, changes) if request.id in known else None
            for request in requests
        ]

    def _plan(
        self,
        requests: list[HoldRequest],
        view: RecentView | None = None,
        given_back: Mapping[tuple[str, str, str], int] | None = None,
    ) -> tuple[dict[str, Plan], dict[str, str], Changed, bool]:
        """Each hold's plan from the projection (one read for the group, or none when `view`
        remembers every SKU of it), on the terms availability shows its method, store and
        channel, or why the projection already says no; the positions it shows, for SQL to
        confirm; and whether the view answered."""
        wanted: dict[str, list[str] | None] = {}
        for line in (line for request in requests for line in request.lines):
            known = wanted.get(line.sku, [])  # a pinned line needs its own location only
            wanted[line.sku] = (
                None if line.location is None or known is None else [*known, line.location]
            )
        remembered = view.get(wanted) if view is not None else None
        if remembered is not None and remembered[0] != self.reader.known_version:
            remembered = None  # the network changed since: read again, under its new version
        if remembered is not None:
            version, projected = remembered
        else:
            version, projected = self.ledger.projection.read_with_version(wanted)
            if view is not None:
                view.remember(wanted, version, projected)
        if given_back:
            projected = _as_given_back(projected, given_back)
        network = self.reader.view_for(version)
        now_s = int(self.reader.clock().timestamp())
        plans: dict[str, Plan] = {}
        shortfalls: dict[str, str] = {}
        terms_of: dict[tuple[str, str | None, str], Terms] = {}
        for request in requests:
            kind = (request.method, request.store, request.channel)
            terms = terms_of.get(kind)
            if terms is None:
                query = Query(method=request.method, store=request.store, channel=request.channel)
                terms = terms_of[kind] = Terms(
                    self.reader.sources(network, query), network.policy, now_s
                )
            plan = plan_hold(request, projected, terms)
            if isinstance(plan, str):
                shortfalls[request.id] = plan
            else:
                plans[request.id] = plan
        proposed = {
            (loc, sku): value for sku, here in projected.items() for loc, value in here.items()
        }
        return plans, shortfalls, proposed, remembered is not None


def _as_given_back(
    projected: Mapping[str, Mapping[str, Projected]], given_back: Mapping[tuple[str, str, str], int]
) -> dict[str, dict[str, Projected]]:
    """The positions as they stand once `given_back` units (location, sku, channel) are no
    longer reserved."""
    adjusted = {sku: dict(here) for sku, here in projected.items()}
    for (location, sku, channel), units in given_back.items():
        value = adjusted.get(sku, {}).get(location)
        if value is None:
            continue
        by_channel = dict(value.by_channel)
        if channel in by_channel:
            by_channel[channel] = max(0, by_channel[channel] - units)
        adjusted[sku][location] = replace(
            value, reserved=max(0, value.reserved - units), by_channel=by_channel
        )
    return adjusted

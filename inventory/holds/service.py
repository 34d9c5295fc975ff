"""Holding stock: plan from the projection, decide in SQL, commit concurrent holds together.

Throughput on a hot SKU comes from group commit: callers hand their hold to one writer thread,
which takes every hold queued meanwhile (waiting a moment for the callers it just answered),
pre-checks them on the projection (a hold the projection already knows cannot succeed never
reaches SQL), and decides the rest in a single transaction on its own driver connection
(inventory.holds.decide.decide), as the projection proposes when SQL agrees. It then projects the
group and answers its callers. The pre-check reads Redis, or, for a SKU read within the last few
milliseconds, the writer's recent view of it (inventory.holds.recent_view). Holds reach the writer
through its inbox (inventory.holds.inbox).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from inventory.availability.reader import AvailabilityReader
from inventory.availability.sources import Query
from inventory.domain.projected import Projected
from inventory.domain.time import to_micros
from inventory.holds import expiry, lifecycle
from inventory.holds.decide import decide, recorded
from inventory.holds.dialects import dialect_of
from inventory.holds.inbox import Inbox, Pending
from inventory.holds.outcome import Changes, HoldOutcome, HoldStatus, Key, ReservationConflict
from inventory.holds.plan import Plan, Terms, plan_hold
from inventory.holds.recent_view import DEFAULT_TTL_S as VIEW_TTL_S
from inventory.holds.recent_view import RecentView
from inventory.holds.request import HoldRequest
from inventory.ledger import Ledger
from inventory.sql.transaction import Connections, driver_transaction

RECENT_GROUPS = 4  # a load that drops stops lingering after this many smaller groups
CLOSE_TIMEOUT_S = 5.0
Changed = dict[Key, Projected]


@dataclass(slots=True)
class _Writer:
    """What the writer thread keeps between groups: its recent view of the projection and its
    own SQL connection."""

    view: RecentView
    connections: Connections


def _merge(into: Changed, more: Changed) -> None:
    """Positions from several transactions of one group: the later version of each wins."""
    for key, value in more.items():
        held = into.get(key)
        if held is None or held.version < value.version:
            into[key] = value


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
        self.view_ttl_s = view_ttl_s
        self.cart_ttl_s = cart_ttl_s
        self._inbox = Inbox()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._dialect = dialect_of(ledger.engine)

    # -- holding ------------------------------------------------------------------------------
    def hold(self, request: HoldRequest) -> HoldOutcome:
        request = expiry.with_default_ttl(request, self.cart_ttl_s)
        if not self.group_commit:
            committed: Changed = {}
            try:
                [outcome] = self._decide([request], committed)
            finally:
                self.ledger.projection.put(committed)
            return outcome
        pending = Pending(request)
        with self._lock:  # never into the queue of a writer that close() has told to stop
            self._ensure_writer()
            self._inbox.put(pending)
        return pending.answer()

    def _decide(
        self, requests: list[HoldRequest], committed: Changed, writer: _Writer | None = None
    ) -> list[HoldOutcome]:
        """Pre-check the group on the projection (or the writer's recent view of it), then decide
        the rest in one SQL transaction. Nobody is refused on the recent view: those holds are
        decided again on a fresh read.

        Every committed position goes into `committed` as soon as its transaction commits, for
        the projection: a fault later on must not leave the projection behind SQL.
        """
        view = writer.view if writer is not None else None
        connections = writer.connections if writer is not None else self.ledger.engine
        plans, shortfalls, proposed, remembered = self._plan(requests, view)
        if remembered and shortfalls:
            assert view is not None
            view.forget([line.sku for request in requests for line in request.lines])
            plans, shortfalls, proposed, remembered = self._plan(requests, view)
        outcomes: dict[str, HoldOutcome] = {}
        if shortfalls:  # a refused retry of a granted hold gets its grant
            short = [request for request in requests if request.id in shortfalls]
            replayed = Changes()

            def replays(conn: Any) -> list[HoldOutcome | None]:
                replayed.positions.clear()
                return self._replays(conn, short, replayed)

            found = driver_transaction(connections, replays)
            _merge(committed, replayed.positions)
            for request, replay in zip(short, found, strict=True):
                outcomes[request.id] = replay or HoldOutcome(
                    request.id, HoldStatus.refused, (), shortfalls[request.id]
                )
        viable = [(request, plans[request.id]) for request in requests if request.id in plans]
        if viable:
            changes = Changes()
            now_us = to_micros(self.ledger.clock())

            def work(conn: Any) -> list[HoldOutcome]:
                changes.positions.clear()
                return decide(conn, self._dialect, viable, now_us, changes, proposed)

            decided = driver_transaction(connections, work)
            _merge(committed, changes.positions)
            outcomes.update((outcome.id, outcome) for outcome in decided)
        if view is not None:
            view.lay_over(committed)
            refused = [r for r in requests if outcomes[r.id].status is HoldStatus.refused]
            if remembered and refused:
                view.forget([line.sku for request in refused for line in request.lines])
                again = self._decide(refused, committed, writer)
                outcomes.update((outcome.id, outcome) for outcome in again)
        return [outcomes[request.id] for request in requests]

    def _replays(
        self, conn: Any, requests: list[HoldRequest], changes: Changes
    ) -> list[HoldOutcome | None]:
        """The first result of each request already recorded (None for the others): one query
        finds which are, so a sold-out SKU's refusals cost one round trip, not one each."""
        known, _ = self._dialect.lookup(conn, [request.id for request in requests], [])
        return [
            recorded(conn, self._dialect, request, changes)
            if request.id in known
            else None
            for request in requests
        ]

    def _plan(
        self, requests: list[HoldRequest], view: RecentView | None = None
    ) -> tuple[dict[str, Plan], dict[str, str], dict[Key, int], bool]:
        """Each hold's plan from the projection (one read for the group, or none when `view`
        remembers every SKU of it), on the terms availability shows its method, store and
        channel, or why the projection already says no; the free units it shows, for SQL to
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
            (loc, sku): value.available
            for sku, here in projected.items()
            for loc, value in here.items()
        }
        return plans, shortfalls, proposed, remembered is not None

    def _ensure_writer(self) -> None:
        """One writer thread, with its own queue, decides, commits and projects each group, then
        answers its callers (after the commit, so an answer is durable; after the projection, so
        a caller reads its own hold). Called under self._lock."""
        if self._writer is None or not self._writer.is_alive():
            self._inbox = Inbox()
            self._writer = threading.Thread(
                target=self._write_groups, args=(self._inbox,), name="hold-writer", daemon=True
            )
            self._writer.start()

    def _write_groups(self, inbox: Inbox) -> None:
        writer = _Writer(
            RecentView(self.view_ttl_s), Connections(self.ledger.engine, keep=True)
        )
        sizes: collections.deque[int] = collections.deque([1], maxlen=RECENT_GROUPS)
        try:
            while (group := inbox.take(max(sizes))) is not None:
                sizes.append(len(group))
                self._decide_group(group, writer)
        finally:
            writer.connections.close()

    def _decide_group(self, group: list[Pending], writer: _Writer) -> None:
        """Decide, project, answer. Whatever fails, what was committed is projected (so a retry,
        answered as a replay, reads what the first attempt held) and every caller hears."""
        committed: Changed = {}
        answers: list[tuple[Pending, HoldOutcome | None, BaseException | None]] = []
        try:
            try:
                outcomes = self._decide([item.request for item in group], committed, writer)
                answers = [
                    (item, outcome, None) for item, outcome in zip(group, outcomes, strict=True)
                ]
            except ReservationConflict:  # one bad request: decide each alone, so only it fails
                for item in group:
                    try:
                        [alone] = self._decide([item.request], committed, writer)
                    except Exception as error:
                        answers.append((item, None, error))
                    else:
                        answers.append((item, alone, None))
        except Exception as error:  # the whole group failed: every caller hears why
            answers = [(item, None, error) for item in group]
        try:
            self.ledger.projection.put(committed)
        except Exception as error:  # committed, but not yet readable: a retry replays
            answers = [(item, None, error) for item, _, _ in answers]
        for item, outcome, error in answers:
            item.settle(outcome, error)

    def close(self) -> None:
        """Stop the writer once it has decided every hold queued before; a later hold starts a
        new one."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._inbox.close()
        if writer is not None:
            writer.join(timeout=CLOSE_TIMEOUT_S)

    # -- closing ------------------------------------------------------------------------------
    def release(self, reservation_id: str) -> HoldStatus:
        return self._close(reservation_id, HoldStatus.released)

    def consume(self, reservation_id: str, order_id: str) -> HoldStatus:
        """The order takes over the held units: they stay reserved until shipped."""
        return self._close(reservation_id, HoldStatus.consumed, order_id)

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

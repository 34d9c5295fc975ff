"""Holding stock: plan from the projection, decide in SQL, commit concurrent holds together.

Throughput on a hot SKU comes from group commit: callers hand their hold to one writer thread,
which takes every hold queued meanwhile, pre-checks them on the projection in one Redis read (a
hold the projection already knows cannot succeed never reaches SQL), and decides the rest in a
single transaction on the driver's own connection (inventory.hold_sql.decide), as the
projection proposes when SQL agrees. A second thread projects each committed group, then answers
its callers, so one group's Redis write overlaps the next group's SQL.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from sqlalchemy import Connection

from inventory import hold_sql
from inventory import reservations as sql
from inventory.holds import HoldRequest, candidates
from inventory.ledger import Ledger
from inventory.projection import Projected
from inventory.reads import AvailabilityReader
from inventory.rules import to_micros

MAX_GROUP_HOLDS = 256  # holds decided in one transaction
EXPIRY_BATCH = 1000  # holds expired in one transaction


class _Pending:
    """A caller waiting for its hold: the writer settles it once, the caller takes the answer."""

    __slots__ = ("_settled", "error", "outcome", "request")

    def __init__(self, request: HoldRequest) -> None:
        self.request = request
        self.outcome: sql.HoldOutcome | None = None
        self.error: BaseException | None = None
        self._settled = threading.Lock()  # a bare lock wakes one waiter for less than a Future
        self._settled.acquire()

    def settle(self, outcome: sql.HoldOutcome | None, error: BaseException | None = None) -> None:
        self.outcome, self.error = outcome, error
        self._settled.release()

    def answer(self) -> sql.HoldOutcome:
        self._settled.acquire()
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


Changed = dict[sql.Key, Projected]


class Reservations:
    def __init__(
        self, ledger: Ledger, reader: AvailabilityReader, group_commit: bool = True
    ) -> None:
        self.ledger = ledger
        self.reader = reader
        self.group_commit = group_commit
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._acks: queue.Queue[tuple[list[_Pending], list, Changed] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._dialect = hold_sql.dialect_of(ledger.engine)

    # -- holding ------------------------------------------------------------------------------
    def hold(self, request: HoldRequest) -> sql.HoldOutcome:
        if not self.group_commit:
            [outcome], changed = self._decide([request])
            self.ledger.projection.put(changed)
            return outcome
        pending = _Pending(request)
        self._ensure_writer()
        self._queue.put(pending)
        return pending.answer()

    def _decide(self, requests: list[HoldRequest]) -> tuple[list[sql.HoldOutcome], Changed]:
        """Pre-check the group on the projection, then decide the rest in one SQL transaction.
        Returns the outcomes and the positions it changed, for the projection."""
        plans, shortfalls, proposed = self._plan(requests)
        outcomes: dict[str, sql.HoldOutcome] = {}
        if shortfalls:  # a refused retry of a granted hold gets its grant
            short = [request for request in requests if request.id in shortfalls]
            replays = hold_sql.transaction(
                self.ledger.engine,
                lambda conn: [hold_sql.recorded(conn, self._dialect, r) for r in short],
            )
            for request, replay in zip(short, replays, strict=True):
                outcomes[request.id] = replay or sql.HoldOutcome(
                    request.id, "refused", (), shortfalls[request.id]
                )
        changes = sql.Changes()
        viable = [(request, plans[request.id]) for request in requests if request.id in plans]
        if viable:
            now_us = to_micros(self.ledger.clock())

            def work(conn: Any) -> list[sql.HoldOutcome]:
                changes.positions.clear()
                return hold_sql.decide(conn, self._dialect, viable, now_us, changes, proposed)

            decided = hold_sql.transaction(self.ledger.engine, work)
            outcomes.update((outcome.id, outcome) for outcome in decided)
        return [outcomes[request.id] for request in requests], changes.positions

    def _plan(
        self, requests: list[HoldRequest]
    ) -> tuple[dict[str, list[list[str]]], dict[str, str], dict[sql.Key, int]]:
        """Candidate locations per line from the projection (one read for the group), or why the
        projection already says no; and the free units it shows, for SQL to confirm."""
        wanted: dict[str, list[str] | None] = {}
        for line in (line for request in requests for line in request.lines):
            known = wanted.get(line.sku, [])  # a pinned line needs its own location only
            wanted[line.sku] = (
                None if line.location is None or known is None else [*known, line.location]
            )
        version, projected = self.ledger.projection.read_with_version(wanted)
        view = self.reader.view_for(version)
        plans: dict[str, list[list[str]]] = {}
        shortfalls: dict[str, str] = {}
        for request in requests:
            plan = []
            for index, line in enumerate(request.lines):
                here = projected[line.sku]
                options = candidates(request, line, here, view.locations, view.policy)
                if sum(here[loc].available for loc in options if loc in here) < line.quantity:
                    shortfalls[request.id] = (
                        f"line {index}: {line.quantity} x {line.sku} not available"
                    )
                    break
                plan.append(options)
            else:
                plans[request.id] = plan
        proposed = {
            (loc, sku): value.available
            for sku, here in projected.items()
            for loc, value in here.items()
        }
        return plans, shortfalls, proposed

    def _ensure_writer(self) -> None:
        """Two threads, so one group's projection write overlaps the next group's SQL: the writer
        decides and commits groups; the acknowledger projects each committed group, then answers
        its callers (after the commit, so an answer is durable; after the projection, so a caller
        reads its own hold)."""
        with self._lock:
            if not all(thread.is_alive() for thread in self._threads) or not self._threads:
                self._threads = [
                    threading.Thread(target=self._write_groups, name="hold-writer", daemon=True),
                    threading.Thread(target=self._acknowledge, name="hold-acks", daemon=True),
                ]
                for thread in self._threads:
                    thread.start()

    def _write_groups(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._acks.put(None)
                return
            group = [first]
            while len(group) < MAX_GROUP_HOLDS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                group.append(item)
            self._decide_group(group)

    def _decide_group(self, group: list[_Pending]) -> None:
        try:
            outcomes, changed = self._decide([item.request for item in group])
        except sql.ReservationConflict:  # one bad request: decide each alone, so only it fails
            for item in group:
                try:
                    alone, changed = self._decide([item.request])
                except Exception as error:
                    item.settle(None, error)
                else:
                    self._acks.put(([item], alone, changed))
            return
        except Exception as error:  # the whole group failed: every caller hears why
            for item in group:
                item.settle(None, error)
            return
        self._acks.put((group, outcomes, changed))

    def _acknowledge(self) -> None:
        while (job := self._acks.get()) is not None:
            group, outcomes, changed = job
            try:
                self.ledger.projection.put(changed)
            except (
                Exception
            ) as error:  # committed, but the caller cannot read it yet: a retry replays
                for item in group:
                    item.settle(None, error)
                continue
            for item, outcome in zip(group, outcomes, strict=True):
                item.settle(outcome)

    def close(self) -> None:
        if any(thread.is_alive() for thread in self._threads):
            self._queue.put(None)
            for thread in self._threads:
                thread.join(timeout=5)

    # -- closing ------------------------------------------------------------------------------
    def release(self, reservation_id: str) -> str:
        return self._close(reservation_id, "released")

    def consume(self, reservation_id: str, order_id: str) -> str:
        """The order takes over the held units: they stay reserved until shipped."""
        return self._close(reservation_id, "consumed", order_id)

    def _close(self, reservation_id: str, to: str, order_id: str | None = None) -> str:
        changes = sql.Changes()
        now_us = to_micros(self.ledger.clock())

        def work(conn: Connection) -> str:
            changes.positions.clear()
            return sql.close(conn, reservation_id, to, now_us, changes, order_id)

        status = self.ledger.transaction(work)
        self.ledger.projection.put(changes.positions)
        return status

    def expire_due(self) -> int:
        """Release every hold past its expiry; returns how many expired. Safe to run anywhere, any time."""
        total = 0
        while True:
            changes = sql.Changes()
            now_us = to_micros(self.ledger.clock())

            def work(
                conn: Connection, changes: sql.Changes = changes, now_us: int = now_us
            ) -> list[str]:
                changes.positions.clear()
                return sql.expire_due(conn, now_us, EXPIRY_BATCH, changes)

            expired = self.ledger.transaction(work)
            self.ledger.projection.put(changes.positions)
            total += len(expired)
            if len(expired) < EXPIRY_BATCH:
                return total

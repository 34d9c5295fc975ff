"""Holding stock: plan from the projection, decide in SQL, commit concurrent holds together.

Throughput on a hot SKU comes from group commit: callers hand their hold to one writer thread,
which takes every hold queued meanwhile, pre-checks them on the projection in one Redis read (a
hold the projection already knows cannot succeed never reaches SQL), and decides the rest in a
single transaction on the driver's own connection (inventory.hold_sql.decide).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from inventory import hold_sql
from inventory import reservations as sql
from inventory.holds import HoldRequest, candidates
from inventory.ledger import Ledger
from inventory.reads import AvailabilityReader
from inventory.rules import to_micros

MAX_GROUP_HOLDS = 256  # holds decided in one transaction
EXPIRY_BATCH = 1000  # holds expired in one transaction


@dataclass(slots=True)
class _Pending:
    request: HoldRequest
    done: Future


class Reservations:
    def __init__(
        self, ledger: Ledger, reader: AvailabilityReader, group_commit: bool = True
    ) -> None:
        self.ledger = ledger
        self.reader = reader
        self.group_commit = group_commit
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._dialect = hold_sql.dialect_of(ledger.engine)

    # -- holding ------------------------------------------------------------------------------
    def hold(self, request: HoldRequest) -> sql.HoldOutcome:
        if not self.group_commit:
            return self._decide([request])[0]
        pending = _Pending(request, Future())
        self._ensure_writer()
        self._queue.put(pending)
        return pending.done.result()

    def _decide(self, requests: list[HoldRequest]) -> list[sql.HoldOutcome]:
        """Pre-check the group on the projection, then decide the rest in one SQL transaction."""
        plans, shortfalls, proposed = self._plan(requests)
        outcomes: dict[str, sql.HoldOutcome] = {}
        if shortfalls:
            with (
                self.ledger.engine.connect() as conn
            ):  # a refused retry of a granted hold gets its grant
                for request in requests:
                    if request.id in shortfalls:
                        replay = sql.recorded(conn, request)
                        outcomes[request.id] = replay or sql.HoldOutcome(
                            request.id, "refused", (), shortfalls[request.id]
                        )
        viable = [(request, plans[request.id]) for request in requests if request.id in plans]
        if viable:
            changes = sql.Changes()
            now_us = to_micros(self.ledger.clock())

            def work(conn: Any) -> list[sql.HoldOutcome]:
                changes.positions.clear()
                return hold_sql.decide(conn, self._dialect, viable, now_us, changes, proposed)

            decided = hold_sql.transaction(self.ledger.engine, work)
            outcomes.update((outcome.id, outcome) for outcome in decided)
            self.ledger.projection.put(changes.positions)
        return [outcomes[request.id] for request in requests]

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
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_groups, name="hold-writer", daemon=True
                )
                self._writer.start()

    def _write_groups(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
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
            outcomes = self._decide([item.request for item in group])
        except sql.ReservationConflict:  # one bad request: decide each alone, so only it fails
            for item in group:
                self._settle(item, lambda item=item: self._decide([item.request])[0])
            return
        except Exception as error:  # the whole group failed: every caller hears why
            for item in group:
                item.done.set_exception(error)
            return
        for item, outcome in zip(group, outcomes, strict=True):
            item.done.set_result(outcome)

    @staticmethod
    def _settle(item: _Pending, decide: Callable[[], sql.HoldOutcome]) -> None:
        try:
            item.done.set_result(decide())
        except Exception as error:
            item.done.set_exception(error)

    def close(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=5)

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

"""The ledger's write side: every change is decided and committed in SQL, then projected to Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import redis
from sqlalchemy import Connection, Engine, func, select

from inventory.availability import network
from inventory.availability.policy import AvailabilityPolicy
from inventory.domain.model import Location, Position, StockEvent
from inventory.domain.projected import NO_CHANNELS, Projected
from inventory.domain.time import from_micros, to_micros, utcnow
from inventory.projection.projector import Projector
from inventory.projection.store import Projection
from inventory.sql import channels as channel_rows
from inventory.sql import locations as location_rows
from inventory.sql.current import current
from inventory.sql.engine import reading
from inventory.sql.schema import PolicyRow, PositionRow
from inventory.sql.transaction import transaction, with_retries
from inventory.stock import safety_sql
from inventory.stock.count_rule import Outcome
from inventory.stock.feed import parse_batch
from inventory.stock.ingest import (
    BatchResult,
    PositionsMoved,
    ingest_events,
    rejections_as_verdicts,
)
from inventory.stock.safety import SafetyRule

log = logging.getLogger(__name__)
POS = PositionRow.__table__
POLICY = PolicyRow.__table__
T = TypeVar("T")


class Ledger:
    def __init__(
        self, engine: Engine, projection: Projection, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.projection = projection
        self.clock = clock
        self._projector: Projector | None = None
        self._stock_watchers: list[Callable[[Mapping[tuple[str, str], Projected]], None]] = []
        projection.bind_slots(self.slots)
        projection.bind_channels(self.channel_numbers)

    def projector(self) -> Projector:
        """The background projection writer, started on first use."""
        if self._projector is None:
            self._projector = Projector(self.projection)
        return self._projector

    def caught_up(self, timeout_s: float = 30.0) -> bool:
        """Whether all this process committed is in the projection: no write to it failed, and
        the background writer's queue drained."""
        drained = self._projector is None or self._projector.flush(timeout_s)
        return drained and not self.projection.behind

    def watch_stock(self, watcher: Callable[[Mapping[tuple[str, str], Projected]], None]) -> None:
        """Tell `watcher` the positions every committed batch of stock events changed (the
        order lifecycle re-routes parked and short orders by them). Called on the ingesting
        thread after commit: a watcher only takes note and returns."""
        self._stock_watchers.append(watcher)

    def notify_stock(self, changed: Mapping[tuple[str, str], Projected]) -> None:
        """Tell the stock watchers of committed changes (engine-written events call it too)."""
        if changed:
            for watcher in self._stock_watchers:
                watcher(changed)

    def project(self, changed: Mapping[tuple[str, str], Projected]) -> bool:
        """Show committed changes in the projection now. If Redis refuses them, they are queued
        for the background projector, which retries until it succeeds: the write is durable in
        SQL, so the caller is not failed for it. Returns whether they show already."""
        if not changed:
            return True
        try:
            self.projection.put(changed)
            return True
        except redis.RedisError as error:
            log.warning("projection write failed (%s); queued for retry", error)
            self.projector().submit(changed, time.perf_counter())
            return False

    def close(self, timeout_s: float = 30.0) -> None:
        """Close, after waiting up to `timeout_s` for the projector to write what it holds."""
        if self._projector is not None:
            self._projector.close(timeout_s)
        self.engine.dispose()

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction, retried when a concurrent writer makes it fail cleanly."""
        return transaction(self.engine, work)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` on a connection that only reads (inventory.sql.engine.reading), again on a
        fresh one when a connection dropped under it (a pooled connection a network cut broke)."""

        def attempt() -> T:
            with reading(self.engine) as conn:
                return work(conn)

        return with_retries(attempt)

    # -- locations and policy -------------------------------------------------------------
    def upsert_locations(self, locations: Iterable[Location]) -> int:
        written = self.transaction(lambda conn: location_rows.upsert(conn, locations))
        self.publish_network()
        return written

    def locations(self) -> list[Location]:
        with self.engine.connect() as conn:
            return location_rows.load(conn)

    def slots(self) -> dict[str, int]:
        """Every location's projection slot, read outside any transaction: a projection read or
        write may ask while a transaction of this process holds SQLite's write lock."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(location_rows.SLOTS_SQL)
            return dict(cursor.fetchall())
        finally:
            raw.close()

    def channel_numbers(self, names: Iterable[str] = ()) -> dict[str, int]:
        """Every sales channel's number, after numbering those of `names` that have none (in a
        transaction of its own). Read outside any transaction first, as `slots` is: numbering
        is rare (a channel's first hold, a policy fencing for a new channel)."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(channel_rows.NUMBERS_SQL)
            numbers = dict(cursor.fetchall())
        finally:
            raw.close()
        missing = set(names) - numbers.keys()
        if missing:
            return self.transaction(lambda conn: channel_rows.number(conn, missing))
        return numbers

    def policy(self) -> AvailabilityPolicy:
        return self.versioned_policy()[1]

    def versioned_policy(self) -> tuple[int | None, AvailabilityPolicy]:
        """The policy in force and its version (None: none was set, the defaults apply)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(POLICY.c.version, POLICY.c.body).order_by(POLICY.c.version.desc()).limit(1)
            ).first()
        if row is None:
            return None, AvailabilityPolicy()
        return row.version, AvailabilityPolicy.model_validate_json(row.body)

    def set_policy(self, policy: AvailabilityPolicy) -> int:
        """Record a new version of the policy; the previous ones stay for audit and replay."""
        row = {"body": policy.model_dump_json(), "created_us": to_micros(self.clock())}
        version = self.transaction(
            lambda conn: conn.execute(POLICY.insert().returning(POLICY.c.version), row).scalar_one()
        )
        self.publish_network()
        return version

    def publish_network(self) -> str:
        """Publish the network, with the numbers of the channels the policy fences for (readers
        of availability find those channels' pool entries by them)."""
        policy = self.policy()
        fenced = {fence.channel for fence in policy.fences}
        numbers = self.channel_numbers(fenced)
        channels = {name: n for name, n in numbers.items() if name in fenced}
        blob, version = network.encode(self.locations(), policy, self.slots(), channels)
        self.projection.put_network(blob.decode(), version)
        return version

    def safety_rules(self) -> list[SafetyRule]:
        with self.engine.connect() as conn:
            return safety_sql.load_rules(conn)

    def set_safety_rules(self, rules: Iterable[SafetyRule]) -> int:
        """Replace the safety rules; every position's buffer follows at once. Returns positions changed."""
        changed = self.transaction(lambda conn: safety_sql.replace_rules(conn, rules))
        self.project(changed)
        return len(changed)

    # -- stock events ---------------------------------------------------------------------
    def ingest(
        self, raw: Iterable[Mapping[str, Any] | StockEvent], wait: bool = True
    ) -> BatchResult:
        """Validate, decide and commit a batch, then project it. Raises BatchTooLarge untouched.

        With `wait=False` the call returns once SQL has committed and the projection follows in the
        background (see inventory.projection.projector): the streaming path, where throughput matters.
        """
        now = self.clock()
        valid, rejected = parse_batch(raw, now)
        result = BatchResult()
        if valid:
            try:
                result = self.transaction(lambda conn: ingest_events(conn, valid, to_micros(now)))
            except PositionsMoved:  # another writer came between: again, with the rows locked
                result = self.transaction(
                    lambda conn: ingest_events(conn, valid, to_micros(now), locked=True)
                )
        result.committed_s = time.perf_counter()
        self._again(valid, result)
        if rejected:
            result.verdicts = sorted(
                result.verdicts + rejections_as_verdicts(rejected), key=lambda v: v[0]
            )
        if not wait:
            self.projector().submit(result.to_project(), result.committed_s)
            self.notify_stock(result.changed)
            return result
        self.project(result.to_project())
        result.projected_s = time.perf_counter()
        self.notify_stock(result.changed)  # once the projection shows it: watchers route by it
        return result

    def write_in(self, conn: Connection, events: list[StockEvent]) -> BatchResult:
        """Engine-written stock events (a rejected shipment's count or write-off, say), decided
        by the count rule like any feed's, inside the caller's transaction on locked rows. The
        caller projects `changed` once it commits."""
        return ingest_events(conn, list(enumerate(events)), to_micros(self.clock()), locked=True)

    def _again(self, valid: list[tuple[int, StockEvent]], result: BatchResult) -> None:
        """Duplicates of recorded events project their positions again, as they stand: the first
        attempt may have committed and then failed to reach the projection."""
        again = [i for i, verdict in result.verdicts if verdict.outcome is Outcome.duplicate]
        if not again:
            return  # the usual batch: nothing to read
        events = dict(valid)
        keys = {(events[i].location, events[i].sku) for i in again if i in events}
        keys -= result.changed.keys()
        if keys:
            with self.engine.connect() as conn:
                result.replayed = current(conn, keys)

    def position(self, location: str, sku: str) -> Position | None:
        """Read from SQL: for tests, audits and reconciliation, never for the hot path."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(POS).where(POS.c.location == location, POS.c.sku == sku)
            ).first()
        return None if row is None else _position(row)

    @staticmethod
    def positions_in(conn: Connection, skus: Iterable[str]) -> list[Position]:
        """Every position of `skus`, from SQL, inside the caller's transaction or read: what a
        location carries (whatever its stock) and what it may sell."""
        wanted = sorted(set(skus))
        rows = conn.execute(select(POS).where(POS.c.sku.in_(wanted))).all() if wanted else []
        return [_position(row) for row in rows]

    @staticmethod
    def carriers_in(conn: Connection, skus: Iterable[str]) -> dict[str, frozenset[str]]:
        """The locations that carry each of `skus` (hold a position for it, whatever its stock):
        where it sells."""
        found: dict[str, set[str]] = {sku: set() for sku in skus}
        for position in Ledger.positions_in(conn, found):
            found[position.sku].add(position.location)
        return {sku: frozenset(places) for sku, places in found.items()}

    def positions_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(POS)) or 0)


def _position(row: Any) -> Position:
    return Position(
        row.location, row.sku, row.on_hand, row.reserved, row.safety,
        from_micros(row.count_us) if row.count_us is not None else None,
        from_micros(row.last_delta_us) if row.last_delta_us is not None else None,
        from_micros(row.reported_us) if row.reported_us is not None else None,
    )  # fmt: skip


def projected(row: Any, by_channel: Mapping[str, int] = NO_CHANNELS) -> Projected:
    return Projected.of(
        row.version, row.on_hand, row.reserved, row.safety, row.reported_us, by_channel
    )

"""The one place that wires I/O: SQL engine, Redis (server or embedded), the ledger and its readers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from dom import embedded_redis, jobs
from dom.events import outbox
from dom.events.deliverer import Deliverer
from dom.events.subscriptions import Webhooks
from dom.keys import KeyStore
from dom.orders.context import OrderTerms
from dom.orders.service import Orders
from dom.returns.service import Returns
from dom.rulesets import RuleSets
from dom.rulesets.experiments import Experiments
from dom.settings import Settings, get_settings
from dom.simulation.service import Simulations
from inventory import (
    Attendance,
    AvailabilityReader,
    ExpirySweeper,
    Ledger,
    Projection,
    Reservations,
    open_engine,
)

# How long a close waits for Redis to take the projection writes it refused: a stop must end
# within dom serve's graceful timeout, and SQL has the writes (the next start rebuilds).
CATCH_UP_AT_CLOSE_S = 5.0


@dataclass
class Engine:
    settings: Settings
    ledger: Ledger
    reader: AvailabilityReader
    reservations: Reservations
    redis: redis.Redis
    attendance: Attendance
    keys: KeyStore
    webhooks: Webhooks
    rule_sets: RuleSets
    orders: Orders
    returns: Returns
    simulations: Simulations
    experiments: Experiments
    sweeper: ExpirySweeper | None = None
    embedded: embedded_redis.EmbeddedServer | None = None  # the embedded default's own Redis
    deliverer: Deliverer | None = None  # a long-running process delivers webhooks

    def close(self) -> None:
        self.simulations.close()
        self.orders.close()
        if self.deliverer is not None:
            self.deliverer.stop()
        if self.sweeper is not None:
            self.sweeper.stop()
        self.reservations.close()
        clean = self.ledger.caught_up(CATCH_UP_AT_CLOSE_S)
        self.attendance.close(clean=clean)  # not clean: the next start rebuilds the projection
        self.ledger.close(timeout_s=0)  # waited for just above
        self.ledger.projection.close()
        self.redis.close()
        if self.embedded is not None:
            self.embedded.close()


def order_terms(settings: Settings) -> OrderTerms:
    return OrderTerms(
        route_attempts=settings.order_route_attempts,
        max_rejections=settings.order_max_rejections,
        exclusion_s=settings.order_exclusion_s,
        parked_max_s=settings.order_parked_max_s,
    )


def connect_redis(settings: Settings) -> redis.Redis:
    """A client of the configured Redis server (the embedded one is started by `build`)."""
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, decode_responses=True)
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)


def build(settings: Settings, long_running: bool = False) -> Engine:
    """Wire the engine. A long-running process (API, worker) also expires due holds and
    delivers webhooks by itself.
    If a part fails to start (a wrong database URL, say), the parts already started are closed."""
    with ExitStack() as undo:
        embedded = None
        if settings.embedded_redis:
            embedded = embedded_redis.start(settings.data_dir)
            undo.callback(embedded.close)
        client = embedded.client() if embedded is not None else connect_redis(settings)
        undo.callback(client.close)
        projection = Projection(client, settings.redis_prefix)
        undo.callback(projection.close)
        engine = open_engine(settings.sql_url, sqlite_synchronous=settings.sqlite_synchronous)
        undo.callback(engine.dispose)
        ledger = Ledger(engine, projection)
        # Rebuilds first if the projection may be behind SQL, then checks again at every beat.
        attendance = Attendance(ledger, settings.projection_check_interval_s)
        undo.callback(attendance.close, clean=True)  # nothing was written yet
        keys = KeyStore(engine)
        outbox.create_tables(engine)
        webhooks = Webhooks(engine)
        reader = AvailabilityReader(projection)
        reservations = Reservations(ledger, reader, cart_ttl_s=settings.reservation_ttl_s)
        rule_sets = RuleSets(engine, lambda: [location.id for location in ledger.locations()])
        orders = Orders(ledger, reservations, reader, rule_sets, order_terms(settings))
        returns = Returns(ledger, rule_sets)
        simulations = Simulations(ledger, rule_sets, lambda: jobs.queue(settings))
        experiments = Experiments(rule_sets)
        sweeper = (
            ExpirySweeper(reservations.expire_due, settings.expiry_sweep_interval_s).start()
            if long_running
            else None
        )
        if sweeper is not None:
            undo.callback(sweeper.stop)
        if long_running:
            orders.watch(settings.order_sweep_interval_s)
            undo.callback(orders.close)
        deliverer = (
            Deliverer(engine, settings.webhook_poll_interval_s, settings.webhook_timeout_s).start()
            if long_running
            else None
        )
        undo.pop_all()
        return Engine(
            settings, ledger, reader, reservations, client, attendance, keys, webhooks, rule_sets,
            orders, returns, simulations, experiments, sweeper, embedded, deliverer,
        )  # fmt: skip
    raise AssertionError("unreachable")


@contextmanager
def session(settings: Settings | None = None) -> Iterator[Engine]:
    """The engine for one command: built from the environment, closed on the way out."""
    engine = build(settings or get_settings())
    try:
        yield engine
    finally:
        engine.close()

"""The one-command tour of the engine on the embedded default: seed, stream, hold, read, rebuild."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import numpy as np
from rich.console import Console
from rich.table import Table

from dom.bootstrap import Engine
from dom.synthetic import Network, feed_events, generate_network, stock_events
from dom.views import explanation_table
from inventory import (
    MAX_BATCH_EVENTS,
    HoldLine,
    HoldRequest,
    LocationType,
    Query,
    rebuild,
    reconcile,
)

HOT_SKU_CLIENTS = 8
SCARCE_UNITS = (10, 200)  # units left on the SKU the demo's clients race for


def run(engine: Engine, console: Console, stores: int, skus: int, feed: int, seed: int) -> None:
    network = generate_network(stores, skus, seed)
    console.rule(f"Network: {stores} stores x {skus} SKUs (seed {seed})")
    engine.ledger.upsert_locations(network.locations)
    kinds = Counter(loc.type.value for loc in network.locations)
    console.print(f"{dict(kinds)}; {len(network.stock):,} positions with stock")
    now = engine.ledger.clock()
    _stream(
        console,
        engine,
        "initial counts",
        stock_events(network, as_of=now - timedelta(hours=2), batch_size=MAX_BATCH_EVENTS),
    )
    _stream(
        console,
        engine,
        "live feed",
        feed_events(network, start=now - timedelta(hours=1), n=feed, seed=seed),
    )
    top = [network.skus[i] for i in np.argsort(-network.popularity)[:8]]
    store = next(loc.id for loc in network.locations if loc.type is LocationType.store)
    _show_availability(console, engine, top, store)
    hot = _scarce(engine, network)
    _hot_sku(console, engine, network, hot)
    _explain(console, engine, hot)
    _rebuild_and_reconcile(console, engine, top, store)


def _stream(console: Console, engine: Engine, label: str, batches) -> None:
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    for batch in batches:
        totals.update(engine.ledger.ingest(batch).summary())
    seconds = time.perf_counter() - started
    events = sum(totals.values())
    console.print(
        f"{label}: {events:,} events in {seconds:.2f} s ({events / seconds:,.0f}/s): {dict(totals)}"
    )


def _show_availability(console: Console, engine: Engine, skus: list[str], store: str) -> None:
    console.rule("Availability of the most popular SKUs (read from the projection)")
    ship = engine.reader.check(skus, Query(quantity=2))
    pickup = engine.reader.check(skus, Query(method="pickup", store=store))
    table = Table("sku", "ship", "ships by", f"pickup at {store}", "on shelf", "ready by")
    for s, p in zip(ship, pickup, strict=True):
        table.add_row(
            s.sku,
            str(s.available),
            _when(s.promise),
            str(p.available),
            str(p.shelf),
            _when(p.promise),
        )
    console.print(table)


def _when(promise) -> str:
    return promise.at.strftime("%a %d %b %H:%M") if promise and promise.at else "-"


def _scarce(engine: Engine, network: Network) -> str:
    """A popular SKU down to its last few dozen units: the one checkout fights over."""
    popular = [network.skus[i] for i in np.argsort(-network.popularity)[:500]]
    answers = [
        a for a in engine.reader.check(popular) if SCARCE_UNITS[0] <= a.available <= SCARCE_UNITS[1]
    ]
    return min(answers, key=lambda a: a.available).sku if answers else popular[0]


def _hot_sku(console: Console, engine: Engine, network: Network, sku: str) -> None:
    """Clients race for a hot SKU's last units: exactly what is available is held, never more."""
    console.rule(f"{HOT_SKU_CLIENTS} clients race for {sku}")
    desk = engine.reservations
    before = engine.reader.check([sku])[0].available
    start = threading.Barrier(HOT_SKU_CLIENTS)

    def client(_: int) -> int:
        start.wait()
        held = 0
        for _ in range(min(before, SCARCE_UNITS[1]) // HOT_SKU_CLIENTS + 5):
            outcome = desk.hold(
                HoldRequest(id=uuid.uuid4().hex, lines=[HoldLine(sku=sku, quantity=1)], ttl_s=900)
            )
            held += outcome.status == "held"
        return held

    with ThreadPoolExecutor(HOT_SKU_CLIENTS) as pool:
        held = sum(pool.map(client, range(HOT_SKU_CLIENTS)))
    after = engine.reader.check([sku])[0].available
    console.print(
        f"available before: {before}; holds granted: {held}; available after: {after}; oversold: {max(0, held - before)}"
    )


def _explain(console: Console, engine: Engine, sku: str) -> None:
    answer = engine.reader.explain(sku)
    console.rule(f"Why the site says {answer.available} for {sku}")
    console.print(explanation_table(answer, limit=12))
    if len(answer.contributions) > 12:
        console.print(f"... and {len(answer.contributions) - 12} more locations")


def _rebuild_and_reconcile(console: Console, engine: Engine, skus: list[str], store: str) -> None:
    console.rule("The projection is derived: rebuild it from SQL beside the live one, compare")
    queries = [Query(), Query(method="pickup", store=store)]
    engine.reader.clock = engine.ledger.clock = (lambda fixed: lambda: fixed)(engine.ledger.clock())
    before = [engine.reader.check(skus, q) for q in queries]
    report = rebuild(engine.ledger)
    same = [engine.reader.check(skus, q) for q in queries] == before
    console.print(f"rebuilt {report.positions:,} positions; answers identical: {same}")
    drift = reconcile(engine.ledger)
    console.print(f"reconcile: {drift.checked:,} positions checked, {len(drift.drifts)} drifts")

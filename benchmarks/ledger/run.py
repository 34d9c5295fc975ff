"""Ledger benchmark: ingest, commit-to-visible lag, projection memory, availability reads, holds.

    python -m benchmarks.ledger.run --backend embedded --stores 300 --skus 50000
    python -m benchmarks.ledger.run --backend server --stores 300 --skus 50000

Prints one JSON object of figures (medians, p99s, rates) and a readable summary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson

from benchmarks.ledger.stores import fresh_ledger
from dom.synthetic import Network, feed_events, generate_network, stock_events
from inventory.availability.reader import AvailabilityReader
from inventory.availability.sources import Query
from inventory.domain.model import EventType, LocationType, StockEvent
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.ledger import Ledger


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def ingest(ledger: Ledger, batches, label: str) -> dict:
    rates, events, started = [], 0, time.perf_counter()
    for batch in batches:
        t = time.perf_counter()
        ledger.ingest(batch, wait=False)
        rates.append(len(batch) / (time.perf_counter() - t))
        events += len(batch)
    ledger.projector().flush(timeout_s=600)
    seconds = time.perf_counter() - started
    lags = list(ledger.projector().lags_s)
    ledger.projector().lags_s.clear()
    return {
        f"{label}_events": events,
        f"{label}_events_per_s": round(events / seconds),
        f"{label}_batch_events_per_s_median": round(statistics.median(rates)),
        f"{label}_visible_lag_ms_p50": round(percentile(lags, 50) * 1000, 1),
        f"{label}_visible_lag_ms_p99": round(percentile(lags, 99) * 1000, 1),
    }


def availability(
    reader: AvailabilityReader, network: Network, carts: int, cart_skus: int, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    skus = np.asarray(network.skus)
    draws = [
        skus[rng.choice(len(skus), size=cart_skus, replace=False, p=network.popularity)].tolist()
        for _ in range(carts)
    ]
    for cart in draws[:50]:  # warm the network cache and connections
        reader.check(cart)
    latencies = []
    for cart in draws:
        t = time.perf_counter()
        reader.check(cart, Query(quantity=1))
        latencies.append(time.perf_counter() - t)
    return {
        "cart_skus": cart_skus,
        "availability_ms_median": round(statistics.median(latencies) * 1000, 3),
        "availability_ms_p99": round(percentile(latencies, 99) * 1000, 3),
    }


def holds(
    ledger: Ledger,
    reader: AvailabilityReader,
    network: Network,
    clients: int,
    seconds: float,
    group_commit: bool,
) -> dict:
    """`clients` threads hold one unit of one hot SKU as fast as they can."""
    sku = network.skus[int(np.argmax(network.popularity))]
    warehouse = next(loc.id for loc in network.locations if loc.type is LocationType.warehouse)
    stock = 1_000_000  # the most one count may say (inventory.stock.feed.MAX_EVENT_QUANTITY)
    ledger.ingest(
        [
            StockEvent(
                f"hot-{uuid.uuid4().hex}",
                warehouse,
                sku,
                EventType.count,
                stock,
                datetime.now(UTC),
                "bench",
            )
        ]
    )
    desk = Reservations(ledger, reader, group_commit=group_commit)
    before = ledger.position(warehouse, sku)
    stop = time.perf_counter() + seconds
    start = threading.Barrier(clients)

    def client(_: int) -> tuple[int, int]:
        start.wait()
        held = refused = 0
        while time.perf_counter() < stop:
            line = HoldLine(sku=sku, quantity=1, location=warehouse)
            outcome = desk.hold(HoldRequest(id=uuid.uuid4().hex, lines=[line]))
            held += outcome.status == "held"
            refused += outcome.status != "held"
        return held, refused

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - t
    desk.close()
    after = ledger.position(warehouse, sku)
    held = sum(h for h, _ in results)
    mode = "group" if group_commit else "single"
    return {
        f"holds_{mode}_per_s": round(held / elapsed),
        f"holds_{mode}_refused": sum(r for _, r in results),
        f"holds_{mode}_reserved_matches": after.reserved - before.reserved == held,
        f"holds_{mode}_oversold": max(0, after.reserved - (after.on_hand - after.safety)),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--feed", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--carts", type=int, default=2000)
    parser.add_argument("--cart-skus", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hold-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--holds-only",
        action="store_true",
        help="load the stock, then only the group-commit holds (for side-by-side runs)",
    )
    args = parser.parse_args(argv)

    network = generate_network(args.stores, args.skus, args.seed)
    figures: dict = {
        "backend": args.backend,
        "stores": args.stores,
        "skus": args.skus,
        "positions": len(network.stock),
    }
    with fresh_ledger(args.backend) as (ledger, reader):
        ledger.upsert_locations(network.locations)
        now = datetime.now(UTC)
        figures |= ingest(
            ledger,
            stock_events(network, as_of=now - timedelta(hours=2), batch_size=args.batch),
            "load",
        )
        figures["projection_mib"] = round(ledger.projection.memory_bytes() / 2**20, 1)
        if args.holds_only:
            figures |= holds(
                ledger, reader, network, args.clients, args.hold_seconds, group_commit=True
            )
            return _report(figures)
        feed = list(
            feed_events(
                network,
                start=now - timedelta(hours=1),
                n=args.feed,
                seed=args.seed,
                batch_size=args.batch,
            )
        )
        figures |= ingest(ledger, feed, "feed")
        figures |= availability(reader, network, args.carts, args.cart_skus, args.seed)
        figures |= holds(
            ledger, reader, network, args.clients, args.hold_seconds, group_commit=False
        )
        figures |= holds(
            ledger, reader, network, args.clients, args.hold_seconds, group_commit=True
        )
    return _report(figures)


def _report(figures: dict) -> dict:
    sys.stdout.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode() + "\n")
    return figures


if __name__ == "__main__":
    main()

"""Where an ingest batch's time goes: each SQL step of inventory.stock.ingest_sql, timed in-process.

    python -m benchmarks.ledger.stages --backend embedded --stores 300 --skus 10000 --feed 60000 --seed 7

Loads the network's stock as counts, then streams the feed in batches of 1,000 (the streaming
path, `wait=False`) and prints the load's seconds, the feed's events/s (median batch and whole
run) and, per feed batch, the mean milliseconds of each step. What the steps leave of a batch is
Python deciding, the commit, and the projector thread sharing the GIL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import orjson

from benchmarks.ledger.stores import fresh_ledger
from dom.synthetic import feed_events, generate_network, stock_events
from inventory.stock import history
from inventory.stock import ingest_sql as bulk

STEPS = (  # module, function, label
    (bulk, "recorded_events", "duplicate check"),
    (bulk, "location_types", "location types"),
    (bulk, "read_positions", "read positions"),
    (bulk, "lock_positions", "lock positions"),
    (bulk, "update_positions", "write positions"),
    (bulk, "insert_positions", "insert new positions"),
    (bulk, "insert_events", "insert events"),
    (history, "deltas_after", "late-count walks"),
)


@contextmanager
def timed_steps() -> Iterator[dict[str, float]]:
    """Seconds spent in each step while inside, by label."""
    spent: dict[str, float] = defaultdict(float)

    def timing(step: Callable, label: str) -> Callable:
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        return run

    originals = [(module, name, getattr(module, name)) for module, name, _ in STEPS]
    for module, name, label in STEPS:
        setattr(module, name, timing(getattr(module, name), label))
    try:
        yield spent
    finally:
        for module, name, step in originals:
            setattr(module, name, step)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--feed", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    network = generate_network(args.stores, args.skus, args.seed)
    figures: dict = {"backend": args.backend, "positions": len(network.stock)}
    with fresh_ledger(args.backend) as (ledger, _):
        ledger.upsert_locations(network.locations)
        now = datetime.now(UTC)
        started = time.perf_counter()
        for batch in stock_events(network, as_of=now - timedelta(hours=2), batch_size=1000):
            ledger.ingest(batch, wait=False)
        ledger.projector().flush(timeout_s=600)
        figures["load_s"] = round(time.perf_counter() - started, 1)
        feed = list(
            feed_events(network, start=now - timedelta(hours=1), n=args.feed, seed=args.seed)
        )
        rates = []
        with timed_steps() as spent:
            started = time.perf_counter()
            for batch in feed:
                t = time.perf_counter()
                ledger.ingest(batch, wait=False)
                rates.append(len(batch) / (time.perf_counter() - t))
            whole = time.perf_counter() - started
        figures["feed_batch_events_per_s_median"] = round(statistics.median(rates))
        figures["feed_events_per_s"] = round(args.feed / whole)
        figures["ms_per_batch"] = round(whole / len(feed) * 1000, 2)
        figures["steps_ms_per_batch"] = {
            label: round(seconds / len(feed) * 1000, 2) for label, seconds in sorted(spent.items())
        }
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return figures


if __name__ == "__main__":
    main()

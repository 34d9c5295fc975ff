"""Time the seeded network generator at the ingest-benchmark size and at the largest supported size.

Each size runs in its own child process, so its peak RSS is its own. Usage:
    .venv/bin/python benchmarks/seed_bench.py            # both sizes, plus a 1M-event feed
    .venv/bin/python benchmarks/seed_bench.py 300 50000  # one size
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dom.synthetic import feed_events, generate_network

SIZES = ((300, 50_000), (1_000, 100_000))
REPEATS = 3
FEED_EVENTS = 1_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(stores: int, skus: int, feed: int) -> dict:
    baseline_mb = peak_rss_mb()
    seconds, network = [], None
    for _ in range(REPEATS):
        network = None  # free the previous build so the peak is one network's
        started = time.perf_counter()
        network = generate_network(stores, skus, seed=0)
        seconds.append(time.perf_counter() - started)
    result = {
        "stores": stores,
        "skus": skus,
        "locations": len(network.locations),
        "positions": len(network.stock),
        "median_s": round(statistics.median(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "baseline_rss_mb": round(baseline_mb),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    if feed:
        started = time.perf_counter()
        events = sum(
            len(batch)
            for batch in feed_events(
                network, start=datetime(2026, 1, 1, tzinfo=UTC), n=feed, seed=1
            )
        )
        result["feed_events"] = events
        result["feed_s"] = round(time.perf_counter() - started, 3)
    return result


def main() -> None:
    if len(sys.argv) >= 3:
        feed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), feed)))
        return
    for i, (stores, skus) in enumerate(SIZES):
        feed = FEED_EVENTS if i == 0 else 0
        command = [sys.executable, __file__, str(stores), str(skus), str(feed)]
        result = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )
        line = (
            f"{stores:>5} stores x {skus:>7,} SKUs: {result['positions']:>11,} positions, "
            f"median {result['median_s']:.2f} s of {result['runs_s']}, "
            f"peak RSS {result['peak_rss_mb']} MB (after imports {result['baseline_rss_mb']} MB)"
        )
        if feed:
            line += f"; feed of {result['feed_events']:,} events in {result['feed_s']:.2f} s"
        print(line)


if __name__ == "__main__":
    main()

"""A simulated day and two rule changes to compare, as files `dom simulate` takes:

    python -m benchmarks.simulation.day OUT --stores 300 --skus 5000 --orders 10000 --seed 1
    .venv/bin/dom simulate OUT/day.json --rules OUT/A.json --rules OUT/B.json --json

day.json: the network of `dom seed` with the same sizes and seed, its stock, and the generator's
orders (1 to 5 lines). A.json: stores ship within 150 km only and a parcel costs 1 EUR more.
B.json: a store costs 4 EUR more per shipment (a soft exclusion).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dom.synthetic import generate_network
from dom.synthetic.demand import generate_orders, instance_for

RULES = {
    "A.json": {"max_distance_km": {"store": {"limit": 150, "mode": "hard"}}, "ship_base": 6.0},
    "B.json": {"exclusions": [{"type": "store", "mode": "soft", "penalty": 4.0}]},
}


def day(stores: int, skus: int, orders: int, seed: int) -> dict[str, Any]:
    network = generate_network(stores, skus, seed)
    return instance_for(network, generate_orders(network, orders, seed, max_lines=5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "day.json").write_text(
        json.dumps(day(args.stores, args.skus, args.orders, args.seed))
    )
    for name, rules in RULES.items():
        (args.out / name).write_text(json.dumps(rules))


if __name__ == "__main__":
    main()

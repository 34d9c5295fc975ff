"""Order submission over HTTP, end to end (routing, atomic allocation, commit, answer), at a
constant arrival rate, against a real `dom serve` on a generated network:

    python -m benchmarks.orders --backend embedded --stores 300 --rate 200 --seconds 30
    python -m benchmarks.orders --backend server --stores 300 --rate 200 --seconds 30

Seeds a fresh ledger (`dom seed`), starts the server, then, in one run: the framework's ceiling
(`GET /v1/ping`, the key check and nothing else) at the same rate, then orders of 1 to 5 lines
(the generator's demand: SKUs by popularity, ship and pickup) at that rate. Latency is measured
from when each request was due (open loop). The load generator shares the machine with the
server. Prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json

import httpx
import orjson

from benchmarks.http.served import make_key, served
from benchmarks.orders.openloop import load
from dom.synthetic import generate_network
from dom.synthetic.demand import generate_orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=200.0, help="orders a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    network = generate_network(args.stores, args.skus, args.seed)
    orders = generate_orders(network, count, args.seed, max_lines=5, pickup_share=0.2)
    bodies = [orjson.dumps(order) for order in orders]
    with served(args.backend, args.stores, args.skus, args.seed, args.workers) as server:
        key = make_key(server.env, "oms", "orders:write,availability:read")

        def ping(client: httpx.AsyncClient, n: int) -> object:
            return client.get("/v1/ping")

        def submit(client: httpx.AsyncClient, n: int) -> object:
            return client.post(
                "/v1/orders", content=bodies[n], headers={"content-type": "application/json"}
            )

        ceiling = load(server.url, key, args.rate, count, ping, {200})
        submitted = load(server.url, key, args.rate, count, submit, {201})
    figures = {
        "backend": args.backend, "stores": args.stores, "skus": args.skus, "rate": args.rate,
        "seconds": args.seconds, "workers": args.workers,
        "lines_per_order": round(sum(len(o["lines"]) for o in orders) / count, 2),
        "ping": ceiling.summary(), "orders": submitted.summary(),
    }  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""A simulation through the API on one `dom worker`, then on two, alternating:

    python -m benchmarks.simulation.workers --rounds 2

Seeds a fresh ledger (`dom seed`, 300 stores, 5,000 SKUs), drafts the two rule changes of
benchmarks.simulation.day, posts the day's 10,000 orders to `POST /v1/simulations` under both
beside the active version, starts the workers, and times the simulation from its first job's
start to finished (from its record). Prints one JSON line a run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import httpx

from benchmarks.http.served import make_key, served
from benchmarks.simulation.day import RULES
from dom.synthetic import generate_network
from dom.synthetic.demand import generate_orders

STORES, SKUS, ORDERS, SEED = 300, 5_000, 10_000, 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    network = generate_network(STORES, SKUS, SEED)
    orders = generate_orders(network, ORDERS, SEED, max_lines=5)
    with served("embedded", STORES, SKUS, SEED, 1) as server:
        key = make_key(server.env, "planner", "rules:write")
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                              timeout=120)  # fmt: skip
        versions = [
            client.post("/v1/rule-sets", json={"name": name, "rules": rules}).json()["version"]
            for name, rules in RULES.items()
        ]
        for workers in [1, 2] * args.rounds:
            made = client.post("/v1/simulations", json={"orders": orders, "rule_sets": versions})
            simulation = made.json()["id"]
            started = [
                subprocess.Popen(
                    [sys.executable, "-m", "dom.cli", "worker"],
                    env=server.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                for _ in range(workers)
            ]
            while (found := client.get(f"/v1/simulations/{simulation}").json())["status"] in (
                "queued", "started",
            ):  # fmt: skip
                time.sleep(0.1)
            for process in started:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
            seconds = (
                datetime.fromisoformat(found["finished_at"])
                - datetime.fromisoformat(found["started_at"])
            ).total_seconds()
            print(json.dumps({"workers": workers, "status": found["status"],
                              "seconds": round(seconds, 1)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

"""HTTP API benchmark: `dom serve` as a real process, wrk as the load generator on the same machine.

    python -m benchmarks.http.run --backend embedded --stores 50 --skus 2000
    python -m benchmarks.http.run --backend server --stores 50 --skus 2000

Seeds a fresh ledger (`dom seed`), makes the keys (`dom keys create`), starts `dom serve`, then
measures, side by side in one run:
  (a) the baseline: `GET /v1/ping`, the key check every availability call makes and nothing else;
  (b) `GET /v1/availability/{sku}`, SKUs drawn by the catalogue's popularity (Zipf);
      each round runs (a) and (b) back to back, in alternating order, and gives their ratio;
  (c) `POST /v1/availability/carts` of 20 SKUs drawn by popularity: latency p50 / p99;
  (d) `POST /v1/reservations`: one-unit holds of the most popular SKU by concurrent clients, then
      the same on a SKU with few units until they are gone; afterwards SQL must show no
      position reserved past its stock, and exactly the units the 201s announced.
Prints one JSON object of figures, then a readable summary. Needs wrk (`apt-get install -y wrk`);
`--tree DIR` serves another checkout (say `git archive <commit> | tar -x -C DIR`) with the same
benchmark, to compare commits side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
from sqlalchemy import create_engine, text

from benchmarks.http.load import Phase, wrk
from benchmarks.http.served import ROOT, Served, served
from dom.synthetic import Network, generate_network

DRAWS = 20_000  # requests drawn by popularity, then cycled
CART_SKUS = 20
SCARCE_UNITS = 500
HOT_UNITS = 1_000_000  # the most one count may say
HOLD_TTL_S = 3600  # longer than any run: no hold expires while it is checked


def draw_skus(network: Network, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    drawn = rng.choice(len(network.skus), size=count, p=network.popularity)
    return [network.skus[i] for i in drawn]


def cart_bodies(network: Network, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    bodies = []
    for _ in range(count):
        picked = rng.choice(len(network.skus), size=CART_SKUS, replace=False, p=network.popularity)
        lines = [{"sku": network.skus[i], "quantity": int(rng.integers(1, 4))} for i in picked]
        bodies.append(orjson.dumps({"lines": lines}))
    return bodies


def side_by_side(server: Served, files: dict[str, Path], args: argparse.Namespace) -> dict:
    """Rounds of baseline and availability back to back, alternating which goes first."""
    runs: dict[str, list[Phase]] = {"ping": [], "availability": []}
    for name in ("ping", "availability"):  # warm up: connections, the network view, the caches
        phase(server, name, files, args, seconds=2)
    for round_ in range(args.rounds):
        order = ("ping", "availability") if round_ % 2 == 0 else ("availability", "ping")
        for name in order:
            runs[name].append(phase(server, name, files, args, args.seconds))
    pairs = list(zip(runs["availability"], runs["ping"], strict=True))
    ratios = [a.per_s / p.per_s for a, p in pairs]
    cpu_ratios = [p.server_cpu_us / a.server_cpu_us for a, p in pairs]
    return {
        "connections": args.connections,
        "ping": [run.summary() for run in runs["ping"]],
        "availability": [run.summary() for run in runs["availability"]],
        "ratios": [round(r, 3) for r in ratios],
        "ratio_median": round(statistics.median(ratios), 3),
        "cpu_ratios": [round(r, 3) for r in cpu_ratios],
        "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
        "ping_per_s_median": round(statistics.median(r.per_s for r in runs["ping"])),
        "availability_per_s_median": round(
            statistics.median(r.per_s for r in runs["availability"])
        ),
    }


def phase(
    server: Served, name: str, files: dict[str, Path], args: argparse.Namespace, seconds: float
) -> Phase:
    return load(server, "", "paths.lua", [str(files[name])], args.connections, args, seconds)


def load(
    server: Served,
    path: str,
    script: str,
    script_args: list[str],
    connections: int,
    args: argparse.Namespace,
    seconds: float | None = None,
) -> Phase:
    """wrk on `server.url + path` with the read key, the run's threads and the server's CPU."""
    return wrk(
        server.url + path, script, script_args, server.read_key, seconds or args.seconds,
        connections, args.threads, server.process.pid,
    )  # fmt: skip


def carts(server: Served, files: dict[str, Path], args: argparse.Namespace) -> dict:
    cart_files = [str(files["carts"])]
    runs = [
        load(
            server, "/v1/availability/carts", "bodies.lua", cart_files, args.cart_connections, args
        )
        for _ in range(args.rounds)
    ]
    return {
        "connections": args.cart_connections,
        "runs": [run.summary() for run in runs],
        "p50_ms_median": round(statistics.median(r.figures["p50_us"] for r in runs) / 1000, 2),
        "p99_ms_median": round(statistics.median(r.figures["p99_us"] for r in runs) / 1000, 2),
        "per_s_median": round(statistics.median(r.per_s for r in runs)),
    }


def holds(server: Served, network: Network, args: argparse.Namespace) -> dict:
    """Holds on the most popular SKU with plenty of stock (throughput), then on a SKU with
    SCARCE_UNITS until they are gone (the last units); SQL checked after each."""
    warehouse = network.locations[0].id
    hot = network.skus[int(np.argmax(network.popularity))]
    scarce = f"BENCH-SCARCE-{uuid.uuid4().hex[:8]}"
    count(server, warehouse, hot, HOT_UNITS)
    count(server, warehouse, scarce, SCARCE_UNITS)
    found = {}
    for label, sku in (("hot", hot), ("scarce", scarce)):
        run_id = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        script_args = [sku, run_id, str(HOLD_TTL_S)]
        result = load(
            server, "/v1/reservations", "holds.lua", script_args, args.hold_connections, args
        )
        statuses = result.figures["statuses"]
        held = int(statuses.get("201", 0))
        found[label] = {
            **result.summary(),
            "sku": sku,
            "held_per_s": round(held / (result.figures["duration_us"] / 1e6)),
            **ledger_check(server.sql_url, sku, run_id, held, args.hold_connections),
        }
    found["connections"] = args.hold_connections
    return found


def count(server: Served, location: str, sku: str, units: int) -> None:
    event = {
        "event_id": f"bench-count-{uuid.uuid4().hex}", "location": location, "sku": sku,
        "type": "count", "quantity": units,
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(), "source": "bench",
    }  # fmt: skip
    answer = httpx.post(
        server.url + "/v1/stock-events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {server.stock_key}"},
        timeout=30,
    )
    answer.raise_for_status()


def ledger_check(sql_url: str, sku: str, run_id: str, announced: int, in_flight: int) -> dict:
    """What SQL holds for `sku` after the run: no position reserved past its stock (on hand
    less safety), and the run's held reservations adding up to the units the 201s announced,
    plus at most the `in_flight` requests wrk left unanswered when it stopped."""
    engine = create_engine(sql_url)
    try:
        with engine.connect() as conn:
            positions = conn.execute(
                text("SELECT on_hand, reserved, safety FROM position WHERE sku = :sku"),
                {"sku": sku},
            ).all()
            recorded = conn.execute(
                text(
                    "SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_line l "
                    "JOIN reservation r ON r.id = l.reservation_id "
                    "WHERE l.sku = :sku AND r.status = 'held' AND r.id LIKE :run"
                ),
                {"sku": sku, "run": f"{run_id}-%"},
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "oversold_units": sum(max(0, reserved - (on_hand - safety)) for on_hand, reserved, safety in positions),
        "held_units_in_sql": int(recorded),
        "held_matches_201s": announced <= recorded <= announced + in_flight,
    }  # fmt: skip


def request_files(network: Network, folder: Path, seed: int) -> dict[str, Path]:
    files = {
        "ping": folder / "ping.txt",
        "availability": folder / "availability.txt",
        "carts": folder / "carts.txt",
    }
    files["ping"].write_text("/v1/ping\n")
    skus = draw_skus(network, DRAWS, seed)
    files["availability"].write_text("".join(f"/v1/availability/{sku}\n" for sku in skus))
    files["carts"].write_bytes(b"\n".join(cart_bodies(network, 2_000, seed)) + b"\n")
    return files


def commit_of(tree: Path) -> str:
    """The commit `tree` is checked out at (a git worktree), or what `git archive` left in it."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode == 0:
        return done.stdout.strip()
    stamp = tree / "COMMIT"
    return stamp.read_text().strip() if stamp.exists() else "unknown"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="dom serve --workers")
    parser.add_argument("--seconds", type=float, default=10.0, help="each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="for (a) and (b)")
    parser.add_argument("--cart-connections", type=int, default=16)
    parser.add_argument("--hold-connections", type=int, default=32)
    parser.add_argument("--skip", nargs="*", default=[], choices=["carts", "holds"])
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="the source tree to serve (default: this one)"
    )
    args = parser.parse_args(argv)
    network = generate_network(args.stores, args.skus, args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="dom-http-requests-") as folder,
        served(args.backend, args.stores, args.skus, args.seed, args.workers, args.tree) as server,
    ):
        files = request_files(network, Path(folder), args.seed)
        figures: dict = {"backend": args.backend, "stores": args.stores, "skus": args.skus,
                         "workers": args.workers, "wrk_threads": args.threads,
                         "tree": str(args.tree), "commit": commit_of(args.tree)}  # fmt: skip
        figures["single_sku"] = side_by_side(server, files, args)
        if "carts" not in args.skip:
            figures["carts"] = carts(server, files, args)
        if "holds" not in args.skip:
            figures["holds"] = holds(server, network, args)
    print(json.dumps(figures, indent=1))
    print_summary(figures)
    return figures


def print_summary(figures: dict) -> None:
    single = figures["single_sku"]
    print(f"\n{figures['commit']}, {figures['backend']}, {figures['stores']} stores x "
          f"{figures['skus']} SKUs, {figures['workers']} server process(es)")  # fmt: skip
    for name in ("ping", "availability"):
        runs = single[name]
        print(f"  {name:13} req/s {' / '.join(str(r['per_s']) for r in runs)}; "
              f"p50 {' / '.join(str(r['p50_us']) for r in runs)} us; server CPU/request "
              f"{' / '.join(str(r['server_cpu_us_per_request']) for r in runs)} us; generator cores "
              f"{' / '.join(str(r['generator_cores']) for r in runs)}; server cores "
              f"{' / '.join(str(r['server_cores']) for r in runs)}")  # fmt: skip
    print(
        f"  availability / ping, requests/s: {single['ratios']} (median {single['ratio_median']})"
    )
    print(f"  ping / availability, server CPU per request: {single['cpu_ratios']} "
          f"(median {single['cpu_ratio_median']})")  # fmt: skip
    if "carts" in figures:
        c = figures["carts"]
        print(f"  20-SKU carts, {c['connections']} connections: {c['per_s_median']} /s, "
              f"p50 {c['p50_ms_median']} ms, p99 {c['p99_ms_median']} ms (medians)")  # fmt: skip
    if "holds" in figures:
        for label in ("hot", "scarce"):
            h = figures["holds"][label]
            print(f"  holds ({label}), {figures['holds']['connections']} clients: "
                  f"{h['held_per_s']} held/s, statuses {h['statuses']}, p99 {h['p99_us'] / 1000:.1f} ms, "
                  f"oversold {h['oversold_units']}, held in SQL {h['held_units_in_sql']} "
                  f"(201s + in flight: {h['held_matches_201s']})")  # fmt: skip


if __name__ == "__main__":
    main()

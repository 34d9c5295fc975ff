"""Simulations through the real server and a real RQ worker (`dom worker`), on both backends: a
planner replays orders under a draft rule set beside the active one, follows it, reads the KPIs,
the report and the instance it replayed (whose `dom allocate` cost is the simulated one); a
simulation cancelled before a worker takes it never runs; a worker killed in the middle of a
job leaves it to the next worker, which runs it again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import LYON, assert_problem

WAIT_S = 60.0


@contextmanager
def worker(api: Served, log: Path) -> Iterator[subprocess.Popen]:
    """`dom worker` on the server's data, in a process group of its own (its job's child too)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "dom.cli", "worker"], env=api.env, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def planner(api: Served) -> httpx.Client:
    return api.client(api.key("rules:write", name="planner"))


def orders_of(item: str, n: int) -> list[dict]:
    return [
        {"id": f"O-{uuid.uuid4().hex[:10]}", "delivery": LYON,
         "lines": [{"id": "L1", "sku": item, "quantity": 1, "price": 20.0}]}
        for _ in range(n)
    ]  # fmt: skip


def finished(planner: httpx.Client, simulation_id: str) -> dict:
    deadline = time.monotonic() + WAIT_S
    while True:
        found = planner.get(f"/v1/simulations/{simulation_id}").json()
        if found["status"] in ("finished", "failed", "cancelled") or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def a_draft(planner: httpx.Client) -> str:
    made = planner.post("/v1/rule-sets", json={
        "name": "no Lyon store", "rules": {"exclusions": [{"location": "ST-1"}]}})  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()["version"]


def test_a_simulation_runs_on_a_worker_and_compares_a_draft_with_the_active_version(
    api: Served, planner: httpx.Client, tmp_path: Path
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 4), ("WH-1", item, 10))
    version = a_draft(planner)
    body = {"orders": orders_of(item, 6), "rule_sets": [version], "mode": "online"}
    started = planner.post("/v1/simulations", json=body)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    with worker(api, tmp_path / "worker.log"):
        done = finished(planner, started.json()["id"])
    assert done["status"] == "finished", (done, (tmp_path / "worker.log").read_text()[-3000:])
    assert done["progress"] == 1.0 and done["request"]["rule_sets"] == [version]
    baseline, [draft] = done["result"]["baseline"], done["result"]["rule_sets"]
    assert draft["version"] == version
    assert draft["total_cost"] > baseline["total_cost"]  # Lyon's store is nearest the customers
    instance = planner.get(f"/v1/simulations/{done['id']}/instance").json()
    assert [o["id"] for o in instance["orders"]] == [o["id"] for o in body["orders"]]
    assert {(s["location"], s["available"]) for s in instance["stock"] if s["sku"] == item} == {
        ("ST-1", 4), ("WH-1", 10)}  # fmt: skip
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(instance))
    allocated = api.dom("allocate", str(path))
    assert allocated.returncode == 0, allocated.stderr
    assert json.loads(allocated.stdout)["cost"] == pytest.approx(baseline["total_cost"])
    report = planner.get(f"/v1/simulations/{done['id']}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")


def test_a_simulation_cancelled_before_a_worker_takes_it_never_runs(
    api: Served, planner: httpx.Client, tmp_path: Path
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 3))
    body = {"orders": orders_of(item, 2), "rule_sets": ["default"]}
    simulation = planner.post("/v1/simulations", json=body).json()
    cancelled = planner.post(f"/v1/simulations/{simulation['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(planner.post(f"/v1/simulations/{simulation['id']}/cancel"), 409)
    with worker(api, tmp_path / "worker.log"):
        time.sleep(2)
        after = planner.get(f"/v1/simulations/{simulation['id']}").json()
    assert after["status"] == "cancelled" and after["started_at"] is None
    assert_problem(planner.get(f"/v1/simulations/{simulation['id']}/report"), 409)


def test_bad_simulations_are_refused_and_unknown_ones_are_not_found(
    planner: httpx.Client,
) -> None:
    item = sku()
    orders = orders_of(item, 1)
    assert_problem(
        planner.post("/v1/simulations", json={"orders": orders, "rule_sets": ["v9999"]}), 404
    )
    assert_problem(
        planner.post("/v1/simulations", json={"orders": [], "rule_sets": ["default"]}), 422
    )
    twice = {"orders": orders + orders, "rule_sets": ["default"]}
    assert "unique" in assert_problem(planner.post("/v1/simulations", json=twice), 422)["detail"]
    assert_problem(planner.get("/v1/simulations/sim_0000000000000000"), 404)


@pytest.mark.slow  # a dead worker's job is found once its heartbeat lapses: a minute and more
def test_a_job_whose_worker_is_killed_is_run_again_by_the_next_worker(
    api: Served, planner: httpx.Client, tmp_path: Path
) -> None:
    items = [sku() for _ in range(40)]
    stock(api, *[(place, item, 30) for item in items for place in ("ST-1", "WH-1")])
    orders = [
        {"id": f"O-{n}-{uuid.uuid4().hex[:6]}", "delivery": LYON,
         "lines": [{"id": f"L{k}", "sku": items[(n * 7 + k * 13) % len(items)], "quantity": 2}
                   for k in range(4)]}
        for n in range(4_000)
    ]  # fmt: skip
    body = {"orders": orders, "rule_sets": ["default", a_draft(planner)], "mode": "batch"}
    simulation = planner.post("/v1/simulations", json=body).json()
    log = tmp_path / "worker.log"
    with worker(api, log) as first:
        deadline = time.monotonic() + WAIT_S
        while planner.get(f"/v1/simulations/{simulation['id']}").json()["status"] != "started":
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        time.sleep(1.0)
        # The machine dies: the worker, and the process it forked for the job (a session of its
        # own, so out of the worker's group).
        subprocess.run(["pkill", "-KILL", "-P", str(first.pid)], check=False)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert planner.get(f"/v1/simulations/{simulation['id']}").json()["status"] == "started"
    with worker(api, log):
        deadline = time.monotonic() + 300
        while True:
            found = planner.get(f"/v1/simulations/{simulation['id']}").json()
            if found["status"] != "started" or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert found["status"] == "finished", (found, log.read_text()[-3000:])
    assert len(found["result"]["rule_sets"]) == 2

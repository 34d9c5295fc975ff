"""`dom serve` stopped by SIGTERM or SIGINT while holds are in flight on a hot SKU: every answer a
client got is a proper one, the server exits 0 within its graceful timeout, nothing it started is
left running, and every hold it granted is in SQL after it. With two workers, both answer and
share the one embedded Redis their parent owns."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text

from dom.embedded_redis import socket_of
from dom.server import GRACEFUL_SHUTDOWN_S
from tests.api.conftest import LOCATIONS, sku, stock
from tests.api.faults import descendants, left_running
from tests.api.served import Served, serve

CLIENTS = 32  # concurrent holds on one hot SKU
UNITS = 100_000  # the clients never run out: every hold in flight at the signal is a write
ANSWERED_BEFORE_STOP = 2 * CLIENTS  # holds answered before the signal: they are in full flow
FLOWING_WITHIN_S = 30.0
MAX_CONNECTIONS = 200  # opened, at most, until each worker holds one


@dataclass
class Holds:
    """What the clients were answered, by reservation id; ids that got no answer apart."""

    answered: dict[str, httpx.Response] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def granted(self) -> set[str]:
        return {id for id, answer in self.answered.items() if answer.status_code == 201}


def hold_until_gone(api: Served, key: str, item: str, holds: Holds) -> None:
    """Hold one unit after another, on a connection of its own, until the server is gone."""
    with httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        while True:
            hold_id = f"cart-{uuid.uuid4().hex}"
            body = {"id": hold_id, "lines": [{"sku": item, "quantity": 1}], "ttl_s": 3600}
            try:
                answer = client.post("/v1/reservations", json=body)
            except httpx.TransportError:
                with holds.lock:
                    holds.unanswered.append(hold_id)
                return
            with holds.lock:
                holds.answered[hold_id] = answer


def proper(answer: httpx.Response) -> bool:
    """A hold granted, or refused for want of stock with a problem: nothing else."""
    if answer.status_code == 201:
        return answer.json()["status"] == "held"
    return (
        answer.status_code == 409
        and answer.headers["content-type"] == "application/problem+json"
        and answer.json()["type"].endswith("not-available")
    )


def stop_under_holds(api: Served, stop_signal: signal.Signals) -> tuple[Holds, float]:
    """Holds from CLIENTS clients at once; the signal while they are in flight. Returns what they
    were answered and how long the server took to exit."""
    item = sku()
    stock(api, ("WH-1", item, UNITS))
    key = api.key("reservations:write")
    holds = Holds()
    clients = [
        threading.Thread(target=hold_until_gone, args=(api, key, item, holds))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    deadline = time.monotonic() + FLOWING_WITHIN_S
    while len(holds.answered) < ANSWERED_BEFORE_STOP:
        assert time.monotonic() < deadline, f"{len(holds.answered)} holds answered before the stop"
        time.sleep(0.01)
    api.process.send_signal(stop_signal)
    signalled = time.monotonic()
    api.process.wait(GRACEFUL_SHUTDOWN_S + 10)
    exited_s = time.monotonic() - signalled
    for client in clients:
        client.join(30)
    return holds, exited_s


def held_in_sql(data_dir: Path, ids: set[str]) -> set[str]:
    engine = create_engine(f"sqlite:///{data_dir / 'dom.sqlite'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM reservation WHERE status = 'held'")).scalars()
            return ids & set(rows)
    finally:
        engine.dispose()


def check_stopped_cleanly(api: Served, holds: Holds, exited_s: float, tree: list) -> None:
    improper = {id: a.text for id, a in holds.answered.items() if not proper(a)}
    assert not improper, f"improper answers: {improper}"
    assert api.process.returncode == 0, api.log.read_text()[-3000:]
    assert exited_s < GRACEFUL_SHUTDOWN_S, f"exited {exited_s:.1f} s after the signal"
    port = api.url.rsplit(":", 1)[1]
    assert not left_running(tree, str(api.data_dir), f"--port {port}")
    granted = holds.granted()
    assert granted and held_in_sql(api.data_dir, granted) == granted
    assert not held_in_sql(api.data_dir, set(holds.unanswered)), "held, but nobody was told"


@pytest.fixture
def one_worker(tmp_path: Path):
    with serve(tmp_path / "var", {}) as served:
        assert served.admin().put("/v1/locations", json={"locations": LOCATIONS}).is_success
        yield served


@pytest.fixture
def two_workers(tmp_path: Path):
    with serve(tmp_path / "var", {}, workers=2) as served:
        assert served.admin().put("/v1/locations", json={"locations": LOCATIONS}).is_success
        yield served


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_a_server_stopped_under_holds_answers_each_properly_exits_0_and_leaves_nothing(
    one_worker: Served, stop_signal: signal.Signals
) -> None:
    tree = descendants(one_worker.process.pid)
    holds, exited_s = stop_under_holds(one_worker, stop_signal)
    check_stopped_cleanly(one_worker, holds, exited_s, tree)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_two_workers_share_their_parents_redis_answer_both_and_stop_cleanly(
    two_workers: Served, stop_signal: signal.Signals
) -> None:
    parent = psutil.Process(two_workers.process.pid)
    tree = descendants(parent.pid)
    workers = {p.pid for p in parent.children() if "spawn_main" in " ".join(p.cmdline())}
    assert len(workers) == 2
    servers = [p for p in tree if p.name() == "redis-server"]
    assert len(servers) == 1, "the workers share one Redis"
    assert servers[0].parent().parent().pid == parent.pid, (
        "owned by the parent, behind its watchdog"
    )
    assert str(socket_of(two_workers.data_dir)) in " ".join(servers[0].cmdline())
    assert workers_answering(two_workers, workers) == workers

    holds, exited_s = stop_under_holds(two_workers, stop_signal)
    check_stopped_cleanly(two_workers, holds, exited_s, tree)


def workers_answering(api: Served, workers: set[int]) -> set[int]:
    """The workers that answered a request: each connection stays open with the worker that
    accepted it, until every worker holds one (or MAX_CONNECTIONS were opened)."""
    port = int(api.url.rsplit(":", 1)[1])
    clients: list[httpx.Client] = []
    answered: set[int] = set()
    try:
        while answered != workers and len(clients) < MAX_CONNECTIONS:
            client = httpx.Client(base_url=api.url)
            clients.append(client)
            assert client.get("/healthz").status_code == 200
            answered = {pid for pid in workers if serving(pid, port)}
    finally:
        for client in clients:
            client.close()
    return answered


def serving(pid: int, port: int) -> bool:
    """Whether the process holds an open connection a client made to `port`."""
    return any(
        c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
        for c in psutil.Process(pid).net_connections(kind="tcp")
    )

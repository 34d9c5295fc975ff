"""A real `dom serve` for the HTTP benchmark: a fresh ledger seeded by `dom seed`, the keys made by
`dom keys create`, the server in its own process on a free port, stopped (SIGTERM) at the end.

The embedded default gets a data folder of its own; the server backend a PostgreSQL schema and a
Redis key prefix of its own, both removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from sqlalchemy import create_engine, text

PG_URL = os.environ.get(
    "DOM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DOM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
READY_TIMEOUT_S = 300.0  # a first start rebuilds the projection from SQL
STOP_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 1800.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    url: str
    tree: Path  # the source tree served
    process: subprocess.Popen
    env: dict[str, str]
    sql_url: str
    read_key: str  # availability:read, reservations:write
    stock_key: str  # stock:write, for the holds' stock
    log: Path


def dom(env: dict[str, str], *args: str) -> str:
    """Run a `dom` command in its own process, from the tree in `env`'s PYTHONPATH; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "dom.cli", *args], env=env, capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT_S, cwd=env["PYTHONPATH"],
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"dom {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make_key(env: dict[str, str], name: str, scopes: str) -> str:
    """A key with a rate no run reaches; `dom keys create` prints it as its last line."""
    out = dom(env, "keys", "create", "--name", name, "--scopes", scopes, "--rate-per-s", "1000000")
    return out.strip().splitlines()[-1]


@contextmanager
def served(
    backend: str, stores: int, skus: int, seed: int, workers: int, tree: Path = ROOT
) -> Iterator[Served]:
    """`tree`: the source tree whose `dom` is seeded and served (another commit's checkout, to
    compare it side by side with this one)."""
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="dom-http-bench-"))
        stack.callback(shutil.rmtree, folder, True)
        env = {**os.environ, "PYTHONPATH": str(tree), "DOM_DATA_DIR": str(folder / "var")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if backend == "server":
            env |= stack.enter_context(_server_backend())
        sql_url = env.get("DOM_DATABASE_URL") or f"sqlite:///{folder / 'var' / 'dom.sqlite'}"
        dom(env, "seed", "--stores", str(stores), "--skus", str(skus), "--seed", str(seed))
        read_key = make_key(env, "bench", "availability:read,reservations:write")
        stock_key = make_key(env, "bench-stock", "stock:write")
        port = _free_port()
        log = folder / "serve.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "dom.cli", "serve", "--port", str(port),
                 "--workers", str(workers)],
                env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tree,
            )  # fmt: skip
        stack.callback(_stop, process)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, log)
        yield Served(url, tree, process, env, sql_url, read_key, stock_key, log)


@contextmanager
def _server_backend() -> Iterator[dict[str, str]]:
    """A schema and a key prefix of the run's own on the PostgreSQL and Redis servers."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {prefix}"))
    try:
        yield {
            "DOM_DATABASE_URL": f"{PG_URL}?options=-csearch_path%3D{prefix}",
            "DOM_REDIS_URL": REDIS_URL,
            "DOM_REDIS_PREFIX": prefix,
        }
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.unlink(key)
        client.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {prefix} CASCADE"))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dom serve exited at start:\n{log.read_text()}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"dom serve was not ready in {READY_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""A real API server for the end-to-end tests: `dom serve` in its own process on a free loopback
port, on the embedded default or on PostgreSQL + Redis, stopped (SIGTERM) when the test ends.
A test may also crash it (SIGKILL, `crash`) and start it again on the same data (`restart`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class Served:
    """A running server: its base URL, its first admin key, and an HTTP client."""

    url: str
    admin_key: str
    process: subprocess.Popen
    data_dir: Path
    env: dict[str, str]
    log: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30.0)
        self.clients.append(client)
        return client

    def admin(self) -> httpx.Client:
        return self.client(self.admin_key)

    def key(self, *scopes: str, name: str = "test", rate_per_s: int | None = None) -> str:
        return self.key_and_id(*scopes, name=name, rate_per_s=rate_per_s)[0]

    def key_and_id(
        self, *scopes: str, name: str = "test", rate_per_s: int | None = None
    ) -> tuple[str, str]:
        """A new key's secret and its id (`k_...`, what revoking it takes)."""
        body: dict = {"name": name, "scopes": list(scopes)}
        if rate_per_s is not None:
            body["rate_per_s"] = rate_per_s
        answer = self.admin().post("/v1/admin/keys", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["key"], answer.json()["id"]

    @property
    def database_url(self) -> str:
        """The SQL ledger the server writes, for a test that reads it directly."""
        return self.env.get("DOM_DATABASE_URL") or f"sqlite:///{self.data_dir / 'dom.sqlite'}"

    def dom(self, *args: str) -> subprocess.CompletedProcess:
        """A `dom` command on the same data (its own process, as an operator would run it)."""
        return subprocess.run(
            [sys.executable, "-m", "dom.cli", *args], env=self.env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(data_dir: Path, env: dict[str, str], workers: int = 1) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "DOM_DATA_DIR": str(data_dir), **env}
    log = data_dir.parent / f"serve-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "dom.cli", "serve", "--port", str(port), "--workers", str(workers)],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", "", process, data_dir, env, log)
    try:
        _wait_ready(served)
        served.admin_key = (data_dir / "admin.key").read_text().strip()
        yield served
    finally:
        for client in served.clients:
            client.close()
        stop(process)


def crash(served: Served) -> None:
    """SIGKILL the server and every process it started (its workers, the embedded Redis), all
    at once: a crash, not a stop. Nothing it had not committed may be answered after it."""
    try:
        tree = [psutil.Process(served.process.pid)]
        tree += tree[0].children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    for process in tree:
        with suppress(psutil.NoSuchProcess):
            process.kill()
    served.process.wait(STOP_TIMEOUT_S)
    psutil.wait_procs(tree, timeout=STOP_TIMEOUT_S)


@contextmanager
def restart(served: Served, workers: int = 1) -> Iterator[Served]:
    """The same server started again on the same data and settings (its SQL, its Redis or its
    embedded one, its keys), on a new port; stopped when the block ends."""
    with serve(served.data_dir, served.env, workers) as again:
        yield again


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"the server exited at start:\n{served.log.read_text()}")
        try:
            if httpx.get(served.url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"the server was not ready in {START_TIMEOUT_S} s:\n{served.log.read_text()}"
    )

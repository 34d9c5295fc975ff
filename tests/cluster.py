"""A real three-node Redis Cluster on this machine, started from the `redis-server` binary, for
the tests of the projection's cluster paths (hash tags, per-slot script calls, the binary twin)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster

NODES = 3
READY_TIMEOUT_S = 30


class ClusterUnavailable(RuntimeError):
    pass


def _free_ports(n: int) -> list[int]:
    """Ports free now whose cluster bus ports (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 < 65536 and port not in ports:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            ports.append(port)
    return ports


@contextmanager
def redis_cluster(folder: Path, password: str | None = None) -> Iterator[list[ClusterNode]]:
    """Start the nodes, join them into one cluster covering every slot, and stop them after."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise ClusterUnavailable("redis-server and redis-cli are not installed")
    ports = _free_ports(NODES)
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    processes = [
        subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", f"nodes-{port}.conf", "--save", "", "--appendonly", "no",
             "--dir", str(folder), *auth],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]  # fmt: skip
    try:
        for port in ports:
            _wait(lambda port=port: _ask(port, password, "PING"))
        subprocess.run(
            [cli, *(["-a", password, "--no-auth-warning"] if password else []), "--cluster",
             "create", *(f"127.0.0.1:{port}" for port in ports), "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=READY_TIMEOUT_S,
        )  # fmt: skip
        for port in ports:
            _wait(
                lambda port=port: _ask(port, password, "CLUSTER INFO").get("cluster_state") == "ok"
            )
        yield [ClusterNode("127.0.0.1", port) for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _ask(port: int, password: str | None, command: str):
    with redis.Redis(port=port, password=password) as node:
        return node.execute_command(command)


def _wait(ready) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            if ready():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ClusterUnavailable("the cluster did not come up in time")
        time.sleep(0.1)


def client(nodes: list[ClusterNode], password: str | None = None) -> RedisCluster:
    return RedisCluster(startup_nodes=nodes, decode_responses=True, password=password)

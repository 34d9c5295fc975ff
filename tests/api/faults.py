"""Faults for the served API's tests: a Redis server of the test's own, to stop and start again
empty; a TCP proxy in front of PostgreSQL, to cut and restore; a schema of the test's own; and
the processes a stopped server may have left behind."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import redis
from sqlalchemy import Engine, make_url, text

from dom.embedded_redis import REDIS_SERVER
from tests.api.served import free_port
from tests.conftest import PG_URL

START_TIMEOUT_S = 10.0
GONE_WITHIN_S = 10.0
PROXY_POLL_S = 0.05  # how soon the proxy's accept loop notices a cut
PROXY_CHUNK_BYTES = 64 * 1024


class OwnRedis:
    """A Redis server on a free loopback port that keeps nothing on disk: started again after a
    stop, it comes back empty, as a restart without persistence does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [REDIS_SERVER or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder),
             "--logfile", str(self.folder / "redis.log")],
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            assert self.process.poll() is None, "the test's Redis exited at start"
            assert time.monotonic() < deadline, "the test's Redis did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(GONE_WITHIN_S)
        self.process = None

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1, retry=None)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@contextmanager
def own_redis(folder: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class SqlProxy:
    """A TCP proxy to PostgreSQL. `cut` resets every connection through it and refuses new ones
    (the server is unreachable for whoever uses the proxy, and for nobody else); `restore`
    listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(PROXY_POLL_S)
        self._accepting = threading.Thread(target=self._accept, args=(self._listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            assert self._accepting is not None
            self._accepting.join()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                _reset(end)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by a cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while chunk := source.recv(PROXY_CHUNK_BYTES):
            sink.sendall(chunk)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _reset(end: socket.socket) -> None:
    """Close with a reset, as a broken network or a killed server would."""
    with suppress(OSError):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        end.shutdown(socket.SHUT_RDWR)
    end.close()


@contextmanager
def sql_proxy() -> Iterator[SqlProxy]:
    url = make_url(PG_URL)
    proxy = SqlProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.cut()


@contextmanager
def own_schema(admin: Engine) -> Iterator[str]:
    """A PostgreSQL schema for one test, dropped with everything in it at the end."""
    schema = f"f{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def database_url(schema: str, port: int | None = None) -> str:
    """The test database's URL in `schema`, through the proxy on `port` when given."""
    url = make_url(PG_URL)
    if port is not None:
        url = url.set(host="127.0.0.1", port=port)
    return f"{url.render_as_string(hide_password=False)}?options=-csearch_path%3D{schema}"


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def left_running(processes: list[psutil.Process], *names: str) -> list[str]:
    """Of `processes`, and of every process whose command line names one of `names`, those
    still running after up to GONE_WITHIN_S (a zombie is not running: it holds nothing)."""
    _, alive = psutil.wait_procs(processes, timeout=GONE_WITHIN_S)
    found = {p.pid: p for p in alive if _running(p)}
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or ())
        if any(name in line for name in names) and _running(process):
            found[process.pid] = process
    return [f"{pid}: {' '.join(_cmdline(p))}" for pid, p in sorted(found.items())]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return ["?"]

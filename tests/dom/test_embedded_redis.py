"""The embedded default's Redis dies with the process that started it, keeps nothing on disk, and a
start after a kill begins afresh on the socket the dead server left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import suppress
from pathlib import Path

import redis

from dom import embedded_redis
from dom.bootstrap import build
from dom.settings import Settings
from tests.inventory.helpers import NETWORK, WAREHOUSE, ev, sku

GONE_WITHIN_S = 10.0

STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dom import embedded_redis
    client = embedded_redis.start(Path(sys.argv[1])).client()
    client.set("left-by-the-dead", "1")
    print(client.info("server")["process_id"], flush=True)
    time.sleep(600)
    """
)


def _start_and_sigkill_a_process_with_its_redis(folder: Path, script: str = "", *args: str) -> int:
    """Run `script` (STARTER by default) in a child that prints the pid of the Redis it started,
    SIGKILL the child, and return that pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", script or STARTER, str(folder), *args],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        server_pid = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    return server_pid


def _alive(pid: int) -> bool:
    """Running, not a zombie (a zombie holds no socket and no memory; init reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while it is read
        return False


def test_an_embedded_redis_dies_with_the_process_that_started_it(tmp_path):
    server_pid = _start_and_sigkill_a_process_with_its_redis(tmp_path / "var")
    deadline = time.monotonic() + GONE_WITHIN_S
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid), f"redis-server {server_pid} outlived the process that started it"


def test_a_start_after_a_killed_process_begins_afresh_on_its_stale_socket(tmp_path):
    folder = tmp_path / "var"
    _start_and_sigkill_a_process_with_its_redis(folder)
    assert embedded_redis.socket_of(folder).exists()  # left behind by the killed server

    server = embedded_redis.start(folder)
    client = server.client()
    try:
        assert client.ping()
        assert client.get("left-by-the-dead") is None  # nothing kept on disk: a fresh server
    finally:
        client.close()
        server.close()


def test_an_engine_starts_right_after_its_embedded_redis_was_killed(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    first = build(settings)
    s = sku()
    first.ledger.upsert_locations(NETWORK)
    first.ledger.ingest([ev(WAREHOUSE.id, s, "count", 7)])
    os.kill(first.redis.info("server")["process_id"], signal.SIGKILL)

    second = build(settings)
    try:
        assert second.reader.check([s])[0].available == 7  # rebuilt from SQL at start
        t = sku()
        second.ledger.ingest([ev(WAREHOUSE.id, t, "count", 5)])
        assert second.reader.check([t])[0].available == 5
    finally:
        second.close()
        with suppress(
            redis.ConnectionError
        ):  # its server is gone; what it owned closes all the same
            first.close()


SELLER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dom.bootstrap import build
    from dom.settings import Settings
    from tests.inventory.helpers import NETWORK, WAREHOUSE, ev

    engine = build(Settings(data_dir=Path(sys.argv[1])))
    engine.ledger.upsert_locations(NETWORK)
    engine.ledger.ingest([ev(WAREHOUSE.id, sys.argv[2], "count", 10)])
    engine.redis.save()  # a snapshot of the projection before the sale
    engine.ledger.ingest([ev(WAREHOUSE.id, sys.argv[2], "sale", 8, minutes=1)])
    print(engine.redis.info("server")["process_id"], flush=True)
    time.sleep(600)
    """
)


def test_a_start_after_the_process_and_its_redis_were_killed_serves_the_sql_truth(tmp_path):
    folder, s = tmp_path / "var", sku()
    server_pid = _start_and_sigkill_a_process_with_its_redis(folder, SELLER, s)
    with suppress(ProcessLookupError):  # it died with its process (it must not outlive it)
        os.kill(server_pid, signal.SIGKILL)

    engine = build(Settings(data_dir=folder))
    try:
        assert engine.ledger.position(WAREHOUSE.id, s).on_hand == 2
        assert engine.reader.check([s])[0].available == 2
    finally:
        engine.close()


def test_the_embedded_redis_keeps_no_snapshot(tmp_path):
    server = embedded_redis.start(tmp_path / "var")
    client = server.client()
    try:
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()
        server.close()


def test_a_data_folder_given_relative_to_the_working_directory_starts_its_redis(
    tmp_path, monkeypatch
):
    """The default data folder is ./var: the server changes to its folder before it opens its log."""
    monkeypatch.chdir(tmp_path)
    server = embedded_redis.start(Path("var"))
    client = server.client()
    try:
        assert client.ping()
        assert (tmp_path / "var" / "redis.log").exists()
    finally:
        client.close()
        server.close()


def test_stopping_the_embedded_redis_prints_nothing_on_the_users_terminal(tmp_path):
    """The watchdog shell would report its killed server ("Killed") after a clean exit."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from dom import embedded_redis
        for _ in range(5):
            embedded_redis.start(Path({str(tmp_path / "var")!r})).close()
        server = embedded_redis.start(Path({str(tmp_path / "var")!r}))  # closed by the exit itself
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    time.sleep(0.5)  # the watchdog of the last server outlives the process by a moment
    assert done.returncode == 0, done.stderr
    assert "Killed" not in done.stderr

"""Running the API: the embedded Redis owned by the serving process, the first admin key of a
fresh install, Prometheus's shared folder for several workers, then uvicorn."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import uvicorn

from dom import embedded_redis
from dom.keys import KeyStore
from dom.settings import Settings
from inventory import open_engine

log = logging.getLogger("dom.serve")
ADMIN_KEY_FILE = "admin.key"
GRACEFUL_SHUTDOWN_S = 30  # requests in flight at SIGTERM get this long to be answered


def first_admin_key(settings: Settings) -> Path | None:
    """On a fresh install (no key was ever made), make one admin key and write it to a file only
    its owner may read. Returns the file's path, or None when keys exist already."""
    engine = open_engine(settings.sql_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        keys = KeyStore(engine)
        if keys.count():
            return None
        _, secret = keys.create("admin (first key)", ["admin"])
    finally:
        engine.dispose()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = (settings.data_dir / ADMIN_KEY_FILE).resolve()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


@contextmanager
def metrics_folder(settings: Settings, workers: int) -> Iterator[None]:
    """Several workers write their metrics to one folder that a scrape of any of them reads."""
    if workers == 1:
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="metrics-", dir=settings.data_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def stopping_by_signal() -> Iterator[None]:
    """A SIGTERM or SIGINT ends the serving with SystemExit(0), so the ExitStack unwinds.

    uvicorn (one worker) stops gracefully on either, then raises the signal again with the
    handler it found: with the default one, SIGTERM killed this process (exit -15) before the
    ExitStack closed the embedded Redis. A signal before uvicorn has taken the signals over
    (while the embedded Redis starts, say) stops the start the same way."""
    previous = {sig: signal.signal(sig, _exit_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT or SIGTERM: requests in flight are answered, each worker's engine
    closes (the hold writer drains), then the embedded Redis stops. Nothing is left running,
    and the exit status is 0."""
    with ExitStack() as stack:
        stack.enter_context(stopping_by_signal())
        if settings.embedded_redis:  # owned here; every worker finds it by the data folder
            server = embedded_redis.start(settings.data_dir)
            stack.callback(server.close)
        path = first_admin_key(settings)
        if path is not None:
            log.warning(
                "a fresh install: the first admin key is in %s (readable by its owner only)", path
            )
        stack.enter_context(metrics_folder(settings, workers))
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            log_level="info",
        )

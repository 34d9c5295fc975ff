"""The engine's heavy work on RQ workers (simulations): the queue, on the engine's Redis (on
the embedded default, the embedded Redis of the data folder, shared with `dom serve`).

A worker runs each job in a child process it forks and watches (RQ's Worker), keeping the job's
heartbeat while it runs. A job opens what it needs itself (the SQL ledger, read and written
directly), so nothing with threads is forked under it. A worker killed in the middle of a job
leaves it in RQ's started registry; once its heartbeat lapses, the next worker's maintenance
runs it again while it has retries, else records it failed: no job is lost silently.
"""

from __future__ import annotations

import redis
from rq import Queue, Worker

from dom import embedded_redis
from dom.settings import Settings

JOB_MONITORING_INTERVAL_S = 10  # how often a worker renews the heartbeat of the job in hand
# How often a worker looks for jobs whose worker died (their heartbeat lapsed: RQ gives it the
# monitoring interval and a minute), to run them again.
MAINTENANCE_INTERVAL_S = 30
WORKER_TTL_S = 45  # an idle worker wakes this often (less RQ's 15 s) to see to the above


def connection(settings: Settings) -> redis.Redis:
    """A client of the engine's Redis for RQ (which keeps bytes, not text)."""
    if settings.embedded_redis:
        socket_path = embedded_redis.socket_of(settings.data_dir)
        return redis.Redis(unix_socket_path=str(socket_path), retry=embedded_redis.CLIENT_RETRY)
    return redis.Redis.from_url(settings.redis_url)


def queue_name(settings: Settings) -> str:
    """Engines sharing a Redis server keep apart by prefix, their jobs too."""
    return f"{settings.redis_prefix}-jobs"


def queue(settings: Settings) -> Queue:
    return Queue(queue_name(settings), connection=connection(settings))


def work(settings: Settings, burst: bool = False) -> None:
    """Run jobs from the queue until stopped (Ctrl-C, SIGTERM), or until it is empty (`burst`).
    On the embedded default the data folder's Redis is shared, or started and owned here."""
    server = embedded_redis.start(settings.data_dir) if settings.embedded_redis else None
    try:
        conn = connection(settings)
        Worker(
            [Queue(queue_name(settings), connection=conn)], connection=conn,
            job_monitoring_interval=JOB_MONITORING_INTERVAL_S,
            maintenance_interval=MAINTENANCE_INTERVAL_S, worker_ttl=WORKER_TTL_S,
        ).work(burst=burst, with_scheduler=False, logging_level="INFO")  # fmt: skip
    finally:
        if server is not None:
            server.close()

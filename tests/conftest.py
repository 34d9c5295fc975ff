"""Backends for the integration tests: the embedded default and the PostgreSQL + Redis servers.

Every test gets its own SQL schema (or SQLite file) and its own Redis key prefix, so tests never
collide. Where a server is unreachable its tests are skipped with the reason, except when
DOM_REQUIRE_SERVERS=1 (CI), where that is a failure.

Property tests run under a Hypothesis profile named by HYPOTHESIS_PROFILE: `ci` (the default
when CI is set) draws the same examples on every run and keeps no example database, so a CI
result is reproducible; `dev` (the default otherwise) draws fresh examples, remembers failing
ones, and prints the `@reproduce_failure` blob of a failure. `--hypothesis-profile` overrides both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from hypothesis import settings
from sqlalchemy import create_engine, text

from inventory.availability.reader import AvailabilityReader
from inventory.ledger import Ledger
from inventory.projection.store import Projection
from inventory.sql.engine import open_engine

PG_URL = os.environ.get(
    "DOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Loaded here, before any test module is imported: a test's own @settings(...) is built when its
# module is, from the profile loaded then, and overrides only the values it names.
_BUILTIN = settings.get_profile("default")
settings.register_profile(
    "ci", _BUILTIN, derandomize=True, database=None, deadline=None, print_blob=True
)
settings.register_profile("dev", _BUILTIN, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@dataclass
class Backend:
    name: str
    ledger: Ledger
    reader: AvailabilityReader
    url: str

    @property
    def projection(self) -> Projection:
        return self.ledger.projection


def _unreachable(reason: str) -> None:
    if os.environ.get("DOM_REQUIRE_SERVERS") == "1":
        pytest.fail(f"server required in this run but unreachable: {reason}")
    pytest.skip(f"server unreachable: {reason}")


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    from dom import embedded_redis

    server = embedded_redis.start(tmp_path_factory.mktemp("redis"))
    client = server.client()
    yield client
    client.close()
    server.close()


@pytest.fixture(scope="session")
def server_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        _unreachable(f"Redis at {REDIS_URL}: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[object]:
    engine = create_engine(
        PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as error:  # any driver error means the same here: no server to test against
        _unreachable(f"PostgreSQL at {PG_URL}: {error.__class__.__name__}: {error}")
    yield engine
    engine.dispose()


def _ledger(url: str, client: redis.Redis, prefix: str) -> Ledger:
    projection = Projection(client, prefix)
    return Ledger(open_engine(url), projection)


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    if request.param == "embedded":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        client = request.getfixturevalue("embedded_redis")
        ledger = _ledger(url, client, prefix)
        yield Backend("embedded", ledger, AvailabilityReader(ledger.projection), url)
        ledger.projection.wipe()
        ledger.close()
        return
    admin = request.getfixturevalue("postgres_admin")
    client = request.getfixturevalue("server_redis")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {prefix}"))
    url = f"{PG_URL}?options=-csearch_path%3D{prefix}"
    ledger = _ledger(url, client, prefix)
    yield Backend("server", ledger, AvailabilityReader(ledger.projection), url)
    ledger.projection.wipe()
    ledger.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {prefix} CASCADE"))


CLUSTER_PASSWORD = "cluster-secret"  # the binary twin must carry credentials over


@pytest.fixture(scope="session")
def cluster_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list]:
    """A three-node Redis Cluster with a password, started for this session."""
    from tests.cluster import ClusterUnavailable, redis_cluster

    try:
        with redis_cluster(tmp_path_factory.mktemp("cluster"), CLUSTER_PASSWORD) as nodes:
            yield nodes
    except ClusterUnavailable as error:
        _unreachable(f"Redis Cluster: {error}")

"""Simulations in SQL: what was asked, by whom, where it stands, and what it found. The queue
(RQ, on Redis) runs them; SQL keeps them, so a result outlives the queue's Redis."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from inventory import from_micros

metadata = MetaData()

SIMULATION = Table(
    "dom_simulation",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("status", String(16), nullable=False),  # queued, started, finished, failed, cancelled
    Column("request", Text, nullable=False),  # JSON: rule sets, mode, how many orders
    Column("instance", Text, nullable=False),  # JSON: the `dom allocate` instance replayed
    Column("result", Text, nullable=True),  # JSON: KPIs side by side
    Column("report", Text, nullable=True),  # one self-contained HTML page
    Column("error", Text, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger, nullable=True),
    Column("finished_us", BigInteger, nullable=True),
    Index("dom_simulation_created", "created_us"),
)


# Each rule set's plan, made by its own job: workers plan a simulation's rule sets side by side.
PLAN = Table(
    "dom_simulation_plan",
    metadata,
    Column("simulation_id", String(40), primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False),  # 0: the baseline
    Column("name", String(64), nullable=False),
    Column("plan", Text, nullable=False),  # JSON, as `dom allocate` prints it
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def insert_simulation(
    conn: Connection,
    simulation_id: str,
    request: dict[str, Any],
    instance: dict[str, Any],
    by: str,
    now_us: int,
) -> None:
    conn.execute(
        insert(SIMULATION),
        {"id": simulation_id, "status": "queued", "request": orjson.dumps(request).decode(),
         "instance": orjson.dumps(instance).decode(), "created_by": by, "created_us": now_us},
    )  # fmt: skip


def mark(conn: Connection, simulation_id: str, status: str, now_us: int, **values: Any) -> bool:
    """Move a simulation on; a finished, failed or cancelled one stays as it is (False)."""
    if status == "started":
        values["started_us"] = now_us
    elif status in ("finished", "failed", "cancelled"):
        values["finished_us"] = now_us
    moved = conn.execute(
        update(SIMULATION)
        .where(
            SIMULATION.c.id == simulation_id,
            SIMULATION.c.status.in_(["queued", "started"]),
        )
        .values(status=status, **values)
    ).rowcount
    return bool(moved)


def instance_of(conn: Connection, simulation_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    row = conn.execute(
        select(SIMULATION.c.request, SIMULATION.c.instance).where(SIMULATION.c.id == simulation_id)
    ).one()
    return orjson.loads(row.request), orjson.loads(row.instance)


def view(conn: Connection, simulation_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(
            SIMULATION.c.id, SIMULATION.c.status, SIMULATION.c.request, SIMULATION.c.result,
            SIMULATION.c.error, SIMULATION.c.created_by, SIMULATION.c.created_us,
            SIMULATION.c.started_us, SIMULATION.c.finished_us,
        ).where(SIMULATION.c.id == simulation_id)
    ).first()  # fmt: skip
    if row is None:
        return None
    return {
        "id": row.id,
        "status": row.status,
        "request": orjson.loads(row.request),
        "result": orjson.loads(row.result) if row.result else None,
        "error": row.error,
        "created_by": row.created_by,
        "created_at": from_micros(row.created_us).isoformat(),
        "started_at": from_micros(row.started_us).isoformat() if row.started_us else None,
        "finished_at": from_micros(row.finished_us).isoformat() if row.finished_us else None,
    }


def keep_plan(
    conn: Connection, simulation_id: str, n: int, name: str, plan: dict[str, Any]
) -> None:
    """A rule set's plan; a job run again finds it kept and keeps the first."""
    if (
        conn.scalar(select(PLAN.c.n).where(PLAN.c.simulation_id == simulation_id, PLAN.c.n == n))
        is None
    ):
        conn.execute(insert(PLAN), {"simulation_id": simulation_id, "n": n, "name": name,
                                    "plan": orjson.dumps(plan).decode()})  # fmt: skip


def plans(conn: Connection, simulation_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(
        select(PLAN.c.name, PLAN.c.plan)
        .where(PLAN.c.simulation_id == simulation_id)
        .order_by(PLAN.c.n)
    ).all()
    return [(row.name, orjson.loads(row.plan)) for row in rows]


def planned(conn: Connection, simulation_id: str) -> int:
    """How many of its rule sets are planned."""
    return (
        conn.scalar(
            select(func.count()).select_from(PLAN).where(PLAN.c.simulation_id == simulation_id)
        )
        or 0
    )


def report(conn: Connection, simulation_id: str) -> str | None:
    return conn.scalar(select(SIMULATION.c.report).where(SIMULATION.c.id == simulation_id))

"""A simulation on an RQ worker: the recorded instance replayed under each rule set, the result
and its report written back to SQL. It opens the SQL ledger itself (settings from the
environment, as the worker was started with); its progress is in the job's meta while it runs."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from rq import get_current_job
from sqlalchemy import Engine

from dom.rulesets import RuleSets
from dom.settings import get_settings
from dom.simulation import records
from dom.simulation.compare import replay
from inventory import open_engine, reading, to_micros, transaction


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


def run(simulation_id: str) -> None:
    settings = get_settings()
    sql = open_engine(settings.sql_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        _run(sql, simulation_id)
    finally:
        sql.dispose()


def _run(sql: Engine, simulation_id: str) -> None:
    if not transaction(sql, lambda conn: records.mark(conn, simulation_id, "started", _now_us())):
        return  # cancelled before a worker took it
    job = get_current_job()

    def progress(done: float) -> None:
        if job is not None:
            job.meta["progress"] = round(min(max(done, 0.0), 1.0), 4)
            job.save_meta()

    with reading(sql) as conn:
        request, instance = records.instance_of(conn, simulation_id)
    rule_sets = RuleSets(sql)
    compared = [
        (version, rule_sets.rules(version).model_dump(mode="json", exclude={"version"}))
        for version in request["rule_sets"]
    ]
    try:
        result, report = replay(instance, compared, request["mode"], progress)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:2048]
        transaction(
            sql, lambda conn: records.mark(conn, simulation_id, "failed", _now_us(), error=message)
        )
        raise
    transaction(
        sql,
        lambda conn: records.mark(
            conn,
            simulation_id,
            "finished",
            _now_us(),
            result=orjson.dumps(result).decode(),
            report=report,
        ),
    )

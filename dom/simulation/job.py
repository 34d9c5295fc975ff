"""A simulation on RQ workers: one job plans each rule set (the baseline, then each version
compared), so that several workers plan them side by side; a last job, run once they are all
done, sums them up into the result and its report. Each job opens the SQL ledger itself
(settings from the environment the worker was started with)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from dom.rulesets import RuleSets
from dom.settings import get_settings
from dom.simulation import records
from dom.simulation.compare import plan_all, summarise
from inventory import open_engine, reading, to_micros, transaction


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


@contextmanager
def _ledger() -> Iterator[Engine]:
    settings = get_settings()
    sql = open_engine(settings.sql_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        yield sql
    finally:
        sql.dispose()


def _failing(sql: Engine, simulation_id: str, work: Callable[[], Any]) -> Any:
    """Run `work`; if it fails, the simulation is recorded failed, with why, before RQ hears."""
    try:
        return work()
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:2048]
        transaction(
            sql, lambda conn: records.mark(conn, simulation_id, "failed", _now_us(), error=message)
        )
        raise


def plan(simulation_id: str, n: int) -> None:
    """Plan the simulation's n-th rule set (0: the baseline, the instance's own rules)."""
    with _ledger() as sql:
        if not transaction(
            sql, lambda conn: records.mark(conn, simulation_id, "started", _now_us())
        ):
            return  # cancelled, or failed by another of its jobs
        with reading(sql) as conn:
            request, instance = records.instance_of(conn, simulation_id)
        if n == 0:
            name, rules = "baseline", instance["rules"]
        else:
            name = request["rule_sets"][n - 1]
            rules = RuleSets(sql).rules(name).model_dump(mode="json", exclude={"version"})
        [(_, made)] = _failing(
            sql, simulation_id, lambda: plan_all(instance, [(name, rules)], request["mode"])
        )
        transaction(sql, lambda conn: records.keep_plan(conn, simulation_id, n, name, made))


def finish(simulation_id: str) -> None:
    """Sum the plans up into the result and its report, once every rule set is planned."""
    from dom.simulation.report import page

    with _ledger() as sql:
        with reading(sql) as conn:
            request, instance = records.instance_of(conn, simulation_id)
            named = records.plans(conn, simulation_id)
        wanted = len(request["rule_sets"]) + 1
        if len(named) < wanted:
            message = f"{wanted - len(named)} of its {wanted} plans failed"
            transaction(sql, lambda conn: records.mark(conn, simulation_id, "failed", _now_us(),
                                                       error=message))  # fmt: skip
            return
        result, report = _failing(
            sql, simulation_id,
            lambda: _summed(instance, named, request["mode"], page),
        )  # fmt: skip
        transaction(
            sql,
            lambda conn: records.mark(
                conn, simulation_id, "finished", _now_us(),
                result=orjson.dumps(result).decode(), report=report,
            ),
        )  # fmt: skip


def _summed(instance: dict, named: list, mode: str, page: Callable[..., str]) -> tuple[dict, str]:
    result = summarise(instance, named, mode)
    return result, page(instance, named, result)

"""Simulations as a planner starts and follows them: one is recorded and queued at once, an RQ
worker replays it, the result and its report are kept in SQL. What the API calls."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Dependency, Job, JobStatus, Retry

from dom.rulesets import RuleSets
from dom.simulation import records, snapshot
from inventory import Ledger, reading, to_micros, transaction

JOB_TIMEOUT_S = 3_600  # one simulation's whole run
RESULT_TTL_S = 86_400  # RQ's own copy; SQL keeps the result for good
RETRIES = 1  # runs again once if its worker died under it


class UnknownSimulation(LookupError):
    """No simulation has this id."""


class SimulationConflict(Exception):
    """A simulation that cannot be cancelled any more, or whose report is not there yet."""


class Simulations:
    def __init__(self, ledger: Ledger, rule_sets: RuleSets, queue: Callable[[], Queue]) -> None:
        records.create_tables(ledger.engine)
        self.ledger = ledger
        self.rule_sets = rule_sets
        self._open_queue = queue
        self._queue: Queue | None = None

    def queue(self) -> Queue:
        """The jobs' queue, connected on first use (a process that never simulates never
        connects)."""
        if self._queue is None:
            self._queue = self._open_queue()
        return self._queue

    def close(self) -> None:
        if self._queue is not None:
            self._queue.connection.close()
            self._queue = None

    def start(
        self, orders: list[dict[str, Any]], versions: list[str], mode: str, by: str
    ) -> dict[str, Any]:
        """Record the simulation of `orders` under each of `versions` against the active
        version, on today's network and sellable stock, and queue it."""
        baseline, rules = self.rule_sets.active()
        for version in versions:
            self.rule_sets.rules(version)  # it exists and validates, or the request is refused
        request = {"rule_sets": versions, "baseline": baseline, "mode": mode,
                   "orders": len(orders)}  # fmt: skip
        instance = snapshot.instance(self.ledger, orders, rules.model_dump(mode="json"))
        simulation_id = "sim_" + secrets.token_hex(8)
        now_us = to_micros(datetime.now(UTC))
        transaction(
            self.ledger.engine,
            lambda conn: records.insert_simulation(
                conn, simulation_id, request, instance, by, now_us
            ),
        )
        queue = self.queue()
        planning = [
            queue.enqueue(
                "dom.simulation.job.plan", simulation_id, n, job_id=plan_job_id(simulation_id, n),
                job_timeout=JOB_TIMEOUT_S, result_ttl=RESULT_TTL_S, failure_ttl=RESULT_TTL_S,
                retry=Retry(max=RETRIES),
            )
            for n in range(len(versions) + 1)
        ]  # fmt: skip
        queue.enqueue(
            "dom.simulation.job.finish", simulation_id, job_id=simulation_id,
            depends_on=Dependency(jobs=planning, allow_failure=True), job_timeout=JOB_TIMEOUT_S,
            result_ttl=RESULT_TTL_S, failure_ttl=RESULT_TTL_S, retry=Retry(max=RETRIES),
        )  # fmt: skip
        return self.get(simulation_id)

    def get(self, simulation_id: str) -> dict[str, Any]:
        """Where it stands: from SQL, with the worker's progress while it runs, and the queue's
        verdict when a worker failed it without getting to say so."""
        with reading(self.ledger.engine) as conn:
            found = records.view(conn, simulation_id)
            done = records.planned(conn, simulation_id)
        if found is None:
            raise UnknownSimulation(f"no simulation {simulation_id!r}")
        steps = len(found["request"]["rule_sets"]) + 2  # each plan, then their sum
        found["progress"] = 1.0 if found["status"] == "finished" else round(done / steps, 4)
        if found["status"] in ("queued", "started"):
            self._from_queue(found)
        return found

    def _from_queue(self, found: dict[str, Any]) -> None:
        try:
            job = Job.fetch(found["id"], connection=self.queue().connection)
        except NoSuchJobError:
            found["status"], found["error"] = "failed", "lost: its queue lost the job"
            return
        if job.get_status() == JobStatus.FAILED:
            found["status"] = "failed"
            found["error"] = found["error"] or _last_line(job.latest_result())

    def cancel(self, simulation_id: str) -> dict[str, Any]:
        """Stop it: taken off the queue, or stopped on its worker."""
        now_us = to_micros(datetime.now(UTC))
        moved = transaction(
            self.ledger.engine,
            lambda conn: records.mark(conn, simulation_id, "cancelled", now_us),
        )
        if not moved:
            status = self.get(simulation_id)["status"]
            raise SimulationConflict(f"simulation {simulation_id} is {status}: nothing to cancel")
        queue = self.queue()
        wanted = len(self.get(simulation_id)["request"]["rule_sets"]) + 1
        for job_id in [plan_job_id(simulation_id, n) for n in range(wanted)] + [simulation_id]:
            try:
                job = Job.fetch(job_id, connection=queue.connection)
                if job.get_status() == JobStatus.STARTED:
                    send_stop_job_command(queue.connection, job_id)
                else:
                    job.cancel()
            except (NoSuchJobError, InvalidJobOperation):
                pass  # done between the two: SQL says cancelled, and its result is not kept
        return self.get(simulation_id)

    def instance(self, simulation_id: str) -> dict[str, Any]:
        """The `dom allocate` instance it replays (the baseline's rules in it): what a planner
        runs `dom allocate` or `dom simulate` on to see the same figures."""
        with reading(self.ledger.engine) as conn:
            if records.view(conn, simulation_id) is None:
                raise UnknownSimulation(f"no simulation {simulation_id!r}")
            return records.instance_of(conn, simulation_id)[1]

    def report(self, simulation_id: str) -> str:
        """The self-contained HTML report of a finished simulation."""
        with reading(self.ledger.engine) as conn:
            found = records.report(conn, simulation_id)
        if found is None:
            status = self.get(simulation_id)["status"]
            raise SimulationConflict(f"simulation {simulation_id} is {status}: no report yet")
        return found


def plan_job_id(simulation_id: str, n: int) -> str:
    """The job that plans a simulation's n-th rule set (0: the baseline)."""
    return f"{simulation_id}-plan-{n}"


def _last_line(result: Any) -> str:
    text = getattr(result, "exc_string", None) or "its worker failed"
    return text.strip().splitlines()[-1][:2048]

"""Experiments: live orders split between the active version (control) and another
(treatment) by a stable hash of the order id; each order's arm and cost recorded as it is
routed; the arms compared with confidence intervals; stopped in one call, keeping the winner.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dom.rulesets.errors import RuleSetConflict
from dom.rulesets.service import Choice, RuleSets, freeze, running_experiment
from dom.rulesets.stats import compare
from dom.rulesets.tables import EXPERIMENT, EXPERIMENT_ORDER
from inventory import from_micros, reading, to_micros, transaction


class UnknownExperiment(LookupError):
    """No experiment has this id."""


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


def record(
    conn: Connection, choice: Choice, order_id: str, answer: dict[str, Any], now_us: int
) -> None:
    """The arm that routed an order of a running experiment, and what the order cost, inside
    the order's transaction (a replay records nothing twice)."""
    if choice.experiment is None:
        return
    live = [s for s in answer["shipments"] if s["status"] not in ("rejected", "cancelled")]
    conn.execute(
        insert(EXPERIMENT_ORDER),
        {"experiment_id": choice.experiment, "order_id": order_id, "arm": choice.arm,
         "version": choice.version, "cost": answer["cost"], "shipments": len(live),
         "units": sum(line["quantity"] for s in live for line in s["lines"]),
         "backordered": sum(b["quantity"] for b in answer["backordered"]), "at_us": now_us},
    )  # fmt: skip


class Experiments:
    def __init__(self, rule_sets: RuleSets) -> None:
        self.rule_sets = rule_sets
        self.engine = rule_sets.engine

    def start(
        self, name: str, treatment: str, share: float, by: str, reason: str
    ) -> dict[str, Any]:
        """Split orders: `share` of them routed by `treatment`, the rest by the active version.
        The treatment must validate; it is immutable from then on, as an activated version."""
        control = self.rule_sets.active()[0]
        locations = self.rule_sets.locations()
        experiment_id = "exp_" + secrets.token_hex(8)

        def work(conn: Connection) -> None:
            if running_experiment(conn) is not None:
                raise RuleSetConflict("an experiment is running already: stop it first")
            if treatment == control:
                raise RuleSetConflict(f"{treatment} is the active version: nothing to compare")
            freeze(conn, treatment, locations)
            conn.execute(
                insert(EXPERIMENT),
                {"id": experiment_id, "name": name, "control": control, "treatment": treatment,
                 "share": share, "status": "running", "kept": None, "started_by": by,
                 "started_us": _now_us(), "stopped_by": None, "stopped_us": None,
                 "reason": reason},
            )  # fmt: skip

        transaction(self.engine, work)
        self.rule_sets.forget()
        return self.get(experiment_id)

    def stop(self, experiment_id: str, keep: str, by: str, reason: str) -> dict[str, Any]:
        """End the split and keep one arm: `treatment` activates its version (recorded as any
        activation), `control` leaves the active version as it is."""
        found = self.get(experiment_id)
        if found["status"] != "running":
            raise RuleSetConflict(f"experiment {experiment_id} is stopped already")

        def work(conn: Connection) -> bool:
            kept = found["treatment"] if keep == "treatment" else found["control"]
            return bool(conn.execute(
                update(EXPERIMENT)
                .where(EXPERIMENT.c.id == experiment_id, EXPERIMENT.c.status == "running")
                .values(status="stopped", kept=kept, stopped_by=by, stopped_us=_now_us())
            ).rowcount)  # fmt: skip

        if not transaction(self.engine, work):
            raise RuleSetConflict(f"experiment {experiment_id} is stopped already")
        self.rule_sets.forget()
        if keep == "treatment" and self.rule_sets.active()[0] != found["treatment"]:
            self.rule_sets.activate(found["treatment"], by=by, reason=f"{experiment_id}: {reason}")
        return self.get(experiment_id)

    def get(self, experiment_id: str) -> dict[str, Any]:
        """The experiment, with its arms' KPIs side by side."""
        with reading(self.engine) as conn:
            row = conn.execute(select(EXPERIMENT).where(EXPERIMENT.c.id == experiment_id)).first()
            if row is None:
                raise UnknownExperiment(f"no experiment {experiment_id!r}")
            orders = conn.execute(
                select(EXPERIMENT_ORDER).where(EXPERIMENT_ORDER.c.experiment_id == experiment_id)
            ).all()
        return _view(row, orders)

    def list(self, limit: int) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            ids = (
                conn.execute(
                    select(EXPERIMENT.c.id).order_by(EXPERIMENT.c.started_us.desc()).limit(limit)
                )
                .scalars()
                .all()
            )
        return [self.get(experiment_id) for experiment_id in ids]


def _view(row: Any, orders: list[Any]) -> dict[str, Any]:
    arms: dict[str, list[Any]] = {"control": [], "treatment": []}
    for order in orders:
        arms[order.arm].append(order)
    report = compare([o.cost for o in arms["control"]], [o.cost for o in arms["treatment"]])
    for arm, found in arms.items():
        n = len(found)
        units = sum(o.units for o in found) + sum(o.backordered for o in found)
        report[arm] |= {
            "version": row.control if arm == "control" else row.treatment,
            "shipments_per_order": sum(o.shipments for o in found) / n if n else None,
            "backorder_rate": sum(o.backordered for o in found) / units if units else None,
        }
    return {
        "id": row.id, "name": row.name, "status": row.status, "control": row.control,
        "treatment": row.treatment, "share": row.share, "kept": row.kept,
        "started_by": row.started_by, "started_at": from_micros(row.started_us).isoformat(),
        "stopped_by": row.stopped_by,
        "stopped_at": from_micros(row.stopped_us).isoformat() if row.stopped_us else None,
        "reason": row.reason, "report": report,
    }  # fmt: skip


__all__ = ["Experiments", "UnknownExperiment", "record"]

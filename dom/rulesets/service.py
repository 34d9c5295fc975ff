"""Rule-set versions in SQL: drafted, edited while drafts, activated and rolled back, each
activation recorded. What the API, the router and the command line call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select, update

from allocation.rules import Rules
from dom.rulesets.errors import InvalidRuleSet, RuleSetConflict, UnknownRuleSet
from dom.rulesets.stats import arm_of
from dom.rulesets.tables import ACTIVATION, EXPERIMENT, VERSION, create_tables
from dom.rulesets.validate import problems
from inventory import from_micros, reading, to_micros, transaction

DEFAULT_VERSION = "default"
ACTIVE_CACHE_S = 1.0  # how long a process routes by the version it last read before reading again
MAX_LISTED = 1_000


@dataclass(frozen=True, slots=True)
class Running:
    """An experiment splitting orders: its id, its arms' versions, the treatment's share."""

    id: str
    control: str
    treatment: str
    share: float


@dataclass(frozen=True, slots=True)
class Choice:
    """The version that routes an order, and the experiment arm it came from, if any."""

    version: str
    rules: Rules
    experiment: str | None = None
    arm: str | None = None


def _number(version: str) -> int | None:
    """`v<n>` -> n; None for anything else (the built-in `default` among them)."""
    if version.startswith("v") and version[1:].isdigit():
        return int(version[1:])
    return None


def _iso(us: int | None) -> str | None:
    return None if us is None else from_micros(us).isoformat()


def no_network() -> Collection[str] | None:
    return None


class RuleSets:
    def __init__(
        self, engine: Engine, locations: Callable[[], Collection[str] | None] = no_network
    ) -> None:
        """`locations` names the network's locations, which a rule set's exclusions must name."""
        self.engine = engine
        self.locations = locations
        create_tables(engine)
        self._lock = threading.Lock()
        self._active: tuple[float, str, Rules] | None = None
        self._running: tuple[float, Running | None] | None = None
        self._versions: dict[str, Rules] = {}  # activated versions never change: kept once read

    # -- what routing uses ----------------------------------------------------------------------
    def active(self) -> tuple[str, Rules]:
        """The version new routing uses, and its rules (read again every ACTIVE_CACHE_S)."""
        now = time.monotonic()
        cached = self._active
        if cached is not None and now - cached[0] < ACTIVE_CACHE_S:
            return cached[1], cached[2]
        with reading(self.engine) as conn:
            version = _active_version(conn)
            rules = self._rules(conn, version)
        with self._lock:
            self._active = (now, version, rules)
        return version, rules

    def for_order(self, order_id: str) -> Choice:
        """The version that routes `order_id`: the active one, or, while an experiment runs,
        its arm's (a stable split by order id)."""
        running = self.running()
        if running is None:
            version, rules = self.active()
            return Choice(version, rules)
        arm = arm_of(order_id, running.id, running.share)
        version = running.treatment if arm == "treatment" else running.control
        rules = self._versions.get(version)
        if rules is None:
            rules = self._versions.setdefault(version, self.rules(version))
        return Choice(version, rules, running.id, arm)

    def running(self) -> Running | None:
        """The experiment that splits orders now, if one does (read again every
        ACTIVE_CACHE_S)."""
        now = time.monotonic()
        cached = self._running
        if cached is not None and now - cached[0] < ACTIVE_CACHE_S:
            return cached[1]
        with reading(self.engine) as conn:
            row = conn.execute(
                select(EXPERIMENT.c.id, EXPERIMENT.c.control, EXPERIMENT.c.treatment,
                       EXPERIMENT.c.share).where(EXPERIMENT.c.status == "running")
            ).first()  # fmt: skip
        found = None if row is None else Running(row.id, row.control, row.treatment, row.share)
        with self._lock:
            self._running = (now, found)
        return found

    def rules(self, version: str) -> Rules:
        """A version's rules, validated (a draft that does not validate is refused, with why)."""
        with reading(self.engine) as conn:
            return self._rules(conn, version)

    def _rules(self, conn: Connection, version: str) -> Rules:
        if version == DEFAULT_VERSION:
            return Rules(version=DEFAULT_VERSION)
        row = version_row(conn, version)
        found = problems(orjson.loads(row.body))
        if found:
            raise InvalidRuleSet(version, found)
        return Rules.model_validate_json(row.body).model_copy(update={"version": version})

    # -- drafts ---------------------------------------------------------------------------------
    def create(
        self,
        document: dict[str, Any] | None,
        *,
        name: str,
        note: str = "",
        based_on: str | None = None,
        by: str,
    ) -> dict[str, Any]:
        """A new draft: `document`, or a copy of `based_on`'s rules when no document is given."""

        def work(conn: Connection) -> int:
            body = document
            if body is None:
                if based_on is None:
                    raise InvalidRuleSet(None, [], "a draft gives its rules or a version to copy")
                body = self._document(conn, based_on)
            elif based_on is not None:
                self._document(conn, based_on)  # it must exist
            n = (conn.scalar(select(func.max(VERSION.c.n))) or 0) + 1
            now_us = _now_us()
            conn.execute(
                insert(VERSION),
                {"n": n, "name": name, "body": orjson.dumps(_unversioned(body)).decode(),
                 "based_on": based_on, "note": note, "created_by": by, "created_us": now_us,
                 "updated_us": now_us, "first_activated_us": None},
            )  # fmt: skip
            return n

        return self.get(f"v{transaction(self.engine, work)}")

    def update(
        self,
        version: str,
        document: dict[str, Any],
        *,
        name: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Change a draft; a version that has been activated is immutable."""

        def work(conn: Connection) -> None:
            row = version_row(conn, version, lock=True)
            if row.first_activated_us is not None:
                raise RuleSetConflict(
                    f"{version} is immutable: it was activated at {_iso(row.first_activated_us)}; "
                    "draft a new version from it instead"
                )
            values: dict[str, Any] = {
                "body": orjson.dumps(_unversioned(document)).decode(),
                "updated_us": _now_us(),
            }
            if name is not None:
                values["name"] = name
            if note is not None:
                values["note"] = note
            conn.execute(update(VERSION).where(VERSION.c.n == row.n).values(**values))

        transaction(self.engine, work)
        return self.get(version)

    def _document(self, conn: Connection, version: str) -> dict[str, Any]:
        if version == DEFAULT_VERSION:
            return _unversioned(Rules().model_dump(mode="json"))
        return orjson.loads(version_row(conn, version).body)

    # -- activation -----------------------------------------------------------------------------
    def activate(self, version: str, *, by: str, reason: str) -> dict[str, Any]:
        """Make `version` the one routing uses, atomically, recorded with who and why. It must
        validate, against the network too."""
        locations = self.locations()

        def work(conn: Connection) -> None:
            current = _active_version(conn, lock=True)
            running = running_experiment(conn)
            if running is not None:
                raise RuleSetConflict(
                    f"experiment {running} is running: stop it, keeping the version wanted"
                )
            if version == current:
                raise RuleSetConflict(f"{version} is the active version already")
            freeze(conn, version, locations)
            conn.execute(
                insert(ACTIVATION),
                {"version": version, "previous": current, "by": by, "reason": reason,
                 "at_us": _now_us()},
            )  # fmt: skip

        transaction(self.engine, work)
        self.forget()
        return self.get(version)

    def rollback(self, *, by: str, reason: str) -> dict[str, Any]:
        """Re-activate the version routing used before the active one."""
        with reading(self.engine) as conn:
            last = conn.execute(
                select(ACTIVATION.c.previous).order_by(ACTIVATION.c.seq.desc()).limit(1)
            ).first()
        if last is None:
            raise RuleSetConflict("nothing to roll back: no version has been activated")
        return self.activate(last.previous, by=by, reason=reason)

    def forget(self) -> None:
        with self._lock:
            self._active = None
            self._running = None

    # -- reads ----------------------------------------------------------------------------------
    def get(self, version: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            active = _active_version(conn)
            if version == DEFAULT_VERSION:
                return _default_view(active)
            return _view(version_row(conn, version), active)

    def list(self, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
        """Every version, newest first, the built-in default last."""
        with reading(self.engine) as conn:
            active = _active_version(conn)
            rows = conn.execute(select(VERSION).order_by(VERSION.c.n.desc()).limit(limit)).all()
        return [_view(row, active) for row in rows] + [_default_view(active)]

    def activations(self, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
        """Every activation, newest first: which version, instead of which, who, when, why."""
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(ACTIVATION).order_by(ACTIVATION.c.seq.desc()).limit(limit)
            ).all()
        return [
            {"version": r.version, "previous": r.previous, "by": r.by, "reason": r.reason,
             "at": _iso(r.at_us)}
            for r in rows
        ]  # fmt: skip

    def check(self, version: str) -> list[dict[str, str]]:
        """A stored version's problems, each with its field (none: it validates)."""
        with reading(self.engine) as conn:
            document = self._document(conn, version)
        return self.check_document(document)

    def check_document(self, document: Any) -> list[dict[str, str]]:
        """A rules document's problems, each with its field, against the network too."""
        found = problems(document, self.locations())
        return [{"field": p.field, "message": p.message} for p in found]


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


def _unversioned(document: dict[str, Any]) -> dict[str, Any]:
    """The version is the engine's to give: a document's own `version` is not kept."""
    return {k: v for k, v in document.items() if k != "version"}


def _active_version(conn: Connection, lock: bool = False) -> str:
    query = select(ACTIVATION.c.version).order_by(ACTIVATION.c.seq.desc()).limit(1)
    if lock and conn.dialect.name == "postgresql":
        # activations are serialised on the newest one: two at once cannot both name it previous
        conn.execute(select(func.pg_advisory_xact_lock(0x52554C45)))
    found = conn.execute(query).first()
    return DEFAULT_VERSION if found is None else found.version


def running_experiment(conn: Connection) -> str | None:
    """The id of the experiment that splits orders now, if one does."""
    return conn.scalar(select(EXPERIMENT.c.id).where(EXPERIMENT.c.status == "running"))


def freeze(conn: Connection, version: str, locations: Collection[str] | None) -> None:
    """Check that `version` validates (against the network's `locations` too) and make it
    immutable from now on: it is about to route orders. The built-in default always is."""
    if version == DEFAULT_VERSION:
        return
    row = version_row(conn, version, lock=True)
    found = problems(orjson.loads(row.body), locations)
    if found:
        raise InvalidRuleSet(version, found)
    if row.first_activated_us is None:
        conn.execute(
            update(VERSION).where(VERSION.c.n == row.n).values(first_activated_us=_now_us())
        )


def version_row(conn: Connection, version: str, lock: bool = False) -> Any:
    n = _number(version)
    query = select(VERSION).where(VERSION.c.n == (n if n is not None else -1))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise UnknownRuleSet(f"no rule set {version!r}")
    return row


def _view(row: Any, active: str) -> dict[str, Any]:
    version = f"v{row.n}"
    return {
        "version": version,
        "name": row.name,
        "status": _status(version, row.first_activated_us, active),
        "rules": orjson.loads(row.body),
        "based_on": row.based_on,
        "note": row.note,
        "created_by": row.created_by,
        "created_at": _iso(row.created_us),
        "updated_at": _iso(row.updated_us),
        "first_activated_at": _iso(row.first_activated_us),
    }


def _default_view(active: str) -> dict[str, Any]:
    return {
        "version": DEFAULT_VERSION,
        "name": "the default cost model",
        "status": "active" if active == DEFAULT_VERSION else "retired",
        "rules": _unversioned(Rules().model_dump(mode="json")),
        "based_on": None,
        "note": "built in: DESIGN.md's default cost model",
        "created_by": "engine",
        "created_at": None,
        "updated_at": None,
        "first_activated_at": None,
    }


def _status(version: str, first_activated_us: int | None, active: str) -> str:
    if version == active:
        return "active"
    return "draft" if first_activated_us is None else "retired"

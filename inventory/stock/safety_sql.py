"""Safety stock rules in SQL: replacing them, and every position's buffer following at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, delete, select, update

from inventory.domain.projected import Projected
from inventory.sql.schema import LocationRow, PositionRow, SafetyRuleRow
from inventory.stock.safety import SafetyBook, SafetyRule

RULES_LOCK = 0x646F_6D01  # PostgreSQL advisory lock key of the safety rules ("dom" 1)
POS = PositionRow.__table__
LOC = LocationRow.__table__
SAFETY = SafetyRuleRow.__table__


def lock_rules(conn: Connection, exclusive: bool) -> None:
    """Hold the rules still until the transaction ends: shared while a batch creates positions
    from them, exclusive while they are replaced. Otherwise a replacement committing between a
    batch's read of the rules and its insert would leave the new positions the old safety stock,
    since the replacement re-derives only the positions it can see. SQLite has one writer."""
    if conn.dialect.name == "postgresql":
        how = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.exec_driver_sql(f"SELECT {how}({RULES_LOCK})")


def replace_rules(
    conn: Connection, rules: Iterable[SafetyRule]
) -> dict[tuple[str, str], Projected]:
    """Replace every safety rule and re-derive each position's safety; returns the changed positions.

    Rare and planner-driven, so it walks all positions in the caller's transaction.
    """
    lock_rules(conn, exclusive=True)
    rules = list(rules)
    conn.execute(delete(SAFETY))
    if rules:
        conn.execute(
            SAFETY.insert(),
            [
                {
                    "units": r.units,
                    "location_type": r.location_type,
                    "location": r.location,
                    "sku": r.sku,
                }
                for r in rules
            ],
        )
    book = SafetyBook(rules)
    types = {r.id: r.type for r in conn.execute(select(LOC.c.id, LOC.c.type))}
    changed: dict[tuple[str, str], Projected] = {}
    updates = []
    for row in conn.execute(select(POS).order_by(POS.c.location, POS.c.sku).with_for_update()):
        units = book.units(row.location, types.get(row.location, ""), row.sku)
        if units != row.safety:
            version = row.version + 1
            updates.append(
                {"k_location": row.location, "k_sku": row.sku, "safety": units, "version": version}
            )
            changed[(row.location, row.sku)] = Projected.of(
                version, row.on_hand, row.reserved, units, row.reported_us
            )
    if updates:
        conn.execute(
            update(POS)
            .where(POS.c.location == bindparam("k_location"), POS.c.sku == bindparam("k_sku"))
            .values(safety=bindparam("safety"), version=bindparam("version")),
            updates,
        )
    return changed


def load_rules(conn: Connection) -> list[SafetyRule]:
    rows = conn.execute(select(SAFETY).order_by(SAFETY.c.id))
    return [SafetyRule(r.units, r.location_type, r.location, r.sku) for r in rows]

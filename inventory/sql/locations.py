"""Locations: validated input, and their rows in the SQL ledger."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from inventory.availability.network import location_from_dict, location_to_dict
from inventory.domain.model import Capability, Location, LocationType
from inventory.domain.text import PRINTABLE_OR_EMPTY
from inventory.sql.schema import LocationRow

LOC = LocationRow.__table__
MAX_LOCATIONS_PER_CALL = 10_000
SLOTS_SQL = "SELECT id, slot FROM location"  # plain, for a driver cursor outside transactions


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
    ]
    type: LocationType
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capabilities: set[Capability] = Field(default_factory=set)
    capacity_per_day: int = Field(default=1_000_000, ge=0, le=100_000_000)
    lead_time_hours: float = Field(default=24.0, ge=0, le=24 * 90)
    transfer_days: float = Field(default=2.0, ge=0, le=90)
    active: bool = True
    region: Annotated[str, StringConstraints(max_length=64, pattern=PRINTABLE_OR_EMPTY)] = ""

    def to_location(self) -> Location:
        return Location(
            id=self.id, type=self.type, lat=self.lat, lon=self.lon,
            capabilities=frozenset(self.capabilities), capacity_per_day=self.capacity_per_day,
            lead_time_hours=self.lead_time_hours, transfer_days=self.transfer_days,
            active=self.active, region=self.region,
        )  # fmt: skip


def _row(location: Location) -> dict:
    return {
        **location_to_dict(location),
        "capabilities": ",".join(sorted(c.value for c in location.capabilities)),
    }


def upsert(conn: Connection, locations: Iterable[Location]) -> int:
    """Insert or update locations. New ones take the next free slots; writers of locations take
    turns (SQLite's write lock, a table lock on PostgreSQL) so two never give the same slot."""
    rows = [_row(loc) for loc in locations]
    if len(rows) > MAX_LOCATIONS_PER_CALL:
        raise ValueError(f"at most {MAX_LOCATIONS_PER_CALL} locations per call, got {len(rows)}")
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE location IN SHARE ROW EXCLUSIVE MODE"))
    wanted = select(LOC.c.id, LOC.c.slot).where(LOC.c.id.in_([r["id"] for r in rows]))
    given: dict[str, int] = {loc: slot for loc, slot in conn.execute(wanted)}
    free = conn.scalar(select(func.coalesce(func.max(LOC.c.slot), -1))) + 1
    for row in rows:  # a new location takes the next free slot; a known one keeps its own
        row["slot"] = given.get(row["id"])
        if row["slot"] is None:
            row["slot"], free = free, free + 1
            given[row["id"]] = row["slot"]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(LOC)
    columns = {c: statement.excluded[c] for c in rows[0] if c not in ("id", "slot")}
    conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=columns), rows)
    return len(rows)


def load(conn: Connection) -> list[Location]:
    rows = conn.execute(select(LOC).order_by(LOC.c.id)).mappings()
    return [
        location_from_dict({**r, "capabilities": [c for c in r["capabilities"].split(",") if c]})
        for r in rows
    ]

"""Tables the command line and the demo print: one rendering per kind of answer."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Table

from inventory import SkuAvailability


def explanation_table(answer: SkuAvailability, limit: int | None = None) -> Table:
    """Each location's part in an availability answer, and why a location adds nothing."""
    table = Table(
        "location",
        "type",
        "on hand",
        "reserved",
        "safety",
        "held by fenced channels",
        "fenced",
        "counted",
        "last report",
        "excluded because",
    )
    for c in answer.contributions[:limit]:
        reported = (
            datetime.fromtimestamp(c.reported_s, UTC).isoformat(timespec="minutes")
            if c.reported_s
            else "-"
        )
        held = ", ".join(f"{channel} {units}" for channel, units in sorted(c.by_channel.items()))
        cells = (c.on_hand, c.reserved, c.safety)
        table.add_row(
            c.location, c.type, *map(str, cells), held or "-", str(c.fenced), str(c.counted),
            reported, c.excluded,
        )  # fmt: skip
    return table

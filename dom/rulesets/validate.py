"""Every problem of a rules document, each with its field: what a planner's editor shows beside
the fields, and why an activation is refused. Pure: the caller gives the network's locations.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from allocation.rules import Rules


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # dotted path into the document ("exclusions.0.location"); "" for the whole
    message: str


def _path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def problems(document: Any, locations: Collection[str] | None = None) -> list[Problem]:
    """The document's problems: its shape and values (as the allocation core reads them), then
    what it names that the network does not have. None: it is a valid rule set."""
    if not isinstance(document, dict):
        return [Problem("", "a rule set is a JSON object")]
    found: list[Problem] = []
    try:
        Rules.model_validate(document)
    except ValidationError as error:
        found += [
            Problem(_path(e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in error.errors(include_url=False)
        ]
    if locations is not None:
        found += _unknown_locations(document, set(locations))
    return found


def _unknown_locations(document: dict[str, Any], known: set[str]) -> list[Problem]:
    """Exclusions that name a location the network does not have (a typo excludes nothing)."""
    exclusions = document.get("exclusions")
    if not isinstance(exclusions, list):
        return []
    return [
        Problem(f"exclusions.{n}.location", f"no location {item['location']!r}")
        for n, item in enumerate(exclusions)
        if isinstance(item, dict)
        and isinstance(item.get("location"), str)
        and item["location"] not in known
    ]

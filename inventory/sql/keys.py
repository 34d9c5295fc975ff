"""A condition for rows among (location, sku) keys that the primary key answers on both
dialects. SQLite scans a whole table for a row-value IN list (`(location, sku) IN (VALUES
...)`, what SQLAlchemy's `tuple_(...).in_(...)` renders), however few the keys; for an OR of
equalities it searches the primary key once per key (its multi-index OR), as PostgreSQL does
(a bitmap OR)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import and_, false, or_

Key = tuple[str, str]
KEYS_PER_SELECT = 400  # within SQLite's oldest parameter limit, and its expression depth


def among(location: Any, sku: Any, keys: Sequence[Key]) -> Any:
    """`(location, sku)` is one of `keys` (at most KEYS_PER_SELECT: see `chunks`)."""
    if not keys:
        return false()
    return or_(*(and_(location == loc, sku == item) for loc, item in keys))


def chunks(keys: Iterable[Key], size: int = KEYS_PER_SELECT) -> Iterator[list[Key]]:
    """`keys` in runs a statement takes."""
    run: list[Key] = []
    for key in keys:
        run.append(key)
        if len(run) == size:
            yield run
            run = []
    if run:
        yield run

"""What checkout asks of the engine: availability of a SKU or a cart, and cart holds.

Thin over the ledger's reader and reservations; what it adds is the cart's view (each line with
its own quantity, and when the whole cart can be met) and a refused hold told apart: input the
engine cannot read (an unknown pickup store) from stock that is not there. Reads are async (the
API answers them on its event loop); holds block (the API runs them on its thread pool).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from inventory import (
    AsyncAvailabilityReader,
    HoldOutcome,
    HoldRequest,
    HoldStatus,
    InvalidQuery,
    Query,
    Reservations,
    SkuAvailability,
)

_LINE = re.compile(r"^line (\d+): ")


@dataclass(frozen=True, slots=True)
class Cart:
    lines: list[SkuAvailability]

    @property
    def complete(self) -> bool:
        return all(line.promise is not None and line.promise.at is not None for line in self.lines)

    @property
    def promise_at(self) -> datetime | None:
        """When the whole cart can be met: its slowest line's promise."""
        if not self.complete:
            return None
        return max(line.promise.at for line in self.lines)  # type: ignore[union-attr, type-var]


class HoldRefused(Exception):
    """Not enough stock for a line: `lines` names the request's lines that are short."""

    def __init__(self, reason: str, lines: list[int]) -> None:
        super().__init__(reason)
        self.lines = lines


async def availability(reader: AsyncAvailabilityReader, sku: str, query: Query) -> SkuAvailability:
    return (await reader.check([sku], query))[0]


async def cart(
    reader: AsyncAvailabilityReader, lines: Sequence[tuple[str, int]], query: Query
) -> Cart:
    quantities = dict(lines)
    return Cart(await reader.check(list(quantities), query, quantities=quantities))


async def explain(reader: AsyncAvailabilityReader, sku: str, query: Query) -> SkuAvailability:
    return await reader.explain(sku, query)


def hold(reservations: Reservations, request: HoldRequest) -> HoldOutcome:
    """Hold every line or none; a refusal raises: InvalidQuery for input naming what the
    network does not have, HoldRefused for stock that is not there."""
    outcome = reservations.hold(request)
    if outcome.status is not HoldStatus.refused:
        return outcome
    match = _LINE.match(outcome.reason)
    if match is None or "unknown location" in outcome.reason:
        raise InvalidQuery(outcome.reason)
    raise HoldRefused(outcome.reason, [int(match.group(1))])

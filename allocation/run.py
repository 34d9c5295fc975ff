"""The one entry point the CLI, the API, workers and benchmarks call: plain data in, a plan out."""

from __future__ import annotations

from typing import Any, Literal

from allocation.batch import allocate_batch
from allocation.instance import Instance
from allocation.online import allocate_online
from allocation.returns import route_returns
from allocation.validate import parse_instance

Mode = Literal["online", "batch"]
DEFAULT_BATCH_TIME_LIMIT_S = 60.0


def allocate(
    data: dict[str, Any] | Instance, mode: Mode = "online", time_limit_s: float | None = None
) -> dict[str, Any]:
    """Validate an instance and plan it; raises `InvalidInstance` with every problem found."""
    instance = parse_instance(data)
    if mode == "online":
        plan = allocate_online(instance)
    elif mode == "batch":
        plan = allocate_batch(instance, time_limit_s or DEFAULT_BATCH_TIME_LIMIT_S)
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'online' or 'batch'")
    if instance.returns:
        plan["returns"] = route_returns(instance)
    return plan

"""The arithmetic of an experiment, pure: which arm an order falls in, and what the arms' costs
say: means with 95 % confidence intervals, their difference (Welch), and how many orders each
arm needs before a difference of that size can be told from noise (two-sided 5 %, power 80 %).
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

Z_CONFIDENCE = 1.959964  # two-sided 95 %
Z_POWER = 0.841621  # 80 %
BUCKETS = 10_000


def arm_of(order_id: str, experiment_id: str, share: float) -> str:
    """`treatment` for a stable `share` of order ids, else `control`: the same order id lands in
    the same arm on every process, and another experiment draws its own split."""
    digest = hashlib.sha256(f"{experiment_id}:{order_id}".encode()).digest()
    return (
        "treatment" if int.from_bytes(digest[:8], "big") % BUCKETS < share * BUCKETS else "control"
    )


@dataclass(frozen=True, slots=True)
class Summary:
    orders: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None


def summarise(values: Sequence[float]) -> Summary:
    n = len(values)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = statistics.stdev(values)
    half = Z_CONFIDENCE * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)


def compare(control: Sequence[float], treatment: Sequence[float]) -> dict[str, Any]:
    """Treatment less control, with its 95 % interval, and the orders each arm needs."""
    a, b = summarise(control), summarise(treatment)
    out: dict[str, Any] = {"control": asdict(a), "treatment": asdict(b), "difference": None,
                           "ci_low": None, "ci_high": None, "orders_needed_per_arm": None}  # fmt: skip
    if a.mean is None or b.mean is None:
        return out
    out["difference"] = b.mean - a.mean
    if a.sd is None or b.sd is None:
        return out
    half = Z_CONFIDENCE * math.sqrt(a.sd**2 / a.orders + b.sd**2 / b.orders)
    out["ci_low"], out["ci_high"] = out["difference"] - half, out["difference"] + half
    pooled = (a.sd**2 + b.sd**2) / 2
    delta = abs(out["difference"])
    if delta > 0:
        out["orders_needed_per_arm"] = math.ceil(
            2 * (Z_CONFIDENCE + Z_POWER) ** 2 * pooled / delta**2
        )
    return out

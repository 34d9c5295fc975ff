"""When a failed webhook delivery is tried again: exponential backoff with jitter.

The n-th failure in a row waits FIRST_RETRY_S x 2^(n-1), capped at MAX_RETRY_S, less up to a
quarter at random: an endpoint that was down is not hit by every subscription at the same
instant when it comes back, and no wait is ever longer than the cap. A subscription is retried
for as long as it exists: its events wait in order behind the one that fails (DELETE it to stop).
Pure.
"""

from __future__ import annotations

import random

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 300.0
JITTER = 0.25  # the share of a wait taken off at random
_MAX_DOUBLINGS = 32  # 2^32 s is far past the cap already; keeps the power small


def nominal_delay_s(failures: int) -> float:
    """The wait after `failures` failures in a row, before jitter."""
    if failures < 1:
        raise ValueError("a retry follows at least one failure")
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** min(failures - 1, _MAX_DOUBLINGS))


def retry_delay_s(failures: int, rng: random.Random) -> float:
    """The wait after `failures` failures in a row: between 3/4 of the nominal wait and all of it."""
    nominal = nominal_delay_s(failures)
    return nominal - nominal * JITTER * rng.random()

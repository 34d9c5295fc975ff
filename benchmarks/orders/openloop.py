"""An open-loop load: requests started at a constant rate whatever the server does, each
latency measured from when it was due, not from when it was sent, so a server that falls behind
shows its queue in the figures instead of slowing the load down (coordinated omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np

MAX_IN_FLIGHT = 512  # connections the client may hold open at once


@dataclass
class Run:
    due_s: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    wall_s: float = 0.0

    def summary(self) -> dict:
        lat = np.array(self.latency_ms) if self.latency_ms else np.zeros(1)
        done = len(self.latency_ms)
        return {
            "requests": done, "errors": self.errors, "statuses": self.statuses,
            "per_s": round(done / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(lat.max()), 2),
        }  # fmt: skip


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


async def _load(
    url: str,
    key: str,
    rate_per_s: float,
    count: int,
    request: Callable[[httpx.AsyncClient, int], asyncio.Future | object],
    ok: set[int],
) -> Run:
    run = Run()
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:
        start = time.perf_counter()

        async def one(n: int) -> None:
            due = start + n / rate_per_s
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                answer = await request(c, n)  # type: ignore[misc]
                status = answer.status_code
            except httpx.HTTPError:
                run.errors += 1
                return
            run.latency_ms.append((time.perf_counter() - due) * 1000)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if status not in ok:
                run.errors += 1

        await asyncio.gather(*(one(n) for n in range(count)))
        run.wall_s = time.perf_counter() - start
    return run


def load(
    url: str,
    key: str,
    rate_per_s: float,
    count: int,
    request: Callable[[httpx.AsyncClient, int], object],
    ok: set[int],
) -> Run:
    """`count` requests at `rate_per_s`, `request(client, n)` making the n-th."""
    return asyncio.run(_load(url, key, rate_per_s, count, request, ok))

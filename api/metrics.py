"""Prometheus metrics: request latency by route, events by verdict, holds by outcome, projection
lag, hold group sizes. With several API processes (`dom serve --workers N`) each writes to
PROMETHEUS_MULTIPROC_DIR, and a scrape of any one adds them all up."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from inventory import BatchResult, HoldOutcome

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

REQUESTS = Histogram(
    "dom_http_request_duration_seconds", "Time to answer a request, by route",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS_S,
)  # fmt: skip
EVENTS = Counter("dom_stock_events_total", "Stock events received, by verdict", ["verdict"])
HOLDS = Counter("dom_holds_total", "Hold requests answered, by outcome", ["outcome"])
PROJECTION_LAG = Histogram(
    "dom_projection_lag_seconds", "From a batch's SQL commit to its projection in Redis",
    buckets=LATENCY_BUCKETS_S,
)  # fmt: skip
GROUP_SIZES = Histogram(
    "dom_hold_group_size", "Holds decided together in one transaction", buckets=GROUP_BUCKETS
)


def observe_verdicts(summary: dict[str, int]) -> None:
    for verdict, count in summary.items():
        if count:
            EVENTS.labels(verdict).inc(count)


def observe_batch(result: BatchResult) -> None:
    observe_verdicts(result.summary())
    if result.projected_s and result.committed_s:
        PROJECTION_LAG.observe(max(0.0, result.projected_s - result.committed_s))


def observe_hold(outcome: HoldOutcome | str) -> None:
    HOLDS.labels(outcome if isinstance(outcome, str) else outcome.status.value).inc()


def exposition() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestTimer:
    """ASGI middleware: each request's time, labelled by its route's template (never its path,
    whose SKUs and ids would make a label per value)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sent(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status[0])).observe(
                time.perf_counter() - started
            )

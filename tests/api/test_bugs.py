"""A bug in a route is answered with the 500 problem, and the client reads it: served by uvicorn
as `dom serve` serves (uvloop, httptools), on an app with the API's error handling and a route that
fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api import problems
from tests.api.served import free_port

REQUESTS = 50


def failing_app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/fails")
    def fails(body: dict) -> dict:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        failing_app(), port=port, loop="uvloop", http="httptools", log_level="critical"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_bug_is_answered_with_the_500_problem_and_the_connection_stays_open(url: str) -> None:
    statuses = []
    with httpx.Client(base_url=url) as client:
        for _ in range(REQUESTS):  # one keep-alive connection, closed under none of them
            answer = client.post("/fails", json={"padding": "x" * 1000})
            statuses.append((answer.status_code, answer.headers["content-type"]))
            assert answer.headers.get("connection") != "close"
    assert set(statuses) == {(500, problems.MEDIA_TYPE)}

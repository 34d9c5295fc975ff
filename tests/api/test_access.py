"""Who may call what: every route the app serves, against every scope, on a real server.

The table is built from the app's own routes (and the scopes their dependencies demand), so a
route added tomorrow is in it, and fails it if it forgot to ask for a key. Only the routes in
PUBLIC answer without one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from dom.keys import SCOPES, grants
from dom.settings import Settings
from tests.api.served import Served, serve

PROBLEM = "application/problem+json"
# Open on purpose. The probes: an orchestrator asks them without a key. The API's description
# (the OpenAPI document and the two pages that render it): it holds no data, only what this
# open-source code says anyway, and a client reads it before it has a key.
DESCRIPTION = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_ASSETS = (
    "/static-offline-docs/{path}"  # the Swagger UI and ReDoc scripts /docs and /redoc load
)
PUBLIC = frozenset({"/healthz", "/readyz"}) | DESCRIPTION
# Fits every path parameter's pattern (SKUs, locations, client ids, key ids `k_<hex>`) and names
# nothing that exists: access is decided before the route looks anything up.
SOME_ID = "k_0"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scopes: frozenset[str]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", SOME_ID, self.path)


def _scopes(dependant: Any) -> frozenset[str]:
    own = frozenset(dependant.own_oauth_scopes or ())
    return own.union(*(_scopes(sub) for sub in dependant.dependencies))


def app_routes() -> list[Route]:
    """Every method of every route the app serves (HEAD aside: it is GET's), with its scopes."""
    routes = []
    for context in iter_route_contexts(create_app(Settings()).routes):
        if context.methods is None:  # a mount: only the docs' own assets may be one
            assert context.path_format == DOCS_ASSETS, (
                f"an unguarded mount at {context.path_format}"
            )
            continue
        dependant = getattr(context, "dependant", None)  # the framework's docs routes have none
        scopes = _scopes(dependant) if dependant is not None else frozenset()
        path = context.path_format  # as documented: `{id}` for `{id:path}`
        routes += [Route(m, path, scopes) for m in sorted(context.methods) if m != "HEAD"]
    return routes


ROUTES = app_routes()
GUARDED = [route for route in ROUTES if route.path not in PUBLIC]


@pytest.fixture(scope="module")
def admin(api: Served) -> httpx.Client:
    return api.admin()


@pytest.fixture(scope="module")
def anonymous(api: Served) -> httpx.Client:
    return api.client()


@pytest.fixture(scope="module")
def one_scope_clients(api: Served) -> dict[str, httpx.Client]:
    """A client for each scope, whose key holds that scope alone."""
    return {scope: api.client(api.key(scope, name=f"only {scope}")) for scope in SCOPES}


def call(client: httpx.Client, route: Route) -> httpx.Response:
    """The route with no body: access is decided before a body is read."""
    return client.request(route.method, route.url)


def assert_problem(answer: httpx.Response, status: int) -> None:
    where = f"{answer.request.method} {answer.request.url.path}"
    assert answer.status_code == status, f"{where}: {answer.status_code} {answer.text}"
    assert answer.headers["content-type"] == PROBLEM, where
    body = answer.json()
    assert body["status"] == status and body["type"].startswith("urn:dom:problem:"), body
    assert body["title"] and body["detail"], body


def assert_admitted(answer: httpx.Response) -> None:
    """Past the gate: whatever the route then says of an empty body, it is no refusal of the
    key, no failure, and an error is a problem too."""
    where = f"{answer.request.method} {answer.request.url.path}"
    assert answer.status_code not in (401, 403, 429), f"{where}: {answer.text}"
    assert answer.status_code < 500, f"{where}: {answer.text}"
    if answer.status_code >= 400:
        assert_problem(answer, answer.status_code)


def test_every_route_but_the_public_ones_needs_exactly_one_known_scope() -> None:
    assert GUARDED, "no route found: the table would test nothing"
    for route in GUARDED:
        assert len(route.scopes) == 1 and route.scopes <= set(SCOPES), str(route)
    assert all(not route.scopes for route in ROUTES if route.path in PUBLIC)


def test_the_running_server_documents_the_routes_and_scopes_of_the_table(
    anonymous: httpx.Client,
) -> None:
    document = anonymous.get("/openapi.json").json()
    documented = {
        (method.upper(), path): frozenset(
            scope for need in operation.get("security", []) for scope in need.get("HTTPBearer", [])
        )
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    table = {(r.method, r.path): r.scopes for r in ROUTES if r.path not in DESCRIPTION}
    assert documented == table


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_a_call_without_a_key_is_unauthorised(anonymous: httpx.Client, route: Route) -> None:
    answer = call(anonymous, route)
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_a_call_with_a_key_nobody_made_is_unauthorised(
    anonymous: httpx.Client, route: Route
) -> None:
    headers = {"Authorization": "Bearer dom_not-a-key-anyone-made"}
    assert_problem(anonymous.request(route.method, route.url, headers=headers), 401)


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_a_revoked_key_is_refused_from_its_very_next_call(
    api: Served, admin: httpx.Client, route: Route
) -> None:
    secret, key_id = api.key_and_id(*route.scopes, name="revoked soon")
    client = api.client(secret)
    assert_admitted(call(client, route))  # the key is known, and kept, by the server now
    revoked = admin.delete(f"/v1/admin/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"], revoked.text
    assert_problem(call(client, route), 401)


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_a_key_with_every_scope_but_the_one_a_route_needs_is_forbidden(
    api: Served, route: Route
) -> None:
    others = [scope for scope in SCOPES if not route.scopes & grants(scope)]
    assert_problem(call(api.client(api.key(*others, name="all but one")), route), 403)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_a_key_may_call_the_routes_of_its_scope_and_admin_may_call_them_all(
    one_scope_clients: dict[str, httpx.Client], route: Route, scope: str
) -> None:
    answer = call(one_scope_clients[scope], route)
    if route.scopes & grants(scope):  # its own, or a scope it implies (a writer reads)
        assert_admitted(answer)
    else:
        assert_problem(answer, 403)
        assert all(needed in answer.json()["detail"] for needed in route.scopes)  # it says which


def test_a_key_past_its_rate_is_told_when_to_come_back_and_is_admitted_then(
    api: Served,
) -> None:
    limited = api.client(api.key("availability:read", name="five a second", rate_per_s=5))
    other = api.client(api.key("availability:read", name="unhurried"))
    answers = [limited.get("/v1/locations") for _ in range(12)]  # two windows at most: 10 pass
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(refused) >= 2, [answer.status_code for answer in answers]
    assert {answer.status_code for answer in answers} == {200, 429}
    assert_problem(refused[-1], 429)
    wait_s = int(refused[-1].headers["retry-after"])  # whole seconds, as RFC 9110 has it
    assert wait_s >= 1
    assert other.get("/v1/locations").status_code == 200
    time.sleep(wait_s)
    assert limited.get("/v1/locations").status_code == 200


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`dom serve --workers 2` with the default settings (the metrics open on loopback)."""
    with serve(tmp_path_factory.mktemp("api-two-processes") / "var", {}, workers=2) as served:
        yield served


def fresh_connections(served: Served, secret: str | None = None) -> httpx.Client:
    """A client that opens a connection per request, so the kernel spreads its requests over
    the server's processes."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    client = httpx.Client(
        base_url=served.url, headers=headers, limits=httpx.Limits(max_keepalive_connections=0)
    )
    served.clients.append(client)
    return client


def test_a_scrape_from_this_machine_needs_no_key_by_default(two_processes: Served) -> None:
    answer = fresh_connections(two_processes).get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert "dom_http_request_duration_seconds" in answer.text
    assert_problem(fresh_connections(two_processes, "dom_nobody").get("/metrics"), 401)


def test_a_keys_rate_is_counted_once_across_every_api_process(two_processes: Served) -> None:
    client = fresh_connections(two_processes, two_processes.key("metrics", rate_per_s=5))
    for _ in range(3):  # a burst that straddles a second is counted in two windows: again
        time.sleep(1.01 - time.time() % 1)
        second = int(time.time())
        statuses = [client.get("/metrics").status_code for _ in range(15)]
        if int(time.time()) == second:
            break
    assert (statuses.count(200), statuses.count(429)) == (5, 10), statuses


def test_a_revoked_key_is_refused_by_every_api_process(two_processes: Served) -> None:
    secret, key_id = two_processes.key_and_id("availability:read", name="revoked soon")
    client = fresh_connections(two_processes, secret)
    assert {client.get("/v1/locations").status_code for _ in range(10)} == {200}
    assert two_processes.admin().delete(f"/v1/admin/keys/{key_id}").status_code == 200
    assert {client.get("/v1/locations").status_code for _ in range(10)} == {401}

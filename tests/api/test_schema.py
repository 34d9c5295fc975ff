"""The API keeps the contract it publishes. schemathesis sends every route examples drawn from the
OpenAPI document, valid and not, with an admin key, and holds each answer to the document: no
server error, a documented status, a documented content type, a body of the documented schema.

The document is the app's own, and the running server is checked to publish exactly it: the
eager loader gives a test per route, where schemathesis's lazy one (`from_fixture`, which would
read /openapi.json from the served fixture) fails under pytest 9.2 (`Function._nodeid`). Under
the `ci` Hypothesis profile the examples are the same on every run (tests/conftest.py).
"""

from __future__ import annotations

import uuid

import schemathesis
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from dom.settings import Settings
from tests.api.conftest import sku
from tests.api.served import Served

EXAMPLES_PER_ROUTE = 25  # fuzzed ones, besides schemathesis's examples and coverage phases
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
DOCUMENT = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_running_server_publishes_the_document_under_test(api: Served) -> None:
    assert api.client().get("/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_ROUTE)
def test_every_route_answers_as_its_published_schema_says(
    case: schemathesis.Case, api: Served
) -> None:
    case.call_and_validate(
        base_url=api.url, headers={"Authorization": f"Bearer {api.admin_key}"}, checks=CHECKS
    )


# What schemathesis found answered with a 500 or an undocumented status, kept as examples.


def test_an_address_with_a_latitude_but_no_longitude_is_invalid_input(api: Served) -> None:
    answer = api.admin().get(f"/v1/availability/{sku()}", params={"lat": 48.85})
    assert answer.status_code == 422, answer.text
    assert "both lat and lon" in answer.json()["detail"]


def test_explaining_a_pickup_that_names_no_store_is_invalid_input(api: Served) -> None:
    answer = api.admin().get(f"/v1/availability/{sku()}/explain", params={"method": "pickup"})
    assert answer.status_code == 422 and "names its store" in answer.json()["detail"]


def test_a_pickup_reservation_that_names_no_store_is_invalid_input(api: Served) -> None:
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": sku(), "quantity": 1}],
            "method": "pickup"}  # fmt: skip
    answer = api.admin().post("/v1/reservations", json=hold)
    assert answer.status_code == 422 and "names its store" in answer.json()["detail"]


def test_inbound_supply_at_a_location_the_network_lacks_is_invalid_input(api: Served) -> None:
    item = {"id": f"po-{uuid.uuid4().hex}", "location": "NOWHERE", "sku": sku(), "quantity": 5,
            "expected_at": "2030-01-01T00:00:00+00:00"}  # fmt: skip
    answer = api.admin().post("/v1/inbound", json={"items": [item]})
    assert answer.status_code == 422 and "NOWHERE" in answer.json()["detail"]


def test_a_location_whose_region_holds_a_control_character_is_invalid_input(
    api: Served,
) -> None:
    place = {"id": "WH-NUL", "type": "warehouse", "lat": 1.0, "lon": 1.0, "region": "north\x00"}
    answer = api.admin().put("/v1/locations", json={"locations": [place]})
    assert answer.status_code == 422 and "region" in answer.json()["detail"], answer.text


def test_a_body_without_its_media_type_is_refused_with_a_documented_status(api: Served) -> None:
    answer = api.admin().post("/v1/stock-events", content=b'{"events": []}')
    assert answer.status_code == 415, answer.text
    assert "415" in DOCUMENT["paths"]["/v1/stock-events"]["post"]["responses"]

"""The `dom` ledger commands, run as a user runs them, on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest


@pytest.fixture
def dom(tmp_path: Path):
    env = {
        **os.environ,
        "DOM_DATA_DIR": str(tmp_path / "var"),
        "COLUMNS": "400",
    }  # no wrapped messages
    env.pop("DOM_DATABASE_URL", None)
    env.pop("DOM_REDIS_URL", None)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "dom.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    return run


def test_seed_then_ingest_then_read_availability_from_the_command_line(dom):
    assert dom("seed", "--stores", "5", "--skus", "50", "--seed", "3").returncode == 0
    event = {"event_id": "e-1", "location": "DC-PARIS", "sku": "SKU-000007", "type": "count", "quantity": 42,
             "occurred_at": datetime.now(UTC).isoformat(), "source": "wms"}  # fmt: skip
    ingested = dom("ingest", "-", stdin=orjson.dumps(event).decode() + "\n")
    assert ingested.returncode == 0, ingested.stderr
    assert "'applied': 1" in ingested.stdout
    answer = dom("availability", "SKU-000007", "--json")
    assert answer.returncode == 0, answer.stderr
    [row] = orjson.loads(answer.stdout)
    assert row["sku"] == "SKU-000007"
    assert row["available"] >= 42  # the count replaced the seeded stock at the warehouse
    assert dom("reconcile").returncode == 0
    rebuilt = dom("rebuild")
    assert rebuilt.returncode == 0
    [again] = orjson.loads(dom("availability", "SKU-000007", "--json").stdout)
    assert {**again, "promise": None} == {
        **row,
        "promise": None,
    }  # the promise moves with the clock


def test_refused_events_are_named_with_their_reason_and_the_command_fails(dom):
    dom("seed", "--stores", "2", "--skus", "10")
    lines = [
        {"event_id": "ok", "location": "DC-PARIS", "sku": "SKU-000001", "type": "receive", "quantity": 1, "occurred_at": "2026-11-22T10:00:00+00:00"},
        {"event_id": "bad", "location": "NOWHERE", "sku": "SKU-000001", "type": "receive", "quantity": 1, "occurred_at": "2026-11-22T10:00:00+00:00"},
    ]  # fmt: skip
    result = dom("ingest", "-", stdin="\n".join(orjson.dumps(x).decode() for x in lines))
    assert result.returncode == 1
    assert "event 2 (bad): location: unknown location 'NOWHERE'" in result.stderr
    assert "'applied': 1" in result.stdout


def test_a_line_that_is_not_json_is_refused_before_anything_is_ingested(dom):
    dom("seed", "--stores", "2", "--skus", "10")
    result = dom("ingest", "-", stdin='{"event_id": "x"\n')
    assert result.returncode == 2
    assert "line 1: not JSON" in result.stderr


def test_a_bad_line_after_the_first_batch_leaves_the_whole_file_unapplied(dom, tmp_path):
    dom("seed", "--stores", "2", "--skus", "10")
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"c-{k}", "location": "DC-PARIS", "sku": "SKU-000003", "type": "count",
         "quantity": 500 + k, "occurred_at": now, "source": "wms"}
        for k in range(3)
    ]  # fmt: skip
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(orjson.dumps(e).decode() for e in events) + "\n{broken\n")

    def available() -> int:
        return orjson.loads(dom("availability", "SKU-000003", "--json").stdout)[0]["available"]

    before = available()

    result = dom("ingest", str(path), "--batch-size", "1")

    assert result.returncode == 2
    assert "line 4: not JSON" in result.stderr and "nothing was ingested" in result.stderr
    assert available() == before < 500


def test_a_pickup_question_needs_its_store(dom):
    dom("seed", "--stores", "2", "--skus", "10")
    result = dom("availability", "SKU-000001", "--method", "pickup")
    assert result.returncode == 2
    assert "a pickup query names its store" in result.stderr


def test_a_pickup_question_at_a_store_the_network_does_not_have_is_an_error_not_zero(dom):
    dom("seed", "--stores", "2", "--skus", "10")
    for command in ("availability", "explain"):
        result = dom(command, "SKU-000001", "--method", "pickup", "--store", "NOPE")
        assert result.returncode == 2, result.stdout
        assert "unknown pickup store 'NOPE'" in result.stderr


def test_an_unknown_method_is_refused_not_read_as_ship(dom):
    result = dom("availability", "SKU-000001", "--method", "bogus")
    assert result.returncode == 2
    assert "method is ship or pickup, not 'bogus'" in result.stderr


def test_locations_are_upserted_from_a_file_and_a_bad_one_changes_nothing(dom, tmp_path):
    good = [
        {
            "id": "ST-NEW",
            "type": "store",
            "lat": 48.85,
            "lon": 2.35,
            "capabilities": ["pickup", "ship"],
        }
    ]
    (tmp_path / "good.json").write_bytes(orjson.dumps(good))
    assert dom("upsert-locations", str(tmp_path / "good.json")).returncode == 0
    bad = [{**good[0], "id": "ST-BAD"}, {"id": "ST-WORSE", "type": "castle", "lat": 0, "lon": 0}]
    (tmp_path / "bad.json").write_bytes(orjson.dumps(bad))
    refused = dom("upsert-locations", str(tmp_path / "bad.json"))
    assert refused.returncode == 2
    assert "location 2 (ST-WORSE): type: Input should be" in refused.stderr
    listed = dom("locations").stdout
    assert "ST-NEW" in listed
    assert "ST-BAD" not in listed


def test_short_holds_are_named_by_explain_reconcile_and_short_and_a_shipment_settles(dom, tmp_path):
    from dom.bootstrap import session
    from dom.settings import Settings
    from inventory import HoldRequest

    assert dom("seed", "--stores", "2", "--skus", "10").returncode == 0
    now = datetime.now(UTC)
    count = {"event_id": "c-1", "location": "DC-PARIS", "sku": "SKU-000003", "type": "count",
             "quantity": 10, "occurred_at": now.isoformat(), "source": "wms"}  # fmt: skip
    assert dom("ingest", "-", stdin=orjson.dumps(count).decode()).returncode == 0
    with session(Settings(data_dir=tmp_path / "var")) as engine:
        for rid, units in (("R-OLD", 4), ("R-NEW", 6)):
            line = {"sku": "SKU-000003", "quantity": units, "location": "DC-PARIS"}
            assert (
                engine.reservations.hold(
                    HoldRequest(id=rid, lines=[line], kind="allocation")
                ).status
                == "held"
            )
        assert engine.reservations.consume("R-OLD", "O-1") == "consumed"
    recount = {
        **count,
        "event_id": "c-2",
        "quantity": 7,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    assert dom("ingest", "-", stdin=orjson.dumps(recount).decode()).returncode == 0

    named = "DC-PARIS/SKU-000003 is short by 3: on hand 7, safety 0, reserved 10; short holds: R-NEW (3 of 6)"
    for command in (("short",), ("reconcile",), ("explain", "SKU-000003")):
        result = dom(*command)
        assert named in result.stdout, (command, result.stdout, result.stderr)
    assert dom("short").returncode == 1
    assert dom("reconcile").returncode == 1

    left = ("--shipped-at", datetime.now(UTC).isoformat())
    settled = dom("settle", "R-OLD", "SH-1", *left)
    assert settled.returncode == 0, settled.stderr
    assert "reservation R-OLD settled by shipment SH-1" in settled.stdout
    assert "settled before" in dom("settle", "R-OLD", "SH-1", *left).stdout
    refused = dom("settle", "R-NEW", "SH-2", *left)
    assert refused.returncode == 1
    assert "'R-NEW' is held, not consumed" in refused.stderr
    after = dom("short")  # the shipment took R-OLD's 4 units out of on hand and reserved alike
    assert "on hand 3, safety 0, reserved 6; short holds: R-NEW (3 of 6)" in after.stdout

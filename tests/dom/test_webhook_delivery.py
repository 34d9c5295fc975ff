"""Webhook delivery on both backends, with a real receiver: in order, at least once, one
process at a time per subscription, woken by this process's own commits, stopped promptly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from dom.events import delivery_sql, outbox
from dom.events.deliverer import Deliverer
from dom.events.subscriptions import Webhooks, now_us
from inventory import open_engine
from tests.conftest import Backend
from tests.dom.webhook_receiver import Receiver, receiving, wait_for

POLL_S = 0.05
TIMEOUT_S = 2.0


@pytest.fixture
def sql(backend: Backend) -> Engine:
    outbox.create_tables(backend.ledger.engine)
    return backend.ledger.engine


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


def deliverer(sql: Engine, poll_s: float = POLL_S) -> Deliverer:
    return Deliverer(sql, poll_interval_s=poll_s, timeout_s=TIMEOUT_S).start()


def subscribe(sql: Engine, receiver: Receiver, **kwargs: object) -> str:
    subscription, secret = Webhooks(sql).create(receiver.url, **kwargs)  # type: ignore[arg-type]
    receiver.secret = secret
    return subscription.id


def record(sql: Engine, *events: tuple[str, str, dict]) -> None:
    with sql.begin() as conn:
        outbox.record_many(conn, list(events), now_us())


def test_an_event_this_process_commits_is_delivered_at_once_not_at_the_next_poll(
    sql: Engine, receiver: Receiver
) -> None:
    subscribe(sql, receiver)
    running = deliverer(sql, poll_s=60)
    try:
        time.sleep(0.2)  # its first look, at start, found nothing to do
        record(sql, ("order.routed", "o-1", {"n": 1}))
        wait_for(receiver.taken, timeout_s=3)
        assert [e["payload"] for e in receiver.taken()] == [{"n": 1}]
    finally:
        running.stop()


def test_two_processes_deliver_each_event_once_and_in_order(
    backend: Backend, sql: Engine, receiver: Receiver
) -> None:
    receiver.answer_after_s = 0.002  # long enough for another process to try to cut in
    subscribe(sql, receiver)
    other_sql = open_engine(backend.url)  # a second process has its own pool
    processes = [deliverer(sql, poll_s=0.005), deliverer(other_sql, poll_s=0.005)]
    try:
        for batch in range(10):
            record(sql, *[("order.routed", f"o-{n % 3}", {"n": batch * 5 + n}) for n in range(5)])
        wait_for(lambda: len(receiver.taken()) >= 50)
        time.sleep(0.3)  # a duplicate would arrive by now
        assert [e["payload"]["n"] for e in receiver.taken()] == list(range(50))
        assert not receiver.refused(401)
    finally:
        for process in processes:
            process.stop()
        other_sql.dispose()


def test_a_subscription_gets_only_its_types_and_subject_and_passes_the_others_by(
    sql: Engine, receiver: Receiver
) -> None:
    webhook_id = subscribe(sql, receiver, types=["order.parked"], subject="o-7")
    running = deliverer(sql)
    try:
        record(sql, ("order.routed", "o-7", {}), ("order.parked", "o-8", {}),
               ("order.parked", "o-7", {"mine": True}), ("order.cancelled", "o-7", {}))  # fmt: skip
        wait_for(receiver.taken)
        wait_for(lambda: Webhooks(sql).get(webhook_id).cursor == last_seq(sql))
        assert [e["payload"] for e in receiver.taken()] == [{"mine": True}]
    finally:
        running.stop()


def test_a_lease_is_one_processs_until_it_lapses_and_a_lapsed_one_cannot_move_the_cursor(
    sql: Engine, receiver: Receiver
) -> None:
    webhook_id = subscribe(sql, receiver)
    record(sql, ("order.routed", "o-1", {}))
    now = now_us()
    assert delivery_sql.lease(sql, webhook_id, "a", now, now + 1_000_000)
    assert not delivery_sql.lease(sql, webhook_id, "b", now + 500_000, now + 2_000_000)
    seq = last_seq(sql)
    assert not delivery_sql.delivered(sql, webhook_id, "a", seq, now + 1_500_000, now + 3_000_000)
    assert delivery_sql.lease(sql, webhook_id, "b", now + 1_500_000, now + 2_000_000)
    assert not delivery_sql.delivered(sql, webhook_id, "a", seq, now + 1_600_000, now + 3_000_000)
    assert delivery_sql.delivered(sql, webhook_id, "b", seq, now + 1_600_000, now + 3_000_000)
    assert Webhooks(sql).get(webhook_id).cursor == seq


def test_a_stop_ends_the_round_under_way_within_the_timeout_and_leaves_no_thread(
    sql: Engine, receiver: Receiver
) -> None:
    receiver.answer_after_s = 60  # never answers in time
    subscribe(sql, receiver)
    running = deliverer(sql)
    record(sql, ("order.routed", "o-1", {}), ("order.routed", "o-2", {}))
    time.sleep(0.5)  # the first POST is under way
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < TIMEOUT_S + 1
    assert not [t for t in threading.enumerate() if t.name.startswith("webhook-deliver")]


def test_a_deleted_subscription_is_delivered_nothing_more(sql: Engine, receiver: Receiver) -> None:
    webhook_id = subscribe(sql, receiver)
    running = deliverer(sql)
    try:
        record(sql, ("order.routed", "o-1", {"n": 1}))
        wait_for(receiver.taken)
        Webhooks(sql).delete(webhook_id)
        record(sql, ("order.routed", "o-1", {"n": 2}))
        time.sleep(10 * POLL_S)
        assert [e["payload"] for e in receiver.taken()] == [{"n": 1}]
    finally:
        running.stop()


def last_seq(sql: Engine) -> int:
    with sql.connect() as conn:
        return outbox.last_seq(conn)

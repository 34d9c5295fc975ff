"""Signing deliveries as Standard Webhooks does, and when a failed delivery is tried again."""

from __future__ import annotations

import random

import pytest

from dom.events import backoff, signing

# The standard's own test vector (standard-webhooks, libraries/python/tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP_S = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
FRESH = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP_S)}


def test_a_delivery_is_signed_as_the_standards_test_vector_says() -> None:
    assert signing.signature(SECRET, MSG_ID, TIMESTAMP_S, BODY) == EXPECTED
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP_S, BODY)
    assert headers == {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP_S),
                       "webhook-signature": EXPECTED}  # fmt: skip


def test_a_receiver_accepts_a_fresh_delivery_among_other_signatures() -> None:
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP_S, BODY)
    headers["webhook-signature"] = "v2,AAAA " + headers["webhook-signature"]
    signing.verify(SECRET, headers, BODY, now_s=TIMESTAMP_S + 299)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"body": BODY + b" "}, "no signature"),
        ({"secret": signing.new_secret()}, "no signature"),
        ({"now_s": TIMESTAMP_S + signing.TOLERANCE_S + 1}, "replay"),
        ({"now_s": TIMESTAMP_S - signing.TOLERANCE_S - 1}, "replay"),
        (
            {"headers": {**FRESH, "webhook-timestamp": "soon", "webhook-signature": EXPECTED}},
            "headers",
        ),
        ({"headers": {**FRESH, "webhook-signature": "v1,é"}}, "no signature"),
    ],
)
def test_a_receiver_refuses_a_tampered_foreign_stale_or_malformed_delivery(
    change: dict, why: str
) -> None:
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP_S, BODY)
    given = {"secret": SECRET, "body": BODY, "now_s": TIMESTAMP_S, "headers": headers} | change
    with pytest.raises(signing.InvalidSignature, match=why):
        signing.verify(given["secret"], given["headers"], given["body"], now_s=given["now_s"])


def test_each_new_secret_is_a_fresh_standard_secret() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second and first.startswith("whsec_") and len(first) == 38
    assert signing.signature(first, "1", 1, b"{}") != signing.signature(second, "1", 1, b"{}")


def test_retries_wait_one_second_doubling_up_to_five_minutes() -> None:
    waits = [backoff.nominal_delay_s(n) for n in (1, 2, 3, 4, 9, 10, 1_000_000)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 256.0, 300.0, 300.0]
    with pytest.raises(ValueError):
        backoff.nominal_delay_s(0)


def test_jitter_takes_at_most_a_quarter_off_and_never_passes_the_cap() -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for failures in range(1, 40):
        nominal = backoff.nominal_delay_s(failures)
        drawn = [backoff.retry_delay_s(failures, rng) for _ in range(50)]
        assert all(0.75 * nominal <= wait <= nominal for wait in drawn), f"seed {seed}"
        assert len(set(drawn)) > 1, f"no jitter (seed {seed})"

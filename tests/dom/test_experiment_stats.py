"""The arithmetic of experiments: a stable split by order id, and the arms' statistics."""

from __future__ import annotations

import math

import pytest

from dom.rulesets.stats import arm_of, compare, summarise


def test_an_order_id_lands_in_one_arm_and_the_split_keeps_its_share() -> None:
    ids = [f"O-{n}" for n in range(20_000)]
    first = [arm_of(i, "exp_a", 0.1) for i in ids]
    assert first == [arm_of(i, "exp_a", 0.1) for i in ids]  # stable
    assert abs(first.count("treatment") / len(ids) - 0.1) < 0.01
    other = [arm_of(i, "exp_b", 0.1) for i in ids]
    assert first != other  # another experiment draws its own split


def test_means_intervals_and_the_orders_needed() -> None:
    assert summarise([]).orders == 0 and summarise([5.0]).sd is None
    one = summarise([10.0, 12.0, 14.0])
    assert (one.mean, one.sd) == (12.0, 2.0)
    assert one.ci_low == pytest.approx(12 - 1.959964 * 2 / math.sqrt(3))
    found = compare([10.0, 12.0, 14.0], [13.0, 15.0, 17.0])
    assert found["difference"] == 3.0
    half = 1.959964 * math.sqrt(4 / 3 + 4 / 3)
    assert (found["ci_low"], found["ci_high"]) == pytest.approx((3 - half, 3 + half))
    # 2 (z_a/2 + z_b)^2 sigma^2 / delta^2 with sigma^2 = 4, delta = 3
    assert found["orders_needed_per_arm"] == math.ceil(2 * (1.959964 + 0.841621) ** 2 * 4 / 9)
    assert compare([], [1.0])["difference"] is None

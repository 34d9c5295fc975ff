"""The rule-set lifecycle on its own (SQLite): the built-in default, drafts, activation and
rollback, what is refused and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from allocation.rules import Rules
from dom.rulesets import DEFAULT_VERSION, RuleSets, problems
from dom.rulesets.errors import InvalidRuleSet, RuleSetConflict, UnknownRuleSet


@pytest.fixture
def rule_sets(tmp_path: Path) -> RuleSets:
    return RuleSets(create_engine(f"sqlite:///{tmp_path / 'rules.sqlite'}"), lambda: ["WH", "S1"])


def test_until_a_version_is_activated_routing_uses_the_default_cost_model(
    rule_sets: RuleSets,
) -> None:
    assert rule_sets.active() == (DEFAULT_VERSION, Rules(version=DEFAULT_VERSION))
    with pytest.raises(RuleSetConflict, match="nothing to roll back"):
        rule_sets.rollback(by="me", reason="undo")
    with pytest.raises(RuleSetConflict, match="active version already"):
        rule_sets.activate(DEFAULT_VERSION, by="me", reason="again")


def test_activation_and_rollback_move_what_routing_uses_at_once(rule_sets: RuleSets) -> None:
    first = rule_sets.create({"ship_base": 7.0}, name="a", by="me")["version"]
    second = rule_sets.create(None, name="b", based_on=first, by="me")["version"]
    rule_sets.update(second, {"ship_base": 8.0, "version": "mine"})
    assert rule_sets.get(second)["rules"] == {"ship_base": 8.0}  # the version is the engine's
    rule_sets.activate(first, by="me", reason="one")
    assert rule_sets.active() == (first, Rules(version=first, ship_base=7.0))
    rule_sets.activate(second, by="you", reason="two")
    assert rule_sets.active()[1].ship_base == 8.0
    assert rule_sets.rollback(by="me", reason="undo")["version"] == first
    assert rule_sets.rollback(by="me", reason="redo")["version"] == second
    assert [(a["version"], a["previous"], a["by"]) for a in rule_sets.activations()] == [
        (second, first, "me"), (first, second, "me"), (second, first, "you"),
        (first, DEFAULT_VERSION, "me"),
    ]  # fmt: skip
    assert [v["status"] for v in rule_sets.list()] == ["active", "retired", "retired"]


def test_a_draft_with_problems_is_kept_but_never_routes(rule_sets: RuleSets) -> None:
    bad = rule_sets.create({"exclusions": [{"location": "NOWHERE"}]}, name="typo", by="me")
    assert rule_sets.check(bad["version"]) == [
        {"field": "exclusions.0.location", "message": "no location 'NOWHERE'"}]  # fmt: skip
    with pytest.raises(InvalidRuleSet, match=r"exclusions\.0\.location: no location 'NOWHERE'"):
        rule_sets.activate(bad["version"], by="me", reason="try")
    assert rule_sets.active()[0] == DEFAULT_VERSION
    with pytest.raises(UnknownRuleSet):
        rule_sets.get("v42")
    with pytest.raises(UnknownRuleSet):
        rule_sets.create(None, name="x", based_on="v42", by="me")


def test_problems_name_each_field_and_a_valid_document_has_none() -> None:
    assert problems({}) == [] and problems({"ship_base": 6}, ["A"]) == []
    assert [p.field for p in problems({"ship_base": -1, "kits": {"mode": "maybe"}})] == [
        "ship_base", "kits.mode"]  # fmt: skip
    assert [p.message for p in problems([1, 2])] == ["a rule set is a JSON object"]

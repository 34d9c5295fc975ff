"""What the rule-set lifecycle refuses, each with a message that says why."""

from __future__ import annotations

from collections.abc import Sequence

from dom.rulesets.validate import Problem


class UnknownRuleSet(LookupError):
    """No rule set has this version."""


class RuleSetConflict(Exception):
    """The request contradicts what is recorded: editing an activated version, activating the
    active one, rolling back with nothing activated."""


class InvalidRuleSet(ValueError):
    """A rules document with problems: each named with its field."""

    def __init__(
        self, version: str | None, problems: Sequence[Problem], message: str | None = None
    ) -> None:
        self.version = version
        self.problems = list(problems)
        where = f"rule set {version}" if version else "the rule set"
        listed = "; ".join(f"{p.field or '(document)'}: {p.message}" for p in self.problems)
        super().__init__(message or f"{where} does not validate: {listed}")

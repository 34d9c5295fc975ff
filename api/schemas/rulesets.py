"""Rule sets over HTTP: what a planner drafts and activates, and what they are answered. The
rules document is the allocation core's (allocation.rules.Rules); a draft may not validate yet,
so it is taken as an object and checked when validated or activated."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from api.schemas.common import CLIENT_TEXT, In, Out

MAX_RULE_KEYS = 64  # top-level fields of a rules document
Version = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^(v[0-9]{1,9}|default)$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_TEXT)]
Note = Annotated[str, Field(max_length=2048)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=CLIENT_TEXT)]
Document = Annotated[
    dict[Annotated[str, Field(max_length=64)], Any],
    Field(max_length=MAX_RULE_KEYS, description="the rules document (allocation.rules.Rules)"),
]


class DraftIn(In):
    name: Name
    rules: Document | None = Field(default=None, description="none: a copy of `based_on`'s")
    based_on: Version | None = Field(default=None, description="the version it is drafted from")
    note: Note = ""


class DraftChangeIn(In):
    rules: Document
    name: Name | None = None
    note: Note | None = None


class ActivationIn(In):
    reason: Reason = Field(description="why: kept with the activation")


class CheckIn(In):
    rules: Document


class ProblemOut(Out):
    field: Annotated[str, Field(max_length=256)] = Field(description="dotted path in the rules")
    message: Annotated[str, Field(max_length=1024)]


class CheckOut(Out):
    valid: bool
    problems: list[ProblemOut] = Field(max_length=1_000)


class RuleSetOut(Out):
    version: Version
    name: Name
    status: Literal["draft", "active", "retired"]
    rules: dict[str, Any]
    based_on: Version | None = None
    note: Note
    created_by: Annotated[str, Field(max_length=128)]
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    first_activated_at: AwareDatetime | None = Field(
        default=None, description="set: the version is immutable"
    )


class ActivationOut(Out):
    version: Version
    previous: Version
    by: Annotated[str, Field(max_length=128)]
    reason: Reason
    at: AwareDatetime

"""The return lifecycle's one entry point: what the API and the command line call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dom.events import outbox
from dom.returns import receive, register, store
from dom.returns.context import ReturnsContext
from dom.returns.errors import UnknownReturn
from dom.returns.model import ReturnIn
from dom.returns.tables import create_tables
from dom.rulesets import RuleSets
from inventory import Ledger


class Returns:
    def __init__(self, ledger: Ledger, rule_sets: RuleSets) -> None:
        create_tables(ledger.engine)
        outbox.create_tables(ledger.engine)  # the returns' events are written with them
        self.ctx = ReturnsContext(ledger, rule_sets)

    def register(self, ret: ReturnIn) -> tuple[dict[str, Any], bool]:
        """Check, route and record `ret`; the return, and whether it is a replay."""
        return register.register(self.ctx, ret)

    def receive(
        self,
        return_id: str,
        location: str,
        lines: list[str] | None = None,
        at: datetime | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """`location` reports receipt of the return's lines bound for it (or those named)."""
        return receive.receive(self.ctx, return_id, location, lines, at)

    def get(self, return_id: str) -> dict[str, Any]:
        found = self.ctx.ledger.read(lambda conn: store.view(conn, return_id))
        if found is None:
            raise UnknownReturn(f"no return {return_id!r}")
        return found

    def awaiting(self, destination: str, limit: int) -> list[dict[str, Any]]:
        """Returns with lines on their way to `destination`, oldest first."""
        return self.ctx.ledger.read(lambda conn: store.awaiting(conn, destination, limit))

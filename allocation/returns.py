"""Returns: placeholder replaced below."""

from __future__ import annotations

from typing import Any

from allocation.instance import Instance


def route_returns(instance: Instance) -> list[dict[str, Any]]:
    return []

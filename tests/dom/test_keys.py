"""What a key's scopes allow: admin everything, a writer of orders or rules reads them too."""

from __future__ import annotations

from dom.keys import SCOPES, ApiKey


def key(*scopes: str) -> ApiKey:
    return ApiKey("k_0", "test", frozenset(scopes), None, 0)


def test_admin_allows_every_scope() -> None:
    assert all(key("admin").allows(scope) for scope in SCOPES)


def test_writers_of_orders_and_rules_read_them_and_nothing_else() -> None:
    assert key("orders:write").allows("orders:read")
    assert key("rules:write").allows("rules:read")
    assert not key("orders:read").allows("orders:write")
    assert not key("orders:write").allows("rules:read")
    assert [s for s in SCOPES if key("stock:write").allows(s)] == ["stock:write"]

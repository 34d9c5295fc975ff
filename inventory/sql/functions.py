"""The ledger's server-side SQL functions (PostgreSQL only), created with its tables.

One for now: the guard of a proposed hold group (inventory.holds.dialects.Postgres). A group is
written in one statement that must commit whole or not at all; SQL has no expression that aborts a
statement, so the guard calls a function that raises, by name and with a code of its own, which
the caller tells apart from every other error.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

GROUP_NOT_WHOLE_STATE = "DH001"  # SQLSTATE of the guard: class "DH", the engine's hold path
GROUP_NOT_WHOLE_CALL = "hold_group_not_whole()"
_CREATE = f"""
CREATE OR REPLACE FUNCTION hold_group_not_whole() RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION 'a proposed hold group is not whole' USING ERRCODE = '{GROUP_NOT_WHOLE_STATE}';
END $$
"""
_LOCK = 7_304_211  # advisory lock key: processes that open the ledger together replace it in turn


def create(engine: Engine) -> None:
    """Create or replace the functions, in the schema the tables are in."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        conn.execute(text(_CREATE))


def group_not_whole(error: BaseException) -> bool:
    """True when `error` is the guard's: the proposed group did not fit, nothing was written."""
    return getattr(error, "sqlstate", None) == GROUP_NOT_WHOLE_STATE

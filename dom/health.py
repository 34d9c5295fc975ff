"""Is this engine ready to serve: SQL answers, Redis answers, and the projection can be vouched for."""

from __future__ import annotations

from sqlalchemy import text

from dom.bootstrap import Engine


def readiness(engine: Engine) -> dict[str, str]:
    """Each check's verdict: "ok", or what is wrong. Cheap enough for a probe every second."""
    checks = {"sql": "ok", "redis": "ok", "projection": "ok"}
    try:
        with engine.ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means the same to a probe: not ready
        checks["sql"] = f"unreachable: {type(error).__name__}"
    try:
        engine.redis.ping()
        _, version = engine.ledger.projection.network()
        if version is None:
            checks["projection"] = "holds no network (being rebuilt, or nothing loaded)"
    except Exception as error:
        checks["redis"] = f"unreachable: {type(error).__name__}"
        checks["projection"] = "unknown while Redis is unreachable"
    # Writes Redis refused wait in the projector's queue until they land; once it is empty, they
    # did (the projection's `behind` flag stays set for good after any refusal: it is what a
    # clean close reports, not what the projection holds now).
    if checks["projection"] == "ok" and not engine.ledger.projector().flush(timeout_s=0):
        checks["projection"] = "behind: writes are waiting to reach it"
    return checks

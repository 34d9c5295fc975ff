"""The rule sets' SQL tables (their own MetaData). Times are integer microseconds since the
epoch, as in the ledger."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

VERSION = Table(
    "dom_rule_set",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=False),  # version `v<n>`
    Column("name", String(128), nullable=False),
    Column("body", Text, nullable=False),  # the rules document as given (JSON); a draft's may
    # not validate yet
    Column("based_on", String(16), nullable=True),  # the version it was drafted from
    Column("note", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("first_activated_us", BigInteger, nullable=True),  # set: immutable from then on
)

ACTIVATION = Table(
    "dom_rule_set_activation",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("version", String(16), nullable=False),
    Column("previous", String(16), nullable=False),  # the version routing used until then
    Column("by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Index("dom_rule_set_activation_version", "version"),
)


# A split of live orders between the active version (control) and another (treatment); one
# runs at a time.
EXPERIMENT = Table(
    "dom_experiment",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("control", String(16), nullable=False),
    Column("treatment", String(16), nullable=False),
    Column("share", Float, nullable=False),  # of orders routed by the treatment
    Column("status", String(16), nullable=False),  # running, stopped
    Column("kept", String(16), nullable=True),  # the version kept when it stopped
    Column("started_by", String(128), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("stopped_by", String(128), nullable=True),
    Column("stopped_us", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Index("dom_experiment_status", "status"),
)

# Which arm routed each order of an experiment, and what the order cost when it was routed.
EXPERIMENT_ORDER = Table(
    "dom_experiment_order",
    metadata,
    Column("experiment_id", String(24), primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("arm", String(16), nullable=False),
    Column("version", String(16), nullable=False),
    Column("cost", Float, nullable=False),
    Column("shipments", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("backordered", Integer, nullable=False),  # units
    Column("at_us", BigInteger, nullable=False),
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)

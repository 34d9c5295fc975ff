"""The rule sets' SQL tables (their own MetaData). Times are integer microseconds since the
epoch, as in the ledger."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
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


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)

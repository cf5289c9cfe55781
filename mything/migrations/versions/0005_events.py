"""The ledger: every write appends an event to its organization's or user's chain.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-20

New tables only; no existing row changes. The ledger starts empty: what was
written before the upgrade has no events. Downgrading drops the ledger.
"""

from typing import Any

from alembic import op
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
)

from mything.migrations import ddl
from mything.tables import NAMING_CONVENTION, PREFIX, Id, LongText, Timestamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def tables(connection: Connection) -> list[Table]:
    """The tables of this revision (frozen here), parents first."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    options = ddl.table_options(connection)

    def table(name: str, *parts: Any, **extra: Any) -> Table:
        return Table(PREFIX + name, metadata, *parts, **extra, **options)

    chains = table(
        "event_chains",
        Column("id", Id, primary_key=True),
        Column("org_id", Id, unique=True),
        Column("user_id", Id, unique=True),
        Column("sequence", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("purged_sequence", BigInteger, nullable=False),
        Column("purged_hash", String(64), nullable=False),
        sqlite_autoincrement=True,
    )
    events = table(
        "events",
        Column("chain_id", Id, ForeignKey(chains.c.id), primary_key=True),
        Column("sequence", BigInteger, primary_key=True, autoincrement=False),
        Column("id", String(32), nullable=False, unique=True),
        Column("type", String(32), nullable=False),
        Column("organization", String(63)),
        Column("actor", String(254)),
        Column("at", Timestamp(), nullable=False),
        Column("request_id", String(128)),
        Column("data", LongText, nullable=False),
        Column("hash", String(64), nullable=False),
        Index(None, "at"),
    )
    return [chains, events]


def upgrade() -> None:
    connection = op.get_bind()
    ddl.create_missing(connection, *tables(connection))


def downgrade() -> None:
    connection = op.get_bind()
    ddl.drop_existing(connection, *tables(connection))

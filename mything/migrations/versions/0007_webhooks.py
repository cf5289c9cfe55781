"""Webhooks: organizations' endpoints, and the deliveries made to them.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-22

New tables only; no existing row changes. Downgrading drops every webhook
and the delivery log with them.
"""

from typing import Any

from alembic import op
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from mything.migrations import ddl
from mything.tables import NAMING_CONVENTION, PREFIX, Id, LongText, Timestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def tables(connection: Connection) -> list[Table]:
    """The tables of this revision (frozen here), parents first."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    options = ddl.table_options(connection)

    def table(name: str, *parts: Any, **extra: Any) -> Table:
        return Table(PREFIX + name, metadata, *parts, **extra)

    organizations = table("organizations", Column("id", Id, primary_key=True))
    webhooks = table(
        "webhooks",
        Column("id", Id, primary_key=True),
        Column(
            "org_id",
            Id,
            ForeignKey(organizations.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column("url", String(2000), nullable=False),
        Column("events", Text, nullable=False),
        Column("description", String(500)),
        Column("enabled", Boolean, nullable=False),
        Column("secret", String(100), nullable=False),
        Column("previous_secret", String(100)),
        Column("previous_secret_until", Timestamp()),
        Column("failing_since", Timestamp()),
        Column("created_at", Timestamp(), nullable=False),
        Index(None, "org_id", "id"),
        sqlite_autoincrement=True,
        **options,
    )
    deliveries = table(
        "webhook_deliveries",
        Column("id", Id, primary_key=True),
        Column(
            "webhook_id",
            Id,
            ForeignKey(webhooks.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column("event_id", String(32), nullable=False),
        Column("event_type", String(32), nullable=False),
        Column("payload", LongText, nullable=False),
        Column("status", String(10), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", Timestamp(), nullable=False),
        Column("next_attempt_at", Timestamp()),
        Column("leased_until", Timestamp()),
        Column("lease", String(32)),
        Column("last_attempt_at", Timestamp()),
        Column("response_status", Integer),
        Column("response_body", Text),
        Column("error", String(10)),
        Column("duration_ms", Integer),
        Index(None, "webhook_id", "id"),
        Index(None, "next_attempt_at"),
        sqlite_autoincrement=True,
        **options,
    )
    return [webhooks, deliveries]


def upgrade() -> None:
    connection = op.get_bind()
    ddl.create_missing(connection, *tables(connection))


def downgrade() -> None:
    connection = op.get_bind()
    ddl.drop_existing(connection, *tables(connection))

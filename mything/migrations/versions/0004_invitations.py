"""Invitations: owners invite, and the invited user accepts or declines.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-15

A new table only; no existing row changes. Downgrading drops the pending
invitations with it.
"""

from typing import Any

from alembic import op
from sqlalchemy import Column, Connection, ForeignKey, Index, MetaData, String, Table

from mything.migrations import ddl
from mything.tables import NAMING_CONVENTION, PREFIX, Id, Timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def invitations(connection: Connection) -> Table:
    """The table of this revision (frozen here), with the parents it refers to."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def table(name: str, *parts: Any, **extra: Any) -> Table:
        return Table(PREFIX + name, metadata, *parts, **extra)

    users = table("users", Column("id", Id, primary_key=True))
    organizations = table("organizations", Column("id", Id, primary_key=True))
    return table(
        "invitations",
        Column("id", Id, primary_key=True),
        Column(
            "org_id",
            Id,
            ForeignKey(organizations.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column(
            "user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False
        ),
        Column("role", String(16), nullable=False),
        Column(
            "invited_by",
            Id,
            ForeignKey(users.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column("created_at", Timestamp(), nullable=False),
        Column("expires_at", Timestamp(), nullable=False),
        Index(None, "org_id", "id"),
        Index(None, "user_id", "id"),
        sqlite_autoincrement=True,
        **ddl.table_options(connection),
    )


def upgrade() -> None:
    connection = op.get_bind()
    ddl.create_missing(connection, invitations(connection))


def downgrade() -> None:
    connection = op.get_bind()
    ddl.drop_existing(connection, invitations(connection))

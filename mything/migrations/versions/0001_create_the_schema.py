"""Create mything's tables under their mything_* names (and move 0.1's rows).

Revision ID: 0001
Revises:
Create Date: 2026-12-01

The schema of mything 0.1, with every name prefixed. A database that holds
0.1's unprefixed tables has their rows moved over (see
:mod:`mything.migrations.legacy`); an empty one gets a new secret for
signing cursors.
"""

import secrets
from typing import Any

from alembic import op
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)

from mything.migrations import ddl, legacy
from mything.tables import NAMING_CONVENTION, PREFIX, Id, LongText, Timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def tables(connection: Connection) -> list[Table]:
    """The tables of this revision, parents before children (frozen here)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    options = ddl.table_options(connection)

    def table(name: str, *parts: Any, **extra: Any) -> Table:
        return Table(PREFIX + name, metadata, *parts, **options, **extra)

    def created_at() -> Column:
        return Column("created_at", Timestamp(), nullable=False)

    users = table(
        "users",
        Column("id", Id, primary_key=True),
        Column("name", String(64), nullable=False, unique=True),
        created_at(),
        sqlite_autoincrement=True,
    )
    tokens = table(
        "tokens",
        Column("id", Id, primary_key=True),
        Column(
            "user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False
        ),
        Column("token_hash", String(64), nullable=False, unique=True),
        created_at(),
        sqlite_autoincrement=True,
    )
    organizations = table(
        "organizations",
        Column("id", Id, primary_key=True),
        Column("slug", String(63), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        created_at(),
        sqlite_autoincrement=True,
    )
    memberships = table(
        "memberships",
        Column(
            "org_id",
            Id,
            ForeignKey(organizations.c.id, ondelete="CASCADE"),
            primary_key=True,
        ),
        Column(
            "user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True
        ),
        Column("role", String(16), nullable=False),
        created_at(),
        Index(None, "user_id"),
    )
    notes = table(
        "notes",
        Column("id", Id, primary_key=True),
        Column(
            "org_id",
            Id,
            ForeignKey(organizations.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        Column("author_id", Id, ForeignKey(users.c.id), nullable=False),
        Column("title", String(200), nullable=False),
        Column("body", LongText, nullable=False),
        created_at(),
        Column("updated_at", Timestamp(), nullable=False),
        Index(None, "org_id", "id"),
        sqlite_autoincrement=True,
    )
    note_tags = table(
        "note_tags",
        Column(
            "note_id", Id, ForeignKey(notes.c.id, ondelete="CASCADE"), primary_key=True
        ),
        Column("tag", String(50), primary_key=True),
        Column("position", Integer, nullable=False),
        Index(None, "tag", "note_id"),
    )
    idempotency_keys = table(
        "idempotency_keys",
        Column(
            "user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True
        ),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer),
        Column("body", LongText),
        Column("headers", Text),
        created_at(),
    )
    settings = table(
        "settings",
        Column("name", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    return [
        users,
        tokens,
        organizations,
        memberships,
        notes,
        note_tags,
        idempotency_keys,
        settings,
    ]


def upgrade() -> None:
    connection = op.get_bind()
    # Decide before changing anything: this refuses tables that only look
    # like 0.1's.
    found_legacy = legacy.find(connection)
    created = tables(connection)
    ddl.create_missing(connection, *created)
    if found_legacy:
        legacy.move(connection, PREFIX)
        return
    settings = created[-1]
    stored = connection.execute(
        select(settings.c.name).where(settings.c.name == "cursor_secret")
    ).first()
    if stored is None:
        # Signs pagination cursors; kept in the database so that every
        # worker and host agrees on it without configuration.
        connection.execute(
            insert(settings).values(
                name="cursor_secret", value=secrets.token_urlsafe(32)
            )
        )


def downgrade() -> None:
    connection = op.get_bind()
    ddl.drop_existing(connection, *tables(connection))

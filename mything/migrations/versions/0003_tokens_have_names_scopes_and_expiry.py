"""Tokens have a name, a scope, an expiry and a last use; listed by user.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Tokens issued before keep empty values: they are listed as "legacy", may
write, and never expire.
"""

from alembic import op
from sqlalchemy import Column, Connection, Index, MetaData, String, Table

from mything.migrations import ddl
from mything.tables import NAMING_CONVENTION, Id, Timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("name", "scope", "expires_at", "last_used_at")

#: The index MySQL makes for the foreign key of mything_tokens.user_id.
FKEY_INDEX = "mything_tokens_user_id_fkey"


def user_index(name: str | None = None) -> Index:
    """The index of a user's tokens, newest first, named by the convention.

    With ``name``, MySQL's index for the foreign key, on ``user_id`` alone.
    """
    tokens = Table(
        "mything_tokens",
        MetaData(naming_convention=NAMING_CONVENTION),
        Column("id", Id),
        Column("user_id", Id),
    )
    if name is not None:
        return Index(name, tokens.c.user_id)
    return Index(None, tokens.c.user_id, tokens.c.id)


def upgrade() -> None:
    connection = op.get_bind()
    for column in (
        Column("name", String(100)),
        Column("scope", String(5)),
        Column("expires_at", Timestamp()),
        Column("last_used_at", Timestamp()),
    ):
        ddl.add_missing_column(connection, "mything_tokens", column)
    ddl.create_missing_index(connection, user_index())
    if _is_mysql(connection):
        # MySQL keeps an index for the user_id foreign key, named after it;
        # the new index does that job now. (MySQL drops its own by itself,
        # but not one that a downgrade put back.)
        ddl.drop_existing_index(connection, "mything_tokens", FKEY_INDEX)


def downgrade() -> None:
    connection = op.get_bind()
    if _is_mysql(connection):
        # The foreign key needs an index of its own again before the other
        # one can go.
        ddl.create_missing_index(connection, user_index(FKEY_INDEX))
    ddl.drop_existing_index(connection, "mything_tokens", str(user_index().name))
    for name in reversed(COLUMNS):
        ddl.drop_existing_column(connection, "mything_tokens", name)


def _is_mysql(connection: Connection) -> bool:
    return connection.dialect.name in ("mysql", "mariadb")

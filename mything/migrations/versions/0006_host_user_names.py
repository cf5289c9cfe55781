"""User names hold a host's own identifiers: up to 254 characters.

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-20

A host that vouches for its users (``REMOTE_USER``) names them as it does
(``dave@example.com``), so ``mything_users.name`` grows from 64 to 254
characters. No row changes. Downgrading shortens it again, and fails if a
longer name is stored.

SQLite ignores the length of a ``VARCHAR`` and cannot alter a column; the
usual way round (copy the table, drop the old one) would delete every
token and membership through their ``ON DELETE CASCADE``, since foreign
keys cannot be switched off inside the migration's transaction. So on
SQLite only the declaration the table was created with changes, as SQLite's
documentation allows for a change that leaves the stored data as it is
(https://www.sqlite.org/lang_altertable.html#otheralter).
"""

from alembic import op
from sqlalchemy import Connection, String

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "mything_users"


def upgrade() -> None:
    _change_length(op.get_bind(), 64, 254)


def downgrade() -> None:
    _change_length(op.get_bind(), 254, 64)


def _change_length(connection: Connection, old: int, new: int) -> None:
    if connection.dialect.name == "sqlite":
        _declare_on_sqlite(connection, f"VARCHAR({old})", f"VARCHAR({new})")
        return
    op.alter_column(
        TABLE, "name", type_=String(new), existing_type=String(old), nullable=False
    )


def _declare_on_sqlite(connection: Connection, old: str, new: str) -> None:
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).scalar_one()
    declared = f"name {old} NOT NULL"
    if declared not in sql:
        return  # Already declared so (an interrupted run got this far).
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar_one()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (sql.replace(declared, f"name {new} NOT NULL"), TABLE),
    )
    # Other connections read the schema again when its version changes.
    connection.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")

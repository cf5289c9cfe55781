"""The tables of mything 0.1, recognised and moved to their ``mything_*`` names.

mything 0.1 created its tables without a prefix (``users``, ``notes``, ...)
and without a revision. The first migration finds them, copies every row into
the new tables (ids, token hashes, the secret that signs cursors and the
stored idempotency answers included, so that tokens, cursors and retries
from before keep working), and drops them.

A host's own tables may have the same names, so they are only taken for
mything's when all eight are there with exactly 0.1's columns. When all
eight names are there but some columns differ, :func:`find` refuses to guess:
the migration stops before changing anything and says which table is not
mything's. When only some names are there, they are the host's and are
left alone.
"""

from __future__ import annotations

from sqlalchemy import Connection, column, insert, inspect, select, table, text

from ..errors import ConfigError

#: Every table of 0.1 with its columns, parents before children.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "name", "created_at"),
    "tokens": ("id", "user_id", "token_hash", "created_at"),
    "organizations": ("id", "slug", "name", "created_at"),
    "memberships": ("org_id", "user_id", "role", "created_at"),
    "notes": ("id", "org_id", "author_id", "title", "body", "created_at", "updated_at"),
    "note_tags": ("note_id", "tag", "position"),
    "idempotency_keys": (
        "user_id",
        "key",
        "fingerprint",
        "status",
        "body",
        "headers",
        "created_at",
    ),
    "settings": ("name", "value"),
}

TABLES = frozenset(COLUMNS)

# The tables whose ids come from a sequence on PostgreSQL.
_WITH_IDS = ("users", "tokens", "organizations", "notes")


def find(connection: Connection) -> bool:
    """Return whether the database holds mything 0.1's tables.

    Raise a :class:`~mything.errors.ConfigError` naming the table when the
    names are all there but one of them is not 0.1's.
    """
    inspector = inspect(connection)
    if not TABLES <= set(inspector.get_table_names()):
        return False
    for name, expected in COLUMNS.items():
        found = {info["name"] for info in inspector.get_columns(name)}
        if found != set(expected):
            raise ConfigError(
                f"the database has tables named like mything 0.1's, but {name!r} "
                f"has the columns {sorted(found)}, not {sorted(expected)}; "
                "nothing was changed: move the other application's tables or "
                "give mything a database of its own"
            )
    return True


def move(connection: Connection, prefix: str) -> None:
    """Copy every row of the 0.1 tables into the new ones, then drop the old."""
    for name, names in COLUMNS.items():
        old = table(name, *[column(each) for each in names])
        new = table(prefix + name, *[column(each) for each in names])
        connection.execute(insert(new).from_select(names, select(*old.c)))
    if connection.dialect.name == "postgresql":
        for name in _WITH_IDS:
            # The copied ids were given explicitly; new ones continue after them.
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {prefix}{name}), 0) + 1, false)"
                ),
                {"table": prefix + name},
            )
    for name in reversed(COLUMNS):
        connection.exec_driver_sql(f"DROP TABLE {name}")

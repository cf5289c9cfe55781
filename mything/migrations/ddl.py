"""Building blocks for migrations that can finish what an interrupted run left.

MySQL commits every DDL statement on its own, so a migration killed half-way
there leaves some tables (or indexes, or columns) behind. Migrations use
these helpers, which create only what is missing, so that running
``mything db upgrade`` again completes the work. On PostgreSQL and SQLite the
whole migration is one transaction, and they simply create everything.
"""

from __future__ import annotations

from typing import Any

from alembic import op
from sqlalchemy import Column, Connection, Index, Table, inspect


def table_options(connection: Connection) -> dict[str, Any]:
    """Return the options every mything table is created with on this database.

    On MySQL text is UTF-8 (``utf8mb4``) and compared byte by byte, without
    padding: tags ``"a"``, ``"A"`` and ``"a "`` are three tags, as on the other
    databases, not one (MySQL's default collations ignore case and trailing
    spaces).
    """
    if connection.dialect.name not in ("mysql", "mariadb"):
        return {}
    is_mariadb = getattr(connection.dialect, "is_mariadb", False)
    collation = "utf8mb4_nopad_bin" if is_mariadb else "utf8mb4_0900_bin"
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": collation,
    }


def create_missing(connection: Connection, *tables: Table) -> None:
    """Create each of ``tables``, and each of their indexes, that is missing."""
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    for each in tables:
        if each.name not in existing:
            each.create(connection)
            continue
        indexes = {info["name"] for info in inspector.get_indexes(each.name)}
        for index in each.indexes:
            if index.name not in indexes:
                index.create(connection)


def drop_existing(connection: Connection, *tables: Table) -> None:
    """Drop each of ``tables`` that exists, children first."""
    existing = set(inspect(connection).get_table_names())
    for each in reversed(tables):
        if each.name in existing:
            each.drop(connection)


def add_missing_column(connection: Connection, table_name: str, column: Column) -> None:
    """Add ``column`` to the table ``table_name`` unless it is already there."""
    if column.name not in _column_names(connection, table_name):
        op.add_column(table_name, column)


def drop_existing_column(connection: Connection, table_name: str, name: str) -> None:
    """Drop the column ``name`` of ``table_name`` if it is there.

    Never through a copy of the table, as Alembic's batch mode does on SQLite:
    dropping the old table would cascade to the rows that refer to it.
    (SQLite drops columns itself since 3.35.)
    """
    if name in _column_names(connection, table_name):
        op.drop_column(table_name, name)


def create_missing_index(connection: Connection, index: Index) -> None:
    """Create ``index`` (bound to its table) unless it is already there."""
    assert index.table is not None
    existing = inspect(connection).get_indexes(index.table.name)
    if index.name not in {info["name"] for info in existing}:
        index.create(connection)


def drop_existing_index(connection: Connection, table_name: str, name: str) -> None:
    """Drop the index ``name`` of ``table_name`` if it is there."""
    existing = inspect(connection).get_indexes(table_name)
    if name in {info["name"] for info in existing}:
        op.drop_index(name, table_name=table_name)


def _column_names(connection: Connection, table_name: str) -> set[str]:
    return {info["name"] for info in inspect(connection).get_columns(table_name)}

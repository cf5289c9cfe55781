"""The database backends the tests run on, and throwaway databases on them.

Tests marked ``@pytest.mark.databases(*ALL_DATABASES)`` run once per backend:
SQLite, PostgreSQL and MySQL (or MariaDB). PostgreSQL tests use a schema of
their own (:class:`postgresql_schema`) in the database named by
``TEST_MYTHING_POSTGRESQL_URI`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); MySQL tests a database
of their own (:class:`mysql_database`) on the server of
``TEST_MYTHING_MYSQL_URI`` (default ``mysql://root@127.0.0.1:3306/test``).
Either is skipped through :func:`helpers.services.unavailable` when its server
is not reachable.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import sqlalchemy
from sqlalchemy import select

from helpers.services import unavailable
from mything.app import ApiFlask
from mything.db import get_database
from mything.tables import metadata

#: Every database backend mything supports, for ``@pytest.mark.databases``.
ALL_DATABASES = ("sqlite", "postgresql", "mysql")

POSTGRESQL_URI = os.environ.get(
    "TEST_MYTHING_POSTGRESQL_URI",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
MYSQL_URI = os.environ.get("TEST_MYTHING_MYSQL_URI", "mysql://root@127.0.0.1:3306/test")


class postgresql_schema:
    """A throwaway PostgreSQL schema; its URI sets the search path to it."""

    def __enter__(self) -> str:
        self.name = f"mything_test_{uuid.uuid4().hex[:12]}"
        self.admin = sqlalchemy.create_engine(POSTGRESQL_URI)
        try:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        except sqlalchemy.exc.OperationalError as exc:
            self.admin.dispose()
            unavailable(f"PostgreSQL is not reachable at {POSTGRESQL_URI}: {exc.orig}")
        url = sqlalchemy.make_url(POSTGRESQL_URI).update_query_dict(
            {"options": f"-csearch_path={self.name}"}
        )
        return url.render_as_string(hide_password=False)

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{self.name}" CASCADE')
        self.admin.dispose()


class mysql_database:
    """A throwaway MySQL (or MariaDB) database on the server of MYSQL_URI."""

    def __enter__(self) -> str:
        self.name = f"mything_test_{uuid.uuid4().hex[:12]}"
        server = sqlalchemy.make_url(MYSQL_URI).set(drivername="mysql+pymysql")
        self.admin = sqlalchemy.create_engine(server)
        try:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE `{self.name}`")
        except sqlalchemy.exc.OperationalError as exc:
            self.admin.dispose()
            unavailable(f"MySQL is not reachable at {MYSQL_URI}: {exc.orig}")
        return server.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE `{self.name}`")
        self.admin.dispose()


def stored_rows(app: ApiFlask) -> dict[str, list]:
    """Every row of every table, to show that a request changed nothing.

    Except when a token was last used: every request made with a token
    records that, whatever its outcome.
    """
    with get_database(app).engine.connect() as connection:
        return {
            table.name: connection.execute(
                select(*(c for c in table.c if c.name != "last_used_at")).order_by(
                    *table.primary_key
                )
            ).all()
            for table in metadata.sorted_tables
        }


@contextlib.contextmanager
def recorded_statements(app: ApiFlask) -> Iterator[list[str]]:
    """Collect the SQL that ``app``'s connections send to the database meanwhile.

    As the driver runs it, since mything runs some statements on the
    driver, past SQLAlchemy (``mything.db.DriverStatement``): on SQLite as
    SQLite traces it, on PostgreSQL as psycopg's cursors execute it; MySQL
    as SQLAlchemy sends it. Only connections taken from the pool meanwhile.
    """
    statements: list[str] = []
    engine = get_database(app).engine
    if engine.dialect.name == "sqlite":

        def watch(dbapi_connection):
            dbapi_connection.set_trace_callback(statements.append)

        def unwatch(dbapi_connection):
            dbapi_connection.set_trace_callback(None)

    elif engine.dialect.name == "postgresql":
        import psycopg

        class RecordingCursor(psycopg.Cursor):
            def execute(self, query, *args, **kwargs):
                statements.append(str(query))
                return super().execute(query, *args, **kwargs)

            def executemany(self, query, *args, **kwargs):
                statements.append(str(query))
                return super().executemany(query, *args, **kwargs)

        def watch(dbapi_connection):
            dbapi_connection.cursor_factory = RecordingCursor

        def unwatch(dbapi_connection):
            dbapi_connection.cursor_factory = psycopg.Cursor

    else:

        def record(connection, cursor, statement, *args):
            statements.append(statement)

        sqlalchemy.event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sqlalchemy.event.remove(engine, "before_cursor_execute", record)
        return

    def checkout(dbapi_connection, connection_record, connection_proxy):
        watch(dbapi_connection)

    def checkin(dbapi_connection, connection_record):
        if dbapi_connection is not None:
            unwatch(dbapi_connection)

    sqlalchemy.event.listen(engine, "checkout", checkout)
    sqlalchemy.event.listen(engine, "checkin", checkin)
    try:
        yield statements
    finally:
        sqlalchemy.event.remove(engine, "checkout", checkout)
        sqlalchemy.event.remove(engine, "checkin", checkin)

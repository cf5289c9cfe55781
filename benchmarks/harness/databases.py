"""Scratch databases for a run: made for it, dropped after it, even on failure.

SQLite gets a file in a temporary directory; PostgreSQL a schema of its
own (:func:`postgresql_schema`, enough where one database is measured at a
time) or a whole database (:func:`scratch_database`, for PostgreSQL and
MySQL alike). A server that does not answer is left out of a run, with the
reason :func:`unreachable` gives.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy

DEFAULT_POSTGRESQL = os.environ.get(
    "TEST_MYTHING_POSTGRESQL_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_MYSQL = os.environ.get(
    "TEST_MYTHING_MYSQL_URI", "mysql+pymysql://root@127.0.0.1:3306/test"
)


@contextlib.contextmanager
def sqlite_database(name: str) -> Iterator[str]:
    """Yield the URI of a SQLite file in a directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        yield f"sqlite:///{Path(scratch) / name}"


@contextlib.contextmanager
def postgresql_schema(uri: str) -> Iterator[str]:
    """Yield a URI whose search path is a new schema, dropped afterwards."""
    name = f"mything_bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(uri)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        try:
            url = sqlalchemy.make_url(uri).update_query_dict(
                {"options": f"-csearch_path={name}"}
            )
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        admin.dispose()


@contextlib.contextmanager
def scratch_database(admin_uri: str) -> Iterator[str]:
    """Yield the URI of a new database on ``admin_uri``'s server, dropped afterwards."""
    name = f"mything_bench_notes_{uuid.uuid4().hex[:12]}"
    url = sqlalchemy.make_url(admin_uri)
    postgresql = url.get_backend_name() == "postgresql"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            charset = "" if postgresql else " CHARACTER SET utf8mb4"
            connection.exec_driver_sql(f"CREATE DATABASE {name}{charset}")
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            # Every connection of the run is closed by now; FORCE ends any
            # that a failure left open.
            force = " WITH (FORCE)" if postgresql else ""
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE {name}{force}")
    finally:
        admin.dispose()


def with_pymysql(uri: str) -> str:
    """Return ``uri`` with PyMySQL as its driver if it names none."""
    url = sqlalchemy.make_url(uri)
    if url.drivername in ("mysql", "mariadb"):
        url = url.set(drivername=f"{url.drivername}+pymysql")
    return url.render_as_string(hide_password=False)


def unreachable(uri: str) -> str | None:
    """Return why the database at ``uri`` cannot be reached, or ``None``."""
    engine = sqlalchemy.create_engine(uri)
    try:
        with engine.connect():
            return None
    except sqlalchemy.exc.OperationalError as exc:
        return str(exc.orig).strip()
    finally:
        engine.dispose()


def skip_reason(uri: str | None) -> str | None:
    """Return why the database at ``uri`` is left out, or ``None`` if it can be used."""
    if uri is None:
        return "not asked for"
    reason = unreachable(uri)
    if reason is None:
        return None
    return f"cannot reach {shown(uri)}: {reason.splitlines()[0]}"


def shown(uri: str) -> str:
    """Return ``uri`` as it may be printed: without its password."""
    return sqlalchemy.make_url(uri).render_as_string(hide_password=True)


def server_version(uri: str) -> str:
    """Return the database server's name and version."""
    url = sqlalchemy.make_url(uri)
    if url.get_backend_name() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            version = str(connection.exec_driver_sql("SELECT VERSION()").scalar_one())
    finally:
        engine.dispose()
    if url.get_backend_name() == "postgresql":
        return f"PostgreSQL {version.split()[1]}"
    name = "MariaDB" if "mariadb" in version.lower() else "MySQL"
    return f"{name} {version.split('-')[0]}"

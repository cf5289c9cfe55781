"""Upgrading mything's schema: its own Alembic history, run from Python.

The migrations ship inside the package (``mything/migrations/versions/``) and
run through Alembic's Python API, on the app's own database; there is no
``alembic.ini`` to copy::

    mything db upgrade              # to the newest revision, "head"
    mything db downgrade REVISION   # back to REVISION ("base": nothing left)
    mything db current              # where the database is
    mything db history              # every revision, oldest first

mything records its revision in its own table, ``mything_alembic_version``,
so a host that runs Alembic for its own tables keeps its ``alembic_version``
to itself, and :func:`include_name` keeps Alembic blind to every table that
is not mything's.

Only one process upgrades at a time, whatever the number of workers and
hosts that start together: on PostgreSQL it holds a session-level advisory
lock, on a connection of its own, for the whole upgrade (a transaction-level
lock would be released by the first commit); on MySQL ``GET_LOCK``; on
SQLite the write lock, which the transaction that reads the revision takes
(``BEGIN IMMEDIATE``) and the migration runs in. The process that gets the
lock second reads the revision again, finds the work done, and does nothing.

PostgreSQL and SQLite run a migration in one transaction: one that fails (or
is killed) leaves nothing behind. MySQL commits each DDL statement as it
goes, so every revision is written to finish what an interrupted run of
itself left (it creates only what is missing); running ``mything db upgrade``
again completes it. A run that fails before its first revision is done (an
unknown revision, say) drops the version table it created, so MySQL is left
as it was found too.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)

from ..errors import ConfigError
from ..tables import PREFIX, metadata
from . import legacy

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: The table where mything's Alembic keeps its revision.
VERSION_TABLE = PREFIX + "alembic_version"

#: The newest revision: the one this mything needs. A test checks that it is
#: the head of the revisions in ``versions/``, so that checking a database
#: needs no Alembic. (Alembic, and Mako with it, is imported only where a
#: migration runs or the history is read: a request never needs it, and it
#: is a fifth of mything's start-up.)
HEAD = "0007"

#: How long a process waits for another one's upgrade to finish.
LOCK_TIMEOUT = 600


class MigrationError(ConfigError):
    """The schema cannot be migrated as asked, or is not where it must be.

    The message is one line that says what is wrong and what to run.
    """


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Tell Alembic which database objects are mything's: its tables only."""
    if type_ == "table":
        return name in metadata.tables
    return True


@cache
def scripts() -> ScriptDirectory:
    """Return mything's revisions (read from the package once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """Return the revision this mything needs."""
    return HEAD


def _config(connection: Connection | None = None, schema: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "mything:migrations")
    config.attributes.update(connection=connection, schema=schema)
    return config


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision, and what tables it holds."""

    #: The revision in ``mything_alembic_version``, or ``None``.
    revision: str | None
    #: Whether any of mything's tables exist.
    has_tables: bool
    #: Whether the unprefixed tables of mything 0.1 seem to be there.
    legacy: bool

    @property
    def empty(self) -> bool:
        """True if nothing of mything is in the database yet."""
        return self.revision is None and not self.has_tables and not self.legacy

    @property
    def up_to_date(self) -> bool:
        """True if the database is at the revision this mything needs."""
        return self.revision == head()

    @property
    def known(self) -> bool:
        """False if the revision is one this mything has never heard of."""
        return self.revision in (None, HEAD) or _is_known(self.revision)

    def describe(self) -> str:
        """Say where the database stands, in one line."""
        if self.empty:
            return "The database is empty: it holds no mything tables."
        if self.revision is None and self.legacy and not self.has_tables:
            return "The database holds the tables of mything 0.1 (no revision)."
        if self.revision is None:
            return "The database holds some mything tables but no revision."
        if not self.known:
            return f"{self.revision} (unknown to this mything: a newer release?)"
        if self.up_to_date:
            return f"{self.revision} (head)"
        return f"{self.revision} (behind head {head()})"


def _is_known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        scripts().get_revision(revision)
    except CommandError:
        return False
    return True


def read_status(connection: Connection, *, schema: str | None = None) -> Status:
    """Return where the database of ``connection`` stands."""
    names = set(inspect(connection).get_table_names(schema=schema))
    revision = None
    if VERSION_TABLE in names:
        version = Table(
            VERSION_TABLE, MetaData(schema=schema), Column("version_num", String(32))
        )
        revision = connection.execute(select(version.c.version_num)).scalar()
    return Status(
        revision=revision,
        has_tables=bool(names & set(metadata.tables)),
        legacy=legacy.TABLES <= names,
    )


def upgrade(
    engine: Engine, revision: str = "head", *, schema: str | None = None
) -> tuple[Status, Status]:
    """Upgrade the database of ``engine`` to ``revision``, one process at a time.

    Return where the database stood before (read once this process held the
    lock) and where it stands after.
    """
    from alembic import command

    return _migrate(command.upgrade, engine, revision, schema=schema)


def downgrade(
    engine: Engine, revision: str, *, schema: str | None = None
) -> tuple[Status, Status]:
    """Downgrade the database of ``engine`` to ``revision`` ("base": no tables)."""
    from alembic import command

    return _migrate(command.downgrade, engine, revision, schema=schema)


def history() -> list[tuple[str, str]]:
    """Return every revision as ``(id, description)``, oldest first."""
    revisions = list(scripts().walk_revisions())
    return [(script.revision, script.doc) for script in reversed(revisions)]


def _check_known(status: Status) -> None:
    if not status.known:
        raise MigrationError(
            f"the database is at revision {status.revision}, which this mything "
            "does not know: a newer release of mything upgraded it; run that "
            "release (or a newer one)"
        )


def _migrate(
    step: Any, engine: Engine, revision: str, *, schema: str | None
) -> tuple[Status, Status]:
    from alembic.util import CommandError

    with _serialized(engine, schema) as connection:
        before = read_status(connection, schema=schema)
        _check_known(before)
        had_version_table = _has_version_table(connection, schema)
        if engine.dialect.name != "sqlite":
            # Reading began a transaction; the migration begins its own.
            # On SQLite that transaction holds the write lock, which is the
            # migration lock: the migration runs inside it, so no other
            # process can upgrade between the reading and the migrating.
            connection.rollback()
        try:
            step(_config(connection, schema), revision)
        except CommandError as exc:
            if not had_version_table:
                _drop_empty_version_table(connection, schema)
            raise MigrationError(f"cannot migrate to {revision!r}: {exc}") from None
        except BaseException:
            if not had_version_table:
                _drop_empty_version_table(connection, schema)
            raise
        if connection.in_transaction():
            connection.commit()
        after = read_status(connection, schema=schema)
        connection.rollback()
        return before, after


def _has_version_table(connection: Connection, schema: str | None) -> bool:
    has: bool = inspect(connection).has_table(VERSION_TABLE, schema=schema)
    if connection.dialect.name != "sqlite":
        # Inspecting began a transaction: end it, as reading the status did.
        connection.rollback()
    return has


def _drop_empty_version_table(connection: Connection, schema: str | None) -> None:
    """Drop the version table a failed run created before recording any revision.

    Alembic creates it first thing; PostgreSQL and SQLite roll that back
    with the rest, but MySQL commits DDL at once and would keep an empty
    table, which looks like a database something has started on.
    """
    if connection.in_transaction():
        connection.rollback()
    if not inspect(connection).has_table(VERSION_TABLE, schema=schema):
        return
    version = Table(
        VERSION_TABLE, MetaData(schema=schema), Column("version_num", String(32))
    )
    if connection.execute(select(version.c.version_num)).first() is None:
        version.drop(connection)
    connection.commit()


@contextlib.contextmanager
def _serialized(engine: Engine, schema: str | None) -> Iterator[Connection]:
    """Hold the migration lock of the database, and yield a connection to migrate.

    The lock is taken on a connection of its own, so that the migration's
    commits cannot release it; it is released when the work is done, and by
    the server if this process dies.
    """
    with contextlib.ExitStack() as stack:
        if engine.dialect.name != "sqlite":
            lock = stack.enter_context(engine.connect())
            stack.enter_context(_lock(lock, schema))
        connection = stack.enter_context(engine.connect())
        if schema is not None:
            # Quoting is safe: the setting only allows [a-z0-9_].
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            connection.commit()
        yield connection


@contextlib.contextmanager
def _lock(connection: Connection, schema: str | None) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        key = _lock_key(f"{connection.engine.url.database}:{schema}")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
        return
    # MySQL's locks are named, and server-wide: the name includes the database.
    name = f"mything_migrations:{connection.engine.url.database}"[:64]
    taken = connection.execute(
        text("SELECT GET_LOCK(:name, :timeout)"),
        {"name": name, "timeout": LOCK_TIMEOUT},
    ).scalar()
    connection.commit()
    if taken != 1:
        raise MigrationError(
            f"another process has been upgrading the database for {LOCK_TIMEOUT} s; "
            "wait for it to finish and run mything db upgrade again"
        )
    try:
        yield
    finally:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
        connection.commit()


def _lock_key(name: str) -> int:
    """Return the 64-bit advisory lock key of one database and schema."""
    digest = hashlib.sha256(f"mything.migrations:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)

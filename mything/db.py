"""Storage: the tables, one engine per app, and a connection per app context.

This is the resource pattern of Flask's tutorial, on SQLAlchemy Core::

    conn = get_db()        # opened on first use, cached on ``g``
    conn.execute(...)      # a transaction begins on its own
    commit_db()            # ApiFlask does this when a view returns
    close_db()             # at teardown: rolls back anything not committed

Each app owns one :class:`Database` in ``app.extensions["mything.db"]``, so
two apps in one process never share an engine. The schema is created on the
first connection (or by ``mything init-db``); creating it is idempotent and
safe when several workers start at once.

SQLite is the embedded default and is tuned for a web server: WAL so readers
never wait for the writer, foreign keys on, a busy timeout, and write
transactions that take the write lock when they begin (``BEGIN IMMEDIATE``)
instead of failing with "database is locked" when they try to upgrade.
PostgreSQL is used through psycopg 3, with a pre-ping so that a connection
broken by a database restart is replaced instead of failing a request.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from flask import Flask

#: SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow)


users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    _created_at(),
    sqlite_autoincrement=True,
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # The SHA-256 of the token, hex-encoded; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    # The columns below came with named tokens. Tokens issued before them
    # have no name, scope or expiry: they are listed as "legacy", may write,
    # and never expire.
    Column("name", String(100)),
    Column("scope", String(5)),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    # A user's tokens are listed newest first.
    Index("ix_tokens_user_id_id", "user_id", "id"),
    sqlite_autoincrement=True,
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    _created_at(),
    sqlite_autoincrement=True,
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "org_id",
        Id,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    _created_at(),
    Index("ix_memberships_user_id", "user_id"),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "org_id",
        Id,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("author_id", Id, ForeignKey("users.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=utcnow),
    # Pages of an organization's notes walk this index newest first.
    Index("ix_notes_org_id_id", "org_id", "id"),
    sqlite_autoincrement=True,
)

note_tags = Table(
    "note_tags",
    metadata,
    Column("note_id", Id, ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(50), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_note_tags_tag_note_id", "tag", "note_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    # SHA-256 of the method, path and body the key was first used with.
    Column("fingerprint", String(64), nullable=False),
    # The answer to replay: status, JSON body and the headers worth keeping.
    Column("status", Integer),
    Column("body", Text),
    Column("headers", Text),
    _created_at(),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Seconds to wait for a PostgreSQL connection before answering 503.
CONNECT_TIMEOUT = 5

# Any constant works; it only has to be the same in every worker and host.
_SCHEMA_LOCK_KEY = 0x6D797468696E67


class Database:
    """The engine of one app, and the schema made ready before first use."""

    def __init__(self, uri: str) -> None:
        self.engine = _create_engine(uri)
        self._lock = threading.Lock()
        self._settings: dict[str, str] | None = None

    def connect(self, *, write: bool = True) -> Connection:
        """Return a new connection; the first one creates the schema if needed.

        ``write`` tells SQLite to take the write lock when a transaction
        begins; reads then never block each other.
        """
        if self._settings is None:
            self.init_schema()
        connection = self.engine.connect()
        connection.info["mything.write"] = write
        return connection

    def init_schema(self) -> None:
        """Create the tables and the site secret, if missing; safe to repeat."""
        # Connect before taking the lock: threads waiting for a database that
        # does not answer must each time out on their own, not in turn.
        with self.engine.connect() as connection, self._lock:
            connection.info["mything.write"] = True
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Serialize schema creation between workers and hosts that
                    # start at the same moment.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _SCHEMA_LOCK_KEY},
                    )
                metadata.create_all(connection)
                self._settings = _ensure_settings(connection)

    def setting(self, name: str) -> str:
        """Return a value of the ``settings`` table, read once per app."""
        if self._settings is None:
            self.init_schema()
        assert self._settings is not None
        return self._settings[name]

    def dispose(self) -> None:
        """Close every pooled connection (for tests and shutdown)."""
        self.engine.dispose()


def _ensure_settings(connection: Connection) -> dict[str, str]:
    stored = dict(connection.execute(select(settings.c.name, settings.c.value)).all())
    if "cursor_secret" not in stored:
        # Signs pagination cursors; stored here so that every worker and
        # host agrees on it without extra configuration.
        stored["cursor_secret"] = secrets.token_urlsafe(32)
        connection.execute(
            insert(settings).values(name="cursor_secret", value=stored["cursor_secret"])
        )
    return stored


def _create_engine(uri: str) -> Engine:
    if uri.startswith("sqlite"):
        engine = create_engine(uri)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(
        uri,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # Give up on an unreachable server, or a full pool, after this long:
        # the client gets a 503 to retry instead of a request that hangs.
        pool_timeout=CONNECT_TIMEOUT,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    # Hand transaction control to the "begin" listener below, which knows
    # whether the transaction will write.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    write = connection.info.get("mything.write", True)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def init_app(app: Flask) -> None:
    """Give ``app`` its database and release connections at teardown."""
    app.extensions["mything.db"] = Database(app.config["DATABASE_URI"])
    app.teardown_appcontext(close_db)


def get_database(app: Flask | None = None) -> Database:
    """Return the :class:`Database` of ``app`` (default: the current app)."""
    database: Database = (app or current_app).extensions["mything.db"]
    return database


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db() -> Connection:
    """Return the connection of the current app context, opening it on first use."""
    if "mything_db" not in g:
        write = not has_request_context() or request.method not in _SAFE_METHODS
        g.mything_db = get_database().connect(write=write)
    connection: Connection = g.mything_db
    return connection


@contextmanager
def writing() -> Iterator[Connection]:
    """Yield a connection to write with, committed when the block ends.

    In a request that may write (and outside requests) that is the current
    connection, in a savepoint. A ``GET`` that must write (to record when a
    token was last used, or to create a user on first sight) gets a short
    transaction of its own instead: on SQLite, its read transaction could
    not take the write lock later without failing at once with "database is
    locked" whenever another request wrote meanwhile. Such a request does
    not see what the block wrote in its own connection afterwards (on
    SQLite): read it back inside the block.
    """
    connection = get_db()
    if connection.info["mything.write"]:
        with connection.begin_nested():
            yield connection
        return
    with get_database().connect(write=True) as own, own.begin():
        yield own


def commit_db() -> None:
    """Commit the work of the current app context, if it used the database."""
    connection = g.get("mything_db")
    if connection is not None and connection.in_transaction():
        connection.commit()


def close_db(exc: BaseException | None = None) -> None:
    """Return the connection to the pool; uncommitted work is rolled back."""
    connection = g.pop("mything_db", None)
    if connection is not None:
        connection.close()

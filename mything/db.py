"""Connections: one engine per app, and a connection per app context.

This is the resource pattern of Flask's tutorial, on SQLAlchemy Core::

    conn = get_db()        # opened on first use, cached on ``g``
    conn.execute(...)      # a transaction begins on its own
    commit_db()            # ApiFlask.make_response does this for a success
    close_db()             # at teardown: rolls back anything not committed

What an app context holds (its connection, whether it may write, and what
runs once the connection is released) lives in one :class:`Resources` on
``g``. Storage reads no HTTP: the edge (:mod:`mything.edge`) calls
:func:`read_only` for a request that changes nothing.

Each app owns one :class:`Database` in ``app.extensions["mything.db"]``, so
two apps in one process never share an engine. The tables are defined in
:mod:`mything.tables`, and :mod:`mything.migrations` builds and upgrades them.
Building the app opens nothing: no connection, no file. The first
connection (of a request, a Python call or a command) brings an empty
database to the newest revision (and an older one too, when
``AUTO_UPGRADE`` is on), and refuses a database that is behind and may not
be upgraded automatically: a 503 for requests, and an error naming
``mything db upgrade`` in the log. So a host may build its ``MyThing`` when
its module is imported, and a test collector or ``flask routes`` that
imports it touches no database.

Every engine is tuned for a web server, and bounded by ``DATABASE_TIMEOUT``
so that a database that stops answering is a 503, not a request that hangs:

- SQLite: WAL so readers never wait for the writer, foreign keys on, a busy
  timeout, and write transactions that take the write lock when they begin
  (``BEGIN IMMEDIATE``) instead of failing with "database is locked" when
  they try to upgrade.
- PostgreSQL, through psycopg 3: ``statement_timeout`` and ``lock_timeout``
  on the server, and a connect timeout, TCP keepalives and
  ``tcp_user_timeout`` on the client for a server that vanishes from the
  network. A pooled connection that the server has closed (a restart) is
  replaced before use, found from its socket without a round trip.
- MySQL and MariaDB, through PyMySQL: the server's statement and lock wait
  timeouts, driver read and write timeouts, ``READ COMMITTED`` (as on
  PostgreSQL), and a pre-ping (PyMySQL does not show its socket).

A connection whose statement timed out is discarded, never returned to the
pool.

The few statements that nearly every request runs (the caller's token, a
new note, the ledger's) run as :class:`DriverStatement` on SQLite and
PostgreSQL: built and compiled by SQLAlchemy, run on the driver's cursor.
"""

from __future__ import annotations

import hashlib
import logging
import math
import select as io_select
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from sqlalchemy import Select, create_engine, event, select
from sqlalchemy.engine import (
    URL,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    ExceptionContext,
    make_url,
)
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine

from . import migrations
from .config import settings_of
from .errors import Unavailable
from .migrations import Status
from .tables import settings

if TYPE_CHECKING:
    from flask import Flask
    from flask.ctx import _AppCtxGlobals

logger = logging.getLogger(__name__)

# Error codes that mean a statement was stopped by a timeout: PostgreSQL's
# query_canceled and lock_not_available, MySQL's lock wait timeout,
# max_statement_time (MariaDB) and max_execution_time (MySQL).
_POSTGRESQL_TIMEOUTS = frozenset({"57014", "55P03"})
_MYSQL_TIMEOUTS = frozenset({1205, 1969, 3024})


class Database:
    """The engine of one app, and the schema made ready before first use."""

    def __init__(
        self,
        uri: str,
        *,
        schema: str | None = None,
        timeout: float = 10,
        auto_upgrade: bool = False,
    ) -> None:
        self.url = make_url(uri)
        self.schema = schema
        self.timeout = timeout
        self.auto_upgrade = auto_upgrade
        #: The engine and its pool. Connections that only read use it as it
        #: is, and a listener added to it sees every statement.
        self.engine = _create_engine(self.url, schema=schema, timeout=timeout)
        #: The same pool, for connections that write (see :func:`_writer`).
        self.writer = _writer(self.engine)
        self._lock = threading.Lock()
        self._settings: dict[str, str] | None = None

    def connect(self, *, write: bool = True) -> Connection:
        """Return a new connection; the first one makes the schema ready.

        ``write`` says whether the connection may write. One that only
        reads runs each statement in a transaction of its own (autocommit),
        which under ``READ COMMITTED`` sees what a longer transaction would
        see, the latest commits, and saves the round trips of ``BEGIN`` and
        ``COMMIT``; on SQLite, readers then never block each other either.
        A connection that writes takes SQLite's write lock when its
        transaction begins.
        """
        if self._settings is None:
            self.prepare()
        connection = (self.writer if write else self.engine).connect()
        if not write and self.engine.dialect.name == "postgresql":
            # PERF: benchmarks/findings.md#autocommit-readers. psycopg sets
            # this on the client; MySQL would need a round trip.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    def _verify(self, status: Status) -> bool:
        """Return whether the database needs an upgrade; raise if it may not."""
        if not status.known:
            raise migrations.MigrationError(
                f"the database is at revision {status.revision}, which this "
                "mything does not know: a newer release of mything upgraded it"
            )
        if status.up_to_date:
            return False
        if not status.empty and not self.auto_upgrade:
            raise migrations.MigrationError(
                f"the database schema is at {status.describe()}, and this mything "
                f"needs revision {migrations.head()}: run `mything db upgrade` "
                "(AUTO_UPGRADE is off)"
            )
        return True

    def prepare(self) -> None:
        """Bring the schema to the newest revision if allowed, and read the settings."""
        # Connect before taking the lock: threads waiting for a database that
        # does not answer must each time out on their own, not in turn.
        with self.engine.connect() as connection, self._lock:
            if self._settings is not None:
                return
            status = migrations.read_status(connection, schema=self.schema)
            try:
                if self._verify(status):
                    connection.rollback()
                    self.upgrade()
            except migrations.MigrationError as exc:
                logger.error("cannot use the database: %s", exc)
                raise Unavailable("The database needs an upgrade.") from exc
            rows = connection.execute(select(settings.c.name, settings.c.value))
            self._settings = {row.name: row.value for row in rows}

    def upgrade(self, revision: str = "head") -> tuple[Status, Status]:
        """Upgrade the schema to ``revision``; return where it stood and stands."""
        return self._migrate(migrations.upgrade, revision)

    def downgrade(self, revision: str) -> tuple[Status, Status]:
        """Downgrade the schema to ``revision``; return where it stood and stands."""
        return self._migrate(migrations.downgrade, revision)

    def _migrate(self, step: Any, revision: str) -> tuple[Status, Status]:
        engine = self.migration_engine()
        try:
            result: tuple[Status, Status] = step(engine, revision, schema=self.schema)
        finally:
            engine.dispose()
            # Read the settings again: a downgrade may have removed them.
            self._settings = None
        return result

    def status(self) -> Status:
        """Return where the database stands (a :class:`~mything.migrations.Status`)."""
        with self.engine.connect() as connection:
            return migrations.read_status(connection, schema=self.schema)

    def migration_engine(self) -> Engine:
        """Return an engine for migrations: no pool, and no statement timeouts.

        Changing the schema of a large table may take longer than any
        request should; connecting is still bounded.
        """
        return _writer(
            _create_engine(
                self.url, schema=self.schema, timeout=self.timeout, for_migrations=True
            )
        )

    def setting(self, name: str) -> str:
        """Return a value of the settings table, read once per app."""
        if self._settings is None:
            self.prepare()
        assert self._settings is not None
        return self._settings[name]

    def instance_id(self) -> str:
        """Return an id of this database, the same for every mything that uses it.

        It names what instances share only when they share a database (their
        rate limit counts in Redis). It is derived, one way, from the
        database's random cursor secret, which every database has from its
        first revision: nothing new to store, and nothing for two workers to
        race to create. The secret cannot be read back from it.
        """
        secret = self.setting("cursor_secret").encode()
        return hashlib.sha256(b"mything.instance-id\0" + secret).hexdigest()[:16]

    def dispose(self) -> None:
        """Close every pooled connection (for tests and shutdown)."""
        self.engine.dispose()


def _create_engine(
    url: URL, *, schema: str | None, timeout: float, for_migrations: bool = False
) -> Engine:
    """Return an engine for ``url``, tuned for its database and bounded in time."""
    options: dict[str, Any] = {}
    if for_migrations:
        options["poolclass"] = NullPool
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, **options)
        # Migrations wait longer for the write lock: another process may be
        # running the same upgrade.
        busy_ms = int((60 if for_migrations else timeout) * 1000)
        event.listen(engine, "connect", _sqlite_setup(busy_ms))
        return engine
    if not for_migrations:
        options.update(
            pool_size=5,
            max_overflow=10,
            # Give up on a full pool after this long: the client gets a 503
            # to retry instead of a request that hangs.
            pool_timeout=timeout,
        )
    if url.get_backend_name() == "postgresql":
        # psycopg shows its socket, so a closed connection is found without
        # a round trip (see _refuse_closed); elsewhere, the pool pings.
        watch_socket = not for_migrations and hasattr(io_select, "poll")
        engine = create_engine(
            url,
            connect_args=_postgresql_arguments(
                url, schema=schema, timeout=None if for_migrations else timeout
            ),
            pool_pre_ping=not for_migrations and not watch_socket,
            **options,
        )
        if watch_socket:
            event.listen(engine, "checkout", _refuse_closed)
    else:
        engine = create_engine(
            url,
            isolation_level="READ COMMITTED",
            pool_recycle=3600,
            pool_pre_ping=not for_migrations,
            connect_args=_mysql_arguments(timeout=None if for_migrations else timeout),
            **options,
        )
        if not for_migrations:
            event.listen(engine, "connect", _mysql_setup(timeout))
    event.listen(engine, "handle_error", _discard_timed_out)
    return engine


def _postgresql_arguments(
    url: URL, *, schema: str | None, timeout: float | None
) -> dict[str, Any]:
    """Return psycopg's connection arguments: timeouts, and the schema to use."""
    # A connection attempt and a dead connection each get half the time, so
    # that finding a connection dead and replacing it fits in the bound too.
    # Linux starts counting tcp_user_timeout at the first retransmission,
    # about 0.4 s after sending, hence the half second less. (libpq's connect
    # timeout is at least 2 seconds; tcp_user_timeout also cuts an attempt.)
    half = (timeout or 10) / 2
    parameters = []
    if timeout is not None:
        milliseconds = int(timeout * 1000)
        parameters += [
            f"-c statement_timeout={milliseconds}",
            f"-c lock_timeout={milliseconds}",
        ]
    if schema is not None:
        parameters.append(f"-c search_path={schema}")
    given = url.query.get("options")
    if given:
        parameters.insert(0, given if isinstance(given, str) else " ".join(given))
    arguments: dict[str, Any] = {
        "connect_timeout": max(2, int(half)),
        "keepalives": 1,
        "keepalives_idle": max(1, int(half)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": max(500, int(half * 1000) - 500),
    }
    if parameters:
        arguments["options"] = " ".join(parameters)
    return arguments


def _mysql_arguments(*, timeout: float | None) -> dict[str, Any]:
    """Return PyMySQL's connection arguments: UTF-8 and client-side timeouts."""
    arguments: dict[str, Any] = {
        "charset": "utf8mb4",
        "connect_timeout": max(1, math.ceil((timeout or 10) / 2)),
    }
    if timeout is not None:
        arguments.update(read_timeout=timeout, write_timeout=timeout)
    return arguments


def _mysql_setup(timeout: float) -> Any:
    """Return a listener that bounds every statement and lock wait on the server."""
    seconds = max(1, math.ceil(timeout))

    def setup(dbapi_connection: Any, connection_record: Any) -> None:
        if "mariadb" in dbapi_connection.get_server_info().lower():
            statement = f"max_statement_time = {timeout}"
        else:
            statement = f"max_execution_time = {int(timeout * 1000)}"
        cursor = dbapi_connection.cursor()
        cursor.execute(
            f"SET SESSION {statement}, lock_wait_timeout = {seconds}, "
            f"innodb_lock_wait_timeout = {seconds}"
        )
        cursor.close()

    return setup


# PERF: a closed connection found from its socket, without a round trip
# (benchmarks/findings.md#socket-check).
def _refuse_closed(
    dbapi_connection: Any, connection_record: ConnectionPoolEntry, proxy: Any
) -> None:
    """Refuse a pooled connection that its server has closed, before it is used.

    It does what the pool's pre-ping does, without the round trip of a
    ``SELECT 1`` on every checkout (about a tenth of a new note's time on
    PostgreSQL). An idle connection has nothing to read; once the server
    has closed its side (a restart, an ended or killed session) or the
    network has reset it, or TCP keepalives have given up on a vanished
    host, its socket becomes readable. The pool then discards it and every
    older connection, and connects anew, as after a failed pre-ping:
    raising ``InvalidatePoolError`` from a checkout listener is SQLAlchemy's
    documented way to ask for that.
    """
    poller = io_select.poll()
    poller.register(dbapi_connection.fileno(), io_select.POLLIN)
    if poller.poll(0):
        raise InvalidatePoolError("the server closed the connection")


def _discard_timed_out(context: ExceptionContext) -> None:
    """Treat a connection whose statement timed out as broken: discard it.

    Its session may still be busy on the server, so it must not serve the
    next request. The pool's other connections stay.
    """
    if _is_timeout(context.original_exception):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


def _sqlite_setup(busy_ms: int) -> Any:
    """Return a listener that configures each new SQLite connection."""

    def setup(dbapi_connection: Any, connection_record: Any) -> None:
        # Hand transaction control to SQLAlchemy: the writers' "begin"
        # listener (_writer) sends BEGIN, and readers stay in autocommit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()
        # What PostgreSQL computes with encode(sha256(...)): the ledger's
        # UPDATE of a chain's head hashes the event in SQL on both.
        dbapi_connection.create_function(
            "mything_sha256_hex", 1, sha256_hex, deterministic=True
        )

    return setup


def sha256_hex(text: str) -> str:
    """Return the SHA-256 of ``text``'s UTF-8, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def _writer(engine: Engine) -> Engine:
    """Return ``engine`` as the connections that write use it.

    On SQLite that is a view of the same engine and pool
    (:meth:`~sqlalchemy.engine.Engine.execution_options`) whose transactions
    begin with ``BEGIN IMMEDIATE``: a writer takes the write lock when it
    starts, so that what it reads first is still true when it writes.
    Connections that only read use the engine itself, without the listener,
    and stay in autocommit: SQLAlchemy dispatches events around every
    statement of a connection that has any listener, which costs a ``GET``
    of one note about 20 µs. Other databases use ``engine`` itself.
    """
    if engine.dialect.name != "sqlite":
        return engine
    writer = engine.execution_options()
    event.listen(writer, "begin", _begin_immediate)
    return writer


def _begin_immediate(connection: Connection) -> None:
    # PERF: benchmarks/findings.md#statements-on-the-driver. On the driver, as
    # a DriverStatement runs: exec_driver_sql costs ~35 µs more.
    _on_driver(connection, "BEGIN IMMEDIATE", ())


def init_app(app: Flask) -> None:
    """Give ``app`` its database (unopened) and release its connections."""
    checked = settings_of(app)
    database = Database(
        checked.database_uri,
        schema=checked.database_schema,
        timeout=checked.database_timeout,
        auto_upgrade=bool(checked.auto_upgrade),
    )
    app.extensions["mything.db"] = database
    app.teardown_appcontext(close_db)


def get_database(app: Flask | None = None) -> Database:
    """Return the :class:`Database` of ``app`` (default: the current app)."""
    database: Database = (app or current_app).extensions["mything.db"]
    return database


@dataclass
class Resources:
    """What one app context holds of the database, kept on ``g``."""

    #: Whether its connection may write (:func:`read_only` says not).
    write: bool = True
    #: The connection, once :func:`get_db` opened it.
    connection: Connection | None = None
    #: What :func:`close_db` runs once the connection is released.
    after_release: list[Callable[[], None]] = field(default_factory=list)
    #: What :func:`commit_db` runs once the work is committed.
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def _globals() -> _AppCtxGlobals:
    # PERF: benchmarks/findings.md#proxies-looked-up-once. A request asks
    # for its resources three times (the edge, the commit, the teardown).
    return g._get_current_object()


def _resources() -> Resources:
    context_globals = _globals()
    resources: Resources | None = context_globals.get("mything")
    if resources is None:
        resources = context_globals.mything = Resources()
    return resources


def read_only() -> None:
    """Make the current app context's connection one that only reads.

    Call it before the first :func:`get_db`; the edge does, for requests
    whose method changes nothing.
    """
    _resources().write = False


def get_db() -> Connection:
    """Return the connection of the current app context, opening it on first use."""
    resources = _resources()
    if resources.connection is None:
        write = resources.write
        resources.connection = get_database().connect(write=write)
    return resources.connection


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
    if _resources().write:
        with connection.begin_nested():
            yield connection
        return
    with get_database().connect(write=True) as own, own.begin():
        yield own


@dataclass(frozen=True)
class _DriverSQL:
    # What the driver runs for a DriverStatement: its SQL, the names of its
    # parameters in order, the values bound in the statement itself, the
    # bind processors of its types and the result processors of its
    # columns, by position. ``named``: the driver takes a dict (psycopg's
    # %(name)s), not a list (SQLite's ?).
    sql: str
    names: tuple[str, ...]
    named: bool
    fixed: dict[str, Any]
    binds: tuple[tuple[int, Callable[[Any], Any]], ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]

    def values(self, parameters: dict[str, Any]) -> Any:
        fixed = self.fixed
        values = [
            fixed[name] if name in fixed else parameters[name] for name in self.names
        ]
        for position, process in self.binds:
            values[position] = process(values[position])
        return dict(zip(self.names, values, strict=True)) if self.named else values


def _is_timeout(error: BaseException) -> bool:
    """Return whether a driver's ``error`` says that a statement timed out."""
    sqlstate = getattr(error, "sqlstate", None)
    mysql_code = error.args[0] if error.args else None
    return sqlstate in _POSTGRESQL_TIMEOUTS or mysql_code in _MYSQL_TIMEOUTS


def _on_driver(
    connection: Connection, sql: str, values: Any, *, many: bool = False
) -> Any:
    """Run ``sql`` on ``connection``'s driver; return the driver's cursor.

    A driver's error is raised as SQLAlchemy raises it, a
    :class:`~sqlalchemy.exc.DBAPIError`; one that means the connection is
    lost, or that its statement timed out (see :func:`_discard_timed_out`),
    first invalidates the connection, which the pool then discards.
    """
    driver = connection.connection.driver_connection
    assert driver is not None
    dialect = connection.dialect
    error_class = dialect.loaded_dbapi.Error
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
    except error_class as error:
        lost = dialect.is_disconnect(error, driver, cursor) or _is_timeout(error)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, values, error, error_class, connection_invalidated=lost
        ) from error
    return cursor


def _processors(
    types: Iterable[TypeEngine[Any]], processor: Callable[[TypeEngine[Any]], Any]
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    # The processors that the types have, by position.
    found = ((position, processor(type_)) for position, type_ in enumerate(types))
    return tuple((position, process) for position, process in found if process)


class DriverStatement:
    """A statement whose SQL runs on the driver's cursor, past SQLAlchemy's execution.

    PERF: benchmarks/findings.md#statements-on-the-driver. Executing a
    statement through SQLAlchemy, even one built once and cached, costs
    ~40 µs of Python (an execution context, events, a result), where
    SQLite's driver takes ~4 µs to run a small one and psycopg ~50 µs for
    its round trip. For the few statements that most requests run, this
    runs the SQL that SQLAlchemy compiled for the database on the driver's
    cursor, in the connection's transaction: the values bound as
    SQLAlchemy binds them and the row read as it reads it (their types'
    processors applied), and a driver's error raised as SQLAlchemy raises
    it (a :class:`~sqlalchemy.exc.DBAPIError`, the connection invalidated
    when it is lost). That is on SQLite and PostgreSQL, where it was
    measured; MySQL runs the statement through SQLAlchemy, as usual.
    Either way, a row is read by position.
    """

    def __init__(self, statement: UpdateBase | Select[Any]) -> None:
        self.statement = statement
        # Compiled once for each dialect (each engine has its own).
        self._compiled: weakref.WeakKeyDictionary[Dialect, _DriverSQL] = (
            weakref.WeakKeyDictionary()
        )

    def execute(
        self,
        connection: Connection,
        parameters: dict[str, Any] | list[dict[str, Any]],
    ) -> None:
        """Run the statement with ``parameters``; a list runs it once for each."""
        if connection.dialect.name not in _ON_DRIVER:
            connection.execute(self.statement, parameters)
            return
        compiled = self._begun(connection)
        if isinstance(parameters, list):
            rows = [compiled.values(one) for one in parameters]
            _on_driver(connection, compiled.sql, rows, many=True)
        else:
            _on_driver(connection, compiled.sql, compiled.values(parameters))

    def first(
        self, connection: Connection, parameters: dict[str, Any]
    ) -> Sequence[Any] | None:
        """Run the statement with ``parameters``; return its first row, or ``None``."""
        if connection.dialect.name not in _ON_DRIVER:
            return connection.execute(self.statement, parameters).first()
        compiled = self._begun(connection)
        cursor = _on_driver(connection, compiled.sql, compiled.values(parameters))
        row = cursor.fetchone()
        cursor.close()
        if row is None or not compiled.results:
            return row
        values = list(row)
        for position, process in compiled.results:
            values[position] = process(values[position])
        return values

    def _begun(self, connection: Connection) -> _DriverSQL:
        # The compiled statement, once the connection's transaction has begun.
        if not connection.in_transaction():
            connection.begin()
        dialect = connection.dialect
        return self._compiled.get(dialect) or self._compile(dialect)

    def _compile(self, dialect: Dialect) -> _DriverSQL:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        named = compiled.positiontup is None
        if named:
            sql = compiled.string
            names = tuple(name for name in compiled.binds if f"%({name})s" in sql)
        else:
            names = tuple(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        columns = self.statement.exported_columns
        driver_sql = self._compiled[dialect] = _DriverSQL(
            compiled.string,
            names,
            named,
            {
                name: bind.value
                for name, bind in zip(names, binds, strict=True)
                if not bind.required
            },
            _processors(
                (bind.type for bind in binds),
                lambda type_: type_.dialect_impl(dialect).bind_processor(dialect),
            ),
            _processors(
                (column.type for column in columns),
                lambda type_: type_.dialect_impl(dialect).result_processor(
                    dialect, None
                ),
            ),
        )
        return driver_sql


#: The databases whose drivers run a DriverStatement.
_ON_DRIVER = frozenset({"sqlite", "postgresql"})


def inserted_id(result: CursorResult[Any]) -> int:
    """Return the id of the row that an ``INSERT`` of one row created.

    It comes from the driver, not from ``INSERT ... RETURNING``, which MySQL
    does not have.
    """
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@contextmanager
def transaction() -> Iterator[None]:
    """Commit the database work of the block, if it succeeds.

    The Python API and the command line run each operation in one (inside
    an app context); a request commits the same way, with :func:`commit_db`
    in :meth:`ApiFlask.make_response <mything.app.ApiFlask.make_response>`.
    A block that raises commits nothing: its work is rolled back when the
    app context ends.
    """
    yield
    commit_db()


def commit_db() -> None:
    """Commit the work of the current app context, if it used the database.

    Then run the :func:`after_commit` callbacks. A commit that fails raises,
    and its connection is discarded instead of going back to the pool.
    """
    resources: Resources | None = _globals().get("mything")
    if resources is None or resources.connection is None:
        return
    connection = resources.connection
    if connection.in_transaction():
        try:
            connection.commit()
        except BaseException:
            # SQLAlchemy counts the transaction as over and the pool would
            # not roll it back, but SQLite keeps it open after a refused
            # COMMIT: pooled again, the connection would fail every later
            # request with "cannot start a transaction within a transaction".
            connection.invalidate()
            raise
    callbacks, resources.after_commit = resources.after_commit, []
    for callback in callbacks:
        callback()


def close_db(exc: BaseException | None = None) -> None:
    """Return the connection to the pool, then run :func:`after_release` callbacks.

    What the connection did not commit is rolled back.
    """
    resources: Resources | None = _globals().pop("mything", None)
    if resources is None:
        return
    if resources.connection is not None:
        resources.connection.close()
    for callback in resources.after_release:
        callback()


def after_release(callback: Callable[[], None]) -> None:
    """Call ``callback`` when the app context ends, after its connection is released.

    For work that needs a transaction of its own once the request's is
    over: on SQLite, the request's connection may hold the write lock.
    """
    _resources().after_release.append(callback)


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` once the current app context's work is committed.

    Never if it is not: a request that fails, or a commit that the database
    refuses, drops the callbacks with the work.
    """
    _resources().after_commit.append(callback)

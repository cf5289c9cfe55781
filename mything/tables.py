"""mything's tables, as SQLAlchemy Core definitions, all named ``mything_*``.

mything usually lives inside its host's database, next to tables it does not
own, so every name it creates starts with :data:`PREFIX`: the tables
(``mything_users``, ``mything_notes``, ...) through :func:`table`, and every
index and constraint through the naming convention of :data:`metadata`,
which derives their names from the table's::

    mything_notes_pkey                  primary key
    mything_notes_org_id_fkey           foreign key
    mything_tokens_token_hash_key       unique constraint
    mything_notes_org_id_id_idx         index

PostgreSQL names the sequence of an id column after its table too
(``mything_notes_id_seq``). These definitions are the schema that the
migrations in :mod:`mything.migrations` build; a test compares the two, so a
change here without a migration fails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    type_coerce,
)
from sqlalchemy.types import NullType

from .encoding import isoformat

#: The start of the name of everything mything creates in a database.
PREFIX = "mything_"

#: How constraint and index names are made from their table's name.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: SQLite only autoincrements an INTEGER PRIMARY KEY; the others get 64 bits.
Id = BigInteger().with_variant(Integer(), "sqlite")

#: The largest id any table can hold: no row has a larger one.
MAX_ID = 2**63 - 1


def _mysql_types() -> Any:
    # Importing MySQL's types imports its whole dialect, every driver's
    # module included: a tenth of a second of each start-up on the other
    # databases. Only a MySQL engine, which has loaded it already, asks.
    from sqlalchemy.dialects import mysql

    return mysql


class LongText(TypeDecorator[str]):
    """Text of any length; on MySQL ``MEDIUMTEXT``, since its TEXT holds 64 KiB."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(_mysql_types().MEDIUMTEXT())
        return dialect.type_descriptor(Text())


class Timestamp(TypeDecorator[datetime]):
    """A moment in UTC, to the microsecond, on every database.

    PostgreSQL stores the zone; SQLite and MySQL store a plain UTC value,
    which comes back with its zone attached again. (MySQL's ``DATETIME``
    would drop the microseconds without ``fsp=6``, and some of its drivers
    refuse a value that carries a zone.)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(_mysql_types().DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def raw_timestamp(column: ColumnElement[datetime]) -> ColumnElement[Any]:
    """Select a :class:`Timestamp` column as its driver returns it, unconverted.

    That is SQLite's stored text, or a ``datetime`` from PostgreSQL and
    MySQL; :func:`timestamp_formatter` makes JSON's text of it. A page of
    notes, where each note comes on one row per tag, formats each moment
    once instead of converting it on every row.
    """
    return type_coerce(column, NullType())


def timestamp_formatter(dialect: Dialect) -> Callable[[Any], str]:
    """Return the function that formats a :func:`raw_timestamp` of ``dialect``.

    It writes what :func:`~mything.encoding.isoformat` writes; SQLite's
    text is rearranged, not parsed.
    """
    return _sqlite_text if dialect.name == "sqlite" else _moment_text


def _sqlite_text(value: str) -> str:
    # SQLAlchemy stores "2026-01-02 03:04:05.678901", always to the microsecond.
    if len(value) == 26:
        return f"{value[:10]}T{value[11:]}Z"
    return isoformat(datetime.fromisoformat(value))


def _moment_text(value: datetime) -> str:
    # PostgreSQL's are in the session's zone; MySQL's are naive UTC values.
    return isoformat(value if value.tzinfo else value.replace(tzinfo=UTC))


def utcnow() -> datetime:
    """Return the current moment, in UTC."""
    return datetime.now(UTC)


def table(name: str, *parts: Any, **options: Any) -> Table:
    """Define the table ``mything_<name>`` in :data:`metadata`.

    The migrations create it; on MySQL they also choose InnoDB and UTF-8
    (all of it, emoji included), see :mod:`mything.migrations.ddl`. Those
    options are not repeated here: naming them would import the MySQL
    dialect into every process.
    """
    return Table(PREFIX + name, metadata, *parts, **options)


def _created_at() -> Column:
    return Column("created_at", Timestamp(), nullable=False, default=utcnow)


users = table(
    "users",
    Column("id", Id, primary_key=True),
    # mything's own names are at most 64 characters; a host's, 254.
    Column("name", String(254), nullable=False, unique=True),
    _created_at(),
    sqlite_autoincrement=True,
)

tokens = table(
    "tokens",
    Column("id", Id, primary_key=True),
    Column(
        "user_id",
        Id,
        ForeignKey(users.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    # The SHA-256 of the token, hex-encoded; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    # The columns below came with named tokens. Tokens issued before them
    # have no name, scope or expiry: they are listed as "legacy", may write,
    # and never expire.
    Column("name", String(100)),
    Column("scope", String(5)),
    Column("expires_at", Timestamp()),
    Column("last_used_at", Timestamp()),
    # A user's tokens are listed newest first.
    Index(None, "user_id", "id"),
    sqlite_autoincrement=True,
)

organizations = table(
    "organizations",
    Column("id", Id, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    _created_at(),
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
    Column("user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    _created_at(),
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
    # 1 when created, one more on every change; the note's ETag is made from
    # it, and writes that name the version they expect check it atomically.
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    _created_at(),
    Column("updated_at", Timestamp(), nullable=False, default=utcnow),
    # Pages of an organization's notes walk this index newest first.
    Index(None, "org_id", "id"),
    sqlite_autoincrement=True,
)

note_tags = table(
    "note_tags",
    Column("note_id", Id, ForeignKey(notes.c.id, ondelete="CASCADE"), primary_key=True),
    Column("tag", String(50), primary_key=True),
    Column("position", Integer, nullable=False),
    Index(None, "tag", "note_id"),
)

# An invitation is pending while its row exists: accepting, declining or
# cancelling it deletes the row. One that expired stays until a new
# invitation of the same user to the same organization replaces it.
invitations = table(
    "invitations",
    Column("id", Id, primary_key=True),
    Column(
        "org_id",
        Id,
        ForeignKey(organizations.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column(
        "invited_by", Id, ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False
    ),
    _created_at(),
    Column("expires_at", Timestamp(), nullable=False),
    # An organization's invitations, and a user's, are listed newest first.
    Index(None, "org_id", "id"),
    Index(None, "user_id", "id"),
    sqlite_autoincrement=True,
)

idempotency_keys = table(
    "idempotency_keys",
    Column("user_id", Id, ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    # SHA-256 of the method, path and body the key was first used with.
    Column("fingerprint", String(64), nullable=False),
    # The answer to replay: status, JSON body and the headers worth keeping.
    Column("status", Integer),
    Column("body", LongText),
    Column("headers", Text),
    _created_at(),
)

#: The hash an event chain starts from: the "previous hash" of its first event.
GENESIS_HASH = "0" * 64

# The ledger (see mything.operations.events). A chain is the events of one
# organization, or the user-level events of one user (their tokens); its
# row holds the last event appended, which writers lock to take turns, and
# the checkpoint that retention leaves. No foreign keys: an organization's
# chain outlives the organization.
event_chains = table(
    "event_chains",
    Column("id", Id, primary_key=True),
    Column("org_id", Id, unique=True),
    Column("user_id", Id, unique=True),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    # The last event removed by retention (0 and GENESIS_HASH: none).
    Column("purged_sequence", BigInteger, nullable=False),
    Column("purged_hash", String(64), nullable=False),
    sqlite_autoincrement=True,
)

# Events are appended, never changed; a chain's events are listed newest
# first through its unique (chain_id, sequence), and retention finds the
# old ones by "at".
events = table(
    "events",
    Column("chain_id", Id, ForeignKey(event_chains.c.id), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(32), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("organization", String(63)),
    Column("actor", String(254)),
    Column("at", Timestamp(), nullable=False),
    Column("request_id", String(128)),
    Column("data", LongText, nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "at"),
)

# Webhooks (see mything.operations.webhooks): an organization's endpoints,
# each with its secret, and the secret it replaced while that one is still
# valid. ``failing_since`` is when the endpoint's current run of failed
# attempts began (none: its last attempt succeeded).
webhooks = table(
    "webhooks",
    Column("id", Id, primary_key=True),
    Column(
        "org_id",
        Id,
        ForeignKey(organizations.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("url", String(2000), nullable=False),
    # The subscribed event types and patterns, as a JSON list.
    Column("events", Text, nullable=False),
    Column("description", String(500)),
    Column("enabled", Boolean, nullable=False),
    # Kept as they are, not hashed: signing needs them.
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100)),
    Column("previous_secret_until", Timestamp()),
    Column("failing_since", Timestamp()),
    _created_at(),
    # An organization's webhooks are listed newest first.
    Index(None, "org_id", "id"),
    sqlite_autoincrement=True,
)

# One row per message to send to one webhook: an event it subscribes to, a
# ping, or a redelivery. A worker claims a due one by setting its lease;
# ``next_attempt_at`` is none once it succeeded or failed for good.
webhook_deliveries = table(
    "webhook_deliveries",
    Column("id", Id, primary_key=True),
    Column(
        "webhook_id",
        Id,
        ForeignKey(webhooks.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(32), nullable=False),
    Column("event_type", String(32), nullable=False),
    # The exact bytes sent (as UTF-8 text): the signature covers them.
    Column("payload", LongText, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    _created_at(),
    Column("next_attempt_at", Timestamp()),
    Column("leased_until", Timestamp()),
    Column("lease", String(32)),
    Column("last_attempt_at", Timestamp()),
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("error", String(10)),
    Column("duration_ms", Integer),
    # A webhook's log, newest first; workers find due deliveries by time.
    Index(None, "webhook_id", "id"),
    Index(None, "next_attempt_at"),
    sqlite_autoincrement=True,
)

settings = table(
    "settings",
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

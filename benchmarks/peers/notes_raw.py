"""mything's notes endpoints as a bare WSGI function on the database driver: the floor.

The same three endpoints, answers and checks as
:mod:`benchmarks.peers.notes_flask_sqlalchemy`, with no framework and no
SQLAlchemy: the DB-API driver the URI names (the standard library's
``sqlite3``, ``psycopg`` or ``pymysql``), one connection per thread reused
for every request, parametrized SQL and ``json.dumps``. Nothing can do the
same work in less Python.

gunicorn would serve it as ``benchmarks.peers.notes_raw:create_app()`` with
the database URI in ``BENCH_NOTES_DATABASE_URI``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]
#: What an endpoint returns: the status line, the JSON value, more headers.
Answer = tuple[str, object, Headers]

URI_VARIABLE = "BENCH_NOTES_DATABASE_URI"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
END = 2**63 - 1

# Written with %s (psycopg and pymysql); sqlite3 gets ? instead.
CALLER = (
    "SELECT u.id, u.name FROM mything_tokens t"
    " JOIN mything_users u ON u.id = t.user_id"
    " WHERE t.token_hash = %s AND (t.expires_at IS NULL OR t.expires_at > %s)"
)
MEMBER_ORG = (
    "SELECT o.id FROM mything_organizations o"
    " JOIN mything_memberships m ON m.org_id = o.id"
    " WHERE o.slug = %s AND m.user_id = %s"
)
_NOTE = (
    "SELECT n.id, n.title, n.body, n.version, n.created_at, n.updated_at, u.name"
    " FROM mything_notes n JOIN mything_users u ON u.id = n.author_id"
)
PAGE = _NOTE + " WHERE n.org_id = %s AND n.id < %s ORDER BY n.id DESC LIMIT %s"
ONE = _NOTE + " WHERE n.id = %s AND n.org_id = %s"
TAGS = (
    "SELECT note_id, tag FROM mything_note_tags WHERE note_id IN ({})"
    " ORDER BY note_id, position"
)
INSERT_NOTE = (
    "INSERT INTO mything_notes"
    " (org_id, author_id, title, body, version, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, 1, %s, %s) RETURNING id"
)
INSERT_TAG = (
    "INSERT INTO mything_note_tags (note_id, tag, position) VALUES (%s, %s, %s)"
)


class ApiError(Exception):
    """An error answered as ``{"message": ...}`` with its status line."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


UNAUTHORIZED = ApiError("401 Unauthorized", "A valid bearer token is required.")


@dataclass
class Database:
    """One DB-API driver at one URI, with a connection per thread."""

    driver: str
    options: dict[str, Any]
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def from_uri(cls, uri: str) -> Database:
        """Read ``sqlite:///path``, ``postgresql+psycopg://...`` or ``mysql+pymysql://...``."""
        parts = urlsplit(uri)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            return cls("sqlite", {"database": unquote(parts.path[1:])})
        options: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "user": unquote(parts.username or "") or None,
            "password": unquote(parts.password or "") or None,
        }
        if parts.port:
            options["port"] = parts.port
        database = unquote(parts.path[1:])
        query = dict(parse_qsl(parts.query))
        if scheme == "postgresql":
            return cls("psycopg", {**options, "dbname": database, **query})
        if scheme in ("mysql", "mariadb"):
            options = {k: v for k, v in options.items() if v is not None}
            return cls("pymysql", {**options, "database": database, **query})
        raise ValueError(f"no driver for {scheme!r}")

    def sql(self, statement: str) -> str:
        """Return ``statement`` with this driver's placeholders."""
        return statement.replace("%s", "?") if self.driver == "sqlite" else statement

    def connection(self) -> Any:
        """Return this thread's connection, opening it the first time."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self) -> Any:
        if self.driver == "sqlite":
            return sqlite3.connect(self.options["database"])
        if self.driver == "psycopg":
            import psycopg

            return psycopg.connect(autocommit=True, **self.options)
        import pymysql

        return pymysql.connect(autocommit=True, charset="utf8mb4", **self.options)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """Yield this thread's connection inside a transaction."""
        conn = self.connection()
        if self.driver == "sqlite":
            with conn:
                yield conn
        elif self.driver == "psycopg":
            with conn.transaction():
                yield conn
        else:
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def now(self) -> Any:
        """Return the current moment as this database stores it."""
        now = datetime.now(UTC)
        if self.driver == "psycopg":
            return now
        if self.driver == "sqlite":
            return now.strftime("%Y-%m-%d %H:%M:%S.%f")
        return now.replace(tzinfo=None)

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _query(conn: Any, statement: str, parameters: Sequence[Any]) -> list[tuple]:
    cursor = conn.cursor()
    try:
        cursor.execute(statement, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _stamp(value: Any) -> str:
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", UTC
        return value.replace(" ", "T") + "Z"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _respond(
    start_response: Callable[..., Any],
    status: str,
    value: object,
    extra: Sequence[tuple[str, str]] = (),
) -> Iterable[bytes]:
    body = json.dumps(value).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, [*headers, *extra])
    return [body]


def _new_note(environ: dict[str, Any]) -> tuple[str, str, list[str]]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        raise ApiError("400 Bad Request", "Expected JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("400 Bad Request", "Expected a JSON object.")
    title, body, tags = data.get("title"), data.get("body", ""), data.get("tags", [])
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise ApiError("400 Bad Request", "title must be 1 to 200 characters.")
    if not isinstance(body, str):
        raise ApiError("400 Bad Request", "body must be a string.")
    if not isinstance(tags, list) or not all(
        isinstance(tag, str) and 1 <= len(tag) <= 50 for tag in tags
    ):
        raise ApiError("400 Bad Request", "tags must be strings of 1 to 50 characters.")
    if len(set(tags)) != len(tags):
        raise ApiError("400 Bad Request", "tags must not repeat.")
    return title, body, tags


def _page_args(environ: dict[str, Any]) -> tuple[int, int]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        limit = int(query.get("limit", [DEFAULT_LIMIT])[0])
        before = int(query["cursor"][0]) if "cursor" in query else END
    except ValueError:
        message = "limit and cursor must be integers."
        raise ApiError("400 Bad Request", message) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("400 Bad Request", f"limit must be 1 to {MAX_LIMIT}.")
    return limit, before


def make_app(database: Database) -> WSGIApp:
    """Return the WSGI function that serves the notes endpoints on ``database``."""
    caller_sql, member_sql = database.sql(CALLER), database.sql(MEMBER_ORG)
    page_sql, one_sql = database.sql(PAGE), database.sql(ONE)
    insert_note_sql = database.sql(INSERT_NOTE)
    insert_tag_sql = database.sql(INSERT_TAG)
    placeholder = database.sql("%s")

    def caller(conn: Any, environ: dict[str, Any]) -> tuple[int, str]:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UNAUTHORIZED
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        rows = _query(conn, caller_sql, (token_hash, database.now()))
        if not rows:
            raise UNAUTHORIZED
        return rows[0][0], rows[0][1]

    def member_org(conn: Any, slug: str, user_id: int) -> int:
        rows = _query(conn, member_sql, (slug, user_id))
        if not rows:
            raise ApiError("404 Not Found", "Organization not found.")
        return int(rows[0][0])

    def notes_with_tags(conn: Any, rows: list[tuple]) -> list[dict[str, Any]]:
        tags: dict[int, list[str]] = {row[0]: [] for row in rows}
        if rows:
            statement = TAGS.format(", ".join([placeholder] * len(rows)))
            for note_id, tag in _query(conn, statement, list(tags)):
                tags[note_id].append(tag)
        return [
            {
                "id": note_id,
                "title": title,
                "body": body,
                "tags": tags[note_id],
                "author": author,
                "version": version,
                "created_at": _stamp(created_at),
                "updated_at": _stamp(updated_at),
            }
            for note_id, title, body, version, created_at, updated_at, author in rows
        ]

    def list_notes(environ: dict[str, Any], slug: str) -> Answer:
        limit, before = _page_args(environ)
        conn = database.connection()
        user_id, _ = caller(conn, environ)
        org_id = member_org(conn, slug, user_id)
        rows = _query(conn, page_sql, (org_id, before, limit + 1))
        items = notes_with_tags(conn, rows[:limit])
        next_cursor = str(items[-1]["id"]) if len(rows) > limit else None
        return "200 OK", {"items": items, "next_cursor": next_cursor}, []

    def get_note(environ: dict[str, Any], slug: str, note_id: int) -> Answer:
        conn = database.connection()
        user_id, _ = caller(conn, environ)
        org_id = member_org(conn, slug, user_id)
        rows = _query(conn, one_sql, (note_id, org_id))
        if not rows:
            raise ApiError("404 Not Found", "Note not found.")
        return "200 OK", notes_with_tags(conn, rows)[0], []

    def create_note(environ: dict[str, Any], slug: str) -> Answer:
        title, body, tags = _new_note(environ)
        now = database.now()
        with database.transaction() as conn:
            user_id, name = caller(conn, environ)
            org_id = member_org(conn, slug, user_id)
            values = (org_id, user_id, title, body, now, now)
            note_id = _query(conn, insert_note_sql, values)[0][0]
            if tags:
                cursor = conn.cursor()
                rows = [(note_id, tag, position) for position, tag in enumerate(tags)]
                cursor.executemany(insert_tag_sql, rows)
                cursor.close()
        created = _stamp(now)
        note = {
            "id": note_id,
            "title": title,
            "body": body,
            "tags": tags,
            "author": name,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
        location = (
            f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}"
            f"/orgs/{slug}/notes/{note_id}"
        )
        return "201 Created", note, [("Location", location)]

    def route(environ: dict[str, Any]) -> Answer:
        method = environ["REQUEST_METHOD"]
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if len(parts) == 3 and parts[0] == "orgs" and parts[2] == "notes":
            if method == "GET":
                return list_notes(environ, parts[1])
            if method == "POST":
                return create_note(environ, parts[1])
            raise ApiError("405 Method Not Allowed", f"{method} is not allowed.")
        if len(parts) == 4 and parts[0] == "orgs" and parts[2] == "notes":
            if not parts[3].isdigit():
                raise ApiError("404 Not Found", "Not found.")
            if method == "GET":
                return get_note(environ, parts[1], int(parts[3]))
            raise ApiError("405 Method Not Allowed", f"{method} is not allowed.")
        raise ApiError("404 Not Found", "Not found.")

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        """Answer the notes endpoints and nothing else."""
        try:
            status, value, headers = route(environ)
        except ApiError as exc:
            return _respond(start_response, exc.status, {"message": exc.message})
        return _respond(start_response, status, value, headers)

    return app


def create_app(database_uri: str | None = None) -> WSGIApp:
    """Return the app on ``database_uri`` (default: ``$BENCH_NOTES_DATABASE_URI``)."""
    return make_app(Database.from_uri(database_uri or os.environ[URI_VARIABLE]))

"""mything's notes endpoints written by hand in Flask and SQLAlchemy Core.

This is what mything's database endpoints are measured against: the same
three endpoints on mything's own tables, written the way Flask's and
SQLAlchemy's documentation teach for production. That means an application
factory, one engine per application, a connection per request (a
transaction for the write), SQL in ``text()`` with bound parameters, and
``jsonify``::

    GET  /orgs/<slug>/notes?limit=20&cursor=<id>   a page, newest first
    GET  /orgs/<slug>/notes/<id>                   one note
    POST /orgs/<slug>/notes                        a new note: 201 and Location

Every request needs ``Authorization: Bearer <token>``; the token is found by
its SHA-256 and must not have expired (401 otherwise), and the caller must
be a member of the organization (404 otherwise). The cursor is the last id
of the page, as a hand-written app would give it.

gunicorn serves it as ``benchmarks.peers.notes_flask_sqlalchemy:create_app()``
with the database URI in ``BENCH_NOTES_DATABASE_URI``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request, url_for
from sqlalchemy import DateTime, Engine, bindparam, create_engine, text
from sqlalchemy.engine import Connection, Row

URI_VARIABLE = "BENCH_NOTES_DATABASE_URI"
ENGINE = "notes_engine"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Larger than every id: the page without a cursor starts below it.
END = 2**63 - 1

CALLER = text(
    "SELECT u.id, u.name FROM mything_tokens t"
    " JOIN mything_users u ON u.id = t.user_id"
    " WHERE t.token_hash = :token_hash"
    " AND (t.expires_at IS NULL OR t.expires_at > :now)"
)
MEMBER_ORG = text(
    "SELECT o.id FROM mything_organizations o"
    " JOIN mything_memberships m ON m.org_id = o.id"
    " WHERE o.slug = :slug AND m.user_id = :user_id"
)
_NOTE = (
    "SELECT n.id, n.title, n.body, n.version, n.created_at, n.updated_at,"
    " u.name AS author FROM mything_notes n"
    " JOIN mything_users u ON u.id = n.author_id"
)
_STAMPS = {"created_at": DateTime(timezone=True), "updated_at": DateTime(timezone=True)}
PAGE = text(
    _NOTE + " WHERE n.org_id = :org_id AND n.id < :before"
    " ORDER BY n.id DESC LIMIT :limit"
).columns(**_STAMPS)
ONE = text(_NOTE + " WHERE n.id = :note_id AND n.org_id = :org_id").columns(**_STAMPS)
TAGS = text(
    "SELECT note_id, tag FROM mything_note_tags WHERE note_id IN :ids"
    " ORDER BY note_id, position"
).bindparams(bindparam("ids", expanding=True))
# RETURNING: SQLite 3.35, PostgreSQL and MariaDB 10.5 all have it.
INSERT_NOTE = text(
    "INSERT INTO mything_notes"
    " (org_id, author_id, title, body, version, created_at, updated_at)"
    " VALUES (:org_id, :author_id, :title, :body, 1, :now, :now) RETURNING id"
)
INSERT_TAG = text(
    "INSERT INTO mything_note_tags (note_id, tag, position)"
    " VALUES (:note_id, :tag, :position)"
)

notes = Blueprint("notes", __name__)


class ApiError(Exception):
    """An error answered as ``{"message": ...}`` with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(database_uri: str | None = None) -> Flask:
    """Return the app on ``database_uri`` (default: ``$BENCH_NOTES_DATABASE_URI``)."""
    app = Flask(__name__)
    app.extensions[ENGINE] = create_engine(database_uri or os.environ[URI_VARIABLE])
    app.register_blueprint(notes)
    return app


def engine_of(app: Flask) -> Engine:
    """Return the app's engine."""
    engine: Engine = app.extensions[ENGINE]
    return engine


@notes.errorhandler(ApiError)
def api_error(exc: ApiError) -> Any:
    return jsonify(message=exc.message), exc.status


def _now(engine: Engine) -> datetime:
    # PostgreSQL stores the zone; SQLite and MySQL store naive UTC.
    now = datetime.now(UTC)
    return now if engine.dialect.name == "postgresql" else now.replace(tzinfo=None)


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _caller(conn: Connection, now: datetime) -> Row[Any]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "A valid bearer token is required.")
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    user = conn.execute(CALLER, {"token_hash": token_hash, "now": now}).first()
    if user is None:
        raise ApiError(401, "A valid bearer token is required.")
    return user


def _member_org(conn: Connection, slug: str, user_id: int) -> int:
    org_id = conn.execute(MEMBER_ORG, {"slug": slug, "user_id": user_id}).scalar()
    if org_id is None:
        raise ApiError(404, "Organization not found.")
    return int(org_id)


def _tags(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {note_id: [] for note_id in ids}
    if ids:
        for note_id, tag in conn.execute(TAGS, {"ids": list(ids)}):
            tags[note_id].append(tag)
    return tags


def _note(row: Row[Any], tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "tags": tags,
        "author": row.author,
        "version": row.version,
        "created_at": _stamp(row.created_at),
        "updated_at": _stamp(row.updated_at),
    }


def _page_args(args: Mapping[str, str]) -> tuple[int, int]:
    try:
        limit = int(args.get("limit", DEFAULT_LIMIT))
        before = int(args["cursor"]) if "cursor" in args else END
    except ValueError:
        raise ApiError(400, "limit and cursor must be integers.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be 1 to {MAX_LIMIT}.")
    return limit, before


def _new_note(data: Any) -> tuple[str, str, list[str]]:
    if not isinstance(data, dict):
        raise ApiError(400, "Expected a JSON object.")
    title, body, tags = data.get("title"), data.get("body", ""), data.get("tags", [])
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise ApiError(400, "title must be a string of 1 to 200 characters.")
    if not isinstance(body, str):
        raise ApiError(400, "body must be a string.")
    if not isinstance(tags, list) or not all(
        isinstance(tag, str) and 1 <= len(tag) <= 50 for tag in tags
    ):
        raise ApiError(400, "tags must be a list of strings of 1 to 50 characters.")
    if len(set(tags)) != len(tags):
        raise ApiError(400, "tags must not repeat.")
    return title, body, tags


@notes.get("/orgs/<slug>/notes")
def list_notes(slug: str) -> Any:
    limit, before = _page_args(request.args)
    engine = engine_of(current_app)
    with engine.connect() as conn:
        user = _caller(conn, _now(engine))
        org_id = _member_org(conn, slug, user.id)
        rows = conn.execute(
            PAGE, {"org_id": org_id, "before": before, "limit": limit + 1}
        ).all()
        page = rows[:limit]
        tags = _tags(conn, [row.id for row in page])
    next_cursor = str(page[-1].id) if len(rows) > limit else None
    items = [_note(row, tags[row.id]) for row in page]
    return jsonify(items=items, next_cursor=next_cursor)


@notes.get("/orgs/<slug>/notes/<int:note_id>")
def get_note(slug: str, note_id: int) -> Any:
    engine = engine_of(current_app)
    with engine.connect() as conn:
        user = _caller(conn, _now(engine))
        org_id = _member_org(conn, slug, user.id)
        row = conn.execute(ONE, {"note_id": note_id, "org_id": org_id}).first()
        if row is None:
            raise ApiError(404, "Note not found.")
        tags = _tags(conn, [row.id])
    return jsonify(_note(row, tags[row.id]))


@notes.post("/orgs/<slug>/notes")
def create_note(slug: str) -> Any:
    title, body, tags = _new_note(request.get_json(silent=True))
    engine = engine_of(current_app)
    now = _now(engine)
    with engine.begin() as conn:
        user = _caller(conn, now)
        org_id = _member_org(conn, slug, user.id)
        note_id = conn.execute(
            INSERT_NOTE,
            {
                "org_id": org_id,
                "author_id": user.id,
                "title": title,
                "body": body,
                "now": now,
            },
        ).scalar_one()
        if tags:
            conn.execute(
                INSERT_TAG,
                [
                    {"note_id": note_id, "tag": tag, "position": position}
                    for position, tag in enumerate(tags)
                ],
            )
    created = _stamp(now)
    note = {
        "id": note_id,
        "title": title,
        "body": body,
        "tags": tags,
        "author": user.name,
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    location = url_for("notes.get_note", slug=slug, note_id=note_id, _external=True)
    return jsonify(note), 201, {"Location": location}

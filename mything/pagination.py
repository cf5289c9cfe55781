"""Keyset pagination: a page costs the same at any depth.

A page is ``{"items": [...], "next_cursor": "..." | None}``. Instead of an
OFFSET, which makes the database walk past every earlier row, each page
remembers the sort key of its last item in an opaque cursor and the next
query starts right after it, through an index::

    SELECT ... WHERE org_id = :org AND id < :last_id ORDER BY id DESC LIMIT :n

Items inserted while a client pages sort before the cursor (they are newer),
so following ``next_cursor`` visits every item that existed when paging
began exactly once.

Cursors are signed with a secret stored in the database (shared by every
worker and host) and carry the listing they belong to, so a tampered cursor,
or one from another organization or filter, is a 400 and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, Row, Select

from .db import get_database, get_db
from .errors import ValidationError

#: The longest cursor accepted; the ones issued are far shorter.
MAX_CURSOR_LENGTH = 512
#: The characters of a cursor, as a regular expression character class:
#: itsdangerous's URL-safe base64 payload and signature, joined by a dot.
CURSOR_ALPHABET = "A-Za-z0-9_.-"


def load_page(
    query: Select,
    *,
    key: ColumnElement,
    descending: bool = False,
    scope: str,
    limit: int | None,
    cursor: str | None,
    serialize: Callable[[Sequence[Row]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``query`` for one page ordered by the unique column ``key``.

    ``scope`` names the listing (for instance ``"notes:42:"``); a cursor is
    only accepted by the scope that made it, and an empty one means the start.
    ``serialize`` turns the rows of the page into its items.
    """
    limit = limit or current_app.config["PAGE_SIZE"]
    if cursor:
        last = decode_cursor(cursor, scope=scope)
        query = query.where(key < last if descending else key > last)
    query = query.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = get_db().execute(query).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]._mapping[key], scope=scope)
    return {"items": serialize(rows), "next_cursor": next_cursor}


def encode_cursor(last: int | str, *, scope: str) -> str:
    """Return the opaque cursor that continues ``scope`` after ``last``."""
    cursor: str = _serializer().dumps([scope, last])
    return cursor


def decode_cursor(cursor: str, *, scope: str) -> Any:
    """Return the key stored in ``cursor``, or raise a 400 if it is not ours."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise BadData("too long")
        cursor_scope, last = _serializer().loads(cursor)
    except (BadData, UnicodeError, ValueError, TypeError):
        cursor_scope, last = None, None
    if cursor_scope != scope or not isinstance(last, int | str):
        raise ValidationError(
            errors=[{"path": "cursor", "message": "not a cursor of this list"}]
        )
    return last


def _serializer() -> URLSafeSerializer:
    secret = get_database().setting("cursor_secret")
    return URLSafeSerializer(secret, salt="mything.cursor")

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

A page is bounded in bytes as well as in items: its JSON body stays within
``MAX_PAGE_BYTES``. When the next item would pass that budget the page ends
early, with a cursor as usual, so a hundred notes of escaped ``<`` (six
bytes each) make several pages instead of one of sixty megabytes. A page
holds at least one item, even one larger than the budget on its own;
otherwise a client could never get past it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from itsdangerous import BadData, Serializer, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import ColumnElement, Row, Select, bindparam

from .config import settings
from .db import get_database, get_db
from .encoding import dumps
from .errors import ValidationError
from .tables import MAX_ID

#: The longest cursor accepted. The longest issued continues a list of
#: members after a host's user name of 254 characters of 4 UTF-8 bytes
#: each: at most about 1,440 characters (a test checks it).
MAX_CURSOR_LENGTH = 2048
#: The characters of a cursor, as a regular expression character class:
#: itsdangerous's URL-safe base64 payload and signature, joined by a dot.
CURSOR_ALPHABET = "A-Za-z0-9_.-"
#: The bytes of a page's body around its items, with the longest cursor.
PAGE_ENVELOPE = len(dumps({"items": [], "next_cursor": "x" * MAX_CURSOR_LENGTH}))


def keyset(query: Select, key: ColumnElement, *, descending: bool = False) -> Select:
    """Return ``query`` as the statement of one page, ordered by the unique ``key``.

    Built once, when a module is imported: the page's start and size are
    bound parameters (``:start`` and ``:limit``), which
    :func:`page_parameters` gives, so SQLAlchemy compiles the statement
    once and every page reuses it. Newest first, a page starts at
    ``:start``; in order, right after it.
    """
    if descending:
        query = query.where(key <= bindparam("start")).order_by(key.desc())
    else:
        query = query.where(key > bindparam("start")).order_by(key.asc())
    return query.limit(bindparam("limit"))


def page_parameters(
    *,
    scope: str | None,
    limit: int | None,
    cursor: str | None,
    descending: bool = False,
) -> tuple[int, dict[str, Any], str | None]:
    """Return the page size, the parameters of its statement, and the cursor's scope.

    The statement asks for one row more than the page holds: its presence
    says that there is a next page. Without a cursor, the page starts before
    every key: at the largest id (newest first), or after the empty string
    (names and slugs, in order). A cursor must belong to ``scope``; with
    ``scope=None`` the caller checks the returned scope itself
    (:func:`check_scope`), once it knows the listing's.
    """
    size = limit or settings().page_size
    cursor_scope = None
    if not cursor:
        start: int | str = MAX_ID if descending else ""
    else:
        cursor_scope, start = read_cursor(cursor)
        if scope is not None:
            check_scope(cursor_scope, scope)
        if descending:
            # Ids are integers: the first id below the last one seen, and on.
            # (Another listing's key may not be, before its scope is checked.)
            if not isinstance(start, int) or isinstance(start, bool):
                raise _not_ours()
            start -= 1
    return size, {"start": start, "limit": size + 1}, cursor_scope


def end_page(
    items: list[dict[str, Any]], *, size: int, key: str, scope: str
) -> dict[str, Any]:
    """Return the page of the first ``size`` of ``items``, with the cursor to go on.

    ``items`` are what the statement of :func:`keyset` found, serialized;
    ``key`` names the field of the sort key. The page ends sooner if its
    body would pass ``MAX_PAGE_BYTES`` (see :func:`within_budget`).
    """
    size = within_budget(items, size)
    next_cursor = None
    if len(items) > size:
        del items[size:]
        next_cursor = encode_cursor(items[-1][key], scope=scope)
    return {"items": items, "next_cursor": next_cursor}


def within_budget(items: list[dict[str, Any]], size: int) -> int:
    """Return how many of the first ``size`` of ``items`` fit in ``MAX_PAGE_BYTES``.

    Each item counts as the bytes it is sent as (escapes included), plus
    its comma; at least one item fits, whatever its size.
    """
    budget = settings().max_page_bytes - PAGE_ENVELOPE
    # PERF: benchmarks/findings.md#a-page-measured-whole. A page nearly
    # always fits: one serialization of it instead of one per item. Its
    # length is the items', their commas and its brackets: one byte more
    # than the sum below, so a page that fits here fits there.
    if len(dumps(items[:size])) <= budget:
        return size
    used = 0
    for count, item in enumerate(items[:size]):
        used += len(dumps(item)) + 1
        if used > budget and count > 0:
            return count
    return size


def load_page(
    statement: Select,
    parameters: dict[str, Any],
    *,
    key: str,
    descending: bool = False,
    scope: str,
    limit: int | None,
    cursor: str | None,
    serialize: Callable[[Row], dict[str, Any]],
) -> dict[str, Any]:
    """Run the :func:`keyset` ``statement`` for one page, one item per row.

    ``scope`` names the listing (for instance ``"notes:42:"``); a cursor is
    only accepted by the scope that made it, and an empty one means the start.
    ``serialize`` turns a row of the page into its item.
    """
    size, bounds, _ = page_parameters(
        scope=scope, limit=limit, cursor=cursor, descending=descending
    )
    rows = get_db().execute(statement, {**parameters, **bounds})
    items = [serialize(row) for row in rows]
    return end_page(items, size=size, key=key, scope=scope)


def encode_cursor(last: int | str, *, scope: str) -> str:
    """Return the opaque cursor that continues ``scope`` after ``last``."""
    cursor: str = _serializer().dumps([scope, last])
    return cursor


def read_cursor(cursor: str) -> tuple[str, int | str]:
    """Return the scope and the key stored in ``cursor``, or raise a 400.

    A cursor that mything did not sign (tampered with, cut, or invented) is
    refused here; whether it belongs to the listing asked for is
    :func:`check_scope`'s question.
    """
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise BadData("too long")
        scope, last = _serializer().loads(cursor)
    except (BadData, UnicodeError, ValueError, TypeError):
        raise _not_ours() from None
    if not isinstance(scope, str) or not isinstance(last, int | str):
        raise _not_ours()
    return scope, last


def check_scope(cursor_scope: str, scope: str) -> None:
    """Refuse (400) a cursor of another listing than ``scope``."""
    if cursor_scope != scope:
        raise _not_ours()


def _not_ours() -> ValidationError:
    return ValidationError(
        errors=[{"path": "cursor", "message": "not a cursor of this list"}]
    )


def _serializer() -> URLSafeSerializer:
    return _serializer_for(get_database().setting("cursor_secret"))


class CursorSerializer(URLSafeSerializer):
    """itsdangerous's URL-safe serializer, for cursors.

    Its JSON is UTF-8: escaped as ASCII (``\\ud83d\\ude00``), a user name
    of 254 characters would take up to 3,048 bytes before base64, and a
    next link would pass what servers accept in a request line (gunicorn:
    4,094 bytes).

    And it does not try to compress a short payload. itsdangerous tries
    ``zlib.compress`` on every one, and a cursor's is mostly a few dozen
    bytes that zlib never makes shorter: ~5 µs for nothing on every page. A
    payload of up to :data:`COMPRESSED_FROM` bytes is sent as it is, which
    is what itsdangerous sends whenever compressing does not help; it reads
    both the same way.
    """

    def __init__(self, secret_key: str, salt: str) -> None:
        super().__init__(secret_key, salt, serializer_kwargs={"ensure_ascii": False})

    # PERF: benchmarks/findings.md#a-page-measured-whole
    def dump_payload(self, obj: Any) -> bytes:
        payload = Serializer.dump_payload(self, obj)
        if len(payload) <= COMPRESSED_FROM:
            return base64_encode(payload)
        return super().dump_payload(obj)


#: Payloads of up to this many bytes are never compressed: even so,
#: their cursor is far below :data:`MAX_CURSOR_LENGTH`.
COMPRESSED_FROM = 128


@functools.lru_cache(maxsize=16)
def _serializer_for(secret: str) -> URLSafeSerializer:
    # One per database secret: building one derives its key again.
    return CursorSerializer(secret, salt="mything.cursor")

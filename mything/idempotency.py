"""Safe retries of ``POST`` requests with an ``Idempotency-Key`` header.

A client that did not get an answer cannot know whether its ``POST`` was
done. Sending the same key again makes the retry safe
(draft-ietf-httpapi-idempotency-key-header)::

    POST /orgs/acme/notes
    Idempotency-Key: 9c0a6b2e-create-note-17
    {"title": "Hello"}

- The first request with a key runs, and its answer is stored with the key.
- A retry by the same user with the same key, method, path and body within
  :data:`KEY_LIFETIME` gets the stored answer again (with
  ``Idempotent-Replayed: true``), and nothing new is created.
- The same key with another body (or path) is a 422.

Keys live in the database, in the same transaction as the work they guard:
they hold across workers and hosts, a request that failed leaves no key
behind (its retry runs again), and two requests racing with one key cannot
both run — the second waits for the first's key row and then replays it.
Keys are per user; anonymous requests ignore the header.

What is kept is bounded. A record stores the answer's status, its
``Location`` and ``ETag``, and its body as plain JSON (the escapes of
``<>&'`` are for the wire, and would make a note of ``<`` six times
larger). Records older than :data:`KEY_LIFETIME` are removed without
anyone asking: a request that claims a key also removes up to
:data:`SWEEP_BATCH` expired records of anyone's, at most once every
:data:`SWEEP_INTERVAL` seconds per worker while the table has none left
over, so the table holds about a day of keys and no request does more than
a bounded amount of cleaning.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from .db import get_db
from .encoding import dumps_plain, loads
from .endpoints import endpoint_of
from .errors import InvalidIdempotencyKey, KeyReused
from .operations.users import User
from .results import ApiResult
from .tables import idempotency_keys, utcnow

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"

#: How long a key is remembered.
KEY_LIFETIME = timedelta(hours=24)

#: What a key may be: visible ASCII, as a structured-field string would
#: carry it, and not huge. The OpenAPI document states the same pattern.
KEY_PATTERN = r"[\x21-\x7e]{1,255}"
_VALID_KEY = re.compile(KEY_PATTERN)

# The response headers worth replaying; the rest are made anew.
_STORED_HEADERS = ("Location", "ETag")

#: The most expired records one request removes.
SWEEP_BATCH = 100
#: Seconds a worker waits before sweeping again, once a sweep left none over.
SWEEP_INTERVAL = 60.0

#: Up to a batch of expired records, locked; those another sweep holds are
#: passed by (SQLite has no row locks: its writers take turns anyway).
_EXPIRED = (
    select(idempotency_keys.c.user_id, idempotency_keys.c.key)
    .where(idempotency_keys.c.created_at < bindparam("cutoff"))
    .limit(SWEEP_BATCH)
    .with_for_update(skip_locked=True)
)


def idempotent(view: F | None = None, /, *, never_stored: Sequence[str] = ()) -> Any:
    """Let ``view`` (a ``POST`` taking ``caller``) be retried safely with a key.

    ``never_stored`` names fields of the answer that are left out of the
    stored copy, so that a replay answers without them: a secret that may
    be shown only once, and must not sit in the database in the clear::

        @idempotent(never_stored=("token",))
    """
    if view is None:
        return functools.partial(idempotent, never_stored=never_stored)

    @functools.wraps(view)
    def wrapper(*args: Any, caller: User, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, caller=caller, **kwargs)
        if not _VALID_KEY.fullmatch(key):
            raise InvalidIdempotencyKey()
        fingerprint = _fingerprint()
        stored = _claim(caller, key, fingerprint)
        if stored is not None:
            return stored
        result: ApiResult = view(*args, caller=caller, **kwargs)
        _remember(caller, key, result, never_stored=never_stored)
        return result

    endpoint_of(wrapper).idempotent = True
    return wrapper


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(user: User, key: str, fingerprint: str) -> ApiResult | None:
    """Reserve ``key`` for this request, or return the answer stored for it."""
    db = get_db()
    sweep_expired_keys()
    where = (idempotency_keys.c.user_id == user.id, idempotency_keys.c.key == key)
    db.execute(
        delete(idempotency_keys).where(
            *where, idempotency_keys.c.created_at < utcnow() - KEY_LIFETIME
        )
    )
    try:
        with db.begin_nested():
            db.execute(
                insert(idempotency_keys).values(
                    user_id=user.id,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=utcnow(),
                )
            )
        return None
    except IntegrityError:
        # Used before: by a request that has committed (a concurrent one
        # holding the row made the insert wait until it did).
        pass
    row = db.execute(select(idempotency_keys).where(*where)).one()
    if row.fingerprint != fingerprint:
        raise KeyReused()
    headers = {**loads(row.headers), "Idempotent-Replayed": "true"}
    value = loads(row.body) if row.body is not None else None
    return ApiResult(value, row.status, headers=headers)


def sweep_expired_keys() -> int:
    """Remove up to :data:`SWEEP_BATCH` expired records, if it is time; return how many.

    It is time when the last sweep of this app in this process removed a
    full batch (more may be waiting), or :data:`SWEEP_INTERVAL` seconds
    after one that did not.
    """
    state = current_app.extensions.setdefault("mything.idempotency", {"next": 0.0})
    now = time.monotonic()
    if now < state["next"]:
        return 0
    db = get_db()
    expired = db.execute(_EXPIRED, {"cutoff": utcnow() - KEY_LIFETIME}).all()
    if expired:
        pair = tuple_(idempotency_keys.c.user_id, idempotency_keys.c.key)
        db.execute(delete(idempotency_keys).where(pair.in_(expired)))
    state["next"] = now if len(expired) == SWEEP_BATCH else now + SWEEP_INTERVAL
    return len(expired)


def _remember(
    user: User, key: str, result: ApiResult, *, never_stored: Sequence[str]
) -> None:
    headers = {
        name: result.headers[name] for name in _STORED_HEADERS if name in result.headers
    }
    value = result.value
    if never_stored and isinstance(value, dict):
        value = {name: item for name, item in value.items() if name not in never_stored}
    get_db().execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.user_id == user.id, idempotency_keys.c.key == key)
        .values(
            status=result.status,
            body=None if value is None else dumps_plain(value).decode(),
            headers=dumps_plain(headers).decode(),
        )
    )

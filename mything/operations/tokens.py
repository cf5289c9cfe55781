"""The tokens people hold: issued, listed, revoked, and checked on every request.

A token belongs to one user and has a ``name`` (what it is for), a
``scope`` (``read``: only ``GET``, ``HEAD`` and ``OPTIONS``; ``write``:
anything its user may do), and an expiry. Its secret is shown once, when it
is issued (:func:`issue_token`), and only its hash is kept
(:mod:`mything.token_format`). Its lifecycle::

    issue_token(alice, name="ci", scope="read", expires_in_days=30)
    authenticate_token(secret)     # on each request: the user, or a 401
    list_tokens(alice)             # never the secrets
    revoke_token(alice, token_id)  # the row is deleted: refused at once

Nothing about a token is cached between requests, so a revoked token is
refused by the very next request, in every worker and on every host.

A token can only pass on what it has. One created with a token never
expires later than the token that made it (RFC 6819, section 5.1.5.3): a
leaked one-day token cannot mint itself a year. And one user holds at most
``MAX_TOKENS_PER_USER`` tokens that have not expired; one more is a 409
``quota_exceeded``, whoever asks (the API, the command line or the host).

Each use is recorded in ``last_used_at``, at most once per
:data:`LAST_USE_INTERVAL` per token, so most requests only read the token;
the record is written after the request, in a short transaction of its
own, and whatever the request's outcome.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from .. import token_format
from ..config import settings
from ..db import (
    DriverStatement,
    after_release,
    get_database,
    get_db,
    inserted_id,
)
from ..encoding import isoformat
from ..errors import InvalidToken, NotFound, QuotaExceeded
from ..pagination import keyset, load_page
from ..tables import MAX_ID, tokens, users, utcnow
from .events import Chain, record_event
from .users import User

#: How stale ``last_used_at`` may get before a request records its use.
LAST_USE_INTERVAL = timedelta(minutes=1)

TOKEN_NOT_FOUND = "Token not found."

#: The name listed for tokens issued before tokens had names.
LEGACY_NAME = "legacy"


@dataclass(frozen=True)
class TokenUser(User):
    """A user authenticated by a bearer token, with the token's id and scope."""

    token_id: int
    scope: str
    #: When the token expires (``None``: a legacy token, which never does).
    expires_at: datetime | None = None


_COLUMNS = (
    tokens.c.id,
    tokens.c.name,
    tokens.c.scope,
    tokens.c.created_at,
    tokens.c.expires_at,
    tokens.c.last_used_at,
)


def token_json(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name or LEGACY_NAME,
        # Legacy tokens granted everything their user could do, and still do.
        "scope": row.scope or "write",
        "created_at": isoformat(row.created_at),
        "expires_at": _optional_time(row.expires_at),
        "last_used_at": _optional_time(row.last_used_at),
    }


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat(moment)


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back the UTC value it was given, without its zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Issuing and revoking ---------------------------------------------------------


def issue_token(
    user: User,
    *,
    name: str,
    scope: str = "write",
    expires_in_days: int | None = None,
    administrative: bool = False,
) -> dict[str, Any]:
    """Issue a token for ``user``; return its description and, this once, its secret.

    ``administrative`` says that the host or an operator asked, not ``user``
    (the event then has no actor).

    Without ``expires_in_days`` it lives ``TOKEN_DEFAULT_DAYS``, and never
    longer than the token ``user`` authenticated with, if any. A user who
    holds ``MAX_TOKENS_PER_USER`` active tokens gets a 409 instead.
    """
    days = expires_in_days or settings().token_default_days
    now = utcnow()
    expires_at = now + timedelta(days=days)
    if isinstance(user, TokenUser) and user.expires_at is not None:
        expires_at = min(expires_at, user.expires_at)
    _check_quota(user, now)
    secret = token_format.new_token()
    # inserted_primary_key, not RETURNING: MySQL has no RETURNING.
    token_id = inserted_id(
        get_db().execute(
            insert(tokens).values(
                user_id=user.id,
                token_hash=token_format.hash_token(secret),
                name=name,
                scope=scope,
                created_at=now,
                expires_at=expires_at,
            )
        )
    )
    issued = get_token(user, token_id)
    actor = None if administrative else user
    record_event("token.created", issued, chain=Chain(user_id=user.id), actor=actor)
    return {**issued, "token": secret}


#: The user row, locked: issuing tokens for one user takes turns.
_LOCK_USER = (
    select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
)
#: How many of a user's tokens have not expired (legacy ones never do).
_ACTIVE_TOKENS = (
    select(func.count())
    .select_from(tokens)
    .where(
        tokens.c.user_id == bindparam("user_id"),
        or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > bindparam("now")),
    )
)


def _check_quota(user: User, now: datetime) -> None:
    db = get_db()
    # Locked, so that two requests cannot each count one token short of the
    # cap and both issue one. (SQLite has no row locks: its writers take turns.)
    db.execute(_LOCK_USER, {"user_id": user.id})
    active = db.execute(_ACTIVE_TOKENS, {"user_id": user.id, "now": now}).scalar_one()
    cap = settings().max_tokens_per_user
    if active >= cap:
        raise QuotaExceeded(
            f"A user may hold {cap} active tokens; revoke one to make another."
        )


def revoke_token(user: User, token_id: Any) -> None:
    """Revoke one of ``user``'s tokens; any other id is a 404."""
    revoked = get_token(user, token_id)
    deleted = get_db().execute(
        delete(tokens).where(tokens.c.id == token_id, tokens.c.user_id == user.id)
    )
    if deleted.rowcount == 0:
        # Revoked meanwhile by a request that committed first.
        raise NotFound(TOKEN_NOT_FOUND)
    record_event("token.revoked", revoked, chain=Chain(user_id=user.id), actor=user)


def revoke_any_token(token_id: Any) -> None:
    """Revoke the token ``token_id``, whoever holds it (an administrative operation)."""
    _check_id(token_id)
    row = (
        get_db()
        .execute(select(*_COLUMNS, tokens.c.user_id).where(tokens.c.id == token_id))
        .first()
    )
    deleted = get_db().execute(delete(tokens).where(tokens.c.id == token_id))
    if row is None or deleted.rowcount == 0:
        raise NotFound(TOKEN_NOT_FOUND)
    chain = Chain(user_id=row.user_id)
    record_event("token.revoked", token_json(row), chain=chain, actor=None)


def current_token_id(user: User) -> int:
    """Return the id of the token ``user`` authenticated with, or raise a 404.

    A user the host vouched for (``REMOTE_USER``) used no token.
    """
    if not isinstance(user, TokenUser):
        raise NotFound("This request was not made with a token.")
    return user.token_id


def _check_id(token_id: Any) -> None:
    # HTTP routing only passes ids in range; Python callers may pass anything.
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise NotFound(TOKEN_NOT_FOUND)
    if not 1 <= token_id <= MAX_ID:
        raise NotFound(TOKEN_NOT_FOUND)


# Listing ----------------------------------------------------------------------


_TOKENS_PAGE = keyset(
    select(*_COLUMNS).where(tokens.c.user_id == bindparam("user_id")),
    tokens.c.id,
    descending=True,
)


def list_tokens(
    user: User, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of ``user``'s tokens, newest first, without their secrets."""
    return load_page(
        _TOKENS_PAGE,
        {"user_id": user.id},
        key="id",
        descending=True,
        scope=f"tokens:{user.id}",
        limit=limit,
        cursor=cursor,
        serialize=token_json,
    )


def get_token(user: User, token_id: Any) -> dict[str, Any]:
    """Return one of ``user``'s tokens; any other id is a 404."""
    _check_id(token_id)
    row = (
        get_db()
        .execute(
            select(*_COLUMNS).where(
                tokens.c.id == token_id, tokens.c.user_id == user.id
            )
        )
        .first()
    )
    if row is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return token_json(row)


# Authenticating ---------------------------------------------------------------


#: The token with the hash ``:token_hash``, and its user.
# PERF: benchmarks/findings.md#statements-on-the-driver. Every authenticated
# request runs it: on SQLite and PostgreSQL, on the driver.
_TOKEN_USER = DriverStatement(
    select(
        users.c.id.label("user_id"),
        users.c.name.label("user_name"),
        tokens.c.id,
        tokens.c.token_hash,
        tokens.c.scope,
        tokens.c.expires_at,
        tokens.c.last_used_at,
    )
    .join(tokens, tokens.c.user_id == users.c.id)
    .where(tokens.c.token_hash == bindparam("token_hash"))
)


def authenticate_token(secret: str) -> TokenUser:
    """Return the user a bearer token belongs to, or raise :class:`InvalidToken`.

    A value that cannot be a token (a wrong checksum, a stray character, the
    wrong length) is refused before the database is asked.
    """
    if not token_format.is_well_formed(secret):
        raise InvalidToken("The token is malformed or its checksum is wrong.")
    presented = token_format.hash_token(secret)
    row = _TOKEN_USER.first(get_db(), {"token_hash": presented})
    if row is None or not token_format.hashes_match(row[3], presented):  # its hash
        raise InvalidToken("The token is unknown or was revoked.")
    user_id, user_name, token_id, _, scope, expires_at, last_used = row
    now = utcnow()
    if expires_at is not None and _as_utc(expires_at) <= now:
        raise InvalidToken("The token has expired.")
    if last_used is None or _as_utc(last_used) <= now - LAST_USE_INTERVAL:
        _record_use(token_id, now)
    return TokenUser(
        user_id,
        user_name,
        token_id=token_id,
        scope=scope or "write",  # a legacy token may write
        expires_at=None if expires_at is None else _as_utc(expires_at),
    )


def _record_use(token_id: int, now: datetime) -> None:
    # Recorded once the request has its answer and its connection is
    # released, so that every use counts, even one that failed: a leaked
    # token being tried shows up in last_used_at.
    after_release(functools.partial(record_token_use, token_id, now))


def record_token_use(token_id: int, now: datetime) -> None:
    """Write that token ``token_id`` was used at ``now``, in a transaction of its own.

    Called by :func:`mything.db.close_db` at the end of the app context
    that used the token, once its own connection is released.
    """
    stale = or_(
        tokens.c.last_used_at.is_(None),
        tokens.c.last_used_at <= now - LAST_USE_INTERVAL,
    )
    try:
        with get_database().connect(write=True) as connection, connection.begin():
            # Another request recording this token's use holds its row until
            # it commits; SKIP LOCKED passes it by instead of waiting, so a
            # burst of requests on one token never queues behind that lock.
            # (SQLite has no row locks: its writers take turns anyway.)
            claimed = connection.execute(
                select(tokens.c.id)
                .where(tokens.c.id == token_id, stale)
                .with_for_update(skip_locked=True)
            ).first()
            if claimed is not None:
                connection.execute(
                    update(tokens)
                    .where(tokens.c.id == token_id)
                    .values(last_used_at=now)
                )
    except SQLAlchemyError as error:
        # The answer is already made; losing one record of use must not
        # turn it into an error.
        current_app.logger.warning("could not record a token's last use: %s", error)

"""Administrative operations: what the host's own code and operators may do.

:class:`~mything.thing.MyThing` and the command line (:mod:`mything.cli`)
both call these, so that ``thing.create_token("alice")`` and ``mything
create-token alice`` are one operation. No caller is checked: the host's
code and the operator at the shell are trusted. Arguments are validated by
the same schemas as the HTTP API. Each function runs in the current app
context; the caller commits (``MyThing.run``, or the command's transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import NotFound
from .operations import audit, events, organizations, tokens, users
from .schemas import ADMIN_TOKEN, EVENTS_QUERY, NEW_MEMBER, NEW_USER
from .validation import validate, validate_arguments


def create_user(name: str) -> dict[str, str]:
    """Create the user ``name``; a name that is taken is a 409."""
    return users.create_user(validate(NEW_USER, {"name": name})["name"])


def create_token(
    user: str,
    *,
    label: str | None = None,
    scope: str | None = None,
    expires_in_days: int | None = None,
) -> str:
    """Issue a token for the user ``user``; return only its secret.

    ``label`` is the token's name (what it is for). An unknown user is a 404.
    """
    clean = validate_arguments(
        ADMIN_TOKEN, name=label, scope=scope, expires_in_days=expires_in_days
    )
    holder = _existing_user(user)
    issued = tokens.issue_token(holder, administrative=True, **clean)
    secret: str = issued["token"]
    return secret


def list_tokens(user: str) -> list[dict[str, Any]]:
    """Return every token of the user ``user``, newest first, without secrets."""
    holder = _existing_user(user)
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = tokens.list_tokens(holder, limit=100, cursor=cursor)
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def add_member(slug: str, user: str, *, role: str | None = None) -> dict[str, str]:
    """Make ``user`` a member of the organization ``slug`` at once, without consent.

    ``role`` is ``"member"`` (the default) or ``"owner"``. An unknown
    organization or user is a 404; a member already, a 409.
    """
    clean = validate_arguments(NEW_MEMBER, user=user, role=role)
    return organizations.add_member_unasked(slug, clean["user"], role=clean["role"])


def revoke_token(token_id: int) -> None:
    """Revoke the token ``token_id``, whoever holds it; it stops working at once."""
    tokens.revoke_any_token(token_id)


def _existing_user(name: str) -> users.User:
    user = users.find_user(name)
    if user is None:
        raise NotFound(f"There is no user {name!r}.")
    return user


def list_events(
    slug: str, *, type: str | None = None, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the events of the organization ``slug``, newest first.

    ``type`` as for the audit log (``note.*``); at most ``limit`` of them.
    """
    clean = validate_arguments(EVENTS_QUERY, type=type)
    left = limit
    cursor = None
    while left is None or left > 0:
        size = 100 if left is None else min(left, 100)
        page = audit.list_organization_events(
            slug, limit=size, cursor=cursor, type=clean.get("type")
        )
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return
        if left is not None:
            left -= len(page["items"])


def verify_events(slug: str | None = None) -> events.Verification:
    """Check the ledger's hash chains (those of the organization ``slug``)."""
    return events.verify_events(slug=slug)


def purge_events() -> int:
    """Remove the events older than ``EVENTS_RETENTION_DAYS``; return how many."""
    return events.purge_events()

"""Users: who calls mything, created by an administrator or by a trusting host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..db import get_db, inserted_id, writing
from ..errors import Conflict
from ..tables import organizations, users, utcnow
from .tenancy import MEMBER_ORGANIZATIONS


@dataclass(frozen=True)
class User:
    """A known user: the caller of an operation."""

    id: int
    name: str


def find_user(name: str) -> User | None:
    """Return the user called ``name``, or ``None``."""
    row = get_db().execute(select(users.c.id, users.c.name).where(users.c.name == name))
    found = row.first()
    return User(found.id, found.name) if found else None


def create_user(name: str) -> dict[str, str]:
    """Create the user ``name``; a name that is taken is a 409."""
    db = get_db()
    try:
        with db.begin_nested():
            db.execute(insert(users).values(name=name, created_at=utcnow()))
    except IntegrityError:
        raise Conflict(f"The user {name!r} already exists.") from None
    return {"name": name}


def ensure_user(name: str) -> User:
    """Return the user ``name``, creating it first if it is new.

    Used for users that a host authenticated itself (``REMOTE_USER``). Two
    first requests by a new user may arrive at once; both get the user.
    """
    user = find_user(name)
    if user is not None:
        return user
    # A request that only reads writes the new user in a transaction of its
    # own (see writing), and so must read it back there too.
    with writing() as connection:
        user_id = _user_id(connection, name)
        if user_id is None:
            try:
                with connection.begin_nested():
                    new_user = insert(users).values(name=name, created_at=utcnow())
                    user_id = inserted_id(connection.execute(new_user))
            except IntegrityError:
                # Created meanwhile by a concurrent request: read it.
                user_id = _user_id(connection, name)
    assert user_id is not None
    return User(user_id, name)


def _user_id(connection: Any, name: str) -> int | None:
    found = connection.execute(select(users.c.id).where(users.c.name == name))
    user_id: int | None = found.scalar()
    return user_id


_SLUGS = MEMBER_ORGANIZATIONS.with_only_columns(organizations.c.slug).order_by(
    organizations.c.slug
)


def describe_user(user: User) -> dict[str, Any]:
    """Return ``/me``: the user's name and the slugs of its organizations."""
    rows = get_db().execute(_SLUGS, {"user_id": user.id})
    return {"name": user.name, "organizations": [slug for (slug,) in rows]}

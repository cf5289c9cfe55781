"""Organizations and their members: who belongs where, and who may manage it.

This module is the example of plainness: each operation runs one statement
per step, in the order a reader would write them. Copy it for a new
resource before reaching for the tricks of :mod:`~mything.operations.notes`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..config import settings
from ..db import get_db, inserted_id
from ..encoding import isoformat
from ..errors import Conflict, Forbidden, NotFound, QuotaExceeded, ValidationError
from ..pagination import keyset, load_page
from ..schemas import HOST_USER_NAME
from ..tables import memberships, organizations, users, utcnow
from ..validators import is_valid
from .tenancy import MEMBER_ORGANIZATION, MEMBER_ORGANIZATIONS, check_slug
from .users import User, find_user

_ORGANIZATIONS_PAGE = keyset(MEMBER_ORGANIZATIONS, organizations.c.slug)


def find_organization(user: User, slug: str) -> Row:
    """Return the organization ``slug`` if ``user`` is a member, else a 404."""
    check_slug(slug)
    row = get_db().execute(MEMBER_ORGANIZATION, {"user_id": user.id, "slug": slug})
    found = row.first()
    if found is None:
        raise NotFound("Organization not found.")
    return found


def organization_json(row: Row) -> dict[str, Any]:
    """Return an organization as the API shows it, from a row of the filter."""
    return {
        "slug": row.slug,
        "name": row.name,
        "role": row.role,
        "created_at": isoformat(row.created_at),
    }


def list_organizations(
    user: User, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of the user's organizations, by slug."""
    return load_page(
        _ORGANIZATIONS_PAGE,
        {"user_id": user.id},
        key="slug",
        scope=f"orgs:{user.id}",
        limit=limit,
        cursor=cursor,
        serialize=organization_json,
    )


#: The user row, locked: one user's new memberships take turns.
_LOCK_USER = (
    select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
)
#: How many organizations a user belongs to.
_MEMBERSHIPS_OF_USER = (
    select(func.count())
    .select_from(memberships)
    .where(memberships.c.user_id == bindparam("user_id"))
)


def check_organization_quota(user: User) -> None:
    """Refuse (409 ``quota_exceeded``) a new membership past the user's quota.

    ``user`` may belong to ``MAX_ORGANIZATIONS_PER_USER`` organizations,
    created or joined. Call it before every new membership of theirs, in
    the transaction that adds it: it locks the user's row, so that two
    requests cannot each count one short of the cap and both add one.
    (SQLite has no row locks: its writers take turns anyway.)
    """
    db = get_db()
    db.execute(_LOCK_USER, {"user_id": user.id})
    count = db.execute(_MEMBERSHIPS_OF_USER, {"user_id": user.id}).scalar_one()
    cap = settings().max_organizations_per_user
    if count >= cap:
        raise QuotaExceeded(
            f"{user.name!r} already belongs to {cap} organizations, as many as "
            "one user may."
        )


def create_organization(user: User, slug: str, *, name: str) -> dict[str, Any]:
    """Create an organization with ``user`` as its owner; a taken slug is a 409."""
    check_organization_quota(user)
    db = get_db()
    now = utcnow()
    try:
        with db.begin_nested():
            new = insert(organizations).values(slug=slug, name=name, created_at=now)
            org_id = inserted_id(db.execute(new))
    except IntegrityError:
        raise Conflict(f"The slug {slug!r} is taken.") from None
    db.execute(
        insert(memberships).values(
            org_id=org_id, user_id=user.id, role="owner", created_at=now
        )
    )
    return organization_json(find_organization(user, slug))


def get_organization(user: User, slug: str) -> dict[str, Any]:
    """Return one of the user's organizations."""
    return organization_json(find_organization(user, slug))


# Members -------------------------------------------------------------------


def _require_owner(org: Row) -> None:
    if org.role != "owner":
        raise Forbidden("Only an owner of the organization can manage its members.")


_MEMBERS_PAGE = keyset(
    select(users.c.name, memberships.c.role)
    .join(memberships, memberships.c.user_id == users.c.id)
    .where(memberships.c.org_id == bindparam("org_id")),
    users.c.name,
)


def member_json(name: str, role: str) -> dict[str, str]:
    """Return a membership as the API shows it."""
    return {"user": name, "role": role}


def list_members(
    user: User, slug: str, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of an organization's members, by user name."""
    org = find_organization(user, slug)
    return load_page(
        _MEMBERS_PAGE,
        {"org_id": org.id},
        key="user",
        scope=f"members:{org.id}",
        limit=limit,
        cursor=cursor,
        serialize=lambda row: member_json(row.name, row.role),
    )


def add_member(user: User, slug: str, member: str, *, role: str) -> dict[str, str]:
    """Add the user ``member`` to an organization; owners only."""
    org = find_organization(user, slug)
    _require_owner(org)
    new_member = find_user(member)
    if new_member is None:
        raise ValidationError(
            errors=[{"path": "user", "message": f"there is no user {member!r}"}]
        )
    db = get_db()
    try:
        with db.begin_nested():
            db.execute(
                insert(memberships).values(
                    org_id=org.id, user_id=new_member.id, role=role, created_at=utcnow()
                )
            )
    except IntegrityError:
        raise Conflict(f"{member!r} is already a member.") from None
    return member_json(member, role)


def remove_member(user: User, slug: str, member: str) -> None:
    """Remove ``member`` from an organization; owners only, never the last owner."""
    db = get_db()
    org = find_organization(user, slug)
    _require_owner(org)
    if not is_valid(HOST_USER_NAME, member):
        raise NotFound(f"{member!r} is not a member.")
    target = db.execute(
        select(memberships.c.user_id, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org.id, users.c.name == member)
    ).first()
    if target is None:
        raise NotFound(f"{member!r} is not a member.")
    if target.role == "owner":
        # Locking the owners makes two owners who remove each other at the
        # same moment take turns; otherwise both would count two owners and
        # the organization would be left with none. (SQLite needs no lock:
        # its write transactions already take turns.)
        owners = db.execute(
            select(memberships.c.user_id)
            .where(memberships.c.org_id == org.id, memberships.c.role == "owner")
            .with_for_update()
        ).all()
        if len(owners) <= 1:
            raise Conflict("The last owner of an organization cannot be removed.")
    db.execute(
        delete(memberships).where(
            memberships.c.org_id == org.id, memberships.c.user_id == target.user_id
        )
    )

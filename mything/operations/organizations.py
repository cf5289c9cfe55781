"""Organizations and their members: who belongs where, and who may manage it.

This module is the example of plainness: each operation runs one statement
per step, in the order a reader would write them. Copy it for a new
resource before reaching for the tricks of :mod:`~mything.operations.notes`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..config import settings
from ..db import get_db, inserted_id
from ..encoding import isoformat
from ..errors import Conflict, Forbidden, NotFound, QuotaExceeded, ValidationError
from ..pagination import keyset, load_page
from ..schemas import HOST_USER_NAME
from ..tables import (
    invitations,
    memberships,
    note_tags,
    notes,
    organizations,
    users,
    utcnow,
    webhook_deliveries,
    webhooks,
)
from ..validators import is_valid
from .events import Chain, record_event
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


def _record(
    event_type: str,
    org: Row,
    obj: dict[str, Any],
    *,
    actor: User | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Record an event in the ledger of the organization ``org``."""
    record_event(
        event_type,
        obj,
        chain=Chain(org.id),
        organization=org.slug,
        actor=actor,
        changes=changes,
    )


def _organization_event_json(org: dict[str, Any]) -> dict[str, Any]:
    # An event shows the organization without "role": that is the caller's.
    return {key: value for key, value in org.items() if key != "role"}


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
    org = find_organization(user, slug)
    created = organization_json(org)
    _record("organization.created", org, _organization_event_json(created), actor=user)
    return created


def get_organization(user: User, slug: str) -> dict[str, Any]:
    """Return one of the user's organizations."""
    return organization_json(find_organization(user, slug))


# Changes, under the organization's lock ------------------------------------
#
# A role is checked, and the change it allows is made, in one transaction
# that holds the organization's lock from before the check until the commit.
# Without it, two owners removing each other would each count two owners
# and leave none, and an owner removed while their own request waited would
# still act. Every change to an organization, its members or its
# invitations takes the lock first, and nothing else: so no two of them can
# wait for each other in a circle.

_LOCK = (
    select(organizations.c.id)
    .where(organizations.c.id == bindparam("org_id"))
    # NO KEY UPDATE on PostgreSQL: notes being written meanwhile (which only
    # need the organization to go on existing) are not held up. MySQL
    # ignores it, and SQLite needs no lock: its writers already take turns.
    .with_for_update(key_share=True)
)
_MEMBER_ORGANIZATION_BY_ID = MEMBER_ORGANIZATIONS.where(
    organizations.c.id == bindparam("org_id")
)


def lock_organization(user: User, slug: str) -> Row:
    """Return the organization ``slug`` as :func:`find_organization` does, locked.

    The lock is held until the transaction ends. The row, the caller's role
    included, is read again once the lock is held: a request that waited
    for another one's change sees that change, so an owner who was removed
    meanwhile gets the 404 of a non-member.
    """
    org = find_organization(user, slug)
    lock(org.id)
    locked = (
        get_db()
        .execute(_MEMBER_ORGANIZATION_BY_ID, {"user_id": user.id, "org_id": org.id})
        .first()
    )
    if locked is None:
        raise NotFound("Organization not found.")
    return locked


def lock(org_id: int) -> None:
    """Take the lock of the organization ``org_id``, until the transaction ends."""
    get_db().execute(_LOCK, {"org_id": org_id})


def require_owner(org: Row) -> None:
    """Refuse with a 403 unless the caller's role in ``org`` is owner."""
    if org.role != "owner":
        raise Forbidden("Only an owner of the organization may do this.")


def update_organization(user: User, slug: str, *, name: str) -> dict[str, Any]:
    """Rename an organization (owners only); its slug never changes."""
    org = lock_organization(user, slug)
    require_owner(org)
    get_db().execute(
        update(organizations).where(organizations.c.id == org.id).values(name=name)
    )
    updated = organization_json(find_organization(user, slug))
    _record(
        "organization.updated",
        org,
        _organization_event_json(updated),
        actor=user,
        changes={"name": {"from": org.name, "to": name}},
    )
    return updated


def delete_organization(user: User, slug: str) -> None:
    """Delete an organization and everything in it (owners only).

    Its notes and their tags, its invitations, its webhooks with their
    deliveries and its memberships go in the same transaction, each by a
    statement of its own rather than by the database's cascades, so that
    what goes is written here. The slug is free again afterwards. Its event
    is recorded first, while there is still an organization to describe;
    the ledger keeps it.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    _record(
        "organization.deleted",
        org,
        _organization_event_json(organization_json(org)),
        actor=user,
    )
    db = get_db()
    org_notes = select(notes.c.id).where(notes.c.org_id == org.id)
    db.execute(delete(note_tags).where(note_tags.c.note_id.in_(org_notes)))
    db.execute(delete(notes).where(notes.c.org_id == org.id))
    db.execute(delete(invitations).where(invitations.c.org_id == org.id))
    org_webhooks = select(webhooks.c.id).where(webhooks.c.org_id == org.id)
    db.execute(
        delete(webhook_deliveries).where(
            webhook_deliveries.c.webhook_id.in_(org_webhooks)
        )
    )
    db.execute(delete(webhooks).where(webhooks.c.org_id == org.id))
    db.execute(delete(memberships).where(memberships.c.org_id == org.id))
    db.execute(delete(organizations).where(organizations.c.id == org.id))


# Members -------------------------------------------------------------------

MEMBER_NOT_FOUND = "{!r} is not a member."

_MEMBERS_PAGE = keyset(
    select(users.c.name, memberships.c.role)
    .join(memberships, memberships.c.user_id == users.c.id)
    .where(memberships.c.org_id == bindparam("org_id")),
    users.c.name,
)

_MEMBERSHIP = (
    select(memberships.c.user_id, memberships.c.role)
    .join(users, users.c.id == memberships.c.user_id)
    .where(
        memberships.c.org_id == bindparam("org_id"),
        users.c.name == bindparam("name"),
    )
)

_OWNERS = (
    select(func.count())
    .select_from(memberships)
    .where(memberships.c.org_id == bindparam("org_id"), memberships.c.role == "owner")
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
    """Add the user ``member`` to an organization at once; owners only.

    This is ``POST /orgs/<slug>/members`` with ``DIRECT_MEMBERSHIP`` on;
    otherwise that route invites (:mod:`~mything.operations.invitations`).
    """
    org = lock_organization(user, slug)
    require_owner(org)
    new_member = find_user(member)
    if new_member is None:
        raise ValidationError(
            errors=[{"path": "user", "message": f"there is no user {member!r}"}]
        )
    return join(org.id, org.slug, new_member, role=role, actor=user)


def add_member_unasked(slug: str, member: str, *, role: str) -> dict[str, str]:
    """Add ``member`` to the organization ``slug`` without any caller's consent.

    For administrators (the host's code, the operator at the shell), who
    are trusted: an unknown organization or user is a 404.
    """
    check_slug(slug)
    db = get_db()
    org = db.execute(
        select(organizations.c.id, organizations.c.slug).where(
            organizations.c.slug == slug
        )
    ).first()
    if org is None:
        raise NotFound("Organization not found.")
    new_member = find_user(member)
    if new_member is None:
        raise NotFound(f"There is no user {member!r}.")
    lock(org.id)
    return join(org.id, org.slug, new_member, role=role, actor=None)


def join(
    org_id: int, slug: str, member: User, *, role: str, actor: User | None
) -> dict[str, str]:
    """Make ``member`` a member of the organization ``org_id``, which is locked.

    A pending invitation of theirs to it has nothing left to ask, and goes.
    Someone who is a member already is a 409. ``actor`` is who did it
    (``None`` for an administrative call), for the ``member.joined`` event.
    """
    db = get_db()
    try:
        with db.begin_nested():
            db.execute(
                insert(memberships).values(
                    org_id=org_id, user_id=member.id, role=role, created_at=utcnow()
                )
            )
    except IntegrityError:
        raise Conflict(f"{member.name!r} is already a member.") from None
    db.execute(
        delete(invitations).where(
            invitations.c.org_id == org_id, invitations.c.user_id == member.id
        )
    )
    joined = member_json(member.name, role)
    record_event(
        "member.joined", joined, chain=Chain(org_id), organization=slug, actor=actor
    )
    return joined


def update_member(user: User, slug: str, member: str, *, role: str) -> dict[str, str]:
    """Give ``member`` the role ``role``; owners only, never demoting the last owner.

    Giving the role a member has already changes nothing (and records no
    event), and succeeds.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    target = _find_membership(org.id, member)
    if target.role != role:
        if target.role == "owner" and _owners(org.id) == 1:
            raise Conflict("The last owner of an organization cannot be demoted.")
        get_db().execute(
            update(memberships)
            .where(
                memberships.c.org_id == org.id,
                memberships.c.user_id == target.user_id,
            )
            .values(role=role)
        )
        _record(
            "member.role_changed",
            org,
            member_json(member, role),
            actor=user,
            changes={"role": {"from": target.role, "to": role}},
        )
    return member_json(member, role)


def remove_member(user: User, slug: str, member: str) -> None:
    """Remove ``member`` from an organization, never its last owner.

    Owners may remove anyone; any member may remove themselves (leave).
    """
    org = lock_organization(user, slug)
    if member != user.name:
        require_owner(org)
    target = _find_membership(org.id, member)
    if target.role == "owner" and _owners(org.id) == 1:
        raise Conflict(
            "The last owner of an organization cannot leave or be removed; "
            "make another member an owner first, or delete the organization."
        )
    get_db().execute(
        delete(memberships).where(
            memberships.c.org_id == org.id, memberships.c.user_id == target.user_id
        )
    )
    _record("member.removed", org, member_json(member, target.role), actor=user)


def _find_membership(org_id: int, member: str) -> Row:
    if not is_valid(HOST_USER_NAME, member):
        raise NotFound(MEMBER_NOT_FOUND.format(member))
    found = get_db().execute(_MEMBERSHIP, {"org_id": org_id, "name": member}).first()
    if found is None:
        raise NotFound(MEMBER_NOT_FOUND.format(member))
    return found


def _owners(org_id: int) -> int:
    count: int = get_db().execute(_OWNERS, {"org_id": org_id}).scalar_one()
    return count

"""Invitations: nobody becomes a member of an organization without saying yes.

An owner invites a user, with the role they will have::

    invite(alice, "acme", "bob", role="member")       # owners only
    list_my_invitations(bob)                          # what bob was asked
    accept_invitation(bob, invitation_id)             # bob is a member now
    decline_invitation(bob, invitation_id)            # or not

An invitation is pending until it is accepted, declined or cancelled by an
owner (each of which deletes it), or until ``INVITATION_DAYS`` have passed.
An expired invitation is as good as gone: it is not listed, and answering
or cancelling it is the 404 of an id that never existed, as is an
invitation of another user (or, on the owners' routes, of another
organization).

Like :mod:`~mything.operations.organizations`, each operation runs one plain
statement per step; the owners' operations start from the organization's
lock (:func:`~mything.operations.organizations.lock_organization`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select

from ..config import settings
from ..db import get_db, inserted_id
from ..encoding import isoformat
from ..errors import Conflict, NotFound, ValidationError
from ..pagination import keyset, load_page
from ..tables import (
    MAX_ID,
    invitations,
    memberships,
    organizations,
    users,
    utcnow,
)
from .events import Chain, record_event
from .organizations import (
    find_organization,
    join,
    lock,
    lock_organization,
    member_json,
    organization_json,
    require_owner,
)
from .users import User, find_user

INVITATION_NOT_FOUND = "Invitation not found."

_invitee = users.alias("invitee")
_inviter = users.alias("inviter")

#: The invitations that are still pending at ``:now``, as the API shows them.
_PENDING = (
    select(
        invitations.c.id,
        invitations.c.org_id,
        organizations.c.slug,
        organizations.c.name,
        _invitee.c.name.label("user"),
        invitations.c.role,
        _inviter.c.name.label("invited_by"),
        invitations.c.created_at,
        invitations.c.expires_at,
    )
    .join(organizations, organizations.c.id == invitations.c.org_id)
    .join(_invitee, _invitee.c.id == invitations.c.user_id)
    .join(_inviter, _inviter.c.id == invitations.c.invited_by)
    .where(invitations.c.expires_at > bindparam("now"))
)
_OF_ORGANIZATION = _PENDING.where(invitations.c.org_id == bindparam("org_id"))
_OF_USER = _PENDING.where(invitations.c.user_id == bindparam("user_id"))
_ONE_OF_ORGANIZATION = _OF_ORGANIZATION.where(
    invitations.c.id == bindparam("invitation_id")
)
_ONE_OF_USER = _OF_USER.where(invitations.c.id == bindparam("invitation_id"))

_PENDING_FOR_USER = _OF_ORGANIZATION.where(
    invitations.c.user_id == bindparam("user_id")
)

_ORGANIZATION_PAGE = keyset(_OF_ORGANIZATION, invitations.c.id, descending=True)
_USER_PAGE = keyset(_OF_USER, invitations.c.id, descending=True)


def invitation_json(row: Row) -> dict[str, Any]:
    """Return an invitation as the API shows it, from a row of ``_PENDING``."""
    return {
        "id": row.id,
        "organization": row.slug,
        "organization_name": row.name,
        "user": row.user,
        "role": row.role,
        "invited_by": row.invited_by,
        "created_at": isoformat(row.created_at),
        "expires_at": isoformat(row.expires_at),
    }


def invite(user: User, slug: str, invitee: str, *, role: str) -> dict[str, Any]:
    """Invite the user ``invitee`` to join an organization as ``role``; owners only.

    Inviting oneself, a member, or someone with a pending invitation is a
    409; an unknown user is a 400, like any invalid field.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    found = find_user(invitee)
    if found is None:
        raise ValidationError(
            errors=[{"path": "user", "message": f"there is no user {invitee!r}"}]
        )
    if found.id == user.id:
        raise Conflict("You cannot invite yourself.")
    db = get_db()
    now = utcnow()
    member = select(memberships.c.role).where(
        memberships.c.org_id == org.id, memberships.c.user_id == found.id
    )
    if db.execute(member).first() is not None:
        raise Conflict(f"{invitee!r} is already a member.")
    theirs = {"org_id": org.id, "user_id": found.id, "now": now}
    if db.execute(_PENDING_FOR_USER, theirs).first() is not None:
        raise Conflict(f"{invitee!r} has a pending invitation already.")
    # An expired invitation of theirs is replaced by the new one.
    db.execute(
        delete(invitations).where(
            invitations.c.org_id == org.id, invitations.c.user_id == found.id
        )
    )
    invitation_id = inserted_id(
        db.execute(
            insert(invitations).values(
                org_id=org.id,
                user_id=found.id,
                role=role,
                invited_by=user.id,
                created_at=now,
                expires_at=now + timedelta(days=settings().invitation_days),
            )
        )
    )
    invitation = _get(_ONE_OF_ORGANIZATION, org_id=org.id, invitation_id=invitation_id)
    record_event(
        "member.invited",
        member_json(found.name, role),
        chain=Chain(org.id),
        organization=org.slug,
        actor=user,
    )
    return invitation


def list_invitations(
    user: User, slug: str, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of an organization's pending invitations, newest first."""
    org = find_organization(user, slug)
    require_owner(org)
    return load_page(
        _ORGANIZATION_PAGE,
        {"org_id": org.id, "now": utcnow()},
        key="id",
        descending=True,
        scope=f"invitations:{org.id}",
        limit=limit,
        cursor=cursor,
        serialize=invitation_json,
    )


def get_invitation(user: User, slug: str, invitation_id: int) -> dict[str, Any]:
    """Return one pending invitation of an organization; owners only."""
    org = find_organization(user, slug)
    require_owner(org)
    return _get(_ONE_OF_ORGANIZATION, org_id=org.id, invitation_id=invitation_id)


def cancel_invitation(user: User, slug: str, invitation_id: int) -> None:
    """Cancel one pending invitation of an organization; owners only."""
    org = lock_organization(user, slug)
    require_owner(org)
    invitation = _get_row(
        _ONE_OF_ORGANIZATION, org_id=org.id, invitation_id=invitation_id
    )
    _delete_pending(invitations.c.org_id == org.id, invitation_id)
    _record("invitation.cancelled", invitation, actor=user)


def list_my_invitations(
    user: User, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of the user's pending invitations, newest first."""
    return load_page(
        _USER_PAGE,
        {"user_id": user.id, "now": utcnow()},
        key="id",
        descending=True,
        scope=f"my-invitations:{user.id}",
        limit=limit,
        cursor=cursor,
        serialize=invitation_json,
    )


def accept_invitation(user: User, invitation_id: int) -> dict[str, Any]:
    """Accept one of the user's pending invitations; return the organization.

    The user becomes a member with the role they were invited as.
    """
    invitation = _get_row(_ONE_OF_USER, user_id=user.id, invitation_id=invitation_id)
    # Take the organization's lock, as every change to its members does,
    # then claim the invitation: one that was declined or cancelled while
    # this request waited is gone, and accepting it is a 404.
    lock(invitation.org_id)
    _delete_pending(invitations.c.user_id == user.id, invitation_id)
    join(invitation.org_id, invitation.slug, user, role=invitation.role, actor=user)
    return organization_json(find_organization(user, invitation.slug))


def decline_invitation(user: User, invitation_id: int) -> None:
    """Decline one of the user's pending invitations."""
    invitation = _get_row(_ONE_OF_USER, user_id=user.id, invitation_id=invitation_id)
    _delete_pending(invitations.c.user_id == user.id, invitation_id)
    _record("invitation.declined", invitation, actor=user)


def _record(event_type: str, invitation: Row, *, actor: User) -> None:
    record_event(
        event_type,
        invitation_json(invitation),
        chain=Chain(invitation.org_id),
        organization=invitation.slug,
        actor=actor,
    )


def _get(statement: Any, **parameters: Any) -> dict[str, Any]:
    return invitation_json(_get_row(statement, **parameters))


def _get_row(statement: Any, **parameters: Any) -> Row:
    _check_id(parameters["invitation_id"])
    row = get_db().execute(statement, {**parameters, "now": utcnow()})
    found = row.first()
    if found is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return found


def _delete_pending(whose: Any, invitation_id: int) -> None:
    """Delete the invitation ``invitation_id`` if it is pending and ``whose``."""
    _check_id(invitation_id)
    deleted = get_db().execute(
        delete(invitations).where(
            invitations.c.id == invitation_id,
            whose,
            invitations.c.expires_at > utcnow(),
        )
    )
    if deleted.rowcount != 1:
        raise NotFound(INVITATION_NOT_FOUND)


def _check_id(invitation_id: int) -> None:
    # A URL can spell an id larger than any row's, which some drivers
    # refuse to send (SQLite's overflows): no such invitation.
    if not 1 <= invitation_id <= MAX_ID:
        raise NotFound(INVITATION_NOT_FOUND)

"""``/orgs/<slug>/members``: who belongs to an organization, and with what role."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import authenticated
from ..config import settings
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import invitations, organizations
from ..operations.users import User
from ..results import ApiResult
from ..schemas import (
    INVITATION,
    MEMBER,
    MEMBER_CHANGES,
    NEW_MEMBER,
    PAGE_QUERY,
    page_of,
)
from ..validation import argsschema, dataschema
from .invitations import created

blueprint = Blueprint("members", __name__)


@blueprint.get("/orgs/<slug>/members")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(MEMBER))
def list_members(caller: User, slug: str, **page: Any) -> ApiResult:
    """List the members of an organization, by user name."""
    result = organizations.list_members(caller, slug, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/members")
@authenticated
@idempotent
@dataschema(NEW_MEMBER)
@returns(INVITATION, 202, also={201: MEMBER})
def add_member(caller: User, slug: str, user: str, role: str) -> ApiResult:
    """Invite a user to the organization (owners only): 202 with the invitation.

    With the server's `DIRECT_MEMBERSHIP` on, the user is added at once
    instead: 201 with the membership.
    """
    if settings().direct_membership:
        return ApiResult(organizations.add_member(caller, slug, user, role=role), 201)
    return created(invitations.invite(caller, slug, user, role=role), 202)


@blueprint.patch("/orgs/<slug>/members/<user>")
@authenticated
@dataschema(MEMBER_CHANGES)
@returns(MEMBER)
def update_member(caller: User, slug: str, user: str, role: str) -> ApiResult:
    """Change a member's role (owners only; the last owner stays an owner)."""
    return ApiResult(organizations.update_member(caller, slug, user, role=role))


@blueprint.delete("/orgs/<slug>/members/<user>")
@authenticated
@returns(None, 204)
def remove_member(caller: User, slug: str, user: str) -> ApiResult:
    """Remove a member (owners), or leave (anyone: name yourself).

    The last owner can neither leave nor be removed.
    """
    organizations.remove_member(caller, slug, user)
    return ApiResult(None, 204)

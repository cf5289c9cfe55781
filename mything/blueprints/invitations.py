"""``/orgs/<slug>/invitations`` and ``/me/invitations``: asking users to join."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from ..auth import authenticated
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import invitations
from ..operations.users import User
from ..results import ApiResult
from ..schemas import INVITATION, NEW_INVITATION, ORGANIZATION, PAGE_QUERY, page_of
from ..validation import argsschema, dataschema

blueprint = Blueprint("invitations", __name__)


def created(invitation: dict[str, Any], status: int) -> ApiResult:
    """Answer with a new invitation, and where its owners can read it."""
    location = url_for(
        "invitations.get_invitation",
        slug=invitation["organization"],
        invitation_id=invitation["id"],
        _external=True,
    )
    return ApiResult(invitation, status, headers={"Location": location})


@blueprint.get("/orgs/<slug>/invitations")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(INVITATION))
def list_invitations(caller: User, slug: str, **page: Any) -> ApiResult:
    """List an organization's pending invitations, newest first (owners only)."""
    result = invitations.list_invitations(caller, slug, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/invitations")
@authenticated
@idempotent
@dataschema(NEW_INVITATION)
@returns(INVITATION, 201)
def invite(caller: User, slug: str, user: str, role: str) -> ApiResult:
    """Invite a user to the organization (owners only); they accept or decline.

    `role` (default `member`) is the role they will have. The invitation
    expires after the server's `INVITATION_DAYS` (7).
    """
    return created(invitations.invite(caller, slug, user, role=role), 201)


@blueprint.get("/orgs/<slug>/invitations/<id:invitation_id>")
@authenticated
@returns(INVITATION)
def get_invitation(caller: User, slug: str, invitation_id: int) -> ApiResult:
    """Show one of the organization's pending invitations (owners only)."""
    return ApiResult(invitations.get_invitation(caller, slug, invitation_id))


@blueprint.delete("/orgs/<slug>/invitations/<id:invitation_id>")
@authenticated
@returns(None, 204)
def cancel_invitation(caller: User, slug: str, invitation_id: int) -> ApiResult:
    """Cancel a pending invitation (owners only)."""
    invitations.cancel_invitation(caller, slug, invitation_id)
    return ApiResult(None, 204)


@blueprint.get("/me/invitations")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(INVITATION))
def list_my_invitations(caller: User, **page: Any) -> ApiResult:
    """List the caller's pending invitations, newest first."""
    result = invitations.list_my_invitations(caller, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/me/invitations/<id:invitation_id>/accept")
@authenticated
@idempotent
@returns(ORGANIZATION)
def accept_invitation(caller: User, invitation_id: int) -> ApiResult:
    """Accept an invitation: the caller joins the organization with the invited role."""
    return ApiResult(invitations.accept_invitation(caller, invitation_id))


@blueprint.delete("/me/invitations/<id:invitation_id>")
@authenticated
@returns(None, 204)
def decline_invitation(caller: User, invitation_id: int) -> ApiResult:
    """Decline an invitation."""
    invitations.decline_invitation(caller, invitation_id)
    return ApiResult(None, 204)

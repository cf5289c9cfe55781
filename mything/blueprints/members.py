"""``/orgs/<slug>/members``: who belongs to an organization, managed by owners."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import authenticated
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import organizations
from ..operations.users import User
from ..results import ApiResult
from ..schemas import MEMBER, NEW_MEMBER, PAGE_QUERY, page_of
from ..validation import argsschema, dataschema

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
@returns(MEMBER, 201)
def add_member(caller: User, slug: str, user: str, role: str) -> ApiResult:
    """Add a user to an organization (owners only)."""
    return ApiResult(organizations.add_member(caller, slug, user, role=role), 201)


@blueprint.delete("/orgs/<slug>/members/<user>")
@authenticated
@returns(None, 204)
def remove_member(caller: User, slug: str, user: str) -> ApiResult:
    """Remove a user from an organization (owners only; not the last owner)."""
    organizations.remove_member(caller, slug, user)
    return ApiResult(None, 204)

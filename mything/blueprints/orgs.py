"""``/orgs``: the caller's organizations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from ..auth import authenticated
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import organizations
from ..operations.users import User
from ..results import ApiResult
from ..schemas import (
    NEW_ORGANIZATION,
    ORGANIZATION,
    ORGANIZATION_CHANGES,
    PAGE_QUERY,
    page_of,
)
from ..validation import argsschema, dataschema

blueprint = Blueprint("orgs", __name__)


@blueprint.get("/orgs")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(ORGANIZATION))
def list_organizations(caller: User, **page: Any) -> ApiResult:
    """List the organizations the caller belongs to, by slug."""
    result = organizations.list_organizations(caller, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs")
@authenticated
@idempotent
@dataschema(NEW_ORGANIZATION)
@returns(ORGANIZATION, 201)
def create_organization(caller: User, slug: str, name: str) -> ApiResult:
    """Create an organization owned by the caller."""
    organization = organizations.create_organization(caller, slug, name=name)
    location = url_for(".get_organization", slug=slug, _external=True)
    return ApiResult(organization, 201, headers={"Location": location})


@blueprint.get("/orgs/<slug>")
@authenticated
@returns(ORGANIZATION)
def get_organization(caller: User, slug: str) -> ApiResult:
    """Show one of the caller's organizations."""
    return ApiResult(organizations.get_organization(caller, slug))


@blueprint.patch("/orgs/<slug>")
@authenticated
@dataschema(ORGANIZATION_CHANGES)
@returns(ORGANIZATION)
def update_organization(caller: User, slug: str, name: str) -> ApiResult:
    """Rename an organization (owners only); its slug never changes."""
    return ApiResult(organizations.update_organization(caller, slug, name=name))


@blueprint.delete("/orgs/<slug>")
@authenticated
@returns(None, 204)
def delete_organization(caller: User, slug: str) -> ApiResult:
    """Delete an organization with its notes, members and invitations (owners only).

    Its slug can be used again.
    """
    organizations.delete_organization(caller, slug)
    return ApiResult(None, 204)

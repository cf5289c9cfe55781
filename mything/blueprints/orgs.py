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
from ..schemas import NEW_ORGANIZATION, ORGANIZATION, PAGE_QUERY, page_of
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

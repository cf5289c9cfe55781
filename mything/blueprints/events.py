"""``/orgs/<slug>/events`` and ``/me/events``: the audit log, newest first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..auth import authenticated
from ..endpoints import returns
from ..operations import audit
from ..operations.users import User
from ..results import ApiResult
from ..schemas import EVENT, EVENTS_QUERY, page_of
from ..validation import argsschema

blueprint = Blueprint("events", __name__)


@blueprint.get("/orgs/<slug>/events")
@authenticated
@argsschema(EVENTS_QUERY)
@returns(page_of(EVENT))
def list_events(caller: User, slug: str, **query: Any) -> ApiResult:
    """List an organization's events, newest first; owners only.

    `type` is an event type or a resource's types (`note.*`), `actor` a
    user name, and `since` an ISO 8601 moment with its offset (inclusive).
    """
    result = audit.list_events(caller, slug, **query)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.get("/me/events")
@authenticated
@argsschema(EVENTS_QUERY)
@returns(page_of(EVENT))
def list_my_events(caller: User, **query: Any) -> ApiResult:
    """List the caller's own events (their tokens), newest first."""
    result = audit.list_my_events(caller, **query)
    return ApiResult(result, next_page=result["next_cursor"])

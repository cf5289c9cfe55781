"""``/orgs/<slug>/webhooks``: where an organization's events go, and how it went."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from ..auth import authenticated
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import webhooks
from ..operations.users import User
from ..results import ApiResult
from ..schemas import (
    DELIVERY,
    NEW_WEBHOOK,
    PAGE_QUERY,
    WEBHOOK,
    WEBHOOK_CHANGES,
    WEBHOOK_WITH_SECRET,
    page_of,
)
from ..validation import argsschema, dataschema

blueprint = Blueprint("webhooks", __name__)


@blueprint.get("/orgs/<slug>/webhooks")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(WEBHOOK))
def list_webhooks(caller: User, slug: str, **page: Any) -> ApiResult:
    """List an organization's webhooks, newest first (owners only)."""
    result = webhooks.list_webhooks(caller, slug, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/webhooks")
@authenticated
@idempotent(never_stored=("secret",))
@dataschema(NEW_WEBHOOK)
@returns(WEBHOOK_WITH_SECRET, 201)
def create_webhook(caller: User, slug: str, **fields: Any) -> ApiResult:
    """Send the organization's events of the listed types to a URL (owners only).

    `events` lists event types, a resource's types (`note.*`) or `*`. The
    URL must be `https` and reach only public addresses. The answer's
    `secret` signs every delivery, and is shown only this once.
    """
    webhook = webhooks.create_webhook(caller, slug, **fields)
    location = url_for(
        ".get_webhook", slug=slug, webhook_id=webhook["id"], _external=True
    )
    return ApiResult(webhook, 201, headers={"Location": location})


@blueprint.get("/orgs/<slug>/webhooks/<id:webhook_id>")
@authenticated
@returns(WEBHOOK)
def get_webhook(caller: User, slug: str, webhook_id: int) -> ApiResult:
    """Show a webhook (never its secret)."""
    return ApiResult(webhooks.get_webhook(caller, slug, webhook_id))


@blueprint.patch("/orgs/<slug>/webhooks/<id:webhook_id>")
@authenticated
@dataschema(WEBHOOK_CHANGES)
@returns(WEBHOOK)
def update_webhook(
    caller: User, slug: str, webhook_id: int, **changes: Any
) -> ApiResult:
    """Change a webhook's `url`, `events`, `description` or `enabled`."""
    return ApiResult(webhooks.update_webhook(caller, slug, webhook_id, **changes))


@blueprint.delete("/orgs/<slug>/webhooks/<id:webhook_id>")
@authenticated
@returns(None, 204)
def delete_webhook(caller: User, slug: str, webhook_id: int) -> ApiResult:
    """Delete a webhook; what it was still owed is not sent."""
    webhooks.delete_webhook(caller, slug, webhook_id)
    return ApiResult(None, 204)


@blueprint.post("/orgs/<slug>/webhooks/<id:webhook_id>/rotate-secret")
@authenticated
@idempotent(never_stored=("secret",))
@returns(WEBHOOK_WITH_SECRET)
def rotate_webhook_secret(caller: User, slug: str, webhook_id: int) -> ApiResult:
    """Give a webhook a new secret; the old one goes on signing for 24 hours."""
    return ApiResult(webhooks.rotate_secret(caller, slug, webhook_id))


@blueprint.post("/orgs/<slug>/webhooks/<id:webhook_id>/ping")
@authenticated
@idempotent
@returns(DELIVERY, 202)
def ping_webhook(caller: User, slug: str, webhook_id: int) -> ApiResult:
    """Send a `webhook.ping` to this webhook alone; answer with its delivery."""
    return ApiResult(webhooks.ping(caller, slug, webhook_id), 202)


@blueprint.get("/orgs/<slug>/webhooks/<id:webhook_id>/deliveries")
@authenticated
@argsschema(PAGE_QUERY)
@returns(page_of(DELIVERY))
def list_deliveries(caller: User, slug: str, webhook_id: int, **page: Any) -> ApiResult:
    """List a webhook's deliveries, newest first, with what the receiver answered."""
    result = webhooks.list_deliveries(caller, slug, webhook_id, **page)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post(
    "/orgs/<slug>/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver"
)
@authenticated
@idempotent
@returns(DELIVERY, 202)
def redeliver(caller: User, slug: str, webhook_id: int, delivery_id: int) -> ApiResult:
    """Send a delivery's message again, as a new delivery (same `webhook-id`)."""
    return ApiResult(webhooks.redeliver(caller, slug, webhook_id, delivery_id), 202)

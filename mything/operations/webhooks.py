"""Webhooks: an organization's owners ask for its events at URLs of theirs.

::

    hook = create_webhook(alice, "acme", url="https://ci.example/hook",
                          events=["note.*"])       # hook["secret"]: shown once
    rotate_secret(alice, "acme", hook["id"])       # the old one signs 24 h more
    ping(alice, "acme", hook["id"])                # a webhook.ping, to it alone
    list_deliveries(alice, "acme", hook["id"])     # what was sent, and answered
    redeliver(alice, "acme", hook["id"], delivery_id)

Everything here is for owners: a member gets a 403, anyone else the
organization's 404. Creating, changing and deleting a webhook, and its
automatic disabling, are events of the organization's ledger
(``webhook.created``, ...), which never carry the secret.

A URL is checked when it is saved (:func:`check_url`): ``https``, and a host
that resolves only to public addresses, unless the ``WEBHOOK_ALLOW_*``
settings say otherwise (see :mod:`mything.outbound`, which checks again at
every attempt). The queue of deliveries and the workers' side of it:
:mod:`mything.operations.deliveries`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select, update

from ..addresses import check_host
from ..addresses import check_url as check_url_shape
from ..config import settings
from ..db import get_db, inserted_id
from ..encoding import isoformat
from ..errors import NotFound, ValidationError
from ..pagination import keyset, load_page
from ..signatures import new_secret
from ..tables import MAX_ID, organizations, utcnow, webhook_deliveries, webhooks
from .deliveries import ROTATION_OVERLAP, delivery_json, message_body, new_delivery
from .events import Chain, record_event
from .organizations import find_organization, lock_organization, require_owner
from .users import User

WEBHOOK_NOT_FOUND = "Webhook not found."
DELIVERY_NOT_FOUND = "Delivery not found."

#: The columns a webhook is shown with (never its secrets).
_SHOWN = (
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.events,
    webhooks.c.description,
    webhooks.c.enabled,
    webhooks.c.created_at,
)
_OF_ORGANIZATION = select(*_SHOWN).where(webhooks.c.org_id == bindparam("org_id"))
_ONE = _OF_ORGANIZATION.where(webhooks.c.id == bindparam("webhook_id"))
_PAGE = keyset(_OF_ORGANIZATION, webhooks.c.id, descending=True)

_DELIVERIES = select(webhook_deliveries).where(
    webhook_deliveries.c.webhook_id == bindparam("webhook_id")
)
_DELIVERIES_PAGE = keyset(_DELIVERIES, webhook_deliveries.c.id, descending=True)
_ONE_DELIVERY = _DELIVERIES.where(webhook_deliveries.c.id == bindparam("delivery_id"))


def webhook_json(row: Row) -> dict[str, Any]:
    """Return a webhook as the API shows it, from a row of ``_SHOWN``."""
    return {
        "id": row.id,
        "url": row.url,
        "events": json.loads(row.events),
        "description": row.description,
        "enabled": row.enabled,
        "created_at": isoformat(row.created_at),
    }


def check_url(url: str) -> str:
    """Return ``url`` ready to store, or raise the 400 that says why it cannot be.

    Its shape, then the addresses its host resolves to, under the app's
    ``WEBHOOK_ALLOW_HTTP`` and ``WEBHOOK_ALLOW_PRIVATE``.
    """
    allowed = settings()
    try:
        clean = check_url_shape(url, allow_http=allowed.webhook_allow_http)
        check_host(clean, allow_private=allowed.webhook_allow_private)
    except ValueError as error:
        raise ValidationError(errors=[{"path": "url", "message": str(error)}]) from None
    return clean


def create_webhook(
    user: User,
    slug: str,
    *,
    url: str,
    events: list[str],
    description: str | None = None,
) -> dict[str, Any]:
    """Create a webhook of the organization ``slug``; the answer holds its secret.

    The secret is shown this once: the webhook's other answers leave it out.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    clean_url = check_url(url)
    secret = new_secret()
    webhook_id = inserted_id(
        get_db().execute(
            insert(webhooks).values(
                org_id=org.id,
                url=clean_url,
                events=json.dumps(events),
                description=description,
                enabled=True,
                secret=secret,
                created_at=utcnow(),
            )
        )
    )
    webhook = _get(org.id, webhook_id)
    _record("webhook.created", webhook, org, user)
    return {**webhook, "secret": secret}


def list_webhooks(
    user: User, slug: str, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of the organization's webhooks, newest first."""
    org = find_organization(user, slug)
    require_owner(org)
    return load_page(
        _PAGE,
        {"org_id": org.id},
        key="id",
        descending=True,
        scope=f"webhooks:{org.id}",
        limit=limit,
        cursor=cursor,
        serialize=webhook_json,
    )


def get_webhook(user: User, slug: str, webhook_id: int) -> dict[str, Any]:
    """Return one webhook of the organization (never its secret)."""
    org = find_organization(user, slug)
    require_owner(org)
    return _get(org.id, webhook_id)


def update_webhook(
    user: User, slug: str, webhook_id: int, **changes: Any
) -> dict[str, Any]:
    """Change some of a webhook's ``url``, ``events``, ``description`` and ``enabled``.

    Enabling a webhook starts its count of failures afresh.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    current = _get(org.id, webhook_id)
    if "url" in changes:
        changes["url"] = check_url(changes["url"])
    changed = {key: value for key, value in changes.items() if current[key] != value}
    if not changed:
        return current
    values: dict[str, Any] = dict(changed)
    if "events" in values:
        values["events"] = json.dumps(values["events"])
    if values.get("enabled") is True:
        values["failing_since"] = None
    get_db().execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.org_id == org.id)
        .values(**values)
    )
    webhook = _get(org.id, webhook_id)
    difference = {key: {"from": current[key], "to": webhook[key]} for key in changed}
    _record("webhook.updated", webhook, org, user, changes=difference)
    return webhook


def delete_webhook(user: User, slug: str, webhook_id: int) -> None:
    """Delete a webhook, and its deliveries: what was not sent is not sent."""
    org = lock_organization(user, slug)
    require_owner(org)
    webhook = _get(org.id, webhook_id)
    db = get_db()
    db.execute(
        delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
    )
    db.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
    _record("webhook.deleted", webhook, org, user)


def rotate_secret(user: User, slug: str, webhook_id: int) -> dict[str, Any]:
    """Give a webhook a new secret, and return the webhook with it.

    For 24 hours, deliveries are signed with the new secret and the one it
    replaced, so that receivers can switch without losing one. A second
    rotation within those hours keeps the newest two.
    """
    org = lock_organization(user, slug)
    require_owner(org)
    _get(org.id, webhook_id)
    secret = new_secret()
    get_db().execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(
            previous_secret=webhooks.c.secret,
            previous_secret_until=utcnow() + ROTATION_OVERLAP,
            secret=secret,
        )
    )
    return {**_get(org.id, webhook_id), "secret": secret}


def ping(user: User, slug: str, webhook_id: int) -> dict[str, Any]:
    """Send a ``webhook.ping`` to this webhook alone; return its delivery.

    The ping is delivered like an event, but it is not one: the ledger
    does not record it.
    """
    org = find_organization(user, slug)
    require_owner(org)
    webhook = _get(org.id, webhook_id)
    now = utcnow()
    message: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "sequence": None,
        "type": "webhook.ping",
        "organization": slug,
        "actor": user.name,
        "at": isoformat(now),
        "request_id": None,
        "data": {"object": webhook},
    }
    row = new_delivery(
        webhook_id, message["id"], message["type"], message_body(message), now, 0
    )
    return _insert_delivery(webhook_id, row)


def list_deliveries(
    user: User,
    slug: str,
    webhook_id: int,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Return a page of a webhook's deliveries, newest first."""
    org = find_organization(user, slug)
    require_owner(org)
    _get(org.id, webhook_id)
    return load_page(
        _DELIVERIES_PAGE,
        {"webhook_id": webhook_id},
        key="id",
        descending=True,
        scope=f"deliveries:{webhook_id}",
        limit=limit,
        cursor=cursor,
        serialize=delivery_json,
    )


def redeliver(
    user: User, slug: str, webhook_id: int, delivery_id: int
) -> dict[str, Any]:
    """Send a delivery's message again, as a new delivery; return it.

    The message is the same, ``webhook-id`` included, so a receiver that
    kept it already can tell. It goes once the webhook is enabled.
    """
    org = find_organization(user, slug)
    require_owner(org)
    _get(org.id, webhook_id)
    if not 1 <= delivery_id <= MAX_ID:
        raise NotFound(DELIVERY_NOT_FOUND)
    found = (
        get_db()
        .execute(_ONE_DELIVERY, {"webhook_id": webhook_id, "delivery_id": delivery_id})
        .first()
    )
    if found is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    row = new_delivery(
        webhook_id, found.event_id, found.event_type, found.payload, utcnow(), 0
    )
    return _insert_delivery(webhook_id, row)


def disable_failing(webhook_id: int) -> None:
    """Disable a webhook that has failed for too long (``webhook.disabled``).

    No user acts: the event's actor is none.
    """
    db = get_db()
    found = db.execute(
        select(webhooks.c.org_id, webhooks.c.enabled).where(webhooks.c.id == webhook_id)
    ).first()
    if found is None or not found.enabled:
        return
    db.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(enabled=False)
    )
    webhook = _get(found.org_id, webhook_id)
    slug = _slug(found.org_id)
    record_event(
        "webhook.disabled",
        webhook,
        chain=Chain(org_id=found.org_id),
        organization=slug,
        actor=None,
    )


def _slug(org_id: int) -> str:
    slug: str = (
        get_db()
        .execute(select(organizations.c.slug).where(organizations.c.id == org_id))
        .scalar_one()
    )
    return slug


def _insert_delivery(webhook_id: int, row: dict[str, Any]) -> dict[str, Any]:
    db = get_db()
    delivery_id = inserted_id(db.execute(insert(webhook_deliveries).values(**row)))
    found = db.execute(
        _ONE_DELIVERY, {"webhook_id": webhook_id, "delivery_id": delivery_id}
    ).one()
    return delivery_json(found)


def _get(org_id: int, webhook_id: int) -> dict[str, Any]:
    # A URL can spell an id larger than any row's, which some drivers
    # refuse to send: no such webhook.
    if not 1 <= webhook_id <= MAX_ID:
        raise NotFound(WEBHOOK_NOT_FOUND)
    found = get_db().execute(_ONE, {"org_id": org_id, "webhook_id": webhook_id}).first()
    if found is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return webhook_json(found)


def _record(
    event_type: str,
    webhook: dict[str, Any],
    org: Row,
    user: User,
    *,
    changes: dict[str, Any] | None = None,
) -> None:
    record_event(
        event_type,
        webhook,
        chain=Chain(org_id=org.id),
        organization=org.slug,
        actor=user,
        changes=changes,
    )

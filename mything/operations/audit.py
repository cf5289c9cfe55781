"""The audit log: who may read which events of the ledger, a page at a time.

An organization's events are for its owners (a member gets a 403, anyone
else the organization's 404); a user's own events (their tokens) are for
that user. Pages are newest first, by ``sequence``, with the usual keyset
cursors (:mod:`mything.pagination`), and may be narrowed by type (or a
resource's types, ``note.*``), actor and moment. An organization's events
are found by its id, never by its slug: a new organization that takes the
slug of a deleted one does not see the deleted one's events.

The ledger itself, and how events are written: :mod:`mything.operations.events`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from ..db import get_db
from ..errors import Forbidden, NotFound
from ..pagination import end_page, page_parameters
from ..tables import event_chains, events, organizations
from .events import EVENT_COLUMNS, Chain, canonical_json, event_json
from .organizations import find_organization
from .tenancy import check_slug
from .users import User


def list_events(
    user: User,
    slug: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    type: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Return a page of an organization's events, newest first; owners only.

    ``type`` is an event type, or a resource and ``.*`` (``"note.*"``);
    ``actor`` a user name; ``since`` a moment (inclusive). The events are
    those of this organization, not of a deleted one that had its slug.
    """
    org = find_organization(user, slug)
    if org.role != "owner":
        raise Forbidden("Only an owner of the organization may read its events.")
    filters = {"type": type, "actor": actor, "since": since}
    return _page(Chain(org_id=org.id), filters, limit=limit, cursor=cursor)


def list_my_events(
    user: User,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    type: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Return a page of the user's own events (their tokens), newest first."""
    filters = {"type": type, "actor": actor, "since": since}
    return _page(Chain(user_id=user.id), filters, limit=limit, cursor=cursor)


def list_organization_events(
    slug: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    type: str | None = None,
) -> dict[str, Any]:
    """Return a page of the organization ``slug``'s events (administrative)."""
    check_slug(slug)
    org_id = get_db().execute(_ORGANIZATION_ID, {"slug": slug}).scalar()
    if org_id is None:
        raise NotFound("Organization not found.")
    filters = {"type": type, "actor": None, "since": None}
    return _page(Chain(org_id=org_id), filters, limit=limit, cursor=cursor)


_ORGANIZATION_ID = select(organizations.c.id).where(
    organizations.c.slug == bindparam("slug")
)


def _page(
    chain: Chain, filters: dict[str, Any], *, limit: int | None, cursor: str | None
) -> dict[str, Any]:
    """Return one page of ``chain``'s events that pass ``filters``."""
    # A cursor continues the listing it came from: this chain, these filters.
    described = canonical_json({k: str(v) for k, v in filters.items() if v})
    digest = hashlib.sha256(described.encode()).hexdigest()[:16]
    scope = f"events:{chain.kind}:{chain.owner['owner']}:{digest}"
    size, bounds, _ = page_parameters(
        scope=scope, limit=limit, cursor=cursor, descending=True
    )
    statement = (
        select(*EVENT_COLUMNS)
        .join(event_chains, event_chains.c.id == events.c.chain_id)
        .where(
            event_chains.c[chain.kind] == bindparam("owner"),
            events.c.sequence <= bindparam("start"),
        )
        .order_by(events.c.sequence.desc())
        .limit(bindparam("limit"))
    )
    kind = filters["type"]
    if kind is not None and kind.endswith(".*"):
        statement = statement.where(events.c.type.startswith(kind[:-1]))
    elif kind is not None:
        statement = statement.where(events.c.type == kind)
    if filters["actor"] is not None:
        statement = statement.where(events.c.actor == filters["actor"])
    if filters["since"] is not None:
        statement = statement.where(events.c.at >= filters["since"])
    rows = get_db().execute(statement, {**chain.owner, **bounds})
    items = [event_json(row) for row in rows]
    return end_page(items, size=size, key="sequence", scope=scope)

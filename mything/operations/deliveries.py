"""The delivery queue: one row per message owed to one webhook, in the database.

A delivery is created in the transaction of what it announces, so there is
no message without its write and no write without its message: no job is
queued before a commit that may not happen, and no broker can be down after
it. :func:`enqueue` is called by the ledger for every event of an
organization, and owes the event to each enabled webhook of the
organization that subscribes to its type.

Workers, on any number of hosts, take turns through the database alone::

    claimed = claim(now=..., lease_seconds=60)   # commit: the lease is theirs
    answer = outbound.post(...)                  # no transaction open
    finish(claimed, answer, ...)                 # commit: attempt recorded

:func:`claim` takes one due delivery and sets its lease: until the lease
ends, no other worker takes it (``SELECT ... FOR UPDATE SKIP LOCKED`` where
the database has it; SQLite's writers take turns anyway). A worker killed
in the middle of an attempt leaves a lease that simply runs out, and the
delivery is due again. The lease outlasts ``WEBHOOK_TIMEOUT``, which bounds
the whole attempt, so two attempts of one delivery never overlap.
:func:`finish` records the attempt only for the worker that still holds
the lease, and schedules the next one from ``WEBHOOK_RETRY_SCHEDULE``.

The owners' side (the log, redelivering) is in
:mod:`mything.operations.webhooks`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, func, insert, or_, select, true, update

from ..db import get_db
from ..encoding import isoformat
from ..tables import utcnow, webhook_deliveries, webhooks

if TYPE_CHECKING:
    from ..outbound import Answer

#: How long a rotated secret goes on signing deliveries beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)

_deliveries = webhook_deliveries


def subscribes(subscriptions: Sequence[str], event_type: str) -> bool:
    """Say whether a webhook with ``subscriptions`` wants events of ``event_type``."""
    resource = event_type.partition(".")[0] + ".*"
    return any(entry in ("*", event_type, resource) for entry in subscriptions)


def message_body(message: dict[str, Any]) -> str:
    """Return the JSON text sent for ``message``, compact, as UTF-8 goes on the wire."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


_INSERT_DELIVERIES = insert(_deliveries)
_ENABLED_WEBHOOKS = select(webhooks.c.id, webhooks.c.events).where(
    webhooks.c.org_id == bindparam("org_id"), webhooks.c.enabled == true()
)


def enqueue(event: dict[str, Any], *, org_id: int, delay: float) -> int:
    """Owe ``event`` to each enabled webhook of ``org_id`` that subscribes to it.

    In the caller's transaction; the first attempt is due after ``delay``
    seconds. Returns how many deliveries it created.
    """
    db = get_db()
    targets = [
        row.id
        for row in db.execute(_ENABLED_WEBHOOKS, {"org_id": org_id})
        if subscribes(json.loads(row.events), event["type"])
    ]
    if targets:
        body = message_body(event)
        now = utcnow()
        db.execute(
            _INSERT_DELIVERIES,
            [
                new_delivery(webhook_id, event["id"], event["type"], body, now, delay)
                for webhook_id in targets
            ],
        )
    return len(targets)


def new_delivery(
    webhook_id: int,
    event_id: str,
    event_type: str,
    body: str,
    now: datetime,
    delay: float,
) -> dict[str, Any]:
    """Return the row of a delivery not yet attempted."""
    return {
        "webhook_id": webhook_id,
        "event_id": event_id,
        "event_type": event_type,
        "payload": body,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now + timedelta(seconds=delay),
    }


def delivery_json(row: Row) -> dict[str, Any]:
    """Return a delivery as the log shows it, from a row of ``webhook_deliveries``."""
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "last_attempt_at": _moment(row.last_attempt_at),
        "next_attempt_at": _moment(row.next_attempt_at),
        "response_status": row.response_status,
        "response_body": row.response_body,
        "error": row.error,
        "duration_ms": row.duration_ms,
    }


def _moment(value: datetime | None) -> str | None:
    return None if value is None else isoformat(value)


# Workers ------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds the lease of, with what it needs to send it."""

    id: int
    lease: str
    webhook_id: int
    url: str
    event_id: str
    body: bytes
    #: The secrets to sign with: the current one, and a rotated one still valid.
    secrets: tuple[str, ...]


#: Deliveries whose attempt is due by ``:now`` and not leased at ``:now``.
_DUE = (
    select(_deliveries.c.id)
    .where(
        _deliveries.c.next_attempt_at <= bindparam("due"),
        or_(
            _deliveries.c.leased_until.is_(None),
            _deliveries.c.leased_until <= bindparam("now"),
        ),
        # A disabled webhook's deliveries wait until it is enabled again.
        _deliveries.c.webhook_id.in_(
            select(webhooks.c.id).where(webhooks.c.enabled == true())
        ),
    )
    .order_by(_deliveries.c.next_attempt_at)
    .limit(1)
    # Workers skip the rows another one is claiming, instead of waiting.
    .with_for_update(skip_locked=True)
)
_TAKE = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("delivery_id"),
        _deliveries.c.next_attempt_at <= bindparam("due"),
        or_(
            _deliveries.c.leased_until.is_(None),
            _deliveries.c.leased_until <= bindparam("now"),
        ),
    )
    .values(leased_until=bindparam("until"), lease=bindparam("token"))
)
_CLAIMED = (
    select(
        _deliveries.c.id,
        _deliveries.c.event_id,
        _deliveries.c.payload,
        webhooks.c.id.label("webhook_id"),
        webhooks.c.url,
        webhooks.c.secret,
        webhooks.c.previous_secret,
        webhooks.c.previous_secret_until,
    )
    .join(webhooks, webhooks.c.id == _deliveries.c.webhook_id)
    .where(_deliveries.c.id == bindparam("delivery_id"))
)


def claim(*, lease_seconds: float, due: datetime | None = None) -> Claimed | None:
    """Take the lease of one delivery due by ``due`` (default: now), or return None.

    Commit right after: the lease is what other workers see.
    """
    db = get_db()
    now = utcnow()
    parameters = {"now": now, "due": min(due or now, now)}
    found = db.execute(_DUE, parameters).scalar()
    if found is None:
        return None
    token = uuid.uuid4().hex
    taken = db.execute(
        _TAKE,
        {
            **parameters,
            "delivery_id": found,
            "until": now + timedelta(seconds=lease_seconds),
            "token": token,
        },
    )
    if taken.rowcount != 1:
        # Another worker took it between the two statements (on a database
        # without SKIP LOCKED); the caller looks again.
        return None
    row = db.execute(_CLAIMED, {"delivery_id": found}).one()
    signing = [row.secret]
    if row.previous_secret is not None and row.previous_secret_until > now:
        signing.append(row.previous_secret)
    return Claimed(
        id=row.id,
        lease=token,
        webhook_id=row.webhook_id,
        url=row.url,
        event_id=row.event_id,
        body=row.payload.encode(),
        secrets=tuple(signing),
    )


@dataclass(frozen=True)
class Finished:
    """What :func:`finish` recorded: the outcome, and whether to disable the webhook."""

    #: ``succeeded``, ``retrying``, ``failed`` or ``blocked`` (metrics' outcome).
    outcome: str
    disable: bool


_HELD = select(_deliveries.c.attempts).where(
    _deliveries.c.id == bindparam("delivery_id"),
    _deliveries.c.lease == bindparam("token"),
)
_RECORD = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("delivery_id"),
        _deliveries.c.lease == bindparam("token"),
    )
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        next_attempt_at=bindparam("next_at"),
        leased_until=None,
        lease=None,
        last_attempt_at=bindparam("attempted_at"),
        response_status=bindparam("answer_status"),
        response_body=bindparam("answer_body"),
        error=bindparam("answer_error"),
        duration_ms=bindparam("answer_ms"),
    )
)


def finish(
    claimed: Claimed,
    answer: Answer,
    *,
    attempted_at: datetime,
    schedule: Sequence[float],
    disable_after: timedelta,
) -> Finished | None:
    """Record the attempt of ``claimed``; return None if its lease was lost.

    A success ends the delivery, and the webhook's run of failures. A
    failure schedules the next attempt, or ends the delivery as ``failed``
    after the last one; ``disable`` says that the webhook has failed for
    ``disable_after`` without a success.
    """
    db = get_db()
    held = {"delivery_id": claimed.id, "token": claimed.lease}
    attempts = db.execute(_HELD, held).scalar()
    if attempts is None:
        return None
    attempts += 1
    now = utcnow()
    if answer.error is None:
        status, next_at = "succeeded", None
    elif attempts < len(schedule):
        status, next_at = "retrying", now + timedelta(seconds=schedule[attempts])
    else:
        status, next_at = "failed", None
    db.execute(
        _RECORD,
        {
            **held,
            "new_status": status,
            "new_attempts": attempts,
            "next_at": next_at,
            "attempted_at": attempted_at,
            "answer_status": answer.status,
            "answer_body": _text(answer.body) if answer.status is not None else None,
            "answer_error": answer.error,
            "answer_ms": answer.duration_ms,
        },
    )
    outcome = "blocked" if answer.error == "blocked" else status
    return Finished(outcome, _track_failures(claimed.webhook_id, answer, disable_after))


def _text(body: bytes) -> str:
    # Cut at a byte, a character may be split: it becomes U+FFFD.
    return body.decode("utf-8", errors="replace")


def _track_failures(webhook_id: int, answer: Answer, disable_after: timedelta) -> bool:
    """Keep the start of the webhook's run of failures; say if it lasted too long."""
    db = get_db()
    this = webhooks.c.id == webhook_id
    if answer.error is None:
        db.execute(update(webhooks).where(this).values(failing_since=None))
        return False
    now = utcnow()
    db.execute(
        update(webhooks)
        .where(this, webhooks.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    since = db.execute(
        select(webhooks.c.failing_since).where(this, webhooks.c.enabled == true())
    ).scalar()
    return since is not None and since <= now - disable_after


_OLDEST_DUE = select(func.min(_deliveries.c.next_attempt_at)).where(
    _deliveries.c.next_attempt_at <= bindparam("now"),
    _deliveries.c.webhook_id.in_(
        select(webhooks.c.id).where(webhooks.c.enabled == true())
    ),
)


def oldest_due_seconds() -> float:
    """Return how long the oldest due delivery has waited (0: none is due)."""
    now = utcnow()
    oldest = get_db().execute(_OLDEST_DUE, {"now": now}).scalar()
    if oldest is None:
        return 0.0
    return max((now - oldest).total_seconds(), 0.0)

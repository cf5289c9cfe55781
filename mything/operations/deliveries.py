"""The delivery queue: one row per message owed to one webhook, in the database.

A delivery is created in the transaction of what it announces, so there is
no message without its write and no write without its message: no job is
queued before a commit that may not happen, and no broker can be down after
it. The ledger owes each event of an organization to each enabled webhook
of the organization that subscribes to its type, with one statement of
:func:`owed_deliveries`.

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

from sqlalchemy import (
    ColumnElement,
    Exists,
    FunctionElement,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.expression import FromClause

from ..db import get_db
from ..encoding import isoformat
from ..tables import utcnow, webhook_deliveries, webhooks

if TYPE_CHECKING:
    from ..outbound import Answer

#: How long a rotated secret goes on signing deliveries beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)

_deliveries = webhook_deliveries


def message_body(message: dict[str, Any]) -> str:
    """Return the JSON text sent for ``message``, compact, as UTF-8 goes on the wire."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class position_in(FunctionElement[int]):  # noqa: N801 (named as SQL functions are)
    """``position_in(text, part)``: where ``part`` first starts in ``text``; 0: nowhere.

    ``instr`` on SQLite and MySQL, ``strpos`` on PostgreSQL. Unlike ``LIKE``
    with a bound pattern, which SQLite prepares again for every new value,
    it needs no escaping and no new plan.
    """

    type = Integer()
    inherit_cache = True


@compiles(position_in)
def _instr(element: position_in, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(position_in, "postgresql")
def _strpos(element: position_in, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


#: The parameters of OWED_DELIVERIES that name a subscription, in the order
#: of owed_parameters()'s entries.
_ENTRIES = ("owed_every", "owed_type", "owed_resource")


def _subscribed_entry(name: str) -> ColumnElement[bool]:
    # The webhook's JSON list of subscriptions holds the entry :name, quoted.
    found = position_in(webhooks.c.events, bindparam(name, type_=String()))
    return found > literal_column("0")


#: The enabled webhooks of :owed_org that subscribe to the event being
#: recorded: whose list holds ``"*"``, the event's type, or its resource's
#: pattern (``"note.*"``), quoted.
_SUBSCRIBED = and_(
    webhooks.c.org_id == bindparam("owed_org"),
    webhooks.c.enabled == true(),
    or_(*(_subscribed_entry(name) for name in _ENTRIES)),
)


def any_owed() -> Exists:
    """Return whether the event being recorded is owed to any webhook, in SQL.

    With the parameters of :func:`owed_parameters`, as :func:`owed_deliveries`.
    """
    return exists().where(_SUBSCRIBED)


def owed_deliveries(payload: ColumnElement[str], *joined: FromClause) -> Insert:
    """Return the statement that owes the event being recorded to webhooks.

    It inserts a delivery of the event to each enabled webhook of
    :owed_org that subscribes to it (see :func:`any_owed`). The delivery
    sends ``payload``, which may use the columns of the ``joined`` tables.
    No parameter is named after a column: with the ledger's, they make one
    statement on PostgreSQL, where SQLAlchemy would take such a name for a
    column to set.
    """
    owed = select(
        webhooks.c.id,
        bindparam("new_id", type_=_deliveries.c.event_id.type),
        bindparam("new_type", type_=_deliveries.c.event_type.type),
        payload,
        literal_column("'pending'", _deliveries.c.status.type),
        literal_column("0", _deliveries.c.attempts.type),
        bindparam("owed_at", type_=_deliveries.c.created_at.type),
        bindparam("owed_due", type_=_deliveries.c.next_attempt_at.type),
    ).where(_SUBSCRIBED)
    for table in joined:
        owed = owed.join_from(webhooks, table, true())
    columns = [
        "webhook_id",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
    ]
    return insert(_deliveries).from_select(columns, owed)


#: :func:`owed_deliveries` of the JSON text :owed_payload.
OWED_DELIVERIES = owed_deliveries(
    bindparam("owed_payload", type_=_deliveries.c.payload.type)
)


def owed_parameters(
    event: dict[str, Any], *, org_id: int, now: datetime, delay: float
) -> dict[str, Any]:
    """Return the parameters of :func:`owed_deliveries` for ``event`` of ``org_id``.

    All but the payload's. The first attempt is due after ``delay`` seconds.
    """
    event_type = event["type"]
    entries = ("*", event_type, event_type.partition(".")[0] + ".*")
    return {
        "owed_org": org_id,
        "new_id": event["id"],
        "new_type": event_type,
        "owed_at": now,
        "owed_due": now + timedelta(seconds=delay),
        **{name: f'"{entry}"' for name, entry in zip(_ENTRIES, entries, strict=True)},
    }


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

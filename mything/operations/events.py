"""The ledger: one event for every write, in the write's own transaction.

Each operation that changes something calls :func:`record_event` before it
returns, on the same connection, so the event and the change are committed
together or not at all: no event without its write, no write without its
event. The event is what the audit log shows::

    {"id": "5f0c...", "sequence": 7, "type": "note.updated",
     "organization": "acme", "actor": "alice", "at": "2026-...Z",
     "request_id": "0f6c...", "data": {"object": {...},
     "changes": {"title": {"from": "Draft", "to": "Final"}}}}

**Chains.** Events belong to a chain: an organization's, or, for what has
no organization (a user's tokens), a user's. Within a chain, ``sequence``
counts 1, 2, 3 ... without gaps or repeats, and each event stores ``hash``,
the SHA-256 of the previous event's hash (``GENESIS_HASH`` for the first)
followed by its canonical JSON (:func:`chain_hash`). Changing, removing or
adding a row behind mything's back breaks the chain, and
:func:`verify_events` names where.

**Taking turns.** A chain's row in ``mything_event_chains`` holds its last
sequence and hash. Recording an event first reads that row and locks it
until the transaction ends (``SELECT ... FOR UPDATE``): concurrent writers
to one organization append one after the other (on SQLite, every writer
already holds the database's write lock), and writers to different
organizations never wait for each other. Then the event is inserted, the
row moved to it, and the event owed to the webhooks (:func:`_append`). On
PostgreSQL all of it is one statement, whose ``UPDATE`` of the row takes
the lock and computes the hash in SQL (:func:`_append_on_postgresql`); a
test checks that its hashes and payloads are Python's, byte for byte. On
SQLite the same ``UPDATE ... RETURNING`` moves the row first, hashing with
a function registered on each connection, and says whether any webhook is
owed the event (:func:`_append`); the event follows, and its deliveries if
there are any: two statements, or three. MySQL hashes in Python.

**Retention.** :func:`purge_events` removes the events older than
``EVENTS_RETENTION_DAYS`` from the start of each chain, and keeps in the
chain's row the sequence and hash of the last one removed: the checkpoint
from which :func:`verify_events` goes on.

The signals of :mod:`mything.signals` announce each event: inside the
transaction (a receiver may veto the write), and once it is committed. An
organization's event is also owed to each of its webhooks that subscribes
to it: the deliveries are inserted in the same transaction
(:mod:`mything.operations.deliveries`), so none is lost, and none is sent
for a write that did not happen.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Row,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Update

from ..config import settings
from ..db import DriverStatement, after_commit, get_db, inserted_id, sha256_hex
from ..encoding import isoformat
from ..requestid import request_id
from ..signals import event_committed, event_recorded
from ..tables import (
    GENESIS_HASH,
    event_chains,
    events,
    organizations,
    users,
    utcnow,
)
from .deliveries import (
    OWED_DELIVERIES,
    any_owed,
    message_body,
    owed_deliveries,
    owed_parameters,
)
from .users import User

logger = logging.getLogger("mything")


@dataclass(frozen=True)
class Chain:
    """Whose events: an organization's (by id) or, without one, a user's."""

    org_id: int | None = None
    user_id: int | None = None

    @property
    def kind(self) -> str:
        """The column of ``mything_event_chains`` that names the owner."""
        return "org_id" if self.org_id is not None else "user_id"

    @property
    def owner(self) -> dict[str, int | None]:
        """The parameter that finds this chain's row (see :func:`_of_owner`)."""
        return {"owner": getattr(self, self.kind)}


def canonical_json(value: Any) -> str:
    """Return the one JSON text of ``value`` that hashes are computed over.

    Keys sorted, no spaces, non-ASCII characters as they are (UTF-8).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(previous: str, event: dict[str, Any]) -> str:
    """Return the hash of ``event``: SHA-256 of ``previous`` and its canonical JSON."""
    return sha256_hex(previous + canonical_json(event))


def _of_owner(kind: str) -> ColumnElement[bool]:
    # Not named after its column: an UPDATE keeps those names for its SET.
    return event_chains.c[kind] == bindparam("owner")


# Statements are built once, with bound parameters (see operations/notes.py).
# An event's parameters are its columns' names after "new_": they also move
# the chain's head and give the deliveries their event's id and type.
_KINDS = ("org_id", "user_id")
#: The chain's head, locked until the transaction ends: FOR NO KEY UPDATE
#: on PostgreSQL, FOR UPDATE on MySQL; on SQLite the writer already holds
#: the database's write lock (BEGIN IMMEDIATE).
_TAKE_HEAD = {
    kind: select(event_chains.c.id, event_chains.c.sequence, event_chains.c.hash)
    .where(_of_owner(kind))
    .with_for_update(key_share=True)
    for kind in _KINDS
}
_INSERT_EVENT = DriverStatement(
    insert(events).values(
        {c: bindparam(f"new_{c.name}", type_=c.type) for c in events.c}
    )
)
_SET_HEAD = (
    update(event_chains)
    .where(event_chains.c.id == bindparam("new_chain_id"))
    .values(sequence=bindparam("new_sequence"), hash=bindparam("new_hash"))
)


class sql_sha256_hex(FunctionElement[str]):  # noqa: N801 (named as SQL functions are)
    """``sql_sha256_hex(text)``: the SHA-256 of ``text``'s UTF-8, in hex, in SQL.

    Elsewhere than on PostgreSQL, a function that :mod:`mything.db`
    registers on each SQLite connection (MySQL, which has none, hashes in
    Python).
    """

    type = String()
    inherit_cache = True


@compiles(sql_sha256_hex, "postgresql")
def _sha256_hex(element: sql_sha256_hex, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"encode(sha256(convert_to({text}, 'UTF8')), 'hex')"


@compiles(sql_sha256_hex)
def _sha256_hex_registered(
    element: sql_sha256_hex, compiler: SQLCompiler, **kw: Any
) -> str:
    return f"mything_sha256_hex({compiler.process(element.clauses, **kw)})"


def _advancing(kind: str, *, owing: bool = False) -> Update:
    # Moves the chain's head to the next event, hashed in SQL (see
    # chain_hash), and returns it; the UPDATE takes the row's lock. No row:
    # the chain has no row yet. :new_before and :new_after are the event's
    # canonical JSON around its sequence (see _around_sequence). ``owing``:
    # it also returns whether the event is owed to any webhook ("owed").
    next_sequence = event_chains.c.sequence + 1
    hashed = (
        event_chains.c.hash
        + bindparam("new_before", type_=String())
        + cast(next_sequence, String())
        + bindparam("new_after", type_=String())
    )
    head: list[ColumnElement[Any]] = [
        event_chains.c.id,
        event_chains.c.sequence,
        event_chains.c.hash,
    ]
    if owing:
        head.append(any_owed().label("owed"))
    return (
        update(event_chains)
        .where(_of_owner(kind))
        .values(sequence=next_sequence, hash=sql_sha256_hex(hashed))
        .returning(*head)
    )


#: The statement that moves a chain's head on SQLite, by the kind of chain;
#: an organization's also says whether any webhook is owed the event.
_ADVANCE_HEAD = {
    kind: DriverStatement(_advancing(kind, owing=kind == "org_id")) for kind in _KINDS
}
#: The event's deliveries, where they are not part of the statement that
#: appends it (on PostgreSQL they are).
_OWED_DELIVERIES = DriverStatement(OWED_DELIVERIES)


def _appending(kind: str, *, owed: bool) -> Select[Any]:
    # PostgreSQL: one statement of data-modifying CTEs advances the chain's
    # head (_advancing), inserts the event, and owes it to the webhooks. Its
    # result is the event's sequence; no row: the chain has no row yet.
    # :owed_before and :owed_after are the payload's text around the
    # sequence (see _around_sequence).
    head = _advancing(kind).cte("head")
    from_head = {
        "chain_id": head.c.id,
        "sequence": head.c.sequence,
        "hash": head.c.hash,
    }
    new_event = insert(events).from_select(
        [column.name for column in events.c],
        select(
            *(
                from_head.get(c.name, bindparam(f"new_{c.name}", type_=c.type))
                for c in events.c
            )
        ),
    )
    appended = select(head.c.sequence).add_cte(new_event.cte("new_event"))
    if owed:
        payload = (
            bindparam("owed_before", type_=String())
            + cast(head.c.sequence, String())
            + bindparam("owed_after", type_=String())
        )
        appended = appended.add_cte(owed_deliveries(payload, head).cte("owed"))
    return appended


#: The statement that appends an event on PostgreSQL, by the kind of chain
#: and whether the event may be owed to webhooks, run on psycopg's cursor
#: (DriverStatement) as SQLite's head is on SQLite's.
_APPEND_ON_POSTGRESQL = {
    (kind, owed): DriverStatement(_appending(kind, owed=owed))
    for kind in _KINDS
    for owed in (False, True)
}


def _around_sequence(
    dumps: Callable[[Any], str], event: dict[str, Any], data: str
) -> tuple[str, str]:
    """Return ``dumps(event)``'s text before and after its sequence's value.

    ``data`` is the text of the event's ``data``, which :func:`record_event`
    serializes once for every text of the event; ``dumps`` writes compact
    JSON, its keys in any order. The event is written with ``null`` for its
    sequence and its data, which are then found by their keys: a quote
    inside a JSON string is escaped, so ``"sequence":`` occurs where it is
    the key, and the event's other values are strings, numbers or null.
    """
    # PERF: benchmarks/findings.md#an-event-serialized-once. The data, the
    # bulk of an event, is serialized once instead of three or four times.
    skeleton = dumps({**event, "sequence": None, "data": None})
    before, _, after = skeleton.partition('"sequence":null')
    unwritten, written = '"data":null', '"data":' + data
    if unwritten in before:
        before = before.replace(unwritten, written, 1)
    else:
        after = after.replace(unwritten, written, 1)
    return before + '"sequence":', after


def _take_turn(db: Connection, chain: Chain) -> tuple[int, int, str]:
    """Lock the chain's head; return the chain's id, last sequence and hash.

    The lock holds until the transaction ends, so the next writer to this
    chain waits here, then reads what this one wrote. A chain's first event
    creates its row.
    """
    head = db.execute(_TAKE_HEAD[chain.kind], chain.owner).first()
    if head is not None:
        return head.id, head.sequence, head.hash
    try:
        # In a savepoint: a writer that created the chain meanwhile makes
        # this insert fail, and then this one takes its turn after it.
        with db.begin_nested():
            new_chain = insert(event_chains).values(
                org_id=chain.org_id,
                user_id=chain.user_id,
                sequence=0,
                hash=GENESIS_HASH,
                purged_sequence=0,
                purged_hash=GENESIS_HASH,
            )
            return inserted_id(db.execute(new_chain)), 0, GENESIS_HASH
    except IntegrityError:
        return _take_turn(db, chain)


def record_event(
    event_type: str,
    obj: dict[str, Any],
    *,
    chain: Chain,
    organization: str | None = None,
    actor: User | None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append an event to ``chain``, in the current transaction; return it.

    ``obj`` is the resource as the API shows it after the change (before it,
    for a deletion); ``changes`` maps each field the caller changed to
    ``{"from": old, "to": new}``. ``organization`` is the organization's
    slug (``None`` for a user's chain), ``actor`` the user who acted
    (``None`` for an administrative call). :data:`~mything.signals.event_recorded`
    is sent before this returns, and may veto the write by raising.
    """
    db = get_db()
    now = utcnow()
    data: dict[str, Any] = {"object": obj}
    if changes is not None:
        data["changes"] = changes
    event = {
        "id": uuid.uuid4().hex,
        "sequence": 0,  # the chain's next, known once its turn is taken
        "type": event_type,
        "organization": organization,
        "actor": None if actor is None else actor.name,
        "at": isoformat(now),
        "request_id": request_id(request.environ) if has_request_context() else None,
        "data": data,
    }
    data_text = canonical_json(data)
    row = {**event, "at": now, "data": data_text}
    parameters = {f"new_{name}": value for name, value in row.items()}
    if chain.org_id is not None:
        # The webhooks' deliveries, in the same transaction as the event.
        delay = settings().webhook_retry_schedule[0]
        parameters |= owed_parameters(event, org_id=chain.org_id, now=now, delay=delay)
    if db.dialect.name == "postgresql":
        event["sequence"] = _append_on_postgresql(
            db, chain, event, data_text, parameters
        )
    else:
        _append(db, chain, event, data_text, parameters)
    sender = _sender()
    event_recorded.send(sender, event=event)
    after_commit(lambda: _announce(sender, event))
    return event


def _append(
    db: Connection,
    chain: Chain,
    event: dict[str, Any],
    data: str,
    parameters: dict[str, Any],
) -> None:
    """Append ``event`` to ``chain``: move its head, insert it, owe it to webhooks.

    ``data`` is the event's data as :func:`canonical_json` writes it.
    """
    canonical = _around_sequence(canonical_json, event, data)
    on_sqlite = db.dialect.name == "sqlite"
    if on_sqlite:
        # PERF: benchmarks/findings.md#ledger-statements. The head moves in
        # one statement, hashing in SQL: no SELECT first. Its statements run
        # on the driver (DriverStatement).
        head = _advanced(db, chain, _ADVANCE_HEAD[chain.kind], canonical, parameters)
        chain_id, event["sequence"], hashed = head[:3]
        # PERF: benchmarks/findings.md#deliveries-only-when-owed. The head's
        # row says whether any webhook subscribes: if none, no INSERT.
        owed = chain.org_id is not None and bool(head[3])
    else:
        chain_id, last_sequence, previous = _take_turn(db, chain)
        event["sequence"] = last_sequence + 1
        # chain_hash(previous, event), from the texts written once.
        hashed = sha256_hex(previous + str(event["sequence"]).join(canonical))
        owed = chain.org_id is not None
    parameters |= {
        "new_chain_id": chain_id,
        "new_sequence": event["sequence"],
        "new_hash": hashed,
    }
    _INSERT_EVENT.execute(db, parameters)
    if not on_sqlite:
        # Where the turn was taken with SELECT ... FOR UPDATE: move the head.
        db.execute(_SET_HEAD, parameters)
    if owed:
        message = _around_sequence(message_body, event, data)
        parameters["owed_payload"] = str(event["sequence"]).join(message)
        _OWED_DELIVERIES.execute(db, parameters)


def _append_on_postgresql(
    db: Connection,
    chain: Chain,
    event: dict[str, Any],
    data: str,
    parameters: dict[str, Any],
) -> int:
    """Do what :func:`_append` does in one statement; return the event's sequence."""
    # PERF: benchmarks/findings.md#ledger-statements. One round trip instead
    # of four, where each costs more than the rest of recording the event.
    owed = chain.org_id is not None
    if owed:
        message = _around_sequence(message_body, event, data)
        parameters["owed_before"], parameters["owed_after"] = message
    statement = _APPEND_ON_POSTGRESQL[chain.kind, owed]
    canonical = _around_sequence(canonical_json, event, data)
    return int(_advanced(db, chain, statement, canonical, parameters)[0])


def _advanced(
    db: Connection,
    chain: Chain,
    statement: DriverStatement,
    canonical: tuple[str, str],
    parameters: dict[str, Any],
) -> Sequence[Any]:
    """Run ``statement``, which moves ``chain``'s head to the event; return its row.

    The statement hashes the event in SQL, from ``canonical``: the event's
    canonical JSON before and after its sequence. A chain's first event
    creates the chain's row first.
    """
    parameters |= chain.owner
    parameters["new_before"], parameters["new_after"] = canonical
    head = statement.first(db, parameters)
    if head is None:
        # The chain has no row yet: create it, then advance it.
        _take_turn(db, chain)
        head = statement.first(db, parameters)
        assert head is not None
    return head


def _sender() -> Any:
    """Return what signals are sent by: the MyThing, or else the Flask app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.my_thing if app.my_thing is not None else app


def _announce(sender: Any, event: dict[str, Any]) -> None:
    """Send ``event_committed``; a receiver that fails is logged, nothing more."""
    try:
        event_committed.send(sender, event=event)
    except Exception as error:
        # The write is kept already: its client must get its answer.
        logger.error(
            "a receiver of mything.event_committed failed on event %s (request %s)",
            event["id"],
            event["request_id"],
            exc_info=error,
            extra={"request_id": event["request_id"]},
        )


# Reading the ledger

#: The columns of an event as the API shows it (see :func:`event_json`).
EVENT_COLUMNS = (
    events.c.id,
    events.c.sequence,
    events.c.type,
    events.c.organization,
    events.c.actor,
    events.c.at,
    events.c.request_id,
    events.c.data,
)


def event_json(row: Row) -> dict[str, Any]:
    """Return an event as the API shows it, from a row of ``mything_events``."""
    return {
        "id": row.id,
        "sequence": row.sequence,
        "type": row.type,
        "organization": row.organization,
        "actor": row.actor,
        "at": isoformat(row.at),
        "request_id": row.request_id,
        "data": json.loads(row.data),
    }


# Verifying and purging


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_events` found: how much it checked, and the first break."""

    events: int
    chains: int
    #: The first broken chain and sequence, said for people; ``None``: whole.
    broken: str | None = None


_CHAINS = select(event_chains).order_by(event_chains.c.id)


def verify_events(*, slug: str | None = None) -> Verification:
    """Check every chain (or those of the organization ``slug``) from its checkpoint.

    ``slug`` names the organization that has it now, and any deleted or
    renamed one whose events carried it.
    """
    db = get_db()
    chains = _CHAINS
    if slug is not None:
        chains = chains.where(
            or_(
                event_chains.c.org_id.in_(
                    select(organizations.c.id).where(organizations.c.slug == slug)
                ),
                event_chains.c.id.in_(
                    select(events.c.chain_id).where(events.c.organization == slug)
                ),
            )
        )
    checked = 0
    heads = db.execute(chains).all()
    for head in heads:
        count, problem = _verify_chain(db, head)
        checked += count
        if problem is not None:
            name = _chain_name(db, head)
            return Verification(checked, len(heads), f"{name}, {problem}")
    return Verification(checked, len(heads))


def _verify_chain(db: Connection, head: Row) -> tuple[int, str | None]:
    """Return how many events of the chain ``head`` verified, and the first break."""
    expected, previous = head.purged_sequence + 1, head.purged_hash
    count = 0
    statement = (
        select(*EVENT_COLUMNS, events.c.hash)
        .where(events.c.chain_id == head.id)
        .order_by(events.c.sequence)
    )
    # Streamed, since a chain may be long; closed, since this may stop early.
    with closing(db.execution_options(yield_per=1000).execute(statement)) as rows:
        for row in rows:
            if row.sequence != expected:
                return count, f"sequence {expected}: missing"
            if chain_hash(previous, event_json(row)) != row.hash:
                return count, f"sequence {expected}: changed"
            count += 1
            expected, previous = expected + 1, row.hash
    if expected - 1 < head.sequence:
        return count, f"sequence {expected}: missing"
    if expected - 1 > head.sequence or previous != head.hash:
        return count, f"sequence {head.sequence}: does not match the chain's end"
    return count, None


def _chain_name(db: Connection, head: Row) -> str:
    """Name a chain for people: the slug and id of its organization, or its user."""
    if head.org_id is None:
        name = db.execute(select(users.c.name).where(users.c.id == head.user_id))
        return f"user {name.scalar()!r} (id {head.user_id})"
    last_slug = db.execute(
        select(events.c.organization)
        .where(events.c.chain_id == head.id)
        .order_by(events.c.sequence.desc())
        .limit(1)
    ).scalar()
    return f"organization {last_slug!r} (id {head.org_id})"


_LOCK_CHAIN = (
    select(event_chains.c.id)
    .where(event_chains.c.id == bindparam("chain_id"))
    .with_for_update()
)


def purge_events(*, days: int | None = None) -> int:
    """Remove events older than ``days`` (``EVENTS_RETENTION_DAYS``); return how many.

    Only from the start of each chain: an event newer than the cutoff stops
    the removal of its chain, so what remains is still a chain. The last
    one removed is kept as the chain's checkpoint, from which
    :func:`verify_events` goes on.
    """
    db = get_db()
    cutoff = utcnow() - timedelta(days=days or settings().events_retention_days)
    old_chains = select(events.c.chain_id).where(events.c.at < cutoff).distinct()
    removed = 0
    for chain_id in db.execute(old_chains).scalars().all():
        # Writers to this chain wait until the purge of it is committed.
        db.execute(_LOCK_CHAIN, {"chain_id": chain_id})
        in_chain = events.c.chain_id == chain_id
        first_kept = db.execute(
            select(func.min(events.c.sequence)).where(in_chain, events.c.at >= cutoff)
        ).scalar()
        last = db.execute(
            select(events.c.sequence, events.c.hash)
            .where(
                in_chain,
                true() if first_kept is None else events.c.sequence < first_kept,
            )
            .order_by(events.c.sequence.desc())
            .limit(1)
        ).first()
        if last is None:
            continue
        removed += db.execute(
            delete(events).where(in_chain, events.c.sequence <= last.sequence)
        ).rowcount
        db.execute(
            update(event_chains)
            .where(event_chains.c.id == chain_id)
            .values(purged_sequence=last.sequence, purged_hash=last.hash)
        )
    return removed

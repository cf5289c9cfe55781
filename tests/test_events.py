"""The ledger: one event per write, in its transaction; the audit log; the chains.

Most tests run on every database: what is kept together with what, and how
writers take turns, is the database's business.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from helpers.callers import make_caller
from helpers.databases import ALL_DATABASES
from helpers.processes import gunicorn
from sqlalchemy import delete, func, insert, select, update

import mything
from mything import ApiException, MyThing
from mything.db import get_database, get_db
from mything.errors import Conflict
from mything.schemas import EVENT, page_of
from mything.tables import (
    event_chains,
    events,
    memberships,
    notes,
    organizations,
    users,
    utcnow,
)

pytestmark = pytest.mark.databases(*ALL_DATABASES)


@pytest.fixture
def acme(thing, alice):
    """alice's organization acme, with one note; returns alice's Python API."""
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    return api


def count(thing, table=events) -> int:
    with get_database(thing.flask_app).engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def verify(thing, slug=None):
    return thing.run(lambda: mything.admin.verify_events(slug))


# Every write records one event


def test_a_note_s_life_is_three_events_newest_first(thing, client, alice, acme):
    created = client.post(
        "/orgs/acme/notes", json={"title": "Draft"}, headers=alice.headers
    )
    note_id = created.json["id"]
    client.patch(
        f"/orgs/acme/notes/{note_id}", json={"title": "Final"}, headers=alice.headers
    )
    client.delete(f"/orgs/acme/notes/{note_id}", headers=alice.headers)

    page = client.get("/orgs/acme/events?type=note.*", headers=alice.headers).json
    page_of(EVENT)(page)
    deleted, updated, new = page["items"]
    assert [e["type"] for e in page["items"]] == [
        "note.deleted",
        "note.updated",
        "note.created",
    ]
    assert new["data"] == {"object": created.json}
    assert updated["data"]["changes"] == {"title": {"from": "Draft", "to": "Final"}}
    assert updated["data"]["object"]["title"] == "Final"
    assert deleted["data"]["object"]["version"] == 2
    assert deleted["sequence"] == updated["sequence"] + 1 == new["sequence"] + 2
    assert {e["organization"] for e in page["items"]} == {"acme"}
    assert {e["actor"] for e in page["items"]} == {"alice"}
    assert new["request_id"] == created.headers["X-Request-ID"]
    assert len({e["id"] for e in page["items"]}) == 3


def test_an_update_that_changes_nothing_records_nothing(thing, acme):
    note = acme.create_note("acme", title="Same")
    before = count(thing)
    acme.update_note("acme", note["id"], title="Same")
    assert count(thing) == before


def test_tokens_are_events_of_their_user_and_never_carry_the_secret(thing, client):
    thing.create_user("dora")
    admin_token = thing.create_token("dora")
    headers = {"Authorization": f"Bearer {admin_token}"}
    issued = client.post("/me/tokens", json={"name": "ci"}, headers=headers).json
    client.delete(f"/me/tokens/{issued['id']}", headers=headers)

    items = client.get("/me/events", headers=headers).json["items"]
    assert [(e["type"], e["sequence"], e["actor"]) for e in items] == [
        ("token.revoked", 3, "dora"),
        ("token.created", 2, "dora"),
        # Issued by the host: an administrative call has no actor.
        ("token.created", 1, None),
    ]
    assert all(e["organization"] is None for e in items)
    assert issued["token"] not in json.dumps(items)
    assert items[1]["data"]["object"] == {
        k: v for k, v in issued.items() if k != "token"
    }


def test_an_organization_s_life_and_its_members_are_events(thing, acme):
    for name in ("bob", "carol", "dave"):
        thing.create_user(name)
    bob, carol, dave = map(thing.as_user, ("bob", "carol", "dave"))
    acme.update_organization("acme", name="Acme Inc")
    declined = acme.invite_member("acme", "bob")
    bob.decline_invitation(declined["id"])
    cancelled = acme.invite_member("acme", "bob", role="owner")
    acme.cancel_invitation("acme", cancelled["id"])
    bob_s = acme.invite_member("acme", "bob")
    bob.accept_invitation(bob_s["id"])
    acme.update_member("acme", "bob", role="owner")
    acme.update_member("acme", "bob", role="owner")  # changes nothing
    thing.add_member("acme", "carol")  # the host's own call
    acme.remove_member("acme", "carol")
    thing.add_member("acme", "dave")
    dave.leave_organization("acme")
    log = list(acme.iter_events("acme"))
    created_at = acme.organization("acme")["created_at"]
    bob.delete_organization("acme")

    seen = [(e["type"], e["actor"], e["data"]) for e in reversed(log)]
    org = {"slug": "acme", "name": "Acme", "created_at": created_at}
    renamed = {**org, "name": "Acme Inc"}
    assert seen == [
        ("organization.created", "alice", {"object": org}),
        (
            "organization.updated",
            "alice",
            {
                "object": renamed,
                "changes": {"name": {"from": "Acme", "to": "Acme Inc"}},
            },
        ),
        ("member.invited", "alice", {"object": {"user": "bob", "role": "member"}}),
        ("invitation.declined", "bob", {"object": declined}),
        ("member.invited", "alice", {"object": {"user": "bob", "role": "owner"}}),
        ("invitation.cancelled", "alice", {"object": cancelled}),
        ("member.invited", "alice", {"object": {"user": "bob", "role": "member"}}),
        ("member.joined", "bob", {"object": {"user": "bob", "role": "member"}}),
        (
            "member.role_changed",
            "alice",
            {
                "object": {"user": "bob", "role": "owner"},
                "changes": {"role": {"from": "member", "to": "owner"}},
            },
        ),
        ("member.joined", None, {"object": {"user": "carol", "role": "member"}}),
        ("member.removed", "alice", {"object": {"user": "carol", "role": "member"}}),
        ("member.joined", None, {"object": {"user": "dave", "role": "member"}}),
        ("member.removed", "dave", {"object": {"user": "dave", "role": "member"}}),
    ]
    assert [e["sequence"] for e in reversed(log)] == list(range(1, len(log) + 1))
    # The deletion is the chain's last event, kept after the organization.
    with get_database(thing.flask_app).engine.connect() as connection:
        last = connection.execute(
            select(events.c.type, events.c.sequence, events.c.actor)
            .order_by(events.c.sequence.desc())
            .where(events.c.organization == "acme")
            .limit(1)
        ).one()
    assert tuple(last) == ("organization.deleted", len(log) + 1, "bob")
    assert verify(thing).broken is None


def test_python_calls_record_events_without_a_request_id(thing, acme):
    acme.create_note("acme", title="From Python")
    (event,) = acme.events("acme", type="note.created")["items"]
    assert event["request_id"] is None


# Signals


def test_event_recorded_is_sent_inside_the_transaction(thing, acme):
    seen = []

    def receiver(sender, event):
        # The event is stored already, in the transaction not yet committed.
        stored = get_db().execute(select(events.c.id).where(events.c.id == event["id"]))
        seen.append((sender, event["type"], stored.scalar()))

    with mything.event_recorded.connected_to(receiver, sender=thing):
        note = acme.create_note("acme", title="Seen")
    ((sender, kind, stored_id),) = seen
    assert sender is thing and kind == "note.created" and stored_id is not None
    assert note["title"] == "Seen"


def test_a_receiver_s_api_exception_vetoes_the_write(thing, client, alice, acme):
    before = count(thing), count(thing, notes)

    def veto(sender, event):
        raise Conflict("Not today.")

    with mything.event_recorded.connected_to(veto, sender=thing):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
        with pytest.raises(ApiException) as raised:
            acme.create_note("acme", title="y")
    assert response.status_code == 409
    assert response.json["message"] == "Not today."
    assert raised.value.status == 409
    assert (count(thing), count(thing, notes)) == before


def test_a_receiver_s_plain_error_is_a_json_500_and_nothing_is_kept(
    thing, client, alice, acme
):
    before = count(thing), count(thing, notes)

    def broken(sender, event):
        raise ValueError("a bug in the host")

    with mything.event_recorded.connected_to(broken):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
    assert response.status_code == 500
    assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert "a bug" not in response.text
    assert (count(thing), count(thing, notes)) == before


def test_event_committed_comes_after_the_commit_and_its_failures_are_only_logged(
    thing, client, alice, acme, caplog
):
    seen = []

    def after(sender, event):
        # Another connection sees the write: it is committed.
        with get_database(thing.flask_app).engine.connect() as other:
            found = other.execute(select(events.c.id).where(events.c.id == event["id"]))
            seen.append(found.scalar())
        raise RuntimeError("the host's queue is down")

    with (
        caplog.at_level(logging.ERROR, logger="mything"),
        mything.event_committed.connected_to(after, sender=thing),
    ):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
    assert response.status_code == 201
    assert seen and seen[0] is not None
    (record,) = [r for r in caplog.records if "event_committed" in r.getMessage()]
    assert record.request_id == response.headers["X-Request-ID"]
    assert acme.note("acme", response.json["id"])["title"] == "x"


def test_a_failed_write_sends_no_event_committed(thing, acme):
    seen = []
    with mything.event_committed.connected_to(lambda sender, event: seen.append(1)):
        with pytest.raises(ApiException):
            acme.create_note("nosuch", title="x")
    assert seen == []


def test_receivers_connected_to_one_thing_do_not_hear_another(make_thing):
    one, other = make_thing(), make_thing()
    heard = []

    def receiver(sender, event):
        heard.append(sender)

    mything.event_committed.connect(receiver, sender=one)
    try:
        for each in (one, other):
            each.create_user("u")
            each.create_token("u")
    finally:
        mything.event_committed.disconnect(receiver)
    assert heard == [one]


# The audit log


def test_only_owners_read_an_organization_s_events(thing, client, alice, acme):
    bob = make_caller(thing, "bob")
    carol = make_caller(thing, "carol")
    _join(thing, "acme", "bob")
    assert client.get("/orgs/acme/events", headers=bob.headers).status_code == 403
    hidden = client.get("/orgs/acme/events", headers=carol.headers)
    missing = client.get("/orgs/nosuch/events", headers=carol.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["message"] == missing.json["message"]
    assert client.get("/orgs/acme/events", headers=alice.headers).status_code == 200


def _join(thing, slug, name):
    """Make ``name`` a member of ``slug``, however membership is granted."""
    with get_database(thing.flask_app).engine.begin() as connection:
        org_id = connection.execute(
            select(organizations.c.id).where(organizations.c.slug == slug)
        ).scalar_one()
        user_id = connection.execute(
            select(users.c.id).where(users.c.name == name)
        ).scalar_one()
        connection.execute(
            insert(memberships).values(
                org_id=org_id, user_id=user_id, role="member", created_at=utcnow()
            )
        )


@pytest.mark.parametrize(
    "query",
    [
        "type=nosuch",
        "since=yesterday",
        "since=2026-01-02T03:04:05",
        "actor=" + "a" * 300,
        "limit=0",
        "cursor=forged",
    ],
)
def test_bad_filters_are_400s(thing, client, alice, acme, query):
    response = client.get(f"/orgs/acme/events?{query}", headers=alice.headers)
    assert response.status_code == 400
    assert response.json["code"] == "validation_error"


def test_a_cursor_of_another_organization_s_events_is_a_400(thing, client, alice, acme):
    acme.create_organization("beta", name="Beta")
    for title in "abc":
        acme.create_note("beta", title=title)
    cursor = acme.events("beta", limit=1)["next_cursor"]
    response = client.get(f"/orgs/acme/events?cursor={cursor}", headers=alice.headers)
    assert response.status_code == 400


def test_pages_follow_link_and_filters_narrow_them(thing, client, alice, acme):
    for title in "abcde":
        acme.create_note("acme", title=title)
    seen, url = [], "/orgs/acme/events?limit=2&type=note.created"
    for _ in range(10):
        response = client.get(url, headers=alice.headers)
        seen += [e["sequence"] for e in response.json["items"]]
        if "Link" not in response.headers:
            break
        url = response.headers["Link"].split(";")[0].strip("<>")
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 5
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert acme.events("acme", since=future)["items"] == []
    past = datetime.now(UTC) - timedelta(days=1)
    assert len(acme.events("acme", since=past, actor="alice")["items"]) >= 5
    assert acme.events("acme", actor="nobody")["items"] == []


def test_the_audit_log_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json["paths"]
    assert "get" in paths["/orgs/{slug}/events"]
    assert "get" in paths["/me/events"]


# Chains


def test_verify_an_empty_database(thing, runner_of):
    result = runner_of(thing).invoke(args=["events", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 events")


def test_verify_finds_a_changed_a_deleted_and_an_added_row(thing, acme, runner_of):
    for title in "abc":
        acme.create_note("acme", title=title)
    assert verify(thing).broken is None
    engine = get_database(thing.flask_app).engine
    second = (events.c.sequence == 2) & (events.c.organization == "acme")

    with engine.begin() as connection:
        connection.execute(
            update(events).where(second).values(data='{"object":{"id":666}}')
        )
    result = runner_of(thing).invoke(args=["events", "verify", "--org", "acme"])
    assert result.exit_code == 1
    assert "organization 'acme'" in result.output and "sequence 2" in result.output

    with engine.begin() as connection:
        connection.execute(delete(events).where(second))
    assert "sequence 2: missing" in verify(thing, "acme").broken

    with engine.begin() as connection:
        row = connection.execute(
            select(events).where(events.c.organization == "acme").limit(1)
        ).first()
        added = {**row._mapping, "sequence": 2, "id": "f" * 32}
        connection.execute(insert(events).values(added))
    assert "sequence 2: changed" in verify(thing, "acme").broken


def test_purge_keeps_a_checkpoint_that_verify_goes_on_from(thing, acme, runner_of):
    for title in "abcd":
        acme.create_note("acme", title=title)
    sequences = [e["sequence"] for e in acme.events("acme")["items"]]
    long_ago = datetime.now(UTC) - timedelta(days=400)
    in_acme = events.c.organization == "acme"
    with get_database(thing.flask_app).engine.begin() as connection:
        connection.execute(
            update(events).where(in_acme, events.c.sequence <= 2).values(at=long_ago)
        )
    # The moved moments changed those events: chain them again, as if real.
    _rechain(thing)
    before = count(thing)
    result = runner_of(thing).invoke(args=["events", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output == "Removed 2 events.\n"
    assert count(thing) == before - 2
    assert verify(thing).broken is None
    acme.create_note("acme", title="e")
    assert verify(thing).broken is None
    listed = [e["sequence"] for e in acme.events("acme")["items"]]
    assert listed == [sequences[0] + 1, *sequences[:-2]]


def _rechain(thing):
    """Recompute every hash, as mything would have written them."""
    from mything.operations.events import chain_hash, event_json

    with get_database(thing.flask_app).engine.begin() as connection:
        for chain in connection.execute(select(event_chains)).all():
            previous = chain.purged_hash
            rows = connection.execute(
                select(events)
                .where(events.c.chain_id == chain.id)
                .order_by(events.c.sequence)
            ).all()
            for row in rows:
                previous = chain_hash(previous, event_json(row))
                connection.execute(
                    update(events).where(events.c.id == row.id).values(hash=previous)
                )
            connection.execute(
                update(event_chains)
                .where(event_chains.c.id == chain.id)
                .values(hash=previous)
            )


def test_a_deleted_organization_s_slug_reused_shows_none_of_its_events(thing, acme):
    acme.create_note("acme", title="old")
    acme.delete_organization("acme")
    acme.create_organization("acme", name="Acme again")
    types = [e["type"] for e in acme.events("acme")["items"]]
    assert "note.created" not in types
    assert verify(thing).broken is None


# Faults: nothing is kept without its event, nor an event without its write


def test_an_insert_the_database_refuses_keeps_nothing(thing, client, alice, acme):
    before = count(thing), count(thing, notes)

    def duplicate(sender, event):
        # The same event id again: the unique key refuses the insert.
        row = get_db().execute(select(events).where(events.c.id == event["id"]))
        get_db().execute(
            insert(events).values({**row.first()._mapping, "sequence": 10**9})
        )

    with mything.event_recorded.connected_to(duplicate, sender=thing):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
    assert response.status_code == 500
    assert (count(thing), count(thing, notes)) == before
    # The connection went back clean: the next request works.
    assert (
        client.post(
            "/orgs/acme/notes", json={"title": "y"}, headers=alice.headers
        ).status_code
        == 201
    )


#: A trigger that makes the database refuse every new event, by dialect.
REFUSE_EVENTS = {
    "sqlite": [
        "CREATE TRIGGER refuse_events BEFORE INSERT ON mything_events"
        " BEGIN SELECT RAISE(ABORT, 'no events today'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'no events today'; END $$",
        "CREATE TRIGGER refuse_events BEFORE INSERT ON mything_events"
        " FOR EACH ROW EXECUTE FUNCTION refuse_event()",
    ],
    "mysql": [
        "CREATE TRIGGER refuse_events BEFORE INSERT ON mything_events FOR EACH ROW"
        " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no events today'"
    ],
}


def test_an_event_the_database_refuses_keeps_nothing(thing, client, alice, acme):
    # The ledger's own insert refused, as a database refuses it: a JSON
    # error, no note without its event, and a connection that still works.
    engine = get_database(thing.flask_app).engine
    with engine.begin() as connection:
        for statement in REFUSE_EVENTS[engine.dialect.name]:
            connection.exec_driver_sql(statement)
    before = count(thing), count(thing, notes)
    response = client.post(
        "/orgs/acme/notes", json={"title": "x", "tags": ["a"]}, headers=alice.headers
    )
    # PyMySQL calls a raised SQLSTATE an operational error: a 503.
    assert response.status_code in (500, 503)
    assert response.json["code"] in ("internal_error", "unavailable")
    assert (count(thing), count(thing, notes)) == before
    on_table = " ON mything_events" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_events" + on_table)
    again = client.post("/orgs/acme/notes", json={"title": "y"}, headers=alice.headers)
    assert again.status_code == 201, again.json
    assert verify(thing).broken is None


def test_a_commit_the_database_refuses_keeps_nothing_and_leaves_the_pool_clean(
    thing, client, alice, acme, database_uri
):
    dialect = get_database(thing.flask_app).engine.dialect.name
    if dialect == "mysql":
        pytest.skip("MySQL and MariaDB check every constraint before COMMIT")
    before = count(thing), count(thing, notes)

    def refuse_at_commit(sender, event):
        db = get_db()
        if dialect == "sqlite":
            db.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        else:
            db.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")
        # A membership of no organization: refused only when committing.
        db.exec_driver_sql(
            "INSERT INTO mything_memberships (org_id, user_id, role, created_at) "
            "VALUES (999999, 1, 'member', '2020-01-01')"
        )

    if dialect == "postgresql":
        with get_database(thing.flask_app).engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE mything_memberships ALTER CONSTRAINT "
                "mything_memberships_org_id_fkey DEFERRABLE"
            )
    with mything.event_recorded.connected_to(refuse_at_commit, sender=thing):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
    assert response.status_code == 500, response.json
    assert (count(thing), count(thing, notes)) == before
    for title in "abc":
        again = client.post(
            "/orgs/acme/notes", json={"title": title}, headers=alice.headers
        )
        assert again.status_code == 201, again.json
    assert verify(thing).broken is None


def test_a_connection_lost_mid_request_keeps_nothing(thing, client, alice, acme):
    dialect = get_database(thing.flask_app).engine.dialect.name
    before = count(thing), count(thing, notes)

    def lose_connection(sender, event):
        db = get_db()
        if dialect == "postgresql":
            db.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        elif dialect == "mysql":
            db.exec_driver_sql("KILL CONNECTION_ID()")
        else:
            db.connection.dbapi_connection.close()
        db.exec_driver_sql("SELECT 1")

    with mything.event_recorded.connected_to(lose_connection, sender=thing):
        response = client.post(
            "/orgs/acme/notes", json={"title": "x"}, headers=alice.headers
        )
    assert response.status_code in (500, 503), response.json
    assert (count(thing), count(thing, notes)) == before
    again = client.post("/orgs/acme/notes", json={"title": "y"}, headers=alice.headers)
    assert again.status_code == 201, again.json
    assert verify(thing).broken is None


def test_the_signals_example_refuses_a_note_and_indexes_the_others(tmp_path):
    example = Path(__file__).parent.parent / "examples" / "signals.py"
    result = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    assert "refused: 422 unhelpful_title" in result.stdout
    assert "search index: ['Budget']" in result.stdout
    assert "note.deleted Plan" in result.stdout


# Concurrent writers


@pytest.mark.slow
def test_eight_writers_leave_one_gapless_chain_that_verifies(database_uri, tmp_path):
    thing = MyThing({"DATABASE_URI": database_uri})
    thing.create_user("alice")
    token = thing.create_token("alice")
    thing.as_user("alice").create_organization("acme", name="Acme")
    get_database(thing.flask_app).dispose()
    env = {"MYTHING_DATABASE_URI": database_uri, "MYTHING_RATELIMIT_ENABLED": "off"}
    headers = {"Authorization": f"Bearer {token}"}

    def write(client: int) -> list[int]:
        with requests.Session() as session:
            session.headers.update(headers)
            return [
                session.post(
                    f"{url}/orgs/acme/notes",
                    json={"title": f"{client}-{n}"},
                    timeout=60,
                ).status_code
                for n in range(50)
            ]

    with gunicorn("mything:MyThing()", env=env, workers=4, cwd=tmp_path) as url:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [s for each in pool.map(write, range(8)) for s in each]
    assert statuses == [201] * 400
    with get_database(thing.flask_app).engine.connect() as connection:
        sequences = (
            connection.execute(
                select(events.c.sequence)
                .join(event_chains)
                .where(event_chains.c.org_id.is_not(None))
                .order_by(events.c.sequence)
            )
            .scalars()
            .all()
        )
    # The organization's own "organization.created" is its first.
    assert sequences == list(range(1, 400 + 2))
    # (alice's token is an event of her own chain.)
    assert _types(thing) == {"organization.created", "note.created", "token.created"}
    assert verify(thing).broken is None
    get_database(thing.flask_app).dispose()


def _types(thing) -> set[str]:
    with get_database(thing.flask_app).engine.connect() as connection:
        return set(connection.execute(select(events.c.type)).scalars())


@pytest.fixture
def runner_of():
    def runner(thing):
        return thing.flask_app.test_cli_runner()

    return runner

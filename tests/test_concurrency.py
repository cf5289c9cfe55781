"""Many clients at once: real gunicorn workers, and transactions that overlap.

Eight client threads write notes through four workers sharing one database;
every write must succeed, and paging must stay exact while writes go on. Two
owners removing each other at the same moment must not leave their
organization without an owner. Two clients that change a note with the same
If-Match at the same moment must not both succeed.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from helpers.databases import ALL_DATABASES
from helpers.processes import gunicorn
from sqlalchemy import text

from mything import ApiException, MyThing
from mything.conditional import Precondition
from mything.db import commit_db, get_database, get_db
from mything.operations import notes, organizations, users

pytestmark = [pytest.mark.slow, pytest.mark.databases(*ALL_DATABASES)]

CLIENTS = 8
NOTES = 500


@pytest.fixture
def server(database_uri, tmp_path):
    """The base URL of four gunicorn workers, and alice's headers; she owns acme."""
    thing = MyThing({"DATABASE_URI": database_uri})
    thing.create_user("alice")
    token = thing.create_token("alice")
    thing.as_user("alice").create_organization("acme", name="Acme")
    get_database(thing.flask_app).dispose()
    env = {
        "MYTHING_DATABASE_URI": database_uri,
        # Writes are what is under test here; one user's 500 requests must
        # not meet the rate limit instead.
        "MYTHING_RATELIMIT_ENABLED": "off",
    }
    with gunicorn("mything:MyThing()", env=env, workers=4, cwd=tmp_path) as url:
        yield url, {"Authorization": f"Bearer {token}"}


class Created:
    """The titles of the notes created so far; ``enough`` is set at ``threshold``."""

    def __init__(self, threshold=NOTES):
        self.titles = []
        self.threshold = threshold
        self.enough = threading.Event()

    def add(self, title):
        self.titles.append(title)
        if len(self.titles) >= self.threshold:
            self.enough.set()


def post_notes(url, headers, titles, created):
    """Create a note for each title; return the statuses of the responses."""
    statuses = []
    with requests.Session() as session:
        session.headers.update(headers)
        for title in titles:
            response = session.post(
                f"{url}/orgs/acme/notes", json={"title": title}, timeout=60
            )
            statuses.append(response.status_code)
            if response.status_code == 201:
                created.add(title)
    return statuses


def post_notes_concurrently(url, headers, titles, created):
    """Start one thread per client, each writing its share of ``titles``."""
    executor = ThreadPoolExecutor(max_workers=CLIENTS)
    futures = [
        executor.submit(post_notes, url, headers, titles[index::CLIENTS], created)
        for index in range(CLIENTS)
    ]
    executor.shutdown(wait=False)
    return futures


def list_notes(url, headers, *, limit):
    """Follow the next links of the notes list; return the notes in order."""
    notes = []
    next_url = f"{url}/orgs/acme/notes?limit={limit}"
    with requests.Session() as session:
        session.headers.update(headers)
        while next_url is not None:
            response = session.get(next_url, timeout=60)
            assert response.status_code == 200
            notes += response.json()["items"]
            next_url = response.links.get("next", {}).get("url")
    return notes


def test_concurrent_writes_all_succeed_and_are_all_listed_once(server):
    url, headers = server
    titles = [f"note {index}" for index in range(NOTES)]

    futures = post_notes_concurrently(url, headers, titles, Created())
    statuses = [status for future in futures for status in future.result()]

    assert statuses == [201] * NOTES
    listed = [note["title"] for note in list_notes(url, headers, limit=100)]
    assert sorted(listed) == sorted(titles)


def test_paging_during_concurrent_writes_visits_no_note_twice(server):
    url, headers = server
    titles = [f"note {index}" for index in range(NOTES)]
    # Paging starts once a fifth of the notes exist, while writes go on.
    created = Created(threshold=NOTES // 5)

    futures = post_notes_concurrently(url, headers, titles, created)
    created.enough.wait(timeout=120)
    existing = set(created.titles)
    notes = list_notes(url, headers, limit=10)
    statuses = [status for future in futures for status in future.result()]

    ids = [note["id"] for note in notes]
    assert ids == sorted(set(ids), reverse=True)
    assert existing <= {note["title"] for note in notes}
    assert statuses == [201] * NOTES


#: How to ask each server who this connection is, and whether someone waits
#: for a lock that connection ``:pid`` holds.
SESSION_ID = {
    "postgresql": "SELECT pg_backend_pid()",
    "mysql": "SELECT CONNECTION_ID()",
}
BLOCKED_BY = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity "
    "WHERE :pid = ANY(pg_blocking_pids(pid))",
    "mysql": "SELECT count(*) FROM information_schema.innodb_lock_waits AS waits "
    "JOIN information_schema.innodb_trx AS holder "
    "ON holder.trx_id = waits.blocking_trx_id "
    "WHERE holder.trx_mysql_thread_id = :pid",
}


def wait_until_done_or_blocked_by(thing, pid, thread):
    """Return when ``thread`` has ended or waits for a lock held by ``pid``."""
    engine = get_database(thing.flask_app).engine
    backend = "mysql" if engine.dialect.name in ("mysql", "mariadb") else "postgresql"
    query = text(BLOCKED_BY[backend])
    deadline = time.monotonic() + 60
    with engine.connect() as connection:
        while thread.is_alive():
            blocked = connection.execute(query, {"pid": pid}).scalar()
            # PostgreSQL shows one snapshot of pg_stat_activity per
            # transaction: end it, or a wait that starts later is never seen.
            connection.rollback()
            if blocked:
                return
            if time.monotonic() > deadline:
                pytest.fail("the thread neither ended nor waited for the lock")
            thread.join(timeout=0.01)


# PostgreSQL only: on MariaDB, finding out that the second removal waits for
# the first one's lock (innodb_lock_waits) proved unreliable under load.
@pytest.mark.databases("postgresql")
def test_two_owners_removing_each_other_at_once_leave_an_owner(thing, alice, bob):
    alice_api, bob_api = thing.as_user("alice"), thing.as_user("bob")
    alice_api.create_organization("acme", name="Acme")
    thing.add_member("acme", "bob", role="owner")
    outcome = []

    def bob_removes_alice():
        try:
            bob_api.remove_member("acme", "alice")
            outcome.append(204)
        except ApiException as exc:
            outcome.append(exc.status)

    # alice removes bob, the way a request does, and has not committed yet
    # when bob's removal of alice runs.
    with thing.flask_app.app_context():
        organizations.remove_member(users.find_user("alice"), "acme", "bob")
        backend = "postgresql" if get_db().dialect.name == "postgresql" else "mysql"
        pid = get_db().exec_driver_sql(SESSION_ID[backend]).scalar()
        other = threading.Thread(target=bob_removes_alice)
        other.start()
        wait_until_done_or_blocked_by(thing, pid, other)
        commit_db()
    other.join()

    # bob waited for alice's lock; once it was his turn he was no longer a
    # member, so his request was the 404 of a non-member, and changed nothing.
    assert outcome == [404]
    assert alice_api.members("acme")["items"] == [{"user": "alice", "role": "owner"}]


ROUNDS = 20


def patch_at_once(url, headers, note_url, etag, titles):
    """Send one PATCH per title with ``If-Match: etag``, all released together."""
    start = threading.Barrier(len(titles))

    def patch(title):
        with requests.Session() as session:
            session.headers.update({**headers, "If-Match": etag})
            # Connect first, so that the requests leave as close together
            # as the barrier can make them.
            session.get(f"{url}/healthz", timeout=60)
            start.wait(timeout=60)
            return session.patch(note_url, json={"title": title}, timeout=60)

    with ThreadPoolExecutor(max_workers=len(titles)) as executor:
        return list(executor.map(patch, titles))


def test_two_patches_with_the_same_etag_at_once_make_exactly_one_change(server):
    url, headers = server
    for round_ in range(ROUNDS):
        created = requests.post(
            f"{url}/orgs/acme/notes", json={"title": "v1"}, headers=headers, timeout=60
        )
        note_url, etag = created.headers["Location"], created.headers["ETag"]

        responses = patch_at_once(url, headers, note_url, etag, ["a", "b"])

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 412], f"round {round_}"
        (winner,) = [r for r in responses if r.status_code == 200]
        (loser,) = [r for r in responses if r.status_code == 412]
        assert loser.json()["code"] == "precondition_failed"
        stored = requests.get(note_url, headers=headers, timeout=60).json()
        assert (stored["title"], stored["version"]) == (winner.json()["title"], 2)


@pytest.mark.databases("postgresql")
def test_a_conditional_write_waits_for_a_concurrent_one_and_then_fails(thing, alice):
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    note = api.create_note("acme", title="v1")
    outcome = []

    def second_writer():
        try:
            api.update_note("acme", note["id"], title="second", if_match=1)
            outcome.append(200)
        except ApiException as exc:
            outcome.append(exc.status)

    # The first writer has made its change, checked against version 1, and
    # not committed yet when the second, which also read version 1, writes.
    with thing.flask_app.app_context():
        caller = users.find_user("alice")
        precondition = Precondition(frozenset({1}))
        notes.update_note(
            caller, "acme", note["id"], if_match=precondition, title="first"
        )
        backend = "postgresql" if get_db().dialect.name == "postgresql" else "mysql"
        pid = get_db().exec_driver_sql(SESSION_ID[backend]).scalar()
        other = threading.Thread(target=second_writer)
        other.start()
        wait_until_done_or_blocked_by(thing, pid, other)
        commit_db()
    other.join()

    assert outcome == [412]
    stored = api.note("acme", note["id"])
    assert (stored["title"], stored["version"]) == ("first", 2)


# Owners who change each other at once --------------------------------------


@pytest.fixture
def owners_server(database_uri, tmp_path):
    """Four gunicorn workers; alice and bob, with a token each: their headers."""
    thing = MyThing({"DATABASE_URI": database_uri})
    headers = {}
    for name in ["alice", "bob"]:
        thing.create_user(name)
        headers[name] = {"Authorization": f"Bearer {thing.create_token(name)}"}
    get_database(thing.flask_app).dispose()
    env = {"MYTHING_DATABASE_URI": database_uri, "MYTHING_RATELIMIT_ENABLED": "off"}
    with gunicorn("mything:MyThing()", env=env, workers=4, cwd=tmp_path) as url:
        yield url, headers


def at_once(requests_to_send):
    """Send each ``(method, url, headers, body)`` from its own thread, together."""
    start = threading.Barrier(len(requests_to_send))

    def send(request):
        method, url, headers, body = request
        with requests.Session() as session:
            session.headers.update(headers)
            session.get(url.split("/orgs/")[0] + "/healthz", timeout=60)
            start.wait(timeout=60)
            return session.request(method, url, json=body, timeout=60)

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as executor:
        return list(executor.map(send, requests_to_send))


def two_owners(url, headers, slug):
    """Make the organization ``slug`` with alice and bob as its owners."""
    alice, bob = headers["alice"], headers["bob"]
    body = {"slug": slug, "name": slug}
    assert requests.post(f"{url}/orgs", json=body, headers=alice).status_code == 201
    invited = requests.post(
        f"{url}/orgs/{slug}/invitations",
        json={"user": "bob", "role": "owner"},
        headers=alice,
        timeout=60,
    )
    accept = f"{url}/me/invitations/{invited.json()['id']}/accept"
    assert requests.post(accept, headers=bob, timeout=60).status_code == 200


@pytest.mark.parametrize("change", ["remove", "demote"])
def test_two_owners_changing_each_other_at_once_leave_one_owner(owners_server, change):
    url, headers = owners_server
    method, body, success, refusal = {
        "remove": ("DELETE", None, 204, 404),
        "demote": ("PATCH", {"role": "member"}, 200, 403),
    }[change]
    for round_ in range(ROUNDS):
        slug = f"{change}-{round_}"
        two_owners(url, headers, slug)

        responses = at_once(
            [
                (method, f"{url}/orgs/{slug}/members/{other}", headers[me], body)
                for me, other in [("alice", "bob"), ("bob", "alice")]
            ]
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses == sorted([success, refusal]), f"round {round_}"
        members = requests.get(
            f"{url}/orgs/{slug}/members", headers=headers["alice"], timeout=60
        )
        if members.status_code == 404:
            members = requests.get(
                f"{url}/orgs/{slug}/members", headers=headers["bob"], timeout=60
            )
        owners = [m for m in members.json()["items"] if m["role"] == "owner"]
        assert len(owners) == 1, f"round {round_}"


def test_an_owner_removed_while_their_request_waited_changes_nothing(thing, alice, bob):
    thing.create_user("carol")
    alice_api, bob_api = thing.as_user("alice"), thing.as_user("bob")
    alice_api.create_organization("acme", name="Acme")
    thing.add_member("acme", "carol")
    outcome = []

    def bob_acts(action):
        try:
            action()
            outcome.append(200)
        except ApiException as exc:
            outcome.append(exc.status)

    actions = [
        lambda: bob_api.remove_member("acme", "carol"),
        lambda: bob_api.update_member("acme", "carol", role="owner"),
        lambda: bob_api.invite_member("acme", "dave"),
        lambda: bob_api.update_organization("acme", name="Bob's"),
        lambda: bob_api.delete_organization("acme"),
    ]
    thing.create_user("dave")
    for action in actions:
        thing.add_member("acme", "bob", role="owner")
        # alice removes bob, the way a request does, and has not committed
        # yet when bob's own request, which bob was an owner to make, runs.
        with thing.flask_app.app_context():
            organizations.remove_member(users.find_user("alice"), "acme", "bob")
            other = threading.Thread(target=bob_acts, args=(action,))
            wait_for_the_lock(thing, other)
            commit_db()
        other.join()

    assert outcome == [404] * len(actions)
    assert alice_api.organization("acme")["name"] == "Acme"
    assert alice_api.members("acme")["items"] == [
        {"user": "alice", "role": "owner"},
        {"user": "carol", "role": "member"},
    ]
    assert alice_api.invitations("acme")["items"] == []


def wait_for_the_lock(thing, thread):
    """Start ``thread``; return once it waits for this app context's lock.

    On PostgreSQL the server says when it waits. SQLite and MySQL are given
    a moment: the outcome asserted does not depend on it, only whether the
    wait is what the test exercises (SQLite's writers wait for each other
    from their first statement, so there it always is).
    """
    connection = get_db()
    if connection.dialect.name != "postgresql":
        thread.start()
        thread.join(timeout=0.5)
        return
    pid = connection.exec_driver_sql(SESSION_ID["postgresql"]).scalar()
    thread.start()
    wait_until_done_or_blocked_by(thing, pid, thread)

"""Safe retries: POST with an Idempotency-Key creates once and replays after."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from helpers.databases import ALL_DATABASES
from sqlalchemy import insert, select, update

from mything import MyThing
from mything.db import get_database
from mything.idempotency import SWEEP_BATCH
from mything.tables import idempotency_keys, utcnow

pytestmark = pytest.mark.databases(*ALL_DATABASES)


@pytest.fixture
def acme(client, alice):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    return "acme"


def create(client, caller, key, **body):
    headers = {**caller.headers, "Idempotency-Key": key}
    return client.post("/orgs/acme/notes", json=body or {"title": "t"}, headers=headers)


def note_titles(client, caller):
    response = client.get("/orgs/acme/notes?limit=100", headers=caller.headers)
    return [note["title"] for note in response.json["items"]]


def test_a_retry_gets_the_first_answer_and_creates_nothing(client, alice, acme):
    first = create(client, alice, "k-1", title="once")
    retry = create(client, alice, "k-1", title="once")
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert note_titles(client, alice) == ["once"]


def test_the_same_key_with_another_body_is_a_422(client, alice, acme):
    create(client, alice, "k-1", title="first")
    response = create(client, alice, "k-1", title="second")
    assert response.status_code == 422
    assert response.json["code"] == "idempotency_key_reused"
    assert note_titles(client, alice) == ["first"]


def test_the_same_key_on_another_path_is_a_422(client, alice, acme):
    create(client, alice, "k-1", title="first")
    headers = {**alice.headers, "Idempotency-Key": "k-1"}
    response = client.post(
        "/orgs", json={"slug": "other", "name": "O"}, headers=headers
    )
    assert response.status_code == 422
    assert client.get("/orgs/other", headers=alice.headers).status_code == 404


def test_keys_belong_to_one_user(thing, client, alice, bob, acme):
    thing.add_member("acme", "bob")
    create(client, alice, "shared", title="alice's")
    response = create(client, bob, "shared", title="alice's")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert response.json["author"] == "bob"
    assert len(note_titles(client, alice)) == 2


def test_without_a_key_every_post_creates(client, alice, acme):
    headers = alice.headers
    for _ in range(2):
        client.post("/orgs/acme/notes", json={"title": "t"}, headers=headers)
    assert note_titles(client, alice) == ["t", "t"]


@pytest.mark.parametrize("key", ["", "a b", "x" * 256, "é"])
def test_a_malformed_key_is_a_400_and_changes_nothing(client, alice, acme, key):
    response = create(client, alice, key)
    assert response.status_code == 400
    assert response.json["code"] == "invalid_idempotency_key"
    assert note_titles(client, alice) == []


def test_a_failed_request_leaves_no_key_behind(client, alice, acme):
    refused = create(client, alice, "k-1", title="")
    assert refused.status_code == 400
    # The client fixes its request and retries with the key: it runs.
    response = create(client, alice, "k-1", title="fixed")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_a_key_is_forgotten_after_a_day(app, client, alice, acme):
    create(client, alice, "k-1", title="yesterday")
    with get_database(app).engine.begin() as connection:
        connection.execute(
            update(idempotency_keys).values(created_at=utcnow() - timedelta(hours=25))
        )
    response = create(client, alice, "k-1", title="today")
    assert response.status_code == 201
    assert note_titles(client, alice) == ["today", "yesterday"]


def stored_keys(app) -> list:
    with get_database(app).engine.connect() as connection:
        return connection.execute(select(idempotency_keys)).all()


def test_expired_keys_are_removed_a_bounded_batch_at_a_time(app, client, alice, acme):
    aged = utcnow() - timedelta(hours=25)
    rows = [
        {"user_id": 1, "key": f"old-{n}", "fingerprint": "0" * 64, "created_at": aged}
        for n in range(SWEEP_BATCH * 2 + 50)
    ]
    with get_database(app).engine.begin() as connection:
        connection.execute(insert(idempotency_keys), rows)

    # Nobody reuses those keys: requests with other keys remove them, a
    # batch at most each.
    create(client, alice, "new-1", title="one")
    assert len(stored_keys(app)) == len(rows) - SWEEP_BATCH + 1
    create(client, alice, "new-2", title="two")
    create(client, alice, "new-3", title="three")

    assert sorted(row.key for row in stored_keys(app)) == ["new-1", "new-2", "new-3"]
    # A replay within the day still answers as the first time.
    replay = create(client, alice, "new-1", title="one")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["title"] == "one"
    assert replay.headers["ETag"]


def test_a_stored_answer_is_kept_without_the_escapes(app, client, alice, acme):
    first = create(client, alice, "k-1", title="t", body="<" * 10_000)
    (row,) = stored_keys(app)
    # Sent as six bytes each, stored as one.
    assert len(first.get_data()) > 60_000
    assert len(row.body) < 11_000
    replay = create(client, alice, "k-1", title="t", body="<" * 10_000)
    assert replay.get_data() == first.get_data()
    assert replay.headers["ETag"] == first.headers["ETag"]


def test_keys_hold_across_processes_sharing_the_database(
    thing, database_uri, client, alice, acme
):
    first = create(client, alice, "k-1", title="once")
    other_worker = MyThing({"DATABASE_URI": database_uri})
    try:
        retry = create(other_worker.flask_app.test_client(), alice, "k-1", title="once")
    finally:
        get_database(other_worker.flask_app).dispose()
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_concurrent_retries_with_one_key_create_one_note(app, alice, acme):
    statuses = []
    start = threading.Barrier(4)

    def retry():
        client = app.test_client()
        start.wait()
        statuses.append(create(client, alice, "raced", title="once").status_code)

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    assert note_titles(app.test_client(), alice) == ["once"]


def test_authenticated_answers_are_not_stored_by_caches(client, alice, acme):
    assert client.get("/me", headers=alice.headers).headers["Cache-Control"] == (
        "no-store"
    )
    assert "Cache-Control" not in client.get("/add?a=1&b=2").headers

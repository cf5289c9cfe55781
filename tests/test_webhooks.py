"""Webhooks: endpoints for owners, signed deliveries, retries, and no way inside.

Receivers are real HTTP servers on 127.0.0.1 (:mod:`helpers.receiver`), so
these tests turn on ``WEBHOOK_ALLOW_PRIVATE`` and ``WEBHOOK_ALLOW_HTTP``, and
shorten the timeout, the lease and the retry schedule. Deliveries are made
by ``thing.deliver_due()``, one pass at a time; the tests with worker
processes are in ``test_webhook_workers.py``.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import standardwebhooks
from helpers.callers import make_caller
from helpers.databases import ALL_DATABASES
from helpers.receiver import Receiver, endless, slowly, status
from sqlalchemy import func, select

from mything import ApiException, MyThing, WebhookVerificationError, verify_webhook
from mything.db import get_database
from mything.errors import ConfigError
from mything.operations.deliveries import message_body
from mything.operations.events import canonical_json, verify_events
from mything.tables import webhook_deliveries, webhooks

ACME = "/orgs/acme/webhooks"


@pytest.fixture
def mything_config(database_uri):
    return {
        "DATABASE_URI": database_uri,
        "WEBHOOK_ALLOW_PRIVATE": True,
        "WEBHOOK_ALLOW_HTTP": True,
        "WEBHOOK_TIMEOUT": 1.0,
        "WEBHOOK_LEASE_SECONDS": 3.0,
        "WEBHOOK_RETRY_SCHEDULE": [0, 0, 0],
    }


@pytest.fixture
def acme(thing, alice):
    """The organization acme, owned by alice; bob is a member."""
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    make_caller(thing, "bob")
    thing.add_member("acme", "bob")
    return api


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def webhook_of(acme, url, events=("note.*",), **fields):
    return acme.create_webhook("acme", url=url, events=list(events), **fields)


# Endpoints ------------------------------------------------------------------


def test_a_created_webhook_shows_its_secret_once(client, alice, acme, receiver):
    body = {"url": receiver.url, "events": ["note.*"], "description": "CI"}
    created = client.post(ACME, json=body, headers=alice.headers)

    assert created.status_code == 201
    webhook = created.json
    assert webhook["secret"].startswith("whsec_")
    assert len(base64.b64decode(webhook["secret"].removeprefix("whsec_"))) >= 24
    assert created.headers["Location"].endswith(f"{ACME}/{webhook['id']}")
    shown = client.get(f"{ACME}/{webhook['id']}", headers=alice.headers).json
    assert "secret" not in shown
    assert shown == {key: value for key, value in webhook.items() if key != "secret"}
    assert shown["enabled"] is True and shown["description"] == "CI"
    listed = client.get(ACME, headers=alice.headers).json
    assert listed == {"items": [shown], "next_cursor": None}


def test_a_webhook_changes_and_goes(client, alice, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    path = f"{ACME}/{webhook['id']}"

    changed = client.patch(
        path, json={"events": ["note.created"], "enabled": False}, headers=alice.headers
    )
    assert changed.status_code == 200
    assert changed.json["events"] == ["note.created"]
    assert changed.json["enabled"] is False
    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.get(path, headers=alice.headers).status_code == 404


def test_members_are_forbidden_and_outsiders_find_nothing(
    thing, client, acme, receiver
):
    webhook = webhook_of(acme, receiver.url)
    bob = thing.create_token("bob")
    make_caller(thing, "carol")
    carol = thing.create_token("carol")
    for token, expected in ((bob, 403), (carol, 404)):
        headers = {"Authorization": f"Bearer {token}"}
        for method, path in (
            ("get", ACME),
            ("post", ACME),
            ("get", f"{ACME}/{webhook['id']}"),
            ("get", f"{ACME}/{webhook['id']}/deliveries"),
            ("post", f"{ACME}/{webhook['id']}/ping"),
            ("post", f"{ACME}/{webhook['id']}/rotate-secret"),
        ):
            body = {"url": receiver.url, "events": ["*"]} if method == "post" else None
            answer = getattr(client, method)(path, json=body, headers=headers)
            assert answer.status_code == expected, (method, path)


BAD_URLS = [
    "not a url",
    "ftp://example.com/hook",
    "https://example.com/" + "a" * 1981,
    "https://user:password@example.com/hook",
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://localhost/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://100.64.0.1/hook",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_that_is_no_url_or_not_public_is_refused(make_thing, url):
    thing = make_thing()
    thing.create_user("alice")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    with pytest.raises(ApiException) as refused:
        api.create_webhook("acme", url=url, events=["*"])
    assert refused.value.status == 400
    assert refused.value.code == "validation_error"
    assert [error["path"] for error in refused.value.errors] == ["url"]


def test_http_is_refused_without_allow_http(make_thing):
    thing = make_thing(WEBHOOK_ALLOW_PRIVATE=True)
    thing.create_user("alice")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    with pytest.raises(ApiException, match="https"):
        api.create_webhook("acme", url="http://127.0.0.1:9/hook", events=["*"])
    assert api.create_webhook("acme", url="https://127.0.0.1:9/hook", events=["*"])


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "1 to 100"),
        (["note.exploded"], "event type"),
        (["note.created", "note.created"], "twice"),
        (["*"] * 101, "1 to 100"),
        ("note.*", "list"),
    ],
)
def test_bad_event_lists_are_refused(client, alice, acme, receiver, events, message):
    answer = client.post(
        ACME, json={"url": receiver.url, "events": events}, headers=alice.headers
    )
    assert answer.status_code == 400
    assert answer.json["code"] == "validation_error"
    assert message in answer.json["message"]


def test_a_lease_that_does_not_outlast_the_timeout_is_refused_at_start(tmp_path):
    with pytest.raises(ConfigError, match="WEBHOOK_LEASE_SECONDS"):
        MyThing({"WEBHOOK_TIMEOUT": 30, "WEBHOOK_LEASE_SECONDS": 30})


# Deliveries -----------------------------------------------------------------


def test_a_ping_is_signed_and_verifies_with_both_libraries(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    ping = acme.ping_webhook("acme", webhook["id"])
    assert ping["status"] == "pending" and ping["event_type"] == "webhook.ping"

    assert thing.deliver_due() == 1
    (request,) = receiver.wait_for(1)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == ping["event_id"]
    event = verify_webhook(webhook["secret"], request.headers, request.body)
    assert event["type"] == "webhook.ping"
    assert event["data"]["object"]["id"] == webhook["id"]
    theirs = standardwebhooks.Webhook(webhook["secret"])
    assert theirs.verify(request.body, request.headers) == event
    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["status"] == "succeeded"
    assert logged["attempts"] == 1
    assert logged["response_status"] == 200
    assert logged["response_body"] == "ok"
    assert logged["error"] is None and logged["next_attempt_at"] is None


def test_a_rotated_secret_signs_beside_the_new_one_and_only_the_newest_two(
    thing, acme, receiver
):
    first = webhook_of(acme, receiver.url)
    second = acme.rotate_webhook_secret("acme", first["id"])["secret"]
    third = acme.rotate_webhook_secret("acme", first["id"])["secret"]
    acme.ping_webhook("acme", first["id"])
    thing.deliver_due()

    (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (second, third):
        verify_webhook(secret, request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(first["secret"], request.headers, request.body)


def test_a_rotation_while_a_delivery_is_in_flight_loses_nothing(thing, acme):
    with Receiver(answer=slowly(0.5)) as receiver:
        webhook = webhook_of(acme, receiver.url)
        acme.create_note("acme", title="in flight")
        attempts = []
        worker = threading.Thread(target=lambda: attempts.append(thing.deliver_due()))
        worker.start()
        receiver.wait_for(1)
        # The secret changes while the receiver holds the attempt.
        rotated = acme.rotate_webhook_secret("acme", webhook["id"])["secret"]
        worker.join(timeout=10)
        assert not worker.is_alive() and attempts == [1]
        acme.create_note("acme", title="after")
        assert thing.deliver_due() == 1
        in_flight, after = receiver.wait_for(2)

    # The attempt in flight was signed with the secret it was claimed with;
    # the next carries both, so a receiver that already switched verifies it.
    verify_webhook(webhook["secret"], in_flight.headers, in_flight.body)
    for secret in (webhook["secret"], rotated):
        verify_webhook(secret, after.headers, after.body)
    logged = acme.deliveries("acme", webhook["id"])["items"]
    assert [d["status"] for d in logged] == ["succeeded", "succeeded"]


def test_a_redirect_is_not_followed(thing, acme):
    with (
        Receiver() as elsewhere,
        Receiver(
            answer=status(301, headers={"Location": "http://127.0.0.1:1/"})
        ) as moved,
    ):
        moved.answer = status(301, headers={"Location": elsewhere.url})
        webhook = webhook_of(acme, moved.url)
        acme.ping_webhook("acme", webhook["id"])
        thing.deliver_due()
        moved.wait_for(1)

        (logged,) = acme.deliveries("acme", webhook["id"])["items"]
        assert logged["error"] == "redirect"
        assert logged["response_status"] == 301
        assert logged["status"] == "retrying"
        assert elsewhere.received == []


def test_an_endless_body_is_cut_at_1024_bytes(thing, acme):
    with Receiver(answer=endless) as streaming:
        webhook = webhook_of(acme, streaming.url)
        acme.ping_webhook("acme", webhook["id"])
        thing.deliver_due()

    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["status"] == "succeeded"
    assert logged["response_body"] == "x" * 1024


def test_a_receiver_slower_than_the_timeout_is_a_timeout(thing, acme):
    with Receiver(answer=slowly(3)) as slow:
        webhook = webhook_of(acme, slow.url)
        acme.ping_webhook("acme", webhook["id"])
        started = time.monotonic()
        thing.deliver_due(limit=1)
        took = time.monotonic() - started

    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["error"] == "timeout"
    assert logged["status"] == "retrying"
    # Bounded by WEBHOOK_TIMEOUT (1 s), well inside the 3 s the receiver takes.
    assert took < 2.5


def test_failures_are_retried_on_schedule_then_failed(thing, acme):
    with Receiver(answer=status(500, b"nope")) as failing:
        webhook = webhook_of(acme, failing.url)
        acme.ping_webhook("acme", webhook["id"])
        made = sum(thing.deliver_due() for _ in range(5))
        failing.wait_for(3)

    assert made == 3
    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["status"] == "failed"
    assert logged["attempts"] == 3
    assert logged["response_status"] == 500
    assert logged["response_body"] == "nope"
    assert logged["error"] == "status"
    assert logged["next_attempt_at"] is None


def test_a_refused_connection_is_a_connection_error(thing, acme):
    closed = Receiver()
    closed.start()
    closed.stop()
    webhook = webhook_of(acme, closed.url)
    acme.ping_webhook("acme", webhook["id"])
    thing.deliver_due(limit=1)
    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["error"] == "connection"
    assert logged["response_status"] is None


def test_an_address_refused_at_the_attempt_is_blocked(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    acme.ping_webhook("acme", webhook["id"])
    # Saved while private addresses were allowed; refused when attempted.
    thing.flask_app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    thing.deliver_due(limit=1)

    assert receiver.received == []
    (logged,) = acme.deliveries("acme", webhook["id"])["items"]
    assert logged["error"] == "blocked"
    assert logged["status"] == "retrying"


def test_no_transaction_is_open_while_the_receiver_answers(thing, acme):
    """The receiver writes to the same SQLite database while it answers.

    Were the worker's transaction open, SQLite's one writer lock would make
    the receiver wait for it, and the worker wait for the receiver.
    """
    thing.flask_app.config["WEBHOOK_TIMEOUT"] = 2.0
    written = []

    def write_then_answer(handler):
        written.append(acme.create_organization("other", name="Other"))
        status(200)(handler)

    with Receiver(answer=write_then_answer) as writing:
        webhook = webhook_of(acme, writing.url)
        acme.ping_webhook("acme", webhook["id"])
        thing.deliver_due()

    assert written
    assert acme.deliveries("acme", webhook["id"])["items"][0]["status"] == "succeeded"


def test_a_redelivery_sends_the_same_message_again(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    ping = acme.ping_webhook("acme", webhook["id"])
    thing.deliver_due()
    again = acme.redeliver("acme", webhook["id"], ping["id"])

    assert again["id"] != ping["id"] and again["status"] == "pending"
    thing.deliver_due()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert len(acme.deliveries("acme", webhook["id"])["items"]) == 2


def test_an_unknown_delivery_cannot_be_redelivered(client, alice, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    answer = client.post(
        f"{ACME}/{webhook['id']}/deliveries/99/redeliver", headers=alice.headers
    )
    assert answer.status_code == 404


def test_a_disabled_webhook_gets_nothing_until_enabled(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    acme.update_webhook("acme", webhook["id"], enabled=False)
    acme.ping_webhook("acme", webhook["id"])
    assert thing.deliver_due() == 0
    acme.update_webhook("acme", webhook["id"], enabled=True)
    assert thing.deliver_due() == 1
    receiver.wait_for(1)


def test_an_endpoint_failing_for_too_long_is_disabled(thing, acme):
    # A thousandth of a second of failures is too long here.
    thing.flask_app.config["WEBHOOK_DISABLE_AFTER_DAYS"] = 1e-8
    with Receiver(answer=status(503)) as failing:
        webhook = webhook_of(acme, failing.url)
        acme.ping_webhook("acme", webhook["id"])
        thing.deliver_due(limit=1)
        time.sleep(0.01)
        thing.deliver_due(limit=1)

    assert acme.webhook("acme", webhook["id"])["enabled"] is False


def test_delivery_metrics_count_outcomes_and_the_oldest_due(make_thing):
    thing = make_thing(
        METRICS_ENABLED=True,
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_ALLOW_HTTP=True,
        WEBHOOK_TIMEOUT=1.0,
        WEBHOOK_LEASE_SECONDS=3.0,
    )
    thing.create_user("alice")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    with Receiver() as receiver:
        webhook = api.create_webhook("acme", url=receiver.url, events=["note.*"])
        api.ping_webhook("acme", webhook["id"])
        thing.deliver_due()
        api.ping_webhook("acme", webhook["id"])
        time.sleep(0.05)
        scraped = thing.flask_app.test_client().get("/metrics").text

    assert 'mything_webhook_deliveries_total{outcome="succeeded"} 1.0' in scraped
    (oldest,) = [
        line
        for line in scraped.splitlines()
        if line.startswith("mything_webhook_oldest_due_seconds ")
    ]
    assert float(oldest.split()[1]) > 0


def test_the_python_api_answers_as_http_does(client, alice, acme, receiver):
    webhook = webhook_of(acme, receiver.url)
    path = f"{ACME}/{webhook['id']}"
    assert (
        acme.webhook("acme", webhook["id"])
        == client.get(path, headers=alice.headers).json
    )
    assert acme.webhooks("acme") == client.get(ACME, headers=alice.headers).json
    assert list(acme.iter_webhooks("acme")) == acme.webhooks("acme")["items"]
    acme.ping_webhook("acme", webhook["id"])
    assert acme.deliveries("acme", webhook["id"]) == json.loads(
        client.get(f"{path}/deliveries", headers=alice.headers).data
    )
    with pytest.raises(ApiException) as missing:
        acme.webhook("acme", 12345)
    assert missing.value.status == 404


# From the ledger ------------------------------------------------------------


@pytest.mark.databases(*ALL_DATABASES)
def test_an_event_is_delivered_as_the_audit_log_shows_it(thing, acme, receiver):
    # On PostgreSQL the ledger writes the payload and the chain's hash in
    # SQL, on SQLite the hash: they must be Python's to the byte, whatever
    # the characters.
    webhook = webhook_of(acme, receiver.url, events=["note.*"])
    note = acme.create_note("acme", title='Café ☕ "plan" \\ \u2028', tags=["é"])
    thing.deliver_due()

    (request,) = receiver.wait_for(1)
    event = verify_webhook(webhook["secret"], request.headers, request.body)
    logged = acme.iter_events("acme", type="note.*")
    assert event == next(logged)
    assert request.body == message_body(event).encode()
    # The data as the ledger keeps it, keys sorted.
    assert request.body.decode().endswith(f'"data":{canonical_json(event["data"])}}}')
    assert thing.run(verify_events).broken is None
    assert event["type"] == "note.created"
    assert event["data"]["object"]["id"] == note["id"]
    assert request.headers["webhook-id"] == event["id"]
    (delivery,) = acme.deliveries("acme", webhook["id"])["items"]
    assert delivery["event_id"] == event["id"]
    assert delivery["event_type"] == "note.created"


def test_only_subscribed_events_of_enabled_webhooks_are_owed(thing, acme, receiver):
    notes = webhook_of(acme, receiver.url, events=["note.created"])
    everything = webhook_of(acme, receiver.url, events=["*"])
    disabled = webhook_of(acme, receiver.url, events=["*"])
    acme.update_webhook("acme", disabled["id"], enabled=False)
    resource = webhook_of(acme, receiver.url, events=["note.*"])
    other = webhook_of(acme, receiver.url, events=["member.role_changed"])
    note = acme.create_note("acme", title="Plan")
    acme.update_note("acme", note["id"], title="Final")

    def owed(webhook):
        return [d["event_type"] for d in acme.iter_deliveries("acme", webhook["id"])]

    assert owed(notes) == ["note.created"]
    assert owed(resource) == ["note.updated", "note.created"]
    assert owed(other) == []
    assert owed(everything) == [
        "note.updated",
        "note.created",
        "webhook.created",  # other
        "webhook.created",  # resource
        "webhook.updated",  # disabled, disabled
        "webhook.created",  # disabled, created
        "webhook.created",  # everything itself
    ]
    # Only what came before it was disabled: its own creation.
    assert owed(disabled) == ["webhook.created"]


@pytest.mark.databases(*ALL_DATABASES)
def test_an_event_no_webhook_subscribes_to_is_owed_to_none(thing, acme, receiver):
    # The organization's one webhook is for members: a note's event is owed
    # to nobody, a member's is delivered, and none once it is disabled.
    members = webhook_of(acme, receiver.url, events=["member.*"])
    acme.create_note("acme", title="Plan")
    acme.update_member("acme", "bob", role="owner")
    assert thing.deliver_due() == 1
    (request,) = receiver.wait_for(1)
    event = verify_webhook(members["secret"], request.headers, request.body)
    assert event["type"] == "member.role_changed"
    assert event["data"]["object"] == {"user": "bob", "role": "owner"}

    acme.update_webhook("acme", members["id"], enabled=False)
    acme.update_member("acme", "bob", role="member")
    owed = [d["event_type"] for d in acme.iter_deliveries("acme", members["id"])]
    assert owed == ["member.role_changed"]


def test_a_write_that_fails_owes_nothing(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url, events=["note.*"])
    with pytest.raises(ApiException):
        acme.update_note("acme", 12345, title="Nothing")
    assert acme.deliveries("acme", webhook["id"])["items"] == []


def test_webhook_changes_are_in_the_ledger_without_the_secret(thing, acme, receiver):
    webhook = webhook_of(acme, receiver.url, events=["note.*"])
    acme.update_webhook("acme", webhook["id"], description="CI")
    acme.rotate_webhook_secret("acme", webhook["id"])
    acme.delete_webhook("acme", webhook["id"])

    events = list(acme.iter_events("acme", type="webhook.*"))
    assert [event["type"] for event in events] == [
        "webhook.deleted",
        "webhook.updated",
        "webhook.created",
    ]
    assert events[1]["data"]["changes"] == {"description": {"from": None, "to": "CI"}}
    assert "whsec_" not in json.dumps(events)


def test_automatic_disabling_is_in_the_ledger_and_stops_new_deliveries(thing, acme):
    thing.flask_app.config["WEBHOOK_DISABLE_AFTER_DAYS"] = 1e-8
    with Receiver(answer=status(500)) as failing:
        webhook = webhook_of(acme, failing.url, events=["note.*"])
        acme.create_note("acme", title="One")
        thing.deliver_due(limit=1)
        time.sleep(0.01)
        thing.deliver_due(limit=1)
        acme.create_note("acme", title="Two")

    (disabled,) = acme.iter_events("acme", type="webhook.disabled")
    assert disabled["actor"] is None
    assert disabled["data"]["object"]["enabled"] is False
    owed = [d["event_type"] for d in acme.iter_deliveries("acme", webhook["id"])]
    assert owed == ["note.created"]


def test_an_organization_goes_with_its_webhooks(thing, acme, receiver):
    webhook_of(acme, receiver.url)
    acme.create_note("acme", title="Plan")
    acme.delete_organization("acme")
    assert thing.deliver_due() == 0
    assert receiver.received == []
    with get_database(thing.flask_app).engine.connect() as connection:
        for table in (webhooks, webhook_deliveries):
            count = select(func.count()).select_from(table)
            assert connection.execute(count).scalar() == 0, table.name

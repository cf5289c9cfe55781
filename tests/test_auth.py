"""Authentication: bearer tokens, how they are stored, and trusted REMOTE_USER."""

import base64
import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.databases import ALL_DATABASES
from sqlalchemy import event, select, update

from mything import MyThing
from mything.db import get_database
from mything.tables import metadata

pytestmark = pytest.mark.databases(*ALL_DATABASES)

MADE_UP_TOKEN = "mt_" + "A" * 43
BASIC = "Basic " + base64.b64encode(b"alice:secret").decode()

# Authorization headers that carry no bearer token: anonymous; {token} is alice's.
NO_BEARER_TOKEN = {
    "missing": None,
    "empty": "",
    "basic": BASIC,
    "no-scheme": "{token}",
    "other-scheme": "Token {token}",
}
# Bearer tokens that are not valid.
INVALID_TOKENS = {
    "scheme-only": "Bearer",
    "empty-token": "Bearer ",
    "made-up": f"Bearer {MADE_UP_TOKEN}",
    "trailing-space": "Bearer {token} ",
    "longer": "Bearer {token}x",
}


def assert_error(response, status, code):
    assert response.status_code == status
    body = response.get_json()
    assert body == {
        "message": body["message"],
        "status": status,
        "code": code,
        "request_id": response.headers["X-Request-ID"],
    }
    assert isinstance(body["message"], str) and body["message"]


def assert_unauthorized(response):
    """A 401 that asks for a bearer token, with no RFC 6750 error."""
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mything"'


def assert_invalid_token(response):
    """A 401 for a bearer token that is not valid (RFC 6750 invalid_token)."""
    assert_error(response, 401, "invalid_token")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="mything", error="invalid_token", ')
    description = response.get_json()["message"]
    assert challenge.endswith(f'error_description="{description}"')


def user_names(app):
    users = metadata.tables["mything_users"]
    with get_database(app).engine.connect() as connection:
        return list(connection.execute(select(users.c.name)).scalars())


def all_stored_values(app):
    """Every value of every row of every table, as text."""
    with get_database(app).engine.connect() as connection:
        return [
            str(value)
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
            for value in row
        ]


def stored_hashes(app):
    tokens = metadata.tables["mything_tokens"]
    with get_database(app).engine.connect() as connection:
        return set(connection.execute(select(tokens.c.token_hash)).scalars())


@pytest.fixture
def trusting_thing(database_uri):
    """A thing that trusts the ``REMOTE_USER`` its host sets."""
    thing = MyThing({"DATABASE_URI": database_uri, "TRUST_REMOTE_USER": True})
    yield thing
    get_database(thing.flask_app).dispose()


@pytest.fixture
def trusting_client(trusting_thing):
    return trusting_thing.flask_app.test_client()


def test_a_token_authenticates_its_user(client, alice):
    response = client.get("/me", headers=alice.headers)

    assert response.status_code == 200
    assert response.get_json() == {"name": "alice", "organizations": []}


def test_the_scheme_is_case_insensitive(client, alice):
    response = client.get("/me", headers={"Authorization": f"bearer {alice.token}"})

    assert response.get_json()["name"] == "alice"


def test_each_token_finds_its_own_user(client, alice, bob):
    me = client.get("/me", headers=alice.headers).get_json()
    them = client.get("/me", headers=bob.headers).get_json()

    assert (me["name"], them["name"]) == ("alice", "bob")


def get_me(client, authorization, token):
    # The raw header goes in the WSGI environ, exactly as a server passes it.
    environ = {}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization.format(token=token)
    return client.get("/me", environ_base=environ)


@pytest.mark.parametrize(
    "authorization", list(NO_BEARER_TOKEN.values()), ids=list(NO_BEARER_TOKEN)
)
def test_requests_without_a_bearer_token_are_unauthorized(client, alice, authorization):
    assert_unauthorized(get_me(client, authorization, alice.token))


@pytest.mark.parametrize(
    "authorization", list(INVALID_TOKENS.values()), ids=list(INVALID_TOKENS)
)
def test_requests_with_an_invalid_token_are_refused(client, alice, authorization):
    assert_invalid_token(get_me(client, authorization, alice.token))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/me"),
        ("get", "/orgs"),
        ("post", "/orgs"),
        ("get", "/orgs/acme"),
        ("get", "/orgs/acme/members"),
        ("post", "/orgs/acme/members"),
        ("delete", "/orgs/acme/members/alice"),
        ("get", "/orgs/acme/notes"),
        ("post", "/orgs/acme/notes"),
        ("get", "/orgs/acme/notes/1"),
        ("patch", "/orgs/acme/notes/1"),
        ("delete", "/orgs/acme/notes/1"),
    ],
)
def test_every_user_endpoint_requires_a_token(client, thing, method, path):
    thing.create_user("alice")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    api.create_note("acme", title="kept")

    response = getattr(client, method)(path, json={"title": "x", "user": "alice"})

    assert_unauthorized(response)
    assert api.notes("acme")["items"][0]["title"] == "kept"


def test_tokens_are_long_random_and_different_each_time(thing):
    thing.create_user("alice")

    tokens = [thing.create_token("alice") for _ in range(20)]

    # 43 URL-safe base64 characters carry 258 bits; then an 8-digit checksum.
    assert all(
        re.fullmatch(r"mt_[A-Za-z0-9_-]{43}[0-9a-f]{8}", token) for token in tokens
    )
    assert len(set(tokens)) == len(tokens)


def test_every_token_of_a_user_works(client, thing, alice):
    second = thing.create_token("alice")

    first_response = client.get("/me", headers=alice.headers)
    second_response = client.get("/me", headers={"Authorization": f"Bearer {second}"})

    assert first_response.status_code == second_response.status_code == 200


def test_tokens_are_stored_only_as_their_sha256(app, alice):
    digest = hashlib.sha256(alice.token.encode()).hexdigest()

    assert stored_hashes(app) == {digest}
    assert not any(alice.token in value for value in all_stored_values(app))


@pytest.mark.databases("sqlite")
def test_the_database_file_never_contains_a_token(database_uri, app, alice):
    digest = hashlib.sha256(alice.token.encode()).hexdigest()
    path = database_uri.removeprefix("sqlite:///")

    # Committed pages may still sit in the write-ahead log.
    files = [Path(path), Path(path + "-wal")]
    contents = b"".join(file.read_bytes() for file in files if file.exists())

    assert digest.encode() in contents
    assert alice.token.encode() not in contents


def test_remote_user_is_ignored_by_default(client, alice):
    response = client.get("/me", environ_base={"REMOTE_USER": "alice"})

    assert_unauthorized(response)


def test_a_trusted_remote_user_is_used_and_created(trusting_client):
    response = trusting_client.get("/me", environ_base={"REMOTE_USER": "carol"})
    again = trusting_client.get("/me", environ_base={"REMOTE_USER": "carol"})

    assert response.status_code == 200
    assert response.get_json() == {"name": "carol", "organizations": []}
    assert again.get_json() == response.get_json()


def test_a_trusted_remote_user_owns_what_it_creates(trusting_client):
    environ = {"REMOTE_USER": "carol"}
    trusting_client.post(
        "/orgs", json={"slug": "acme", "name": "Acme"}, environ_base=environ
    )

    response = trusting_client.get("/orgs/acme", environ_base=environ)

    assert response.get_json()["role"] == "owner"


# The host's own identifiers, as a host's login gives them.
HOST_NAMES = ["Carol", "dave@example.com", "carol smith", "-carol", "Zoë", "c" * 254]
# What no host means as a name: refused, never cut or changed into another.
NOT_NAMES = {
    "empty": "",
    "255-characters": "c" * 255,
    "newline": "carol\nadmin",
    "nul": "carol\x00",
    "slash": "ca/rol",
    "tab": "ca\trol",
    "delete": "carol\x7f",
    "space-before": " carol",
    "space-after": "carol ",
}


@pytest.mark.parametrize("name", HOST_NAMES)
def test_a_trusted_remote_user_may_be_any_name_of_the_host(trusting_client, name):
    response = trusting_client.get("/me", environ_base={"REMOTE_USER": name})

    assert response.status_code == 200
    assert response.get_json() == {"name": name, "organizations": []}


def test_remote_user_names_compare_exactly_case_included(trusting_thing):
    client = trusting_thing.flask_app.test_client()
    for slug, name in [("one", "Carol"), ("two", "carol"), ("three", "CAROL")]:
        created = client.post(
            "/orgs",
            json={"slug": slug, "name": slug},
            environ_base={"REMOTE_USER": name},
        )
        assert created.status_code == 201

    assert sorted(user_names(trusting_thing.flask_app)) == ["CAROL", "Carol", "carol"]
    mine = client.get("/me", environ_base={"REMOTE_USER": "Carol"}).get_json()
    assert mine["organizations"] == ["one"]


def test_host_users_are_invited_listed_and_removed_by_their_names(trusting_thing):
    client = trusting_thing.flask_app.test_client()
    carol, dave = {"REMOTE_USER": "Carol"}, {"REMOTE_USER": "dave@example.com"}
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, environ_base=carol)
    client.get("/me", environ_base=dave)
    trusting_thing.create_user("zoe")  # A third user, seen as Zoë by the host below.
    client.get("/me", environ_base={"REMOTE_USER": "Zoë"})

    # Over HTTP: invited by name, accepted, listed, removed (percent-encoded).
    invited = client.post(
        "/orgs/acme/invitations",
        json={"user": "dave@example.com"},
        environ_base=carol,
    )
    assert invited.status_code == 201
    accept = f"/me/invitations/{invited.json['id']}/accept"
    assert client.post(accept, environ_base=dave).status_code == 200
    # From Python, and from the command line, by the same kind of name.
    trusting_thing.as_user("Carol").invite_member("acme", "Zoë")
    [invitation] = trusting_thing.as_user("Zoë").my_invitations()["items"]
    trusting_thing.as_user("Zoë").accept_invitation(invitation["id"])
    cli = trusting_thing.flask_app.test_cli_runner()
    assert cli.invoke(args=["add-member", "acme", "zoe"]).exit_code == 0

    listed = client.get("/orgs/acme/members", environ_base=carol).json["items"]
    assert {member["user"] for member in listed} == {
        "Carol",
        "dave@example.com",
        "Zoë",
        "zoe",
    }
    removed = client.delete("/orgs/acme/members/dave%40example.com", environ_base=carol)
    assert removed.status_code == 204
    trusting_thing.as_user("Carol").remove_member("acme", "Zoë")
    members = trusting_thing.as_user("Carol").members("acme")["items"]
    assert [member["user"] for member in members] == ["Carol", "zoe"]


@pytest.mark.parametrize("name", NOT_NAMES.values(), ids=NOT_NAMES.keys())
def test_an_invalid_remote_user_is_unauthorized(trusting_thing, trusting_client, name):
    trusting_thing.create_user("alice")

    response = trusting_client.get("/me", environ_base={"REMOTE_USER": name})

    assert_unauthorized(response)
    assert response.get_json()["message"] == "REMOTE_USER is not a valid user name."
    assert user_names(trusting_thing.flask_app) == ["alice"]


@pytest.mark.parametrize("name", NOT_NAMES.values(), ids=NOT_NAMES.keys())
def test_an_invalid_remote_user_is_refused_where_no_caller_is_needed(
    trusting_client, name
):
    response = trusting_client.get("/add?a=1&b=2", environ_base={"REMOTE_USER": name})

    assert_unauthorized(response)


def failing_tokens(thing):
    """A made-up, a revoked and an expired bearer token of alice's."""
    thing.create_user("alice")
    revoked = thing.create_token("alice")
    alice = thing.as_user("alice")
    alice.revoke_token(alice.tokens()["items"][0]["id"])
    expired = thing.create_token("alice")
    tokens = metadata.tables["mything_tokens"]
    with get_database(thing.flask_app).engine.begin() as connection:
        connection.execute(
            update(tokens)
            .where(tokens.c.token_hash == hashlib.sha256(expired.encode()).hexdigest())
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    return {"made-up": MADE_UP_TOKEN, "revoked": revoked, "expired": expired}


@pytest.mark.parametrize("kind", ["made-up", "revoked", "expired"])
@pytest.mark.parametrize("path", ["/me", "/add?a=1&b=2"])
def test_a_failing_token_fails_whatever_remote_user_says(trusting_thing, kind, path):
    token = failing_tokens(trusting_thing)[kind]
    client = trusting_thing.flask_app.test_client()

    response = client.get(
        path,
        headers={"Authorization": f"Bearer {token}"},
        environ_base={"REMOTE_USER": "carol"},
    )

    assert_invalid_token(response)
    assert "carol" not in user_names(trusting_thing.flask_app)


def test_a_valid_token_decides_who_calls_whatever_remote_user_says(trusting_thing):
    trusting_thing.create_user("alice")
    token = trusting_thing.as_user("alice").create_token("ro", scope="read")["token"]
    client = trusting_thing.flask_app.test_client()
    sent = {
        "headers": {"Authorization": f"Bearer {token}"},
        "environ_base": {"REMOTE_USER": "carol"},
    }

    assert client.get("/me", **sent).get_json()["name"] == "alice"
    # The token's read scope holds too: the host's user does not widen it.
    refused = client.post("/orgs", json={"slug": "acme", "name": "Acme"}, **sent)
    assert_error(refused, 403, "insufficient_scope")


def test_tokens_still_work_when_remote_user_is_trusted(trusting_thing):
    trusting_thing.create_user("alice")
    token = trusting_thing.create_token("alice")
    trusting_client = trusting_thing.flask_app.test_client()

    response = trusting_client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.get_json()["name"] == "alice"


@pytest.mark.databases("sqlite")
def test_two_first_requests_by_a_new_remote_user_both_succeed(trusting_thing):
    """Both succeed even when the second creates the user while the first looks.

    The first request is held just after it found no user carol, until the
    second has created her and answered: on SQLite a read transaction that
    then wrote the user itself would fail at once with "database is locked".
    """
    trusting_thing.init_db()
    engine = get_database(trusting_thing.flask_app).engine
    first_has_looked, second_is_done = threading.Event(), threading.Event()
    statuses = {}

    def hold_the_first_look(connection, cursor, statement, *args):
        looking_for_user = statement.startswith(
            "SELECT mything_users.id, mything_users.name"
        )
        if looking_for_user and threading.current_thread() is first:
            if not first_has_looked.is_set():
                first_has_looked.set()
                second_is_done.wait(timeout=60)

    def request(label):
        client = trusting_thing.flask_app.test_client()
        response = client.get("/me", environ_base={"REMOTE_USER": "carol"})
        statuses[label] = response.status_code

    first = threading.Thread(target=request, args=["first"])
    second = threading.Thread(target=request, args=["second"])
    event.listen(engine, "after_cursor_execute", hold_the_first_look)
    try:
        first.start()
        assert first_has_looked.wait(timeout=60)
        second.start()
        second.join()
        second_is_done.set()
        first.join()
    finally:
        event.remove(engine, "after_cursor_execute", hold_the_first_look)

    assert statuses == {"first": 200, "second": 200}
    assert user_names(trusting_thing.flask_app) == ["carol"]

"""Tokens people manage: issued, listed, scoped, expired, revoked, and last used."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from helpers.databases import ALL_DATABASES, recorded_statements, stored_rows
from sqlalchemy import insert, make_url, select, update

from mything import ApiException, MyThing
from mything.db import get_database
from mything.tables import tokens as token_table
from mything.tables import users
from mything.testing import TestUser

pytestmark = pytest.mark.databases(*ALL_DATABASES)

TOKEN_FIELDS = {"id", "name", "scope", "created_at", "expires_at", "last_used_at"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue(client, caller, **body):
    return client.post(
        "/me/tokens", json={"name": "ci", **body}, headers=caller.headers
    )


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def set_token(app, token_id, **values):
    """Change a stored token directly, as time passing would."""
    with get_database(app).engine.begin() as connection:
        connection.execute(
            update(token_table).where(token_table.c.id == token_id).values(**values)
        )


def token_id_of(app, token: str) -> int:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with get_database(app).engine.connect() as connection:
        return connection.execute(
            select(token_table.c.id).where(token_table.c.token_hash == digest)
        ).scalar_one()


def assert_invalid_token(response, description=None):
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="mything", error="invalid_token"')
    if description is not None:
        assert description in response.json["message"]


def assert_insufficient_scope(response):
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="mything", error="insufficient_scope", scope="write"'
    )


# Issuing ----------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(client, alice):
    response = issue(client, alice, name="laptop")

    assert response.status_code == 201
    body = response.json
    assert set(body) == TOKEN_FIELDS | {"token"}
    assert body["name"] == "laptop"
    assert body["scope"] == "write"
    assert body["last_used_at"] is None
    assert re.fullmatch(r"mt_[A-Za-z0-9_-]{43}[0-9a-f]{8}", body["token"])
    shown = client.get(response.headers["Location"], headers=alice.headers)
    assert shown.json == {key: body[key] for key in TOKEN_FIELDS}
    me = client.get("/me", headers=bearer(body["token"]))
    assert me.json["name"] == "alice"


def test_a_token_expires_after_the_default_days_unless_told(thing, client, alice):
    # Made with a token that outlives them both.
    maker = TestUser("alice", thing.create_token("alice", expires_in_days=365))
    default = issue(client, maker).json
    short = issue(client, maker, expires_in_days=7).json

    lifetime = parse_time(default["expires_at"]) - parse_time(default["created_at"])
    assert lifetime == timedelta(days=90)
    lifetime = parse_time(short["expires_at"]) - parse_time(short["created_at"])
    assert lifetime == timedelta(days=7)


@pytest.mark.parametrize("asked", [{}, {"expires_in_days": 365}])
def test_a_token_made_with_a_token_never_outlives_it(app, client, alice, asked):
    maker_expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    set_token(app, token_id_of(app, alice.token), expires_at=maker_expires)

    response = issue(client, alice, **asked)

    assert response.status_code == 201
    assert parse_time(response.json["expires_at"]) == maker_expires
    # Nor does a token made with that one.
    child = TestUser("alice", response.json["token"])
    grandchild = issue(client, child, expires_in_days=365).json
    assert parse_time(grandchild["expires_at"]) == maker_expires


def test_a_token_made_by_the_host_or_a_host_user_lives_as_long_as_asked(thing):
    thing.create_user("dora")
    made = thing.as_user("dora").create_token(name="ci", expires_in_days=365)
    lifetime = parse_time(made["expires_at"]) - parse_time(made["created_at"])
    assert lifetime == timedelta(days=365)


def test_a_user_holds_at_most_max_tokens_per_user(make_thing):
    thing = make_thing(MAX_TOKENS_PER_USER=3)
    thing.create_user("alice")
    alice = TestUser("alice", thing.create_token("alice"))
    client = thing.flask_app.test_client()
    assert issue(client, alice).status_code == 201
    assert issue(client, alice).status_code == 201

    refused = issue(client, alice)
    assert refused.status_code == 409
    assert refused.json["code"] == "quota_exceeded"
    with pytest.raises(ApiException) as raised:
        thing.create_token("alice")
    assert raised.value.code == "quota_exceeded"
    with pytest.raises(ApiException):
        thing.as_user("alice").create_token(name="more")
    listed = client.get("/me/tokens", headers=alice.headers).json["items"]
    assert len(listed) == 3

    # An expired token, or a revoked one, no longer counts.
    app = thing.flask_app
    set_token(app, listed[0]["id"], expires_at=datetime.now(UTC))
    assert issue(client, alice).status_code == 201
    assert issue(client, alice).status_code == 409
    client.delete(f"/me/tokens/{listed[1]['id']}", headers=alice.headers)
    assert issue(client, alice).status_code == 201


def test_the_expiry_limits_come_from_the_configuration(make_thing):
    thing = make_thing(TOKEN_DEFAULT_DAYS=7, TOKEN_MAX_DAYS=30)
    thing.create_user("alice")
    alice = thing.as_user("alice")

    token = alice.create_token("ci")
    with pytest.raises(ApiException) as refused:
        alice.create_token("ci", expires_in_days=31)

    lifetime = parse_time(token["expires_at"]) - parse_time(token["created_at"])
    assert lifetime == timedelta(days=7)
    assert refused.value.errors == [
        {"path": "expires_in_days", "message": "must be between 1 and 30"}
    ]
    assert alice.create_token("ci", expires_in_days=30)["token"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": -1}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"expires_in_days": "10"}, "expires_in_days"),
        ({"expires_in_days": 1.5}, "expires_in_days"),
        ({"scope": "admin"}, "scope"),
        ({"scope": "READ"}, "scope"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_bad_input_to_create_a_token_is_a_400_that_changes_nothing(
    app, client, alice, body, path
):
    before = stored_rows(app)

    response = issue(client, alice, **body)

    assert response.status_code == 400
    assert response.json["code"] == "validation_error"
    assert [error["path"] for error in response.json["errors"]] == [path]
    assert stored_rows(app) == before


def test_a_missing_name_is_a_400(client, alice):
    response = client.post("/me/tokens", json={}, headers=alice.headers)

    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "name"


def test_a_retry_with_the_same_key_creates_nothing_and_shows_no_secret(
    app, client, alice
):
    headers = {**alice.headers, "Idempotency-Key": "new-laptop-token"}

    first = client.post("/me/tokens", json={"name": "laptop"}, headers=headers)
    retry = client.post("/me/tokens", json={"name": "laptop"}, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert "token" not in retry.json
    assert retry.json == {key: first.json[key] for key in TOKEN_FIELDS}
    names = [
        token["name"]
        for token in client.get("/me/tokens", headers=headers).json["items"]
    ]
    assert names == ["laptop", "unnamed"]
    # The secret is nowhere in the database, not even in the stored answer.
    stored = [
        str(value)
        for rows in stored_rows(app).values()
        for row in rows
        for value in row
    ]
    assert not any(first.json["token"] in value for value in stored)


# Listing ----------------------------------------------------------------------


def test_tokens_are_listed_newest_first_without_secrets(client, alice):
    secrets_shown = [issue(client, alice, name=f"t{n}").json["token"] for n in range(3)]

    response = client.get("/me/tokens", headers=alice.headers)

    items = response.json["items"]
    assert [item["name"] for item in items] == ["t2", "t1", "t0", "unnamed"]
    assert all(set(item) == TOKEN_FIELDS for item in items)
    assert [item["id"] for item in items] == sorted(
        (i["id"] for i in items), reverse=True
    )
    assert response.json["next_cursor"] is None
    assert not any(secret in response.text for secret in [alice.token, *secrets_shown])


def test_token_pages_follow_the_usual_pagination(client, alice):
    for number in range(4):
        issue(client, alice, name=f"t{number}")

    seen, url = [], "/me/tokens?limit=2"
    while url is not None:
        response = client.get(url, headers=alice.headers)
        seen += [item["name"] for item in response.json["items"]]
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None

    assert seen == ["t3", "t2", "t1", "t0", "unnamed"]
    assert client.get("/me/tokens?limit=0", headers=alice.headers).status_code == 400


def test_each_user_lists_only_their_own_tokens(client, alice, bob):
    issue(client, alice, name="alice's")

    listed = client.get("/me/tokens", headers=bob.headers).json["items"]

    assert [item["name"] for item in listed] == ["unnamed"]


# Legacy tokens ----------------------------------------------------------------


def legacy_token(app, user_name: str) -> str:
    """Store a token the way mything did before tokens had names."""
    token = "mt_" + secrets.token_urlsafe(32)
    with get_database(app).engine.begin() as connection:
        user_id = connection.execute(
            select(users.c.id).where(users.c.name == user_name)
        ).scalar_one()
        connection.execute(
            insert(token_table).values(
                user_id=user_id,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                created_at=datetime.now(UTC),
            )
        )
    return token


def test_a_token_from_before_names_keeps_working_and_is_listed_as_legacy(
    app, client, alice
):
    token = legacy_token(app, "alice")

    me = client.get("/me", headers=bearer(token))
    created = client.post(
        "/orgs", json={"slug": "acme", "name": "A"}, headers=bearer(token)
    )
    listed = client.get("/me/tokens", headers=alice.headers).json["items"][0]

    assert me.json["name"] == "alice"
    assert created.status_code == 201
    assert listed["name"] == "legacy"
    assert listed["scope"] == "write"
    assert listed["expires_at"] is None
    assert TIMESTAMP.fullmatch(listed["last_used_at"])


# Revoking ---------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_once(client, alice):
    spare = issue(client, alice, name="spare").json

    response = client.delete(f"/me/tokens/{spare['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert response.data == b""
    assert_invalid_token(client.get("/me", headers=bearer(spare["token"])), "revoked")
    assert client.get("/me", headers=alice.headers).status_code == 200


def test_revoking_the_current_token(client, alice):
    response = client.delete("/me/tokens/current", headers=alice.headers)

    assert response.status_code == 204
    assert_invalid_token(client.get("/me", headers=alice.headers))


def test_the_current_token_can_be_shown(client, alice):
    response = client.get("/me/tokens/current", headers=alice.headers)

    assert response.json["name"] == "unnamed"
    assert response.json["scope"] == "write"


def test_another_users_token_is_the_same_404_as_an_unknown_one(app, client, alice, bob):
    before = stored_rows(app)
    bobs = token_id_of(app, bob.token)

    theirs = client.delete(f"/me/tokens/{bobs}", headers=alice.headers)
    unknown = client.delete("/me/tokens/999999", headers=alice.headers)
    shown = client.get(f"/me/tokens/{bobs}", headers=alice.headers)

    assert theirs.status_code == unknown.status_code == shown.status_code == 404
    bodies = [theirs.json, unknown.json]
    for body in bodies:
        del body["request_id"]
    assert bodies[0] == bodies[1]
    assert stored_rows(app) == before
    assert client.get("/me", headers=bob.headers).status_code == 200


def test_revoking_a_revoked_token_is_a_404(client, alice):
    spare = issue(client, alice).json
    client.delete(f"/me/tokens/{spare['id']}", headers=alice.headers)

    again = client.delete(f"/me/tokens/{spare['id']}", headers=alice.headers)

    assert again.status_code == 404
    assert again.json["code"] == "not_found"


@pytest.mark.parametrize("token_id", ["abc", "0", "99999999999999999999", "-1"])
@pytest.mark.parametrize("method", ["get", "delete"])
def test_an_id_that_cannot_exist_is_a_404_that_changes_nothing(
    app, client, alice, method, token_id
):
    before = stored_rows(app)

    response = getattr(client, method)(f"/me/tokens/{token_id}", headers=alice.headers)

    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert stored_rows(app) == before


def test_an_id_beyond_64_bits_is_a_404(client, alice):
    response = client.delete("/me/tokens/9223372036854775808", headers=alice.headers)

    assert response.status_code == 404


# Expiry -----------------------------------------------------------------------


def test_an_expired_token_is_refused(app, client, alice):
    set_token(app, token_id_of(app, alice.token), expires_at=datetime.now(UTC))

    response = client.get("/me", headers=alice.headers)

    assert_invalid_token(response, "expired")


# Scopes -----------------------------------------------------------------------


@pytest.fixture
def reader(client, alice):
    """alice's read token (she owns acme, with one note)."""
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    client.post("/orgs/acme/notes", json={"title": "kept"}, headers=alice.headers)
    token = issue(client, alice, name="ro", scope="read").json["token"]
    return TestUser("alice", token)


def test_a_read_token_reads(client, reader):
    assert client.get("/orgs/acme/notes", headers=reader.headers).status_code == 200
    assert client.head("/me", headers=reader.headers).status_code == 200
    assert client.options("/me", headers=reader.headers).status_code == 200
    assert client.get("/me/tokens", headers=reader.headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/orgs", {"slug": "other", "name": "Other"}),
        ("post", "/orgs/acme/notes", {"title": "new"}),
        ("patch", "/orgs/acme/notes/1", {"title": "changed"}),
        ("delete", "/orgs/acme/notes/1", None),
        ("post", "/me/tokens", {"name": "escalate", "scope": "write"}),
        ("delete", "/me/tokens/current", None),
        ("post", "/add", {"a": 1, "b": 2}),
    ],
)
def test_a_read_token_cannot_write(app, client, reader, method, path, body):
    before = stored_rows(app)

    response = getattr(client, method)(path, json=body, headers=reader.headers)

    assert_insufficient_scope(response)
    assert stored_rows(app) == before


# Bad tokens never pass as anonymous ---------------------------------------------


def test_add_with_a_revoked_or_unknown_token_is_a_401(client, alice):
    spare = issue(client, alice).json
    client.delete(f"/me/tokens/{spare['id']}", headers=alice.headers)
    unknown = "mt_" + "A" * 43

    for token in (spare["token"], unknown):
        assert_invalid_token(client.get("/add?a=1&b=2", headers=bearer(token)))
        assert_invalid_token(
            client.post("/add", json={"a": 1, "b": 2}, headers=bearer(token))
        )
    assert client.get("/add?a=1&b=2").json == {"sum": 3}


def test_no_credentials_ask_for_a_bearer_token_without_an_error(client):
    response = client.get("/me/tokens")

    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mything"'


def changed_checksum(token: str) -> str:
    last = "0" if token[-1] != "0" else "1"
    return token[:-1] + last


@pytest.mark.parametrize(
    "make_bad",
    [changed_checksum, lambda token: token + " ", lambda token: "mt_" + "A" * 9997],
    ids=["checksum changed", "trailing space", "10 000 characters"],
)
def test_a_token_that_cannot_be_real_is_refused_before_any_query(
    app, client, alice, make_bad
):
    client.get("/me", headers=alice.headers)  # The schema exists; warm.
    bad = make_bad(alice.token)

    with recorded_statements(app) as statements:
        response = client.get(
            "/me", environ_base={"HTTP_AUTHORIZATION": f"Bearer {bad}"}
        )

    assert_invalid_token(response)
    assert statements == []


# Last use ---------------------------------------------------------------------


def token_updates(statements: list[str]) -> list[str]:
    updates = "UPDATE MYTHING_TOKENS"
    return [s for s in statements if s.lstrip().upper().startswith(updates)]


def test_last_use_is_written_once_in_a_burst_of_100_requests(app, client, alice):
    with recorded_statements(app) as statements:
        responses = [client.get("/me", headers=alice.headers) for _ in range(100)]

    assert {response.status_code for response in responses} == {200}
    assert len(token_updates(statements)) == 1
    listed = client.get("/me/tokens", headers=alice.headers).json["items"][0]
    assert TIMESTAMP.fullmatch(listed["last_used_at"])


def test_last_use_is_written_again_after_a_minute(app, client, alice):
    client.get("/me", headers=alice.headers)
    token_id = token_id_of(app, alice.token)
    a_minute_ago = datetime.now(UTC) - timedelta(seconds=61)
    set_token(app, token_id, last_used_at=a_minute_ago)

    with recorded_statements(app) as statements:
        client.post("/orgs", json={"slug": "acme", "name": "A"}, headers=alice.headers)
        client.get("/me", headers=alice.headers)

    assert len(token_updates(statements)) == 1
    listed = client.get(f"/me/tokens/{token_id}", headers=alice.headers).json
    assert parse_time(listed["last_used_at"]) > a_minute_ago + timedelta(seconds=30)


def test_a_failed_request_still_records_the_use(app, client, alice):
    response = client.get("/orgs/nope", headers=alice.headers)

    assert response.status_code == 404
    listed = client.get("/me/tokens/current", headers=alice.headers).json
    assert listed["last_used_at"] is not None


@pytest.mark.databases("postgresql")
def test_requests_do_not_wait_for_a_locked_token_row(database_uri, caplog):
    # A request that waited for the lock would fail after lock_timeout, and
    # the failure would be logged, instead of waiting for the test to end.
    url = make_url(database_uri)
    url = url.update_query_dict(
        {"options": f"{url.query['options']} -clock_timeout=2s"}
    )
    thing = MyThing({"DATABASE_URI": url.render_as_string(hide_password=False)})
    try:
        thing.create_user("alice")
        token = thing.create_token("alice")
        client = thing.flask_app.test_client()
        token_id = token_id_of(thing.flask_app, token)
        engine = get_database(thing.flask_app).engine
        with engine.connect() as holder:
            # Another transaction holds the token's row, as a request
            # recording its last use does.
            holder.execute(
                select(token_table.c.id)
                .where(token_table.c.id == token_id)
                .with_for_update()
            )
            statuses = {
                client.get("/me", headers=bearer(token)).status_code for _ in range(100)
            }
            holder.rollback()
        assert statuses == {200}
        assert "could not record" not in caplog.text
    finally:
        get_database(thing.flask_app).dispose()


# Python API -------------------------------------------------------------------


def test_the_python_api_manages_tokens_like_http(thing, client, alice):
    api = thing.as_user("alice")

    made = api.create_token("script", scope="read", expires_in_days=10)
    listed = api.tokens()
    api.revoke_token(made["id"])

    assert set(made) == TOKEN_FIELDS | {"token"}
    assert made["scope"] == "read"
    assert listed["items"][0] == {key: made[key] for key in TOKEN_FIELDS}
    assert [item["name"] for item in listed["items"]] == ["script", "unnamed"]
    assert_invalid_token(client.get("/me", headers=bearer(made["token"])))
    with pytest.raises(ApiException) as gone:
        api.revoke_token(made["id"])
    assert gone.value.status == 404


@pytest.mark.parametrize("token_id", ["abc", 0, 2**64, True, None, 1.0])
def test_the_python_api_refuses_ids_that_cannot_exist(thing, alice, token_id):
    with pytest.raises(ApiException) as refused:
        thing.as_user("alice").revoke_token(token_id)
    assert refused.value.status == 404


def test_an_administrator_issues_named_read_tokens(thing, client, alice):
    token = thing.create_token(
        "alice", label="backup job", scope="read", expires_in_days=1
    )

    current = client.get("/me/tokens/current", headers=bearer(token)).json
    assert current["name"] == "backup job"
    assert current["scope"] == "read"
    assert parse_time(current["expires_at"]) - parse_time(current["created_at"]) == (
        timedelta(days=1)
    )
    assert_insufficient_scope(client.post("/orgs", json={}, headers=bearer(token)))


@pytest.mark.parametrize(
    "arguments",
    [{"scope": "admin"}, {"expires_in_days": 0}, {"label": ""}, {"label": "x" * 101}],
)
def test_an_administrator_gets_the_same_validation(thing, alice, arguments):
    with pytest.raises(ApiException) as refused:
        thing.create_token("alice", **arguments)
    assert refused.value.status == 400


def test_a_token_for_nobody_is_a_404(thing):
    with pytest.raises(ApiException) as refused:
        thing.create_token("nobody")
    assert refused.value.status == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
def test_probes_and_documentation_never_look_at_credentials(app, client, path):
    get_database(app).prepare()
    with recorded_statements(app) as statements:
        response = client.get(path, headers=bearer("mt_" + "A" * 43))

    assert response.status_code == 200
    assert not any("tokens" in statement for statement in statements)


def test_the_edge_asks_who_is_calling_once(app, client, alice):
    # The rate limit, the credential check and the view all need the
    # caller; the edge finds it with one query and keeps it on the request.
    client.get("/add?a=1&b=2", headers=alice.headers)  # Its use is recorded.

    with recorded_statements(app) as statements:
        response = client.get("/add?a=1&b=2", headers=alice.headers)

    assert response.status_code == 200
    assert len(statements) == 1
    assert "mything_tokens" in statements[0]

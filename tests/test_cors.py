"""CORS: what a browser on another origin is told, and what it is not."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask
from helpers.callers import make_caller
from helpers.databases import stored_rows
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import ConfigError, MyThing
from mything.cors import ALLOWED_HEADERS, EXPOSED_HEADERS

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"


def preflight(client, path, method="GET", *, origin=ORIGIN, **headers):
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, **headers},
    )


def listed(value):
    return [item.strip() for item in value.split(",")]


@pytest.fixture
def world(make_thing):
    """A thing allowing ORIGIN, with acme (owner alice, member bob) and a note.

    It also requires If-Match, takes bodies of at most 1 KiB, allows each
    caller 30 requests a minute, and has a route that fails.
    """
    thing = make_thing(
        CORS_ORIGINS=[ORIGIN],
        REQUIRE_IF_MATCH=True,
        MAX_CONTENT_LENGTH=1024,
        RATELIMIT="30/minute",
    )
    failing = Blueprint("failing", __name__)
    failing.get("/boom")(lambda: 1 / 0)
    thing.flask_app.register_blueprint(failing)
    alice, bob = make_caller(thing, "alice"), make_caller(thing, "bob")
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    thing.add_member("acme", "bob")
    note = api.create_note("acme", title="Plan")
    return thing, alice, bob, note


# Preflights -------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_a_204_with_everything_needed(world):
    thing, *_, note = world
    client = thing.flask_app.test_client()
    response = preflight(
        client,
        f"/orgs/acme/notes/{note['id']}",
        "PATCH",
        Access_Control_Request_Headers="authorization, content-type, if-match",
    )

    assert response.status_code == 204
    assert response.data == b""
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {"GET", "PATCH", "DELETE"} <= set(
        listed(headers["Access-Control-Allow-Methods"])
    )
    assert listed(headers["Access-Control-Allow-Headers"]) == list(ALLOWED_HEADERS)
    assert {
        "Authorization",
        "Content-Type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "X-Request-ID",
    } <= set(listed(headers["Access-Control-Allow-Headers"]))
    assert 0 < int(headers["Access-Control-Max-Age"]) <= 7200
    assert "Origin" in response.vary
    assert "Access-Control-Allow-Credentials" not in headers


def test_preflights_need_no_token_and_are_never_rate_limited(make_thing):
    thing = make_thing(CORS_ORIGINS=[ORIGIN], RATELIMIT="2/minute")
    client = thing.flask_app.test_client()
    statuses = [preflight(client, "/me").status_code for _ in range(5)]
    counted = client.get("/add?a=1&b=2", headers={"Origin": ORIGIN})

    assert statuses == [204] * 5
    # The preflights were not counted: this is the first of two requests.
    assert counted.headers["X-RateLimit-Remaining"] == "1"


def test_a_preflight_for_a_method_the_path_does_not_route_is_405(world):
    thing, *_ = world
    response = preflight(thing.flask_app.test_client(), "/me", "DELETE")
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"
    assert listed(response.headers["Allow"]) == ["GET", "HEAD", "OPTIONS"]


def test_a_preflight_for_a_path_that_does_not_exist_is_404(world):
    thing, *_ = world
    response = preflight(thing.flask_app.test_client(), "/nowhere")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


@pytest.mark.parametrize(
    "origin",
    [OTHER_ORIGIN, "null", ORIGIN + "/", ORIGIN + "/path", ORIGIN.upper(), ""],
    ids=["other", "null", "trailing slash", "path", "upper case", "empty"],
)
def test_a_preflight_from_an_origin_not_listed_is_403_without_cors_headers(
    world, origin
):
    thing, *_ = world
    response = preflight(thing.flask_app.test_client(), "/me", origin=origin)
    assert response.status_code == 403
    assert response.json["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


# Actual requests --------------------------------------------------------------


def request_for(status, thing, alice, bob, note):
    """Return a request (method, path, keyword arguments) that answers ``status``."""
    note_url = f"/orgs/acme/notes/{note['id']}"
    etag = f'"{note["id"]}-{note["version"]}"'
    return {
        200: ("GET", "/me", {"headers": alice.headers}),
        201: (
            "POST",
            "/orgs/acme/notes",
            {"json": {"title": "x"}, "headers": alice.headers},
        ),
        204: ("DELETE", note_url, {"headers": {**alice.headers, "If-Match": etag}}),
        304: ("GET", note_url, {"headers": {**alice.headers, "If-None-Match": etag}}),
        400: ("GET", "/add?a=x&b=1", {}),
        401: ("GET", "/me", {}),
        403: (
            "POST",
            "/orgs/acme/members",
            {"json": {"user": "alice"}, "headers": bob.headers},
        ),
        404: ("GET", "/orgs/nowhere", {"headers": alice.headers}),
        405: ("PUT", "/me", {"headers": alice.headers}),
        412: (
            "PATCH",
            note_url,
            {"json": {"title": "y"}, "headers": {**alice.headers, "If-Match": '"1"'}},
        ),
        413: ("POST", "/add", {"json": {"a": 1, "b": 2, "pad": "x" * 2000}}),
        428: ("PATCH", note_url, {"json": {"title": "y"}, "headers": alice.headers}),
        500: ("GET", "/boom", {}),
    }[status]


@pytest.mark.parametrize(
    "status", [200, 201, 204, 304, 400, 401, 403, 404, 405, 412, 413, 428, 500]
)
def test_every_answer_to_an_allowed_origin_carries_the_cors_headers(world, status):
    thing, alice, bob, note = world
    method, path, kwargs = request_for(status, thing, alice, bob, note)
    kwargs.setdefault("headers", {})["Origin"] = ORIGIN

    response = thing.flask_app.test_client().open(path, method=method, **kwargs)

    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = listed(response.headers["Access-Control-Expose-Headers"])
    assert exposed == list(EXPOSED_HEADERS)
    assert {"ETag", "Link", "Location", "Retry-After", "RateLimit"} <= set(exposed)
    assert {"X-Request-ID", "WWW-Authenticate", "X-RateLimit-Reset"} <= set(exposed)
    assert "Origin" in response.vary
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_429_carries_the_cors_headers(make_thing):
    thing = make_thing(CORS_ORIGINS=[ORIGIN], RATELIMIT="1/minute")
    client = thing.flask_app.test_client()
    client.get("/add?a=1&b=2", headers={"Origin": ORIGIN})
    response = client.get("/add?a=1&b=2", headers={"Origin": ORIGIN})
    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in listed(response.headers["Access-Control-Expose-Headers"])


@pytest.mark.parametrize(
    "origin",
    [OTHER_ORIGIN, "null", ORIGIN + "/", ORIGIN + "/path", "http://app.example.com"],
    ids=["other", "null", "trailing slash", "path", "other scheme"],
)
def test_requests_from_origins_not_listed_are_served_without_cors_headers(
    world, origin
):
    thing, alice, *_ = world
    response = thing.flask_app.test_client().get(
        "/me", headers={**alice.headers, "Origin": origin}
    )
    # Served as ever (a host's own pages send Origin too); the browser then
    # keeps the answer from a script of another origin.
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Expose-Headers" not in response.headers
    assert "Origin" in response.vary


def test_a_write_from_an_origin_not_listed_is_refused_at_its_preflight(world):
    thing, alice, _, note = world
    before = stored_rows(thing.flask_app)
    response = preflight(
        thing.flask_app.test_client(),
        f"/orgs/acme/notes/{note['id']}",
        "DELETE",
        origin=OTHER_ORIGIN,
    )
    assert response.status_code == 403
    assert stored_rows(thing.flask_app) == before


def test_any_origin_with_a_star(make_thing):
    thing = make_thing(CORS_ORIGINS="*")
    client = thing.flask_app.test_client()
    for origin in [ORIGIN, OTHER_ORIGIN, "null"]:
        response = client.get("/add?a=1&b=2", headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert preflight(client, "/add", origin=origin).status_code == 204


# Off, and hosts ---------------------------------------------------------------


def test_without_cors_origins_there_are_no_cors_headers_at_all(make_thing):
    client = make_thing().flask_app.test_client()
    response = client.get("/add?a=1&b=2", headers={"Origin": ORIGIN})
    options = preflight(client, "/add")

    for answer in (response, options):
        assert not [h for h in answer.headers.keys() if h.startswith("Access-")]
        assert "Vary" not in answer.headers
    # OPTIONS is answered as it always was: with Allow.
    assert options.status_code == 200
    assert "GET" in listed(options.headers["Allow"])


def test_the_hosts_own_routes_are_untouched(make_thing):
    host = Flask("host")
    host.get("/")(lambda: "home")
    thing = make_thing(CORS_ORIGINS=[ORIGIN])
    client = Client(DispatcherMiddleware(host, {"/api": thing}))

    own = client.get("/", headers={"Origin": ORIGIN})
    mounted = client.get("/api/add?a=1&b=2", headers={"Origin": ORIGIN})
    mounted_preflight = preflight(client, "/api/orgs")

    assert "Access-Control-Allow-Origin" not in own.headers
    assert "Vary" not in own.headers
    assert mounted.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert mounted_preflight.status_code == 204
    assert "POST" in listed(mounted_preflight.headers["Access-Control-Allow-Methods"])


# Configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test", ["https://a.test"]),
        (
            " https://a.test , http://127.0.0.1:8080 ",
            ["https://a.test", "http://127.0.0.1:8080"],
        ),
        ("*", ["*"]),
        ("", []),
    ],
)
def test_cors_origins_from_the_environment_is_comma_separated(
    make_thing, monkeypatch, value, expected
):
    monkeypatch.setenv("MYTHING_CORS_ORIGINS", value)
    assert make_thing().flask_app.config["CORS_ORIGINS"] == expected


@pytest.mark.parametrize(
    "entry",
    [
        "example.com",
        "http://a.test/path",
        "http://a.test/",
        "https://a.test:443",
        "HTTPS://A.TEST",
        "ftp://a.test",
        "http://user@a.test",
        "null",
        "*, https://a.test",
    ],
)
@pytest.mark.parametrize("source", ["environment", "config"])
def test_an_entry_that_is_not_an_origin_stops_the_app_naming_the_key(
    make_thing, monkeypatch, entry, source
):
    if source == "environment":
        monkeypatch.setenv("MYTHING_CORS_ORIGINS", entry)
        config = {}
    else:
        config = {"CORS_ORIGINS": [part.strip() for part in entry.split(",")]}
    with pytest.raises(ConfigError) as raised:
        MyThing({"DATABASE_URI": "sqlite://", **config})
    (line,) = str(raised.value).splitlines()
    assert "CORS_ORIGINS" in line

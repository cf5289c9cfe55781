"""mything mounted under ``/api`` in a Flask host and in a plain WSGI host.

The hosts are built like ``examples/flask_host.py`` and ``examples/wsgi_host.py``,
around the ``thing`` fixture, with Werkzeug's ``DispatcherMiddleware``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import ConfigError

HOME = "<h1>The host</h1>"
NOT_FOUND = "<h1>The host has no such page</h1>"


def flask_host(thing):
    host = Flask("host")

    @host.get("/")
    def index():
        return HOME

    @host.errorhandler(404)
    def not_found(error):
        return NOT_FOUND, 404

    host.wsgi_app = DispatcherMiddleware(host.wsgi_app, {"/api": thing})
    return host


def wsgi_host(thing):
    def host(environ, start_response):
        if environ["PATH_INFO"] == "/":
            status, body = "200 OK", HOME
        else:
            status, body = "404 Not Found", NOT_FOUND
        start_response(status, [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    return DispatcherMiddleware(host, {"/api": thing})


@pytest.fixture(params=[flask_host, wsgi_host], ids=["flask", "wsgi"])
def host(request, thing) -> Client:
    """A test client of a host application that mounts ``thing`` under /api."""
    return Client(request.param(thing))


def next_link(response) -> str | None:
    """Return the URL of the ``rel="next"`` link of ``response``, if any."""
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match[1] if match else None


def test_mything_answers_under_the_prefix(host):
    response = host.get("/api/add?a=1&b=2")
    assert response.status_code == 200
    assert response.json == {"sum": 3}


def test_location_carries_the_prefix(host, alice):
    response = host.post(
        "/api/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers
    )
    assert response.status_code == 201
    assert response.headers["Location"] == "http://localhost/api/orgs/acme"
    followed = host.get(response.headers["Location"], headers=alice.headers)
    assert followed.json["slug"] == "acme"


def test_next_links_carry_the_prefix_and_keep_other_arguments(host, thing, alice):
    slugs = ["one", "two", "three"]
    for slug in slugs:
        thing.as_user("alice").create_organization(slug, name=slug)

    first = host.get("/api/orgs?limit=1&keep=me", headers=alice.headers)
    url = urlsplit(next_link(first))
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost", "/api/orgs")
    assert query["limit"] == ["1"]
    assert query["keep"] == ["me"]
    assert query["cursor"] == [first.json["next_cursor"]]

    seen = [item["slug"] for item in first.json["items"]]
    link = next_link(first)
    while link is not None:
        page = host.get(link, headers=alice.headers)
        seen += [item["slug"] for item in page.json["items"]]
        link = next_link(page)
    assert sorted(seen) == sorted(slugs)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nope", 404, "not_found"),
        ("GET", "/api/orgs/acme", 401, "unauthorized"),
        ("DELETE", "/api/add", 405, "method_not_allowed"),
        ("GET", "/api/add?a=x&b=1", 400, "validation_error"),
    ],
)
def test_mything_errors_under_the_prefix_stay_json(host, method, path, status, code):
    response = host.open(path, method=method)
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert response.json["code"] == code
    assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_a_405_under_the_prefix_keeps_its_allow_header(host):
    assert "GET" in host.delete("/api/add").headers["Allow"]


def test_the_host_keeps_its_own_routes(host):
    response = host.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == HOME


@pytest.mark.parametrize("path", ["/nope", "/apis", "/add"])
def test_the_host_keeps_its_own_404_page(host, path):
    response = host.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True) == NOT_FOUND
    assert "X-Request-ID" not in response.headers


def test_the_host_can_read_the_request_id_from_the_environ(thing):
    environs = []
    mounted = wsgi_host(thing)

    def logging_host(environ, start_response):
        environs.append(environ)
        return mounted(environ, start_response)

    response = Client(logging_host).get("/api/healthz")
    assert environs[0]["mything.request_id"] == response.headers["X-Request-ID"]


def test_a_forwarded_prefix_goes_before_the_mount_prefix(tmp_path, make_thing):
    thing = make_thing(
        {
            "DATABASE_URI": f"sqlite:///{tmp_path / 'proxied.db'}",
            "TRUSTED_PROXIES": 1,
            "TRUSTED_PROXY_HEADERS": ["for", "prefix"],
        }
    )
    thing.create_user("alice")
    headers = {
        "Authorization": f"Bearer {thing.create_token('alice')}",
        "X-Forwarded-Prefix": "/site",
    }
    response = Client(wsgi_host(thing)).post(
        "/api/orgs", json={"slug": "acme", "name": "Acme"}, headers=headers
    )
    assert response.headers["Location"] == "http://localhost/site/api/orgs/acme"


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Prefix": "/evil",
}


def urls_written(thing) -> tuple[str, str]:
    """The server URL of /openapi.json and a Location, behind a forwarding proxy."""
    thing.create_user("alice")
    client = Client(thing)
    spec = client.get("/openapi.json", headers=FORWARDED).json
    headers = {**FORWARDED, "Authorization": f"Bearer {thing.create_token('alice')}"}
    created = client.post("/orgs", json={"slug": "acme", "name": "A"}, headers=headers)
    return spec["servers"][0]["url"], created.headers["Location"]


def test_a_trusted_proxy_is_trusted_for_the_client_address_only(make_thing):
    thing = make_thing(TRUSTED_PROXIES=1)
    addresses = []
    thing.flask_app.before_request(lambda: addresses.append(request.remote_addr))
    server, location = urls_written(thing)
    # The host, scheme and prefix the client sent are ignored...
    assert "evil" not in server
    assert location == "http://localhost/orgs/acme"
    # ...and its address is the one the proxy reports.
    assert set(addresses) == {"203.0.113.9"}


def test_each_forwarded_header_is_trusted_only_when_named(make_thing):
    thing = make_thing(TRUSTED_PROXIES=1, TRUSTED_PROXY_HEADERS="for,proto,host,prefix")
    server, location = urls_written(thing)
    assert server.startswith("https://evil.example/evil")
    assert location == "https://evil.example/evil/orgs/acme"


def test_an_unknown_forwarded_header_name_stops_the_app(make_thing):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HEADERS"):
        make_thing(TRUSTED_PROXY_HEADERS=["for", "port"])

"""The OpenAPI document: valid 3.1, complete, generated, and true to the responses."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from helpers.databases import ALL_DATABASES
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from voluptuous import Required, Schema
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import MyThing, create_app
from mything.auth import authenticated
from mything.endpoints import endpoint_of, returns
from mything.results import ApiResult
from mything.validation import dataschema


def test_document_is_valid_openapi_31(client):
    document = client.get("/openapi.json").json
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_and_method_is_documented(app, client):
    paths = client.get("/openapi.json").json["paths"]
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or not endpoint_of(view).documented:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (method, path)


def test_server_url_carries_the_mount_prefix(thing):
    host = DispatcherMiddleware(create_app({"RATELIMIT_ENABLED": False}), {})
    mounted = DispatcherMiddleware(host, {"/api": thing})
    document = Client(mounted).get("/api/openapi.json", base_url="http://h.test").json
    assert document["servers"] == [{"url": "http://h.test/api"}]


def test_operations_say_who_may_call_them(client):
    paths = client.get("/openapi.json").json["paths"]
    assert paths["/add"]["get"]["security"] == []
    assert paths["/orgs/{slug}/notes"]["post"]["security"] == [{"bearerAuth": []}]
    parameters = {p["name"]: p for p in paths["/add"]["get"]["parameters"]}
    assert parameters["a"]["required"] and parameters["a"]["in"] == "query"
    assert parameters["a"]["schema"]["type"] == "integer"


def test_limits_and_links_are_documented(client):
    paths = client.get("/openapi.json").json["paths"]
    listing = paths["/orgs/{slug}/notes"]["get"]["responses"]
    assert "Link" in listing["200"]["headers"]
    assert "RateLimit-Policy" in listing["200"]["headers"]
    assert "429" in listing
    assert "429" not in paths["/healthz"]["get"]["responses"]


def test_request_body_schema_comes_from_the_voluptuous_schema(client):
    paths = client.get("/openapi.json").json["paths"]
    body = paths["/orgs/{slug}/notes"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["title"]
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["properties"]["tags"]["maxItems"] == 20
    assert schema["properties"]["tags"]["items"]["maxLength"] == 50


def test_creating_operations_document_the_idempotency_key(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/orgs", "/orgs/{slug}/members", "/orgs/{slug}/notes", "/me/tokens"):
        parameters = {p["name"]: p for p in paths[path]["post"]["parameters"]}
        key = parameters["Idempotency-Key"]
        assert key["in"] == "header" and not key["required"]
        assert re.fullmatch(key["schema"]["pattern"], "9c0a6b2e-note-17")
        assert not re.fullmatch(key["schema"]["pattern"], "a b")
    assert "Idempotency-Key" not in str(paths["/add"]["post"])


def test_page_limit_maximum_follows_the_configuration(tmp_path):
    thing = MyThing(
        {
            "DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            "PAGE_SIZE": 5,
            "MAX_PAGE_SIZE": 7,
        }
    )
    document = thing.flask_app.test_client().get("/openapi.json").json
    parameters = document["paths"]["/orgs"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 7


def test_a_new_endpoint_appears_without_touching_the_generator(tmp_path):
    app = create_app({"DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    extra = Blueprint("greetings", __name__)

    @extra.post("/greet")
    @authenticated
    @dataschema(Schema({Required("name"): str}))
    @returns(Schema({Required("greeting"): str}), 201)
    def greet(caller, name):
        """Greet someone."""
        return ApiResult({"greeting": f"hello {name}"}, 201)

    app.register_blueprint(extra)
    document = app.test_client().get("/openapi.json").json
    validate(document)
    operation = document["paths"]["/greet"]["post"]
    assert operation["summary"] == "Greet someone."
    assert operation["security"] == [{"bearerAuth": []}]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name"]
    assert "201" in operation["responses"]


def conforms(document, path, method, response):
    """Check a real response against the document's schema for it."""
    responses = document["paths"][path][method]["responses"]
    described = responses.get(str(response.status_code), responses["default"])
    if "$ref" in described:
        described = document["components"]["responses"][described["$ref"][23:]]
    schema = described["content"]["application/json"]["schema"]
    validator = OAS31Validator({**schema, "components": document["components"]})
    errors = [error.message for error in validator.iter_errors(response.json)]
    assert errors == [], (path, method, response.status_code, errors)


@pytest.mark.databases(*ALL_DATABASES)
def test_responses_conform_to_the_document(thing, client, alice):
    document = client.get("/openapi.json").json
    headers = alice.headers
    organization = client.post(
        "/orgs", json={"slug": "acme", "name": "Acme"}, headers=headers
    )
    note = client.post(
        "/orgs/acme/notes", json={"title": "t", "tags": ["x"]}, headers=headers
    )
    thing.create_user("bob")
    checks = [
        ("/add", "get", client.get("/add?a=1&b=2")),
        ("/add", "post", client.post("/add", json={"a": 1})),
        ("/healthz", "get", client.get("/healthz")),
        ("/readyz", "get", client.get("/readyz")),
        ("/me", "get", client.get("/me", headers=headers)),
        ("/me", "get", client.get("/me")),
        ("/orgs", "post", organization),
        ("/orgs", "get", client.get("/orgs", headers=headers)),
        ("/orgs/{slug}", "get", client.get("/orgs/acme", headers=headers)),
        ("/orgs/{slug}/notes", "post", note),
        ("/orgs/{slug}/notes", "get", client.get("/orgs/acme/notes", headers=headers)),
        (
            "/orgs/{slug}/notes/{note_id}",
            "patch",
            client.patch(
                f"/orgs/acme/notes/{note.json['id']}",
                json={"body": "b"},
                headers=headers,
            ),
        ),
        (
            "/orgs/{slug}/members",
            "post",
            client.post("/orgs/acme/members", json={"user": "bob"}, headers=headers),
        ),
        (
            "/orgs/{slug}/members",
            "get",
            client.get("/orgs/acme/members?limit=1", headers=headers),
        ),
    ]
    issued = client.post("/me/tokens", json={"name": "ci"}, headers=headers)
    checks += [
        ("/me/tokens", "post", issued),
        ("/me/tokens", "get", client.get("/me/tokens?limit=1", headers=headers)),
        (
            "/me/tokens/current",
            "get",
            client.get("/me/tokens/current", headers=headers),
        ),
        (
            "/me/tokens/{token_id}",
            "get",
            client.get(f"/me/tokens/{issued.json['id']}", headers=headers),
        ),
        ("/me/tokens", "post", client.post("/me/tokens", json={}, headers=headers)),
        ("/me", "get", client.get("/me", headers={"Authorization": "Bearer x"})),
    ]
    for path, method, response in checks:
        conforms(document, path, method, response)


def test_conditional_requests_are_documented(client):
    document = client.get("/openapi.json").json
    note = document["paths"]["/orgs/{slug}/notes/{note_id}"]
    read, change, remove = note["get"], note["patch"], note["delete"]

    assert "version" in document_schema(read)["required"]
    assert header_names(read) == {"If-Match", "If-None-Match"}
    assert {"304", "412"} <= set(read["responses"])
    assert "ETag" in read["responses"]["200"]["headers"]
    for write in (change, remove):
        assert header_names(write) == {"If-Match"}
        assert "412" in write["responses"]
        assert "428" not in write["responses"]
    assert "ETag" in change["responses"]["200"]["headers"]
    created = document["paths"]["/orgs/{slug}/notes"]["post"]["responses"]["201"]
    assert "ETag" in created["headers"]
    assert "ETag" in document["components"]["headers"]


def test_required_if_match_is_documented_with_its_428(make_thing):
    client = make_thing(REQUIRE_IF_MATCH=True).flask_app.test_client()
    document = client.get("/openapi.json").json
    validate(document)
    change = document["paths"]["/orgs/{slug}/notes/{note_id}"]["patch"]
    (if_match,) = [p for p in change["parameters"] if p["name"] == "If-Match"]
    assert if_match["required"] is True
    assert "428" in change["responses"]


def test_the_cursor_parameter_says_what_a_cursor_can_be(thing, alice, client):
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    for title in ("one", "two"):
        api.create_note("acme", title=title)
    cursor = api.notes("acme", limit=1)["next_cursor"]
    paths = client.get("/openapi.json").json["paths"]

    for path in ("/orgs", "/orgs/{slug}/notes", "/orgs/{slug}/members"):
        (parameter,) = [
            p for p in paths[path]["get"]["parameters"] if p["name"] == "cursor"
        ]
        schema = parameter["schema"]
        assert schema["maxLength"] == 2048
        assert re.fullmatch(schema["pattern"].strip("^$"), cursor)
        assert not re.fullmatch(schema["pattern"].strip("^$"), "a cursor!")
    refused = client.get("/orgs/acme/notes?cursor=%25ff", headers=alice.headers)
    assert refused.status_code == 400
    assert [error["path"] for error in refused.json["errors"]] == ["cursor"]


def document_schema(operation):
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def header_names(operation):
    return {p["name"] for p in operation["parameters"] if p["in"] == "header"}


def test_the_token_lifetime_maximum_follows_the_configuration(tmp_path):
    thing = MyThing(
        {
            "DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            "TOKEN_DEFAULT_DAYS": 30,
            "TOKEN_MAX_DAYS": 30,
        }
    )
    document = thing.flask_app.test_client().get("/openapi.json").json
    body = document["paths"]["/me/tokens"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["properties"]["expires_in_days"]["maximum"] == 30
    assert schema["properties"]["scope"]["enum"] == ["read", "write"]

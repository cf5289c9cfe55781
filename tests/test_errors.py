"""The error contract: every failure leaves as the same JSON, never as HTML.

Also the headers every response carries, and the escaping of JSON output.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from flask import Blueprint

from mything import create_app
from mything.db import get_database

ROOT = Path(__file__).parents[1]
ERROR_KEYS = {"message", "status", "code", "request_id"}
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

BAD_REQUESTS = [
    pytest.param(
        "GET", "/add?a=x", {}, 400, "validation_error", id="query not an integer"
    ),
    pytest.param(
        "POST", "/add", {"json": {"a": "1"}}, 400, "validation_error", id="string"
    ),
    pytest.param("POST", "/add", {"json": [1, 2]}, 400, "invalid_json", id="array"),
    pytest.param(
        "POST",
        "/add",
        {"data": "{", "content_type": "application/json"},
        400,
        "invalid_json",
        id="malformed",
    ),
    pytest.param(
        "POST",
        "/add",
        {"data": b" " * (2 * 1024 * 1024), "content_type": "application/json"},
        413,
        "payload_too_large",
        id="2 MiB",
    ),
    pytest.param(
        "POST",
        "/add",
        {"data": '{"a": 1, "b": 2}', "content_type": "text/plain"},
        400,
        "invalid_content_type",
        id="text/plain",
    ),
    pytest.param("DELETE", "/add", {}, 405, "method_not_allowed", id="DELETE"),
    pytest.param("GET", "/nope", {}, 404, "not_found", id="unknown path"),
]


def assert_json_error(response, status: int, code: str) -> dict:
    """Check the error shape of ``response`` and return its body."""
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert not response.data.lstrip().startswith(b"<")
    body = response.json
    expected_keys = (
        ERROR_KEYS | {"errors"} if code == "validation_error" else ERROR_KEYS
    )
    assert set(body) == expected_keys
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), BAD_REQUESTS)
def test_bad_requests_get_the_json_error_shape(
    client, method, path, kwargs, status, code
):
    response = client.open(path, method=method, **kwargs)
    assert_json_error(response, status, code)


@pytest.mark.parametrize(("padding", "status"), [(10, 200), (2 * 1024 * 1024, 413)])
def test_the_size_limit_holds_for_bodies_without_content_length(
    client, padding, status
):
    body = b'{"a": 1, "b": 2, "padding": "' + b"x" * padding + b'"}'
    response = client.post(
        "/add",
        data=body,
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        # How a server that decodes chunked bodies passes one on.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None
    assert response.status_code == status


def test_validation_errors_list_every_failure_with_its_path(client):
    body = assert_json_error(client.get("/add?a=x"), 400, "validation_error")
    assert sorted(error["path"] for error in body["errors"]) == ["a", "b"]
    for error in body["errors"]:
        assert set(error) == {"path", "message"}
        assert error["message"]


def test_nested_failures_have_dotted_paths(client, alice):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    response = client.post(
        "/orgs/acme/notes",
        json={"title": "", "tags": ["fine", "", 5]},
        headers=alice.headers,
    )
    body = assert_json_error(response, 400, "validation_error")
    paths = sorted(error["path"] for error in body["errors"])
    assert paths == ["tags.1", "tags.2", "title"]


def test_a_405_says_which_methods_are_allowed(client):
    response = client.delete("/add")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_401_asks_for_a_bearer_token(client):
    response = client.get("/me")
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mything"'


REQUESTS = [
    ("GET", "/add?a=1&b=2"),
    ("HEAD", "/add?a=1&b=2"),
    ("GET", "/healthz"),
    ("GET", "/add?a=x"),
    ("GET", "/nope"),
    ("DELETE", "/add"),
    ("GET", "/me"),
    ("OPTIONS", "/add"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_every_response_has_nosniff_and_a_request_id(client, method, path):
    response = client.open(path, method=method)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert SANE_REQUEST_ID.fullmatch(response.headers["X-Request-ID"])


def test_an_options_response_is_not_labelled_html(client):
    response = client.options("/add")
    assert response.status_code == 200
    assert "GET" in response.headers["Allow"]
    assert response.mimetype != "text/html"


@pytest.mark.parametrize("path", ["/add?a=1&b=2", "/nope"])
def test_a_sane_request_id_is_echoed(client, path):
    response = client.get(path, headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    if response.status_code >= 400:
        assert response.json["request_id"] == "abc-123"


@pytest.mark.parametrize(
    "sent",
    ["has spaces", "x" * 500, "<script>", "a\tb", "caf\u00e9"],
)
def test_an_insane_request_id_is_replaced(client, sent):
    response = client.get("/nope", headers={"X-Request-ID": sent})
    request_id = response.headers["X-Request-ID"]
    assert request_id != sent
    assert SANE_REQUEST_ID.fullmatch(request_id)
    assert response.json["request_id"] == request_id


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


UNSAFE_TEXT = "</script><script>alert('x & y')</script>"


@pytest.mark.parametrize("character", ["<", ">", "&", "'"])
def test_user_text_is_escaped_in_json(client, alice, character):
    response = client.post(
        "/orgs", json={"slug": "acme", "name": UNSAFE_TEXT}, headers=alice.headers
    )
    assert response.status_code == 201
    assert character.encode() not in response.data
    assert f"\\u{ord(character):04x}".encode() in response.data
    assert json.loads(response.data)["name"] == UNSAFE_TEXT


def test_escaped_text_reads_back_unchanged(client, thing, alice):
    as_alice = thing.as_user("alice")
    as_alice.create_organization("acme", name="Acme")
    created = as_alice.create_note("acme", title=UNSAFE_TEXT, body=UNSAFE_TEXT)
    response = client.get(f"/orgs/acme/notes/{created['id']}", headers=alice.headers)
    assert b"\\u003c/script\\u003e" in response.data
    assert b"</script>" not in response.data
    assert json.loads(response.data)["body"] == UNSAFE_TEXT


@pytest.fixture
def failing_app(tmp_path, request):
    """A fresh app with one extra route that raises an unexpected exception."""
    app = create_app(
        {"DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}", **request.param}
    )
    blueprint = Blueprint("failing", __name__)

    @blueprint.get("/boom")
    def boom():
        raise RuntimeError("secret detail from deep inside")

    app.register_blueprint(blueprint)
    yield app
    get_database(app).dispose()


@pytest.mark.parametrize(
    "failing_app",
    [{}, {"DEBUG": True}, {"TESTING": True}],
    indirect=True,
    ids=["production", "debug", "testing"],
)
def test_an_unhandled_exception_is_a_bare_500(failing_app, caplog):
    response = failing_app.test_client().get(
        "/boom", headers={"X-Request-ID": "req-500"}
    )
    body = assert_json_error(response, 500, "internal_error")
    assert body["message"] == "Internal Server Error"
    assert b"secret detail" not in response.data
    assert b"Traceback" not in response.data
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "req-500" in errors[0].getMessage()
    assert errors[0].exc_info[0] is RuntimeError


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_error_class_lives_in_errors_py_and_its_code_is_documented():
    import pkgutil

    import mything
    from mything.errors import ApiException

    # Import every module, so that a subclass defined anywhere is found.
    for module in pkgutil.walk_packages(mything.__path__, "mything."):
        if ".migrations." not in module.name:
            __import__(module.name)
    table = (ROOT / "docs" / "api.md").read_text()
    documented = {
        (int(status), code)
        for status, code in re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", table, re.M)
    }
    classes = [ApiException, *_subclasses(ApiException)]
    assert {cls.__module__ for cls in classes} == {"mything.errors"}
    missing = {
        (cls.__name__, cls.status, cls.code)
        for cls in classes
        if (cls.status, cls.code) not in documented
    }
    assert not missing, f"not in docs/api.md's error table: {missing}"
    # Each code names one kind of error.
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))

"""The demo endpoint ``/add`` and the health probes."""

from __future__ import annotations

import json

import pytest

from mything import ApiException, MyThing
from mything.db import get_database

MAX_SAFE_INTEGER = 2**53 - 1


def post_json(client, path: str, value: object):
    """POST ``value`` as JSON encoded by the standard library, as a client would."""
    return client.post(path, data=json.dumps(value), content_type="application/json")


def error_paths(response) -> list[str]:
    assert response.status_code == 400
    assert response.json["code"] == "validation_error"
    return [error["path"] for error in response.json["errors"]]


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        ("1", "2", 3),
        ("-5", "3", -2),
        ("0", "-0", 0),
        (str(MAX_SAFE_INTEGER), "0", MAX_SAFE_INTEGER),
    ],
)
def test_get_add_sums_query_arguments(client, a, b, total):
    response = client.get("/add", query_string={"a": a, "b": b})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.json == {"sum": total}


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [(1, 2, 3), (-5, 3, -2), (MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0)],
)
def test_post_add_sums_a_json_object(client, a, b, total):
    response = post_json(client, "/add", {"a": a, "b": b})
    assert response.status_code == 200
    assert response.json == {"sum": total}


def test_post_add_ignores_extra_keys(client):
    response = post_json(client, "/add", {"a": 1, "b": 2, "c": "x", "sum": 100})
    assert response.json == {"sum": 3}


def test_get_add_ignores_extra_arguments(client):
    assert client.get("/add?a=1&b=2&c=x").json == {"sum": 3}


def test_a_repeated_query_argument_counts_with_its_first_value(client):
    assert client.get("/add?a=1&a=x&b=2").json == {"sum": 3}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool"),
        pytest.param(1.5, id="float"),
        pytest.param("1", id="string"),
        pytest.param(None, id="null"),
        pytest.param([1], id="list"),
        pytest.param({"value": 1}, id="object"),
        pytest.param(MAX_SAFE_INTEGER + 1, id="unsafe int"),
        pytest.param(-MAX_SAFE_INTEGER - 1, id="unsafe negative int"),
        pytest.param(10**30, id="huge int"),
    ],
)
def test_post_add_refuses_anything_but_a_safe_integer(client, value):
    response = post_json(client, "/add", {"a": value, "b": 2})
    assert error_paths(response) == ["a"]


@pytest.mark.parametrize(
    "value",
    ["x", "", "1.5", "1e3", " 1", "0x10", "\u0663", str(MAX_SAFE_INTEGER + 1)],
)
def test_get_add_refuses_anything_but_a_decimal_integer(client, value):
    response = client.get("/add", query_string={"a": value, "b": "2"})
    assert error_paths(response) == ["a"]


def test_every_missing_operand_is_reported(client):
    assert sorted(error_paths(client.get("/add"))) == ["a", "b"]
    assert sorted(error_paths(post_json(client, "/add", {}))) == ["a", "b"]


def test_head_add_answers_without_a_body(client):
    response = client.head("/add?a=1&b=2")
    assert response.status_code == 200
    assert response.data == b""


def test_the_python_api_adds_like_http(thing, client):
    assert thing.add_numbers(1, 2) == client.get("/add?a=1&b=2").json == {"sum": 3}


@pytest.mark.parametrize("value", [True, 1.5, "1", MAX_SAFE_INTEGER + 1])
def test_the_python_api_refuses_what_http_refuses(thing, client, value):
    with pytest.raises(ApiException) as caught:
        thing.add_numbers(value, 2)
    over_http = post_json(client, "/add", {"a": value, "b": 2}).json
    assert caught.value.status == over_http["status"] == 400
    assert caught.value.code == over_http["code"] == "validation_error"
    assert caught.value.errors == over_http["errors"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_ok(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path, caplog):
    thing = MyThing({"DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.db'}"})
    client = thing.flask_app.test_client()
    try:
        alive = client.get("/healthz")
        ready = client.get("/readyz")
    finally:
        get_database(thing.flask_app).dispose()
    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json["code"] == "unavailable"
    assert "Retry-After" in ready.headers
    assert any(record.levelname == "WARNING" for record in caplog.records)

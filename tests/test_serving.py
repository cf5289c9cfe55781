"""mything served by a real gunicorn, configured from the environment.

These tests start server processes, so they are marked ``slow``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from helpers.processes import free_port, gunicorn

pytestmark = pytest.mark.slow

MAX_CONTENT_LENGTH = 1024


@dataclass
class Server:
    url: str
    directory: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One gunicorn for this module, configured only by MYTHING_* variables."""
    directory = tmp_path_factory.mktemp("served")
    env = {
        "MYTHING_DATABASE_URI": f"sqlite:///{directory / 'served.db'}",
        "MYTHING_MAX_CONTENT_LENGTH": str(MAX_CONTENT_LENGTH),
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        # The server must not see a developer's own MYTHING_* settings.
        for key in list(os.environ):
            if key.startswith("MYTHING_"):
                monkeypatch.delenv(key)
        with gunicorn("mything:MyThing()", env=env, cwd=directory) as url:
            yield Server(url, directory)


def test_gunicorn_serves_mything(server):
    response = requests.get(server.url + "/add", params={"a": 1, "b": 2}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"sum": 3}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_database_comes_from_the_environment(server):
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.json() == {"status": "ok"}
    assert (server.directory / "served.db").exists()


def test_a_body_under_the_configured_limit_is_read(server):
    body = json.dumps({"a": 1, "b": 2, "padding": "x" * (MAX_CONTENT_LENGTH // 2)})
    response = requests.post(
        server.url + "/add",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.json() == {"sum": 3}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_configured_limit_is_413(server, chunked):
    body = json.dumps({"a": 1, "b": 2, "padding": "x" * MAX_CONTENT_LENGTH}).encode()
    response = requests.post(
        server.url + "/add",
        # A generator body is sent chunked, without a Content-Length.
        data=iter([body]) if chunked else body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "payload_too_large"


def raw_post(url: str, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send a POST /add of raw bytes, close our side, and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /add HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + head
            + b"\r\n"
            + body
        )
        # The client closes its side early: the server reads the end of it.
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in rest.lower(), answer
    return int(status_line.split()[1]), json.loads(payload)


def exact_body(length: int) -> bytes:
    start, end = b'{"a": 1, "b": 2, "p": "', b'"}'
    return start + b"x" * (length - len(start) - len(end)) + end


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_configured_limit_is_read(server, chunked):
    body = exact_body(MAX_CONTENT_LENGTH)
    response = requests.post(
        server.url + "/add",
        data=iter([body]) if chunked else body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"sum": 3}
    over = exact_body(MAX_CONTENT_LENGTH + 1)
    response = requests.post(
        server.url + "/add",
        data=iter([over]) if chunked else over,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("head", "body", "code"),
    [
        # A body shorter than its Content-Length.
        (b"Content-Length: 100\r\n", b'{"a": 1, "b"', "malformed_body"),
        # Chunk sizes that are not hexadecimal, or a chunk without its end.
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n", "malformed_body"),
        (
            b"Transfer-Encoding: chunked\r\n",
            b'4\r\n{"a":1}\r\n0\r\n\r\n',
            "malformed_body",
        ),
        (b"Transfer-Encoding: chunked\r\n", b"20\r\n{}", "malformed_body"),
        (b"Content-Length: 20\r\n", b'{"a": 1e400, "b": 1}', "validation_error"),
        (b"Content-Length: 17\r\n", b'{"a": "\xff", "b":1}', "invalid_json"),
    ],
)
def test_a_malformed_body_is_a_json_400_under_gunicorn(server, head, body, code):
    # Not a 500 with a traceback, nor a worker held until gunicorn's timeout.
    status, answer = raw_post(server.url, head, body)
    assert status == 400, answer
    assert answer["code"] == code


def test_an_unknown_path_is_a_json_404(server):
    response = requests.get(
        server.url + "/nope", headers={"X-Request-ID": "abc-123"}, timeout=10
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.json() == {
        "message": response.json()["message"],
        "status": 404,
        "code": "not_found",
        "request_id": "abc-123",
    }


def test_a_wrong_method_is_a_json_405_with_allow(server):
    response = requests.delete(server.url + "/add", timeout=10)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_a_bad_setting_stops_gunicorn_with_one_line_naming_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}"]
        + ["--workers", "1", "mything:MyThing()"],
        env={**os.environ, "MYTHING_PAGE_SIZE": "abc"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).splitlines()
    named = [line for line in output if line.startswith("invalid configuration")]
    assert named, output
    assert "PAGE_SIZE" in named[0]
    assert "MYTHING_PAGE_SIZE" in named[0]


@pytest.mark.databases("postgresql")
def test_workers_and_the_python_api_share_one_postgresql(thing, database_uri):
    thing.create_user("alice")
    headers = {"Authorization": f"Bearer {thing.create_token('alice')}"}
    env = {"MYTHING_DATABASE_URI": database_uri}
    with gunicorn("mything:MyThing()", env=env, workers=2) as url:
        for slug in ("one", "two", "three", "four"):
            response = requests.post(
                url + "/orgs",
                json={"slug": slug, "name": slug},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201
        me = requests.get(url + "/me", headers=headers, timeout=10).json()
    organizations = thing.as_user("alice").organizations()["items"]
    assert sorted(org["slug"] for org in organizations) == sorted(me["organizations"])
    assert len(organizations) == 4

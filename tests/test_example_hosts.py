"""The example hosts, each served by its real server, with mything under ``/api``.

A Django project under gunicorn, a FastAPI app under uvicorn (mything through
a2wsgi, ``MyThing.asgi()``) and a Flask app with Flask-Login under gunicorn:
each gets the same checks, as a new user would try them. Then what only the
ASGI mount must show: chunked bodies, early refusals, bad chunks, and 300
concurrent writes that all arrive.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers.callers import make_caller
from helpers.processes import free_port, gunicorn, serving

from mything import MyThing
from mything.db import get_database

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parent.parent / "examples"
#: A small MAX_CONTENT_LENGTH, so that a 413 needs no large body.
LIMIT = 4096


@pytest.fixture
def served_database(tmp_path) -> str:
    """The mything database the served example and the test share."""
    return f"sqlite:///{tmp_path / 'mything.db'}"


@pytest.fixture
def thing(served_database):
    """A MyThing on the served example's database, to make users and tokens."""
    made = MyThing({"DATABASE_URI": served_database})
    yield made
    get_database(made.flask_app).dispose()


def mything_env(served_database: str, **extra: str) -> dict[str, str]:
    return {
        "MYTHING_DATABASE_URI": served_database,
        "MYTHING_MAX_CONTENT_LENGTH": str(LIMIT),
        "MYTHING_RATELIMIT_ENABLED": "off",
        **extra,
    }


def django_manage(*args: str, env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "django_host.py"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def django_host(tmp_path, served_database):
    """The Django example under gunicorn, with a Django user Carol; its URL."""
    env = {
        **os.environ,
        **mything_env(served_database),
        "DJANGO_DATABASE": str(tmp_path / "django.db"),
    }
    django_manage("migrate", "--verbosity", "0", env=env, cwd=tmp_path)
    django_manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "User.objects.create_user('Carol', password='carol-secret')",
        env=env,
        cwd=tmp_path,
    )
    with gunicorn(
        "django_host:application",
        env=env,
        args=("--chdir", str(EXAMPLES)),
        cwd=tmp_path,
        ready_path="/api/healthz",
    ) as url:
        yield url


@pytest.fixture
def fastapi_host(tmp_path, served_database):
    """The FastAPI example under uvicorn; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES)]
    command += ["--host", "127.0.0.1", "--port", str(port), "fastapi_host:app"]
    with serving(
        command,
        port=port,
        env=mything_env(served_database),
        cwd=tmp_path,
        ready_path="/api/healthz",
    ) as url:
        yield url


@pytest.fixture
def flask_login_host(tmp_path, served_database):
    """The Flask-Login example under gunicorn; its URL."""
    with gunicorn(
        "flask_login_host:app",
        env=mything_env(served_database),
        args=("--chdir", str(EXAMPLES)),
        cwd=tmp_path,
        ready_path="/api/healthz",
    ) as url:
        yield url


@pytest.fixture(params=["django_host", "fastapi_host", "flask_login_host"])
def host(request) -> str:
    """The URL of each example host, served by its real server."""
    return request.getfixturevalue(request.param)


def test_urls_carry_the_prefix(host, thing):
    alice = make_caller(thing, "alice")
    for slug in ("one", "two"):
        created = requests.post(
            host + "/api/orgs",
            json={"slug": slug, "name": slug},
            headers=alice.headers,
            timeout=10,
        )
        assert created.status_code == 201
        assert created.headers["Location"] == f"{host}/api/orgs/{slug}"

    page = requests.get(host + "/api/orgs?limit=1", headers=alice.headers, timeout=10)
    assert page.links["next"]["url"].startswith(f"{host}/api/orgs?")
    spec = requests.get(host + "/api/openapi.json", timeout=10).json()
    assert spec["servers"][0]["url"] == f"{host}/api"


def test_docs_and_every_asset_it_references_are_served(host):
    page = requests.get(host + "/api/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    referenced = re.findall(r'(?:src|href|data-[a-z-]+)="(/[^"]*)"', page.text)
    assert len(referenced) >= 4
    for url in referenced:
        assert url.startswith("/api/"), url
        assert requests.get(host + url, timeout=10).status_code == 200, url


def chunks(body: bytes, size: int = 7):
    """Yield ``body`` in pieces: requests sends them chunked, without a length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_post_arrives_with_and_without_content_length(host):
    body = json.dumps({"a": 40, "b": 2}).encode()
    headers = {"Content-Type": "application/json"}
    url = host + "/api/add"
    with_length = requests.post(url, data=body, headers=headers, timeout=10)
    chunked = requests.post(url, data=chunks(body), headers=headers, timeout=10)
    assert with_length.json() == chunked.json() == {"sum": 42}


@pytest.mark.parametrize("sent", ["with-length", "chunked"])
def test_a_body_over_the_limit_is_a_json_413(host, sent):
    body = json.dumps({"a": 1, "b": 2, "pad": "x" * LIMIT}).encode()
    data = body if sent == "with-length" else chunks(body, 1024)
    response = requests.post(
        host + "/api/add",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_errors_under_the_prefix_are_json(host):
    missing = requests.get(host + "/api/nope", timeout=10)
    wrong_method = requests.delete(host + "/api/add", timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (
        405,
        "method_not_allowed",
    )
    assert "GET" in wrong_method.headers["Allow"]


def test_the_host_keeps_its_own_pages(host):
    home = requests.get(host + "/", timeout=10)
    missing = requests.get(host + "/nope", timeout=10)
    assert home.status_code == 200
    assert "<h1>" in home.text
    # The host's own 404 (FastAPI's is JSON too), not mything's.
    assert missing.status_code == 404
    assert "X-Request-ID" not in missing.headers
    assert "request_id" not in missing.text


# The host's own login, bridged to TRUST_REMOTE_USER


def test_a_django_user_is_the_caller(django_host):
    browser = requests.Session()
    form = browser.get(django_host + "/login/", timeout=10)
    token = re.search(r"name=csrfmiddlewaretoken value='([^']+)'", form.text)[1]
    logged_in = browser.post(
        django_host + "/login/",
        data={
            "username": "Carol",
            "password": "carol-secret",
            "csrfmiddlewaretoken": token,
        },
        timeout=10,
    )
    assert logged_in.text == "<h1>Hello, Carol</h1>"

    me = browser.get(django_host + "/api/me", timeout=10)
    assert me.json() == {"name": "Carol", "organizations": []}
    garbage = {"Authorization": "Bearer mt_garbage"}
    refused = browser.get(django_host + "/api/me", headers=garbage, timeout=10)
    assert refused.status_code == 401
    assert requests.get(django_host + "/api/me", timeout=10).status_code == 401


def test_django_s_allowed_hosts_hold_under_the_mount(django_host):
    foreign = {"Host": "evil.example"}
    home = requests.get(django_host + "/", headers=foreign, timeout=10)
    assert home.status_code == 400
    spec = django_host + "/api/openapi.json"
    refused = requests.get(spec, headers=foreign, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["code"] == "bad_request"
    assert "//evil.example" not in refused.text


def test_a_flask_login_user_is_the_caller(flask_login_host):
    browser = requests.Session()
    browser.post(
        flask_login_host + "/login",
        data={"name": "dave@example.com", "password": "dave-secret"},
        timeout=10,
    )
    me = browser.get(flask_login_host + "/api/me", timeout=10)
    assert me.json() == {"name": "dave@example.com", "organizations": []}
    garbage = {"Authorization": "Bearer mt_garbage"}
    refused = browser.get(flask_login_host + "/api/me", headers=garbage, timeout=10)
    assert refused.status_code == 401
    browser.post(flask_login_host + "/logout", timeout=10)
    assert browser.get(flask_login_host + "/api/me", timeout=10).status_code == 401


# What the ASGI mount must do


def raw_exchange(url: str, request: bytes, *, then: bytes = b"") -> bytes:
    """Send ``request`` to ``url``'s server, read its answer, then send ``then``."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
        if then:
            try:
                sock.sendall(then)
            except OSError:
                pass  # The server closed the connection: it wants no more.
        return answer


def test_an_oversized_chunked_body_is_refused_before_it_is_sent_whole(fastapi_host):
    head = (
        b"POST /api/add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    first = b'{"a": 1, "b": 2, "pad": "' + b"x" * (2 * LIMIT)
    chunk = f"{len(first):x}\r\n".encode() + first + b"\r\n"
    # The answer comes while the body is still open: most of it is never sent.
    answer = raw_exchange(fastapi_host, head + chunk, then=b"5\r\nxxxxx\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_bad_chunk_size_is_a_400(fastapi_host):
    request = (
        b"POST /api/add HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n"
    )
    assert raw_exchange(fastapi_host, request).startswith(b"HTTP/1.1 400 ")


def test_300_concurrent_posts_through_the_asgi_mount_lose_nothing(fastapi_host, thing):
    alice = make_caller(thing, "alice")
    thing.as_user("alice").create_organization("acme", name="Acme")

    def post(n: int) -> int:
        response = requests.post(
            fastapi_host + "/api/orgs/acme/notes",
            json={"title": f"note {n}"},
            headers=alice.headers,
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(post, range(300)))

    assert statuses == [201] * 300
    titles = [note["title"] for note in thing.as_user("alice").iter_notes("acme")]
    assert sorted(titles) == sorted(f"note {n}" for n in range(300))

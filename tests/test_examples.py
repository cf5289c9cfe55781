"""Every file in ``examples/`` runs, and does what its docstring says."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from helpers.processes import free_port, gunicorn, serving
from werkzeug.test import Client

from mything.db import get_database

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def database_uri_env(tmp_path, monkeypatch) -> str:
    """Point MYTHING_DATABASE_URI at a new SQLite file, and return the URI."""
    uri = f"sqlite:///{tmp_path / 'example.db'}"
    monkeypatch.setenv("MYTHING_DATABASE_URI", uri)
    return uri


@pytest.fixture
def load_example(monkeypatch, database_uri_env):
    """Import an example module fresh, configured by ``database_uri_env``."""
    loaded = []

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        loaded.append(module)
        return module

    yield load
    for module in loaded:
        get_database(module.api.flask_app).dispose()


HOSTS = [
    ("flask_host", "app"),
    ("wsgi_host", "application"),
    ("flask_login_host", "app"),
]
# The Django and FastAPI hosts are served by their real servers in
# test_example_hosts.py, as are the Flask-Login host's login and mount.
TESTED = {
    "flask_host",
    "wsgi_host",
    "flask_login_host",
    "django_host",
    "fastapi_host",
    "python_api",
    "signals",
    "dev_runner",
    "gunicorn.conf",
}


def test_every_example_has_a_test():
    assert {path.stem for path in EXAMPLES.glob("*.py")} == TESTED


@pytest.mark.parametrize(("name", "attribute"), HOSTS)
@pytest.mark.parametrize(
    ("path", "status", "mimetype"),
    [
        ("/", 200, "text/html"),
        ("/nope", 404, "text/html"),
        ("/api/add?a=1&b=2", 200, "application/json"),
        ("/api/nope", 404, "application/json"),
    ],
)
def test_host_examples_route_between_host_and_api(
    load_example, name, attribute, path, status, mimetype
):
    client = Client(getattr(load_example(name), attribute))
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == mimetype


@pytest.mark.parametrize(("name", "attribute"), HOSTS)
def test_host_examples_api_builds_urls_under_the_prefix(load_example, name, attribute):
    example = load_example(name)
    example.api.create_user("alice")
    token = example.api.create_token("alice")
    response = Client(getattr(example, attribute)).post(
        "/api/orgs",
        json={"slug": "acme", "name": "Acme"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert response.headers["Location"] == "http://localhost/api/orgs/acme"


@pytest.mark.parametrize(
    "name",
    ["flask_host", "wsgi_host", "flask_login_host", "fastapi_host", "django_host"],
)
def test_importing_a_host_example_creates_no_file(tmp_path, name):
    # As a test collector, a linter or `flask routes` would import it.
    code = f"import sys; sys.path.insert(0, {str(EXAMPLES)!r}); import {name}"
    result = subprocess.run(
        [sys.executable, "-B", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_flask_login_bridge_runs_none_of_the_host_s_request_hooks(
    load_example,
):
    example = load_example("flask_login_host")
    ran = []
    example.app.before_request(lambda: ran.append("before_request"))
    example.app.teardown_request(lambda error: ran.append("teardown_request"))
    client = example.app.test_client()
    client.post("/login", data={"name": "Carol", "password": "carol-secret"})
    ran.clear()

    me = client.get("/api/me")
    forged = client.get("/api/me", environ_base={"REMOTE_USER": "dave@example.com"})

    assert me.json == {"name": "Carol", "organizations": []}
    assert forged.json["name"] == "Carol"
    assert ran == []
    assert client.get("/").text == "<h1>Hello, Carol</h1><p>Your API: /api/me</p>"
    assert ran == ["before_request", "teardown_request"]


def run_python_api_example(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "python_api.py")],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_api_example_runs_against_the_configured_database(
    tmp_path, database_uri_env
):
    result = run_python_api_example(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "1 + 2 = 3"
    assert re.fullmatch(r"alice wrote note \d+ in acme, tagged \['intro'\]", lines[2])
    assert "the notes of acme: ['Hello']" in lines
    refusals = [line for line in lines if line.startswith("refused:")]
    assert refusals == ["refused: 400 validation_error", "refused: 404 not_found"]
    failed_paths = [line.split(":")[0].strip() for line in lines if line[:2] == "  "]
    assert failed_paths == ["title", "tags.1"]
    assert (tmp_path / "example.db").exists()


def test_python_api_example_cleans_up_its_own_database(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    for _ in range(2):
        result = run_python_api_example(tmp_path, TMPDIR=str(scratch))
        assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == []
    assert [path.name for path in tmp_path.iterdir()] == ["tmp"]


def flask_run(app: str, *, env: dict[str, str], cwd: Path):
    """Serve ``flask --app APP run --debug`` on a free port; yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "flask", "--app", app, "run"]
    command += ["--debug", "--no-reload", "--port", str(port)]
    return serving(command, port=port, env=env, cwd=cwd)


@pytest.mark.slow
def test_dev_runner_serves_with_flask_run(tmp_path):
    runner = str(EXAMPLES / "dev_runner.py")
    with flask_run(runner, env={"TMPDIR": str(tmp_path)}, cwd=tmp_path) as url:
        ready = requests.get(url + "/readyz", timeout=10)
        missing = requests.get(url + "/nope", timeout=10)
    assert ready.json() == {"status": "ok"}
    # Debug mode or not, errors stay JSON: no debugger page in the API.
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/json"
    assert (tmp_path / "mything-dev.db").exists()


@pytest.mark.slow
def test_gunicorn_conf_logs_json_lines_with_request_ids(tmp_path):
    config_file = EXAMPLES / "gunicorn.conf.py"
    settings = runpy.run_path(str(config_file))
    output = tmp_path / "output.log"
    env = {"MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'served.db'}"}
    args = ("-c", str(config_file))
    with gunicorn(
        settings["wsgi_app"], env=env, args=args, cwd=tmp_path, output=output
    ) as url:
        response = requests.get(
            url + "/add?a=1&b=2", headers={"X-Request-ID": "abc-123"}, timeout=10
        )
        hostile = requests.get(
            url + '/orgs/a"b/notes', headers={"X-Request-ID": 'x"y'}, timeout=10
        )
    assert response.json() == {"sum": 3}
    # Every line gunicorn and mything wrote, until gunicorn stopped, is JSON.
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    messages = [line["message"] for line in lines if line["logger"] == "gunicorn.error"]
    assert any(message.startswith("Booting worker") for message in messages)
    assert any(message.startswith("Shutting down") for message in messages)
    access = [line for line in lines if line["logger"] == "mything.access"]
    added = [line for line in access if line["route"] == "/add"]
    assert [(line["request_id"], line["status"], line["user"]) for line in added] == [
        ("abc-123", 200, None)
    ]
    assert added[0]["method"] == "GET"
    assert added[0]["response_bytes"] == len(response.content)
    assert added[0]["duration_ms"] >= 0
    (refused,) = [line for line in access if line["route"] == "/orgs/<slug>/notes"]
    assert refused["request_id"] == hostile.headers["X-Request-ID"] != 'x"y'
    assert refused["status"] == 401

"""Secrets stay secret: tokens are never logged or echoed, the debugger never runs."""

from __future__ import annotations

import logging
import textwrap

import pytest
import requests
from flask import Blueprint
from helpers.processes import gunicorn
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from mything import token_format as tokens

FAILING_APP = """
from flask import Blueprint
from mything import MyThing

thing = MyThing({"DEBUG": True})
failing = Blueprint("failing", __name__)


@failing.get("/fail")
def fail():
    raise RuntimeError("a bug")


thing.flask_app.register_blueprint(failing)
"""


def add_failing_route(app):
    failing = Blueprint("failing", __name__)

    @failing.get("/fail")
    def fail():
        raise RuntimeError("a bug")

    app.register_blueprint(failing)


def test_tokens_never_reach_logs_or_bodies(app, client, alice, caplog):
    add_failing_route(app)
    near_miss = alice.token[:-1] + ("A" if alice.token[-1] != "A" else "B")
    caplog.set_level(logging.DEBUG)
    bodies = []
    for token in (alice.token, near_miss, alice.token + " "):
        headers = {"Authorization": f"Bearer {token}"}
        for path in ("/me", "/orgs/nope", "/fail", "/nope"):
            bodies.append(client.get(path, headers=headers).get_data(as_text=True))
        bodies.append(client.post("/orgs", data="{", headers=headers).text)
    assert any("unhandled exception" in line for line in caplog.messages)
    for text in [caplog.text, *bodies]:
        assert alice.token not in text
        assert near_miss not in text


def test_token_checks_compare_in_constant_time(client, alice, monkeypatch):
    compared = []
    real_compare = tokens.hmac.compare_digest

    def recording_compare(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", recording_compare)
    assert client.get("/me", headers=alice.headers).status_code == 200
    assert compared, "the stored and presented hashes were not compared"
    assert all(a == b for a, b in compared)


def test_debug_mode_in_a_mount_still_answers_json(make_thing):
    thing = make_thing(DEBUG=True)
    add_failing_route(thing.flask_app)
    host = DispatcherMiddleware(lambda environ, start: [], {"/api": thing})
    response = Client(host).get("/api/fail")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.json["message"] == "Internal Server Error"
    assert "Traceback" not in response.text
    assert "a bug" not in response.text


@pytest.mark.slow
def test_debug_mode_under_gunicorn_never_starts_the_debugger(tmp_path):
    (tmp_path / "failing_app.py").write_text(textwrap.dedent(FAILING_APP))
    env = {
        "FLASK_DEBUG": "1",
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
    }
    with gunicorn("failing_app:thing", env=env, cwd=tmp_path) as url:
        failed = requests.get(url + "/fail", timeout=10)
        console = requests.get(url + "/console", timeout=10)
    assert failed.status_code == 500
    assert failed.headers["Content-Type"] == "application/json"
    assert "Traceback" not in failed.text and "a bug" not in failed.text
    # Werkzeug's debugger serves its console here; mything has no such route.
    assert console.status_code == 404
    assert console.headers["Content-Type"] == "application/json"

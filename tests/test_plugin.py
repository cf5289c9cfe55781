"""The pytest plugin that installing mything registers for host applications."""

import textwrap

HOST_TESTS = """
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

host = Flask("host")


@host.get("/")
def index():
    return "the host"


def test_mount_serves_the_user(mything_thing, mything_user):
    app = DispatcherMiddleware(host, {"/api": mything_thing})
    response = Client(app).get("/api/me", headers=mything_user.headers)
    assert response.status_code == 200
    assert response.json == {"name": mything_user.name, "organizations": []}
    assert Client(app).get("/").text == "the host"


def test_client_is_not_mounted(mything_client):
    assert mything_client.get("/add?a=2&b=3").json == {"sum": 5}


def test_each_test_gets_a_fresh_database(mything_thing):
    assert mything_thing.create_user("tester") == {"name": "tester"}
"""

CUSTOM_CONFIG = """
import pytest


@pytest.fixture
def mything_config(mything_config):
    return {**mything_config, "RATELIMIT": "1/minute"}
"""

LIMITED_TEST = """
def test_configured_limit_applies(mything_client):
    assert mything_client.get("/add?a=1&b=1").status_code == 200
    assert mything_client.get("/add?a=1&b=1").status_code == 429
"""


def test_host_project_uses_the_fixtures(pytester):
    pytester.makepyfile(test_host=textwrap.dedent(HOST_TESTS))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_host_project_overrides_the_config(pytester):
    pytester.makeconftest(textwrap.dedent(CUSTOM_CONFIG))
    pytester.makepyfile(test_limits=textwrap.dedent(LIMITED_TEST))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


HOST_PACKAGE = """
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from mything import MyThing


def create_app(config=None):
    config = config or {}
    app = Flask("myhost")
    app.config.update(config)

    @app.get("/")
    def index():
        return "the host"

    app.wsgi_app = DispatcherMiddleware(
        app.wsgi_app, {"/api": MyThing(config.get("MYTHING"))}
    )
    return app
"""

HOST_CONFTEST = """
import pytest

from myhost import create_app


@pytest.fixture
def mything_config(mything_config):
    return {**mything_config, "RATELIMIT": "2/minute"}


@pytest.fixture
def app(mything_config):
    return create_app({"TESTING": True, "MYTHING": mything_config})
"""

HOST_MOUNT_TESTS = """
def test_the_user_works_through_the_host_s_own_mount(app, mything_user):
    client = app.test_client()
    response = client.get("/api/me", headers=mything_user.headers)
    assert response.json == {"name": mything_user.name, "organizations": []}
    assert response.request.url == "http://localhost/api/me"
    assert client.get("/").text == "the host"


def test_the_mount_has_the_overridden_settings(app):
    client = app.test_client()
    statuses = [client.get("/api/add?a=1&b=1").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
"""


def test_host_project_tests_its_own_mount_built_by_its_factory(pytester):
    pytester.makepyfile(myhost=textwrap.dedent(HOST_PACKAGE))
    pytester.makeconftest(textwrap.dedent(HOST_CONFTEST))
    pytester.makepyfile(test_mount=textwrap.dedent(HOST_MOUNT_TESTS))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)

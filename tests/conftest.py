"""Fixtures for mything's tests: the talk's ``app``, ``client`` and ``thing``.

``thing`` is the shipped pytest plugin's ``mything_thing`` (see
:mod:`mything.testing`), so the suite uses the fixtures a host application
uses; a module that needs other settings overrides ``mything_config``, as a
host would. Helpers that are not fixtures live in the ``helpers`` package.

Every test gets its own database. Tests marked ``@pytest.mark.databases(
*ALL_DATABASES)`` run once per backend (see :mod:`helpers.databases`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from helpers.browser import chromium
from helpers.callers import make_caller
from helpers.databases import mysql_database, postgresql_schema

from mything import MyThing
from mything.app import ApiFlask
from mything.db import get_database
from mything.testing import TestUser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "databases(*names): run the test on each named database backend"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_uri" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        backends = marker.args if marker else ("sqlite",)
        metafunc.parametrize("database_uri", backends, indirect=True)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's MYTHING_* settings out of the tests."""
    for key in list(os.environ):
        if key.startswith("MYTHING_"):
            monkeypatch.delenv(key)


@pytest.fixture
def database_uri(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URI of an empty database of the backend the test runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mything.db'}"
        return
    server = postgresql_schema if request.param == "postgresql" else mysql_database
    with server() as uri:
        yield uri


@pytest.fixture
def mything_config(database_uri: str) -> dict[str, Any]:
    """The plugin's configuration, on the database of the test's backend."""
    return {"DATABASE_URI": database_uri}


@pytest.fixture
def thing(mything_thing: MyThing) -> MyThing:
    """A :class:`MyThing` on its own empty database: the plugin's ``mything_thing``."""
    return mything_thing


@pytest.fixture
def make_thing(tmp_path) -> Iterator:
    """Build MyThings on demand, closing their databases after the test.

    ``make_thing({"PAGE_SIZE": 5})`` or ``make_thing(PAGE_SIZE=5)``; each
    thing gets a SQLite database of its own unless the config names one.
    """
    things: list[MyThing] = []

    def make(config: dict | None = None, /, **settings: object) -> MyThing:
        database = f"sqlite:///{tmp_path / f'thing{len(things)}.db'}"
        things.append(MyThing({"DATABASE_URI": database, **(config or {}), **settings}))
        return things[-1]

    yield make
    for made in things:
        get_database(made.flask_app).dispose()


@pytest.fixture
def app(thing: MyThing) -> ApiFlask:
    """The Flask app of ``thing``."""
    return thing.flask_app


@pytest.fixture
def client(app: ApiFlask):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def alice(thing: MyThing) -> TestUser:
    """The user alice, with a token."""
    return make_caller(thing, "alice")


@pytest.fixture
def bob(thing: MyThing) -> TestUser:
    """The user bob, with a token."""
    return make_caller(thing, "bob")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, or a skip saying what is missing."""
    with chromium() as browser:
        yield browser

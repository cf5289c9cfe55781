"""Fixtures for mything's tests: the talk's ``app``, ``client`` and ``thing``.

The ``browser`` fixture is a headless Chromium: Debian's ``chromium``
package (``/usr/bin/chromium``, or the path in ``TEST_MYTHING_CHROMIUM``),
driven by the ``playwright`` Python package, never a downloaded browser.

Every test gets its own database. Tests marked ``@pytest.mark.databases(
*ALL_DATABASES)`` run once per backend: SQLite, PostgreSQL and MySQL (or
MariaDB). PostgreSQL tests use a schema of their own in the database named by
``TEST_MYTHING_POSTGRESQL_URI`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); MySQL tests a database
of their own on the server of ``TEST_MYTHING_MYSQL_URI`` (default
``mysql://root@127.0.0.1:3306/test``). Either is skipped, with the reason
shown, when its server is not reachable — unless
``TEST_MYTHING_REQUIRE_SERVICES=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy
from sqlalchemy import select

from mything import MyThing
from mything.app import ApiFlask
from mything.db import get_database
from mything.tables import metadata

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytest_plugins = ["pytester"]

POSTGRESQL_URI = os.environ.get(
    "TEST_MYTHING_POSTGRESQL_URI",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
MYSQL_URI = os.environ.get("TEST_MYTHING_MYSQL_URI", "mysql://root@127.0.0.1:3306/test")
REQUIRE_SERVICES = os.environ.get("TEST_MYTHING_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("TEST_MYTHING_CHROMIUM", "/usr/bin/chromium")
# Without these, a Chromium on a machine with no internet access waits for
# its own background services (updates, sync, QUIC probes) to time out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Every database backend mything supports, for ``@pytest.mark.databases``.
ALL_DATABASES = ("sqlite", "postgresql", "mysql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "databases(*names): run the test on each named database backend"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_uri" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("databases")
        backends = marker.args if marker else ("sqlite",)
        metafunc.parametrize("database_uri", backends, indirect=True)


def unavailable(reason: str) -> None:
    """Skip the test because a service is missing, or fail if services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (TEST_MYTHING_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


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


class postgresql_schema:
    """A throwaway PostgreSQL schema; its URI sets the search path to it."""

    def __enter__(self) -> str:
        self.name = f"mything_test_{uuid.uuid4().hex[:12]}"
        self.admin = sqlalchemy.create_engine(POSTGRESQL_URI)
        try:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        except sqlalchemy.exc.OperationalError as exc:
            self.admin.dispose()
            unavailable(f"PostgreSQL is not reachable at {POSTGRESQL_URI}: {exc.orig}")
        url = sqlalchemy.make_url(POSTGRESQL_URI).update_query_dict(
            {"options": f"-csearch_path={self.name}"}
        )
        return url.render_as_string(hide_password=False)

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{self.name}" CASCADE')
        self.admin.dispose()


class mysql_database:
    """A throwaway MySQL (or MariaDB) database on the server of MYSQL_URI."""

    def __enter__(self) -> str:
        self.name = f"mything_test_{uuid.uuid4().hex[:12]}"
        server = sqlalchemy.make_url(MYSQL_URI).set(drivername="mysql+pymysql")
        self.admin = sqlalchemy.create_engine(server)
        try:
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE `{self.name}`")
        except sqlalchemy.exc.OperationalError as exc:
            self.admin.dispose()
            unavailable(f"MySQL is not reachable at {MYSQL_URI}: {exc.orig}")
        return server.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE `{self.name}`")
        self.admin.dispose()


@pytest.fixture
def thing(database_uri: str) -> Iterator[MyThing]:
    """A :class:`MyThing` on its own empty database."""
    thing = MyThing({"DATABASE_URI": database_uri})
    yield thing
    get_database(thing.flask_app).dispose()


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


def stored_rows(app: ApiFlask) -> dict[str, list]:
    """Every row of every table, to show that a request changed nothing.

    Except when a token was last used: every request made with a token
    records that, whatever its outcome.
    """
    with get_database(app).engine.connect() as connection:
        return {
            table.name: connection.execute(
                select(*(c for c in table.c if c.name != "last_used_at")).order_by(
                    *table.primary_key
                )
            ).all()
            for table in metadata.sorted_tables
        }


@dataclass
class Caller:
    """A user with a token, and the headers that authenticate as it."""

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_caller(thing: MyThing, name: str) -> Caller:
    thing.create_user(name)
    return Caller(name, thing.create_token(name))


@pytest.fixture
def alice(thing: MyThing) -> Caller:
    """The user alice, with a token."""
    return make_caller(thing, "alice")


@pytest.fixture
def bob(thing: MyThing) -> Caller:
    """The user bob, with a token."""
    return make_caller(thing, "bob")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()

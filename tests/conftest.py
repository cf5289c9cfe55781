"""Fixtures for mything's tests: the talk's ``app``, ``client`` and ``thing``.

Every test gets its own database. Tests marked ``@pytest.mark.databases(
"sqlite", "postgresql")`` run once per backend; PostgreSQL tests use a schema
of their own in the database named by ``MYTHING_TEST_POSTGRESQL_URI``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and are
skipped, with the reason shown, when it is not reachable — unless
``MYTHING_TEST_REQUIRE_SERVICES=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy
from sqlalchemy import select

from mything import MyThing
from mything.app import ApiFlask
from mything.db import get_database, metadata

pytest_plugins = ["pytester"]

POSTGRESQL_URI = os.environ.get(
    "MYTHING_TEST_POSTGRESQL_URI",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
REQUIRE_SERVICES = os.environ.get("MYTHING_TEST_REQUIRE_SERVICES") == "1"


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
        pytest.fail(f"{reason} (MYTHING_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's MYTHING_* settings out of the tests."""
    for key in list(os.environ):
        if key.startswith("MYTHING_") and not key.startswith("MYTHING_TEST_"):
            monkeypatch.delenv(key)


@pytest.fixture
def database_uri(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URI of an empty database of the backend the test runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mything.db'}"
        return
    with postgresql_schema() as uri:
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

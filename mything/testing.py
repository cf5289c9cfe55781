"""pytest fixtures for applications that mount mything.

Installing mything registers this module as a pytest plugin, so a host
application's tests can use these fixtures without writing them again::

    # conftest.py in the host application: its own factory, mything's database
    @pytest.fixture
    def app(mything_config):
        return create_app({"TESTING": True, "MYTHING": mything_config})

    # test_api_mount.py
    def test_notes_are_served_under_api(app, mything_user):
        response = app.test_client().get("/api/me", headers=mything_user.headers)
        assert response.json["name"] == mything_user.name

The host's factory builds its own ``MyThing`` from ``mything_config``; it and
``mything_thing`` use one database, so they share users and tokens, and the
test goes through the mount the application really has (its prefix, its
middleware, its authentication bridge).

Fixtures:

``mything_config``
    The configuration of the test's ``MyThing``: a throwaway SQLite database
    in the test's temporary directory. Override it in a ``conftest.py`` to
    change settings, by a fixture of the same name that asks for it::

        @pytest.fixture
        def mything_config(mything_config):
            return {**mything_config, "RATELIMIT": "5/minute"}

``mything_thing``
    A :class:`~mything.MyThing` built from ``mything_config``.
``mything_client``
    A Flask test client of ``mything_thing``, not mounted anywhere.
``mything_user``
    A user of ``mything_thing`` with a fresh token: ``.name``, ``.token``,
    and ``.headers`` to authenticate a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .db import get_database
from .thing import MyThing


@dataclass(frozen=True)
class TestUser:
    """A user with a token, and the headers that authenticate as it."""

    __test__ = False  # Not a test class, despite its name.

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def mything_config(tmp_path: Path) -> dict[str, Any]:
    """The configuration of ``mything_thing``; override it to change settings."""
    return {"DATABASE_URI": f"sqlite:///{tmp_path / 'mything.db'}"}


@pytest.fixture
def mything_thing(mything_config: dict[str, Any]) -> Iterator[MyThing]:
    """A ``MyThing`` on a throwaway database, closed after the test."""
    thing = MyThing(mything_config)
    yield thing
    get_database(thing.flask_app).dispose()


@pytest.fixture
def mything_client(mything_thing: MyThing) -> Any:
    """A Flask test client of ``mything_thing``."""
    return mything_thing.flask_app.test_client()


@pytest.fixture
def mything_user(mything_thing: MyThing) -> TestUser:
    """A user of ``mything_thing`` with a token."""
    mything_thing.create_user("tester")
    return TestUser("tester", mything_thing.create_token("tester"))

"""The three ways to call mything's Python API, for tests that hold them equal.

A :class:`Target` hands out one user's API: ``thing.as_user(name)`` in
process, a :class:`~mything.Client` over ``httpx.WSGITransport``, or a
:class:`~mything.Client` against a real gunicorn on PostgreSQL. Its
``thing`` makes users and tokens (the administrative operations) on the
target's database.

Targets live for a whole test module, so each test works in a
:class:`World` of its own: every user name and slug it makes starts with
the world's prefix, and :func:`normalized` removes what differs between
worlds (prefixes, ids, timestamps, secrets, cursors) from a record of
outcomes, so that two worlds that did the same things compare equal.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.databases import postgresql_schema
from helpers.processes import gunicorn
from mything import ApiException, Client, MyThing
from mything.db import get_database

#: The settings of every target: small pages, so that listings have several.
#: Webhooks may point at loopback (nothing is delivered: no worker runs).
SETTINGS = {
    "PAGE_SIZE": 3,
    "RATELIMIT_ENABLED": False,
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_ALLOW_HTTP": True,
}
#: Every target's name, the in-process one first.
TARGETS = ("python", "wsgi", "gunicorn")


@dataclass
class Target:
    """One way to call mything: ``connect(name, token)`` returns a user's API."""

    name: str
    thing: MyThing
    connect: Callable[[str, str], Any]
    clients: list[Client] = field(default_factory=list)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        get_database(self.thing.flask_app).dispose()


@contextlib.contextmanager
def target(name: str, directory: Path) -> Iterator[Target]:
    """Start the target ``name``, with its database under ``directory``."""
    if name == "gunicorn":
        with postgresql_schema() as uri, _served(uri) as (thing, url):
            made = Target(name, thing, lambda user, token: None)
            made.connect = _client_maker(made, url)
            try:
                yield made
            finally:
                made.close()
        return
    database = f"sqlite:///{directory / f'{name}.db'}"
    thing = MyThing({"DATABASE_URI": database, **SETTINGS})
    made = Target(name, thing, lambda user, token: thing.as_user(user))
    if name == "wsgi":
        made.connect = _client_maker(made, "http://testserver", thing)
    try:
        yield made
    finally:
        made.close()


@contextlib.contextmanager
def _served(uri: str) -> Iterator[tuple[MyThing, str]]:
    thing = MyThing({"DATABASE_URI": uri, **SETTINGS})
    thing.init_db()
    env = {f"MYTHING_{key}": json.dumps(value) for key, value in SETTINGS.items()}
    env["MYTHING_DATABASE_URI"] = uri
    with pytest.MonkeyPatch.context() as monkeypatch:
        # The server must not see a developer's own MYTHING_* settings.
        for key in list(os.environ):
            if key.startswith("MYTHING_"):
                monkeypatch.delenv(key)
        with gunicorn("mything:MyThing()", env=env, workers=2) as url:
            yield thing, url


def _client_maker(
    made: Target, url: str, app: MyThing | None = None
) -> Callable[[str, str], Client]:
    def connect(user: str, token: str) -> Client:
        transport = httpx.WSGITransport(app=app) if app is not None else None
        client = Client(url, token, transport=transport)
        made.clients.append(client)
        return client

    return connect


class World:
    """The users and slugs of one test on one target, named with a fresh prefix."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.thing = target.thing
        self.prefix = f"w{uuid.uuid4().hex[:8]}-"
        self._apis: dict[str, Any] = {}

    def name(self, short: str) -> str:
        """The world's name for the user or organization ``short``."""
        return self.prefix + short

    def user(self, short: str) -> Any:
        """The API of the world's user ``short``, created on first use."""
        if short not in self._apis:
            name = self.name(short)
            self.thing.create_user(name)
            token = self.thing.create_token(name, label="conformance")
            self._apis[short] = self.target.connect(name, token)
        return self._apis[short]


def outcome(call: Callable[[], Any]) -> tuple:
    """Call ``call``; return what it returned, or the error it raised, as data."""
    try:
        value = call()
        if isinstance(value, Iterator):
            value = list(value)
    except ApiException as error:
        return ("error", type(error).__name__, error.status, error.code,
                error.message, error.errors)  # fmt: skip
    return ("ok", json.loads(json.dumps(value)))


#: Keys whose values differ between worlds that did the same things.
_TIMES = {
    "created_at",
    "updated_at",
    "expires_at",
    "last_used_at",
    "at",
    "last_attempt_at",
    "next_attempt_at",
}


def normalized(record: Any, prefix: str) -> Any:
    """``record`` without what differs between worlds.

    The prefix goes from every string; timestamps, cursors and secrets
    become placeholders; ids become their order of appearance, per kind of
    object (notes, tokens and invitations count apart).
    """
    ids: dict[tuple[str, int], str] = {}
    counter = itertools.count(1)

    def kind(value: dict) -> str:
        kinds = (
            ("title", "note"),
            ("scope", "token"),
            ("invited_by", "inv"),
            ("url", "webhook"),
            ("event_type", "delivery"),
        )
        for key, name in (*kinds, ("sequence", "event")):
            if key in value:
                return name
        return "other"

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "id" and isinstance(v, int | str):
                    out[k] = ids.setdefault((kind(value), v), f"#{next(counter)}")
                else:
                    out[k] = walk(v, k)
            return out
        if isinstance(value, list | tuple):
            return type(value)(walk(item) for item in value)
        if isinstance(value, str):
            if key in _TIMES:
                return "<time>"
            if key == "next_cursor":
                return "<cursor>"
            if key in ("token", "secret"):
                return "<secret>"
            if key == "event_id":
                return "<event>"
            if key == "request_id":
                # An event made over HTTP records its request's id; in
                # process there is none.
                return None
            return value.replace(prefix, "")
        if key == "last_used_at":
            return "<time>"
        return value

    return walk(record)

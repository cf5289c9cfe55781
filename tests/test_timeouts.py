"""A database that stops answering is an error, not a hang.

With ``DATABASE_TIMEOUT`` every statement and every connection attempt is
bounded: the client gets a ``503`` in the error shape within the timeout
plus a second, and the connection that timed out is discarded rather than
handed to the next request. Two ways a database stops answering are
brought about for real:

- a statement blocked on the server by a lock that another session holds
  (on every backend);
- a database host that drops off the network, its packets lost rather than
  refused: a private PostgreSQL cluster in a network namespace of the
  test's own, whose link the test sets down (see :mod:`helpers.netns`).

The one duration measured, against ``DATABASE_TIMEOUT + 1``, is the
requirement itself; every other wait is a generous safety net.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
import sqlalchemy
from helpers.callers import make_caller
from helpers.databases import ALL_DATABASES
from helpers.netns import network_namespace, postgresql_cluster_in

from mything import MyThing
from mything.db import DriverStatement, get_database, get_db

pytestmark = pytest.mark.slow

T = TypeVar("T")

NOTES = "/orgs/acme/notes"
#: The requirement: a 503 no later than this long after DATABASE_TIMEOUT.
GRACE = 1.0


def check_unavailable(response) -> None:
    """Assert that ``response`` is a 503 in mything's error shape."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json()
    assert body == {
        "message": body["message"],
        "status": 503,
        "code": "unavailable",
        "request_id": response.headers["X-Request-ID"],
    }
    assert isinstance(body["message"], str) and body["message"]


@contextlib.contextmanager
def thing_with_timeout(
    database_uri: str, timeout: float
) -> Iterator[tuple[MyThing, dict[str, str]]]:
    """Yield a MyThing bounded by ``timeout``, and the headers of its alice.

    Alice owns the organization acme, which has a note.
    """
    thing = MyThing(
        {"DATABASE_URI": database_uri, "DATABASE_TIMEOUT": timeout},
    )
    try:
        alice = make_caller(thing, "alice")
        api = thing.as_user("alice")
        api.create_organization("acme", name="Acme")
        api.create_note("acme", title="before")
        yield thing, alice.headers
    finally:
        get_database(thing.flask_app).dispose()


def timed(request: Callable[[], T]) -> tuple[T, float]:
    """Return what ``request()`` returned, and how many seconds it took."""
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def invalidations(thing: MyThing) -> list[BaseException | None]:
    """Return a list that collects every connection the app's pool discards.

    SQLAlchemy's ``invalidate`` event fires when a pooled connection is
    closed as broken instead of being returned for reuse.
    """
    seen: list[BaseException | None] = []

    def record(dbapi_connection, connection_record, exception) -> None:
        seen.append(exception)

    sqlalchemy.event.listen(get_database(thing.flask_app).engine, "invalidate", record)
    return seen


# Another session holds a lock that the request needs


@contextlib.contextmanager
def notes_locked(database_uri: str) -> Iterator[None]:
    """Hold a lock, from a session of its own, that blocks the notes table.

    PostgreSQL and MariaDB: no other session may even read the notes until
    the block ends. SQLite has one writer at a time, so there the lock is
    the database's write lock, and only writes wait for it.
    """
    url = sqlalchemy.make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            if url.get_backend_name() == "postgresql":
                connection.exec_driver_sql(
                    "LOCK TABLE mything_notes IN ACCESS EXCLUSIVE MODE"
                )
                yield
                connection.rollback()
            else:
                connection.exec_driver_sql("LOCK TABLES mything_notes WRITE")
                yield
                connection.exec_driver_sql("UNLOCK TABLES")
    finally:
        engine.dispose()


def blocked_request(client, database_uri: str, headers: dict[str, str]):
    """Make the request that the lock of :func:`notes_locked` blocks."""
    if sqlalchemy.make_url(database_uri).get_backend_name() == "sqlite":
        return client.post(NOTES, json={"title": "blocked"}, headers=headers)
    return client.get(NOTES, headers=headers)


@pytest.mark.databases(*ALL_DATABASES)
def test_a_blocked_statement_is_a_503_within_the_timeout(database_uri):
    timeout = 2
    with thing_with_timeout(database_uri, timeout) as (thing, headers):
        client = thing.flask_app.test_client()
        # A pooled connection exists, as in a server that has been serving.
        assert client.get(NOTES, headers=headers).status_code == 200
        discarded = invalidations(thing)
        server = sqlalchemy.make_url(database_uri).get_backend_name() != "sqlite"

        with notes_locked(database_uri):
            response, elapsed = timed(
                lambda: blocked_request(client, database_uri, headers)
            )
            check_unavailable(response)
            assert elapsed < timeout + GRACE, f"answered after {elapsed:.2f} s"
            if server:
                # Its session may still be busy on the server: it must not
                # serve the next request. (A SQLite connection that did not
                # get the write lock has nothing left running, and may be
                # reused; the request below shows that it works.)
                assert len(discarded) == 1, discarded

        # The lock is gone, and so is the outage.
        response = blocked_request(client, database_uri, headers)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        assert client.get(NOTES, headers=headers).status_code == 200
        if server:
            assert len(discarded) == 1, discarded


@pytest.mark.databases("postgresql")
def test_a_driver_statement_that_times_out_discards_its_connection(database_uri):
    # The statements every request runs go to psycopg's cursor, past
    # SQLAlchemy (DriverStatement): one that times out must leave its
    # connection out of the pool, as SQLAlchemy's own statements do.
    sleep = DriverStatement(
        sqlalchemy.select(sqlalchemy.func.pg_sleep(sqlalchemy.bindparam("seconds")))
    )
    with thing_with_timeout(database_uri, 1) as (thing, headers):
        discarded = invalidations(thing)
        with thing.flask_app.app_context():
            with pytest.raises(sqlalchemy.exc.OperationalError) as timed_out:
                sleep.first(get_db(), {"seconds": 5})
        assert timed_out.value.connection_invalidated
        assert len(discarded) == 1, discarded
        client = thing.flask_app.test_client()
        assert client.get(NOTES, headers=headers).status_code == 200


# The database host drops off the network


def test_a_database_host_that_vanishes_is_a_503_within_the_timeout():
    timeout = 4
    with (
        network_namespace() as namespace,
        postgresql_cluster_in(namespace) as cluster,
        thing_with_timeout(cluster.uri, timeout) as (thing, headers),
    ):
        client = thing.flask_app.test_client()
        # The pool holds a connection to the host, established and idle.
        assert client.get(NOTES, headers=headers).status_code == 200
        discarded = invalidations(thing)

        namespace.cut()
        # Nothing came back to say that the pooled connection is dead, so
        # its first statement is sent, and the client gives up on it
        # (tcp_user_timeout) and discards it: that must fit in the bound.
        response, elapsed = timed(lambda: client.get(NOTES, headers=headers))
        check_unavailable(response)
        assert elapsed < timeout + GRACE, f"answered after {elapsed:.2f} s"
        assert len(discarded) >= 1, discarded
        # Packets were lost, not refused: the fault is the one meant.
        assert namespace.dropped() > 0

        # With the dead connection gone, the next request only waits for
        # its own connection attempt.
        response, elapsed = timed(lambda: client.get(NOTES, headers=headers))
        check_unavailable(response)
        assert elapsed < timeout + GRACE, f"answered after {elapsed:.2f} s"

        # Once the host is back, mything serves again on its own.
        namespace.restore()
        response = client.get(NOTES, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)

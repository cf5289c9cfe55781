"""Storage: the schema, SQLite's settings, transactions and pooled connections."""

import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from helpers.databases import ALL_DATABASES, recorded_statements
from sqlalchemy import bindparam, create_engine, event, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from mything import ApiException, ConfigError, MyThing
from mything.db import DriverStatement, get_database, get_db
from mything.encoding import isoformat
from mything.migrations import VERSION_TABLE
from mything.tables import metadata, note_tags, organizations, timestamp_formatter

pytestmark = pytest.mark.databases(*ALL_DATABASES)

SQL = "'; DROP TABLE notes; --"


def table_names(app):
    return set(inspect(get_database(app).engine).get_table_names())


#: What a ready database holds: mything's tables and its revision.
SCHEMA = {*metadata.tables, VERSION_TABLE}


def user_names(app):
    with get_database(app).engine.connect() as connection:
        users = metadata.tables["mything_users"]
        return connection.execute(select(users.c.name).order_by(users.c.name)).all()


@pytest.fixture
def trusting_client(database_uri):
    """A client of a thing that trusts the host's ``REMOTE_USER``."""
    thing = MyThing({"DATABASE_URI": database_uri, "TRUST_REMOTE_USER": True})
    yield thing.flask_app.test_client()
    get_database(thing.flask_app).dispose()


def test_the_schema_is_created_on_first_use(app, client):
    assert table_names(app) == set()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert table_names(app) == SCHEMA


def test_init_db_creates_the_schema_and_can_run_again(thing, app):
    thing.init_db()
    thing.init_db()

    assert table_names(app) == SCHEMA


def test_init_db_keeps_the_data(thing, client, alice):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    client.post("/orgs/acme/notes", json={"title": "a"}, headers=alice.headers)
    client.post("/orgs/acme/notes", json={"title": "b"}, headers=alice.headers)
    first = client.get("/orgs/acme/notes?limit=1", headers=alice.headers).get_json()

    thing.init_db()
    thing.init_db()

    me = client.get("/me", headers=alice.headers)
    assert me.get_json() == {"name": "alice", "organizations": ["acme"]}
    # The secret that signs cursors is data too: a cursor survives.
    rest = client.get(
        "/orgs/acme/notes",
        query_string={"cursor": first["next_cursor"]},
        headers=alice.headers,
    )
    assert [note["title"] for note in rest.get_json()["items"]] == ["a"]


@pytest.mark.databases("sqlite")
def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        connection = get_db()
        journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout > 0


@pytest.mark.databases("sqlite")
def test_sqlite_reads_take_no_lock_and_writes_take_the_write_lock_first(
    app, client, alice
):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    with recorded_statements(app) as statements:
        read = client.get("/orgs/acme/notes", headers=alice.headers)
    assert read.status_code == 200
    # A reader runs in autocommit: no BEGIN that could block a writer.
    assert not [s for s in statements if s.startswith("BEGIN")]
    assert statements

    with recorded_statements(app) as statements:
        written = client.post(
            "/orgs/acme/notes", json={"title": "t", "body": "b"}, headers=alice.headers
        )
    assert written.status_code == 201
    # A writer takes the write lock before it reads anything.
    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements.count("BEGIN IMMEDIATE") == 1


def test_a_driver_statement_writes_and_fails_as_sqlalchemy_would(app, alice):
    # DriverStatement runs its SQL on the driver on SQLite and PostgreSQL,
    # and through SQLAlchemy on MySQL: the same rows either way, and the
    # same errors.
    thing = app.my_thing
    thing.as_user("alice").create_organization("acme", name="Acme")
    stamp = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
    rename = DriverStatement(
        update(organizations)
        .where(organizations.c.slug == bindparam("old"))
        .values(name=bindparam("new_name"), created_at=bindparam("stamp"))
    )
    tags = DriverStatement(insert(note_tags))
    with app.app_context():
        db = get_db()
        rename.execute(db, {"old": "acme", "new_name": "A", "stamp": stamp})
        named = select(organizations.c.name, organizations.c.created_at).where(
            organizations.c.slug == bindparam("slug")
        )
        row = db.execute(named, {"slug": "acme"}).one()
        # Bound through the column's type, as SQLAlchemy binds it.
        assert (row.name, row.created_at.astimezone(UTC)) == ("A", stamp)
        # And read through it, as SQLAlchemy reads it.
        assert tuple(DriverStatement(named).first(db, {"slug": "acme"})) == tuple(row)
        assert DriverStatement(named).first(db, {"slug": "none"}) is None
        no_note = {"note_id": 10**6, "tag": "t", "position": 0}
        with pytest.raises(IntegrityError):
            tags.execute(db, [no_note])
        db.rollback()
    # Not committed: the rollback undid the rename.
    assert thing.as_user("alice").organization("acme")["name"] == "Acme"


@pytest.mark.databases("sqlite")
def test_a_sqlite_writer_holds_the_write_lock_from_its_first_read(app, alice):
    thing = app.my_thing
    thing.as_user("alice").create_organization("acme", name="Acme")
    with app.app_context():
        with get_database(app).connect(write=True) as writer:
            writer.exec_driver_sql("SELECT 1").scalar()
            # Another writer cannot start while the first is open.
            other = sqlite3.connect(get_database(app).url.database, timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
            writer.rollback()


def test_a_successful_request_is_committed(database_uri, client, alice):
    created = client.post(
        "/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers
    )

    # Another app on the same database has its own engine and connections.
    other = MyThing({"DATABASE_URI": database_uri})
    try:
        stored = other.as_user("alice").organization("acme")
    finally:
        get_database(other.flask_app).dispose()
    assert created.status_code == 201
    assert stored == created.get_json()


def test_a_failed_request_is_rolled_back(trusting_client):
    app = trusting_client.application
    trusting_client.get("/me", environ_base={"REMOTE_USER": "alice"})

    # Authenticating carol creates her; the invalid body then fails the
    # request, and her creation must go with it.
    response = trusting_client.post(
        "/orgs",
        json={"slug": "not a slug", "name": "Carol's"},
        environ_base={"REMOTE_USER": "carol"},
    )

    assert response.status_code == 400
    assert user_names(app) == [("alice",)]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/me", None),
        ("get", "/orgs", None),
        ("post", "/orgs", {"slug": "globex", "name": "Globex"}),
        ("post", "/orgs", {"slug": "acme", "name": "Taken"}),
        ("post", "/orgs", {"slug": "Not A Slug"}),
        ("get", "/orgs/acme/notes", None),
        ("get", "/orgs/acme/notes?cursor=nonsense", None),
        ("get", "/orgs/nope/notes", None),
        ("delete", "/orgs/acme/members/alice", None),
    ],
)
def test_every_request_returns_its_connection(app, client, alice, method, path, body):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)

    response = getattr(client, method)(path, json=body, headers=alice.headers)

    assert response.status_code < 500
    assert get_database(app).engine.pool.checkedout() == 0


def test_python_calls_return_their_connection(thing, app, alice):
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    with pytest.raises(ApiException):
        api.note("acme", 1)

    assert get_database(app).engine.pool.checkedout() == 0


def test_sql_in_titles_bodies_and_tags_is_stored_verbatim(app, client, alice):
    client.post("/orgs", json={"slug": "acme", "name": SQL}, headers=alice.headers)
    created = client.post(
        "/orgs/acme/notes",
        json={"title": SQL, "body": SQL, "tags": [SQL]},
        headers=alice.headers,
    )

    note = client.get(created.headers["Location"], headers=alice.headers).get_json()
    tagged = client.get(
        "/orgs/acme/notes", query_string={"tag": SQL}, headers=alice.headers
    )
    organization = client.get("/orgs/acme", headers=alice.headers).get_json()
    assert (note["title"], note["body"], note["tags"]) == (SQL, SQL, [SQL])
    assert tagged.get_json()["items"] == [note]
    assert organization["name"] == SQL
    assert table_names(app) == SCHEMA


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/orgs/{sql}", 404),
        ("get", "/orgs/{sql}/notes", 404),
        ("get", "/orgs/acme/notes?tag={sql}", 200),
        ("delete", "/orgs/acme/members/{sql}", 404),
    ],
)
def test_sql_in_lookups_matches_nothing(app, client, alice, method, path, status):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    client.post("/orgs/acme/notes", json={"title": "kept"}, headers=alice.headers)

    response = getattr(client, method)(
        path.format(sql=quote(SQL, safe="")), headers=alice.headers
    )

    assert response.status_code == status
    assert response.get_json().get("items", []) == []
    assert table_names(app) == SCHEMA
    notes = client.get("/orgs/acme/notes", headers=alice.headers).get_json()
    assert [note["title"] for note in notes["items"]] == ["kept"]


def test_notes_show_their_stored_moments_to_the_microsecond(app, client, alice):
    # Pages and notes format the driver's raw value; it must say what the
    # database holds, read back through the column's own type.
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    created = client.post(
        "/orgs/acme/notes", json={"title": "t", "tags": ["a"]}, headers=alice.headers
    ).get_json()
    client.patch(  # so that the two moments differ
        f"/orgs/acme/notes/{created['id']}", json={"title": "u"}, headers=alice.headers
    )
    notes = metadata.tables["mything_notes"]
    with get_database(app).engine.connect() as connection:
        stored = connection.execute(
            select(notes.c.created_at, notes.c.updated_at).where(
                notes.c.id == created["id"]
            )
        ).one()

    note = client.get(f"/orgs/acme/notes/{created['id']}", headers=alice.headers)
    page = client.get("/orgs/acme/notes", headers=alice.headers).get_json()
    expected = [isoformat(stored.created_at), isoformat(stored.updated_at)]
    assert created["created_at"] == expected[0]
    for shown in (note.get_json(), page["items"][0]):
        assert [shown["created_at"], shown["updated_at"]] == expected


@pytest.mark.databases("sqlite")
@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-01-02 03:04:05.678901", "2026-01-02T03:04:05.678901Z"),
        ("2026-01-02 03:04:05", "2026-01-02T03:04:05.000000Z"),
        ("2026-01-02T03:04:05.5", "2026-01-02T03:04:05.500000Z"),
    ],
)
def test_sqlite_text_of_any_precision_is_shown_to_the_microsecond(stored, shown):
    assert timestamp_formatter(sqlite.dialect())(stored) == shown


@pytest.mark.databases("sqlite")
def test_moments_from_other_zones_and_naive_ones_are_shown_in_utc():
    text = timestamp_formatter(postgresql.dialect())
    tokyo = timezone(timedelta(hours=9))
    assert text(datetime(2026, 1, 2, 12, 0, 0, 5, tzinfo=tokyo)) == (
        "2026-01-02T03:00:00.000005Z"
    )
    assert text(datetime(2026, 1, 2, 3, 0)) == "2026-01-02T03:00:00.000000Z"


# A pooled connection that the server has closed


def backend_id(connection) -> int:
    """Return the server's id of the session behind ``connection``."""
    if connection.dialect.name == "postgresql":
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    return connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one()


def end_session(database_uri: str, session: int) -> None:
    """End ``session`` from another connection, as a restart or an admin would."""
    # Autocommit: PostgreSQL shows a transaction one snapshot of its sessions.
    admin = create_engine(
        database_uri, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            if admin.dialect.name == "postgresql":
                ended = connection.exec_driver_sql(
                    f"SELECT pg_terminate_backend({session})"
                ).scalar_one()
                assert ended
            else:
                connection.exec_driver_sql(f"KILL {session}")
            # The server closes the session's socket soon after, not at once.
            for _ in range(100):
                if session not in sessions(connection):
                    return
                time.sleep(0.05)
            raise AssertionError(f"session {session} did not end")
    finally:
        admin.dispose()


def sessions(connection) -> set[int]:
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql("SELECT pid FROM pg_stat_activity")
    else:
        rows = connection.exec_driver_sql(
            "SELECT id FROM information_schema.processlist"
        )
    return set(rows.scalars())


@pytest.mark.databases("postgresql", "mysql")
def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    database_uri, app, client, alice
):
    created = client.post(
        "/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers
    )
    assert created.status_code == 201
    engine = get_database(app).engine
    with engine.connect() as connection:
        pooled = backend_id(connection)
    assert engine.pool.checkedin() == 1  # the one connection every request reuses

    end_session(database_uri, pooled)

    # Neither a read nor a write notices: the dead connection is discarded
    # when it is taken from the pool, and a new one is opened.
    response = client.get("/orgs/acme/notes", headers=alice.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.post(
        "/orgs/acme/notes", json={"title": "After"}, headers=alice.headers
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    with engine.connect() as connection:
        assert backend_id(connection) != pooled


@pytest.mark.databases("sqlite")
def test_building_a_thing_opens_nothing_and_creates_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    thing = MyThing()  # The default database: mything.db, here.
    connections = []
    engine = get_database(thing.flask_app).engine
    event.listen(engine, "connect", lambda *args: connections.append(args))

    assert thing.add_numbers(1, 2) == {"sum": 3}
    assert list(tmp_path.iterdir()) == []
    assert connections == []

    thing.create_user("alice")
    assert (tmp_path / "mything.db").exists()
    get_database(thing.flask_app).dispose()


@pytest.mark.databases("sqlite")
def test_building_a_thing_on_a_database_that_does_not_answer_succeeds():
    # Port 1 on the loopback: refused at once, whenever something connects.
    thing = MyThing({"DATABASE_URI": "postgresql://mything@127.0.0.1:1/mything"})

    assert thing.flask_app.test_client().get("/healthz").status_code == 200
    ready = thing.flask_app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["code"] == "unavailable"


@pytest.mark.databases("sqlite")
def test_a_bad_setting_still_fails_when_the_thing_is_built(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        MyThing({"DATABASE_URI": "nosuchdb://x"})
    assert "DATABASE_URI" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.databases("postgresql", "mysql")
def test_a_driver_statement_on_a_lost_connection_invalidates_it(
    database_uri, app, client, alice
):
    # On PostgreSQL a DriverStatement runs on psycopg's cursor, past
    # SQLAlchemy: a session that the server ended is an error that says the
    # connection was invalidated (a 503), and the connection is not pooled
    # again, as SQLAlchemy does it (on MySQL, by SQLAlchemy).
    organization = DriverStatement(
        select(organizations.c.id).where(organizations.c.slug == bindparam("slug"))
    )
    with app.app_context():
        db = get_db()
        assert organization.first(db, {"slug": "none"}) is None
        end_session(database_uri, backend_id(db))
        with pytest.raises(OperationalError) as lost:
            organization.first(db, {"slug": "none"})
        assert lost.value.connection_invalidated
        assert db.invalidated
    assert client.get("/me", headers=alice.headers).status_code == 200

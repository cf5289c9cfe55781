"""The schema's migrations: one history, the code's tables, upgrades that keep data.

Run on every database: SQLite, PostgreSQL and MySQL (or MariaDB). The 0.1
databases in ``tests/data/mything-0.1/`` were made by mything 0.1.0 itself
(``make.py`` there says how), so upgrading them is upgrading what users have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from helpers.databases import ALL_DATABASES, POSTGRESQL_URI
from helpers.processes import gunicorn
from helpers.services import unavailable
from sqlalchemy import inspect, select, text
from werkzeug.test import Client

from mything import ApiException, MyThing
from mything import migrations as mything_migrations
from mything.db import get_database
from mything.migrations import VERSION_TABLE, head, include_name
from mything.tables import PREFIX, metadata

LEGACY = Path(__file__).parent / "data" / "mything-0.1"

pytestmark = pytest.mark.databases(*ALL_DATABASES)

#: The newest revision of mything 0.2.
REVISION_0_2 = "0003"


def engine_for(database_uri: str) -> sqlalchemy.Engine:
    """A plain engine on the test's database, apart from any app's."""
    from mything.config import database_uri as normalize

    return sqlalchemy.create_engine(normalize(database_uri))


def mything_command(*args: str, database_uri: str, **env: str):
    """Run the ``mything`` command line in a new process, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "mything", *args],
        env={**os.environ, "MYTHING_DATABASE_URI": database_uri, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error")]


def snapshot(engine: sqlalchemy.Engine, names: list[str]) -> dict:
    """Every column, index, constraint and row of the tables ``names``."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {
            name: {
                "columns": [
                    (column["name"], str(column["type"]), column["nullable"])
                    for column in inspector.get_columns(name)
                ],
                "indexes": inspector.get_indexes(name),
                "unique": inspector.get_unique_constraints(name),
                "primary": inspector.get_pk_constraint(name),
                "rows": connection.execute(
                    text(f"SELECT * FROM {name} ORDER BY 1")
                ).all(),
            }
            for name in names
        }


def test_the_history_has_one_head_the_revision_mything_checks_for():
    assert mything_migrations.scripts().get_heads() == [mything_migrations.HEAD]
    assert mything_migrations.history()[-1][0] == head() == mything_migrations.HEAD


def test_upgrading_an_empty_database_builds_exactly_the_tables_of_the_code(thing):
    thing.init_db()

    engine = get_database(thing.flask_app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_every_name_mything_creates_starts_with_its_prefix(thing):
    thing.init_db()

    with get_database(thing.flask_app).engine.connect() as connection:
        inspector = inspect(connection)
        tables = inspector.get_table_names()
        names = list(tables)
        for table in tables:
            names += [index["name"] for index in inspector.get_indexes(table)]
            names += [key["name"] for key in inspector.get_foreign_keys(table)]
            names += [
                unique["name"] for unique in inspector.get_unique_constraints(table)
            ]
            primary = inspector.get_pk_constraint(table)["name"]
            if primary and connection.dialect.name == "postgresql":
                names.append(primary)
        if connection.dialect.name == "postgresql":
            names += inspector.get_sequence_names()
    # SQLite keeps AUTOINCREMENT counters in its own sqlite_sequence table.
    names = [name for name in names if name != "sqlite_sequence"]
    assert set(tables) - {"sqlite_sequence"} == {*metadata.tables, VERSION_TABLE}
    assert names and all(name.startswith(PREFIX) for name in names), names


def test_downgrading_a_step_and_upgrading_again_gives_the_same_schema(thing):
    database = get_database(thing.flask_app)
    thing.init_db()
    names = sorted(metadata.tables)
    before = snapshot(database.engine, names)

    database.downgrade("-1")
    database.upgrade()

    after = snapshot(database.engine, names)
    for name in names:
        assert after[name]["columns"] == before[name]["columns"]
        assert after[name]["indexes"] == before[name]["indexes"]
    assert database.status().up_to_date
    thing.create_user("alice")


def test_downgrading_to_base_removes_every_mything_table(thing):
    database = get_database(thing.flask_app)
    thing.init_db()

    database.downgrade("base")

    remaining = inspect(database.engine).get_table_names()
    assert set(remaining) & set(metadata.tables) == set()
    assert database.status().empty


def test_a_database_of_0_2_upgrades_with_every_row_and_downgrades_again(thing):
    database = get_database(thing.flask_app)
    thing.init_db()
    for name in ["alice", "bob", "carol"]:
        thing.create_user(name)
        thing.create_token(name)
    alice = thing.as_user("alice")
    alice.create_organization("acme", name="Acme")
    thing.add_member("acme", "bob", role="owner")
    alice.create_note("acme", title="Plan", tags=["x", "y"])
    # 0.2's newest revision: the schema of 0.2, holding rows of every kind.
    database.downgrade(REVISION_0_2)
    new_in_0_3 = {
        PREFIX + name
        for name in (
            "invitations",
            "event_chains",
            "events",
            "webhooks",
            "webhook_deliveries",
        )
    }
    names = sorted(set(metadata.tables) - new_in_0_3)

    def rows() -> dict:
        tables = snapshot(database.engine, names)
        return {name: tables[name]["rows"] for name in names}

    before = rows()
    assert all(before[name] for name in names if "idempotency" not in name)

    database.upgrade()
    upgraded = rows()
    # Rows in new tables (an invitation, its event), which go with them.
    alice.invite_member("acme", "carol")
    database.downgrade(REVISION_0_2)
    downgraded = rows()

    assert upgraded == before
    assert downgraded == before
    assert not new_in_0_3 & set(inspect(database.engine).get_table_names())
    database.upgrade()
    assert alice.members("acme")["items"] == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "owner"},
    ]


HOST_TABLES = {
    "users": "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100))",
    "settings": "CREATE TABLE settings (k VARCHAR(20) PRIMARY KEY, v VARCHAR(20))",
    "notes": "CREATE TABLE notes (id INTEGER PRIMARY KEY, text VARCHAR(50))",
    "tokens": "CREATE TABLE tokens (id INTEGER PRIMARY KEY, secret VARCHAR(50))",
    "alembic_version": "CREATE TABLE alembic_version "
    "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
}

HOST_ROWS = [
    "INSERT INTO users VALUES (1, 'host@example.com')",
    "INSERT INTO settings VALUES ('theme', 'dark')",
    "INSERT INTO notes VALUES (7, 'the host''s note')",
    "INSERT INTO tokens VALUES (3, 'host-secret')",
    "INSERT INTO alembic_version VALUES ('hostrev42')",
]


def test_a_host_s_tables_and_alembic_version_are_left_untouched(database_uri):
    engine = engine_for(database_uri)
    with engine.begin() as connection:
        for statement in [*HOST_TABLES.values(), *HOST_ROWS]:
            connection.exec_driver_sql(statement)
    before = snapshot(engine, sorted(HOST_TABLES))

    thing = MyThing({"DATABASE_URI": database_uri, "AUTO_UPGRADE": False})
    try:
        thing.create_user("alice")
        client = Client(thing)
        token = thing.create_token("alice")
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    finally:
        get_database(thing.flask_app).dispose()

    assert me.status_code == 200
    assert snapshot(engine, sorted(HOST_TABLES)) == before
    with engine.connect() as connection:
        assert connection.exec_driver_sql(
            f"SELECT version_num FROM {VERSION_TABLE}"
        ).all() == [(head(),)]
    engine.dispose()


def load_legacy(database_uri: str, *, key_age: timedelta = timedelta(hours=1)) -> dict:
    """Fill the test's database with the one mything 0.1 made; return its facts.

    The dump's idempotency record is dated the day the dump was made; it is
    moved to ``key_age`` before now, so that whether its 24 hours have passed
    is the test's choice and never the calendar's.
    """
    engine = engine_for(database_uri)
    backend = engine.dialect.name
    dump = (LEGACY / f"{backend}.sql").read_text()
    raw = engine.raw_connection()
    try:
        if backend == "sqlite":
            raw.driver_connection.executescript(dump)
        else:
            schema = engine.url.query["options"].partition("search_path=")[2]
            with raw.cursor() as cursor:
                cursor.execute(dump.replace("legacy01", schema))
            raw.commit()
    finally:
        raw.close()
        # The dump leaves its session's search_path empty: a new connection.
        engine.dispose()
    stored = datetime.now(UTC) - key_age
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE idempotency_keys SET created_at = :stored"),
            {
                "stored": stored.isoformat(" ")
                if backend != "sqlite"
                else stored.replace(tzinfo=None).isoformat(" ")
            },
        )
    engine.dispose()
    return json.loads((LEGACY / f"{backend}.json").read_text())


def check_legacy_data_survived(thing: MyThing, facts: dict) -> None:
    """Tokens, cursors and idempotency keys from 0.1 work; every row is there."""
    client = Client(thing)
    alice = {"Authorization": f"Bearer {facts['alice_token']}"}
    bob = {"Authorization": f"Bearer {facts['bob_token']}"}
    assert client.get("/me", headers=alice).json == {
        "name": "alice",
        "organizations": ["acme"],
    }
    assert client.get("/me", headers=bob).status_code == 200
    # Notes have carried a version since 0.1; the old ones are at version 1.
    notes = [{**note, "version": 1} for note in facts["notes"]]
    everything = client.get("/orgs/acme/notes", headers=alice).json["items"]
    assert everything == notes
    rest = client.get(
        "/orgs/acme/notes",
        query_string={"limit": 2, "cursor": facts["cursor"]},
        headers=alice,
    )
    assert rest.status_code == 200
    assert rest.json["items"] == notes[2:4]
    replay = client.post(
        "/orgs/acme/notes",
        json={"title": "once", "tags": ["retry"]},
        headers={**alice, "Idempotency-Key": "key-1"},
    )
    assert replay.status_code == 201
    # The answer stored then is the answer given again, as it was.
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == facts["idempotent_note"]
    members = client.get("/orgs/acme/members", headers=alice).json["items"]
    assert {member["user"] for member in members} == {"alice", "bob"}
    # New rows get new ids after the old ones.
    created = client.post("/orgs/acme/notes", json={"title": "new"}, headers=alice)
    assert created.json["id"] > max(note["id"] for note in facts["notes"])


@pytest.mark.databases("sqlite")
def test_a_sqlite_database_of_0_1_is_upgraded_on_first_use(database_uri):
    facts = load_legacy(database_uri)

    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        check_legacy_data_survived(thing, facts)
        tables = set(inspect(get_database(thing.flask_app).engine).get_table_names())
    finally:
        get_database(thing.flask_app).dispose()
    # The 0.1 tables are gone; their rows live on in the new ones.
    assert tables - {"sqlite_sequence"} == {*metadata.tables, VERSION_TABLE}


@pytest.mark.databases("sqlite")
def test_an_expired_idempotency_key_of_0_1_is_a_new_request(database_uri):
    facts = load_legacy(database_uri, key_age=timedelta(hours=25))

    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        alice = {"Authorization": f"Bearer {facts['alice_token']}"}
        again = Client(thing).post(
            "/orgs/acme/notes",
            json={"title": "once", "tags": ["retry"]},
            headers={**alice, "Idempotency-Key": "key-1"},
        )
    finally:
        get_database(thing.flask_app).dispose()
    # Past its 24 hours the key is free again: a new note, not the old answer.
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json["id"] > max(note["id"] for note in facts["notes"])


@pytest.mark.databases("postgresql")
def test_a_postgresql_database_of_0_1_is_refused_until_upgraded(database_uri, caplog):
    facts = load_legacy(database_uri)

    # Building opens nothing; the first request or call finds the old schema.
    behind = MyThing({"DATABASE_URI": database_uri})
    try:
        refused = Client(behind).get("/readyz")
        with pytest.raises(ApiException) as called:
            behind.create_user("carol")
    finally:
        get_database(behind.flask_app).dispose()
    assert refused.status_code == 503
    assert refused.json["code"] == "unavailable"
    assert called.value.status == 503
    [logged] = {r.getMessage() for r in caplog.records if r.levelname == "ERROR"}
    assert "mything db upgrade" in logged
    assert "\n" not in logged

    result = mything_command("db", "upgrade", database_uri=database_uri)
    assert result.returncode == 0, result.stderr
    assert f"Upgraded the database to {head()} (head)" in result.stdout

    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        check_legacy_data_survived(thing, facts)
    finally:
        get_database(thing.flask_app).dispose()


@pytest.mark.databases("sqlite", "postgresql")
def test_tables_named_like_0_1_s_but_not_mything_s_stop_the_upgrade(database_uri):
    load_legacy(database_uri)
    engine = engine_for(database_uri)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE note_tags ADD COLUMN color VARCHAR(9)")
    before = snapshot(engine, ["note_tags", "notes"])

    result = mything_command("db", "upgrade", database_uri=database_uri)

    assert result.returncode != 0
    [line] = error_lines(result)
    assert "'note_tags'" in line and "nothing was changed" in line
    assert snapshot(engine, ["note_tags", "notes"]) == before
    assert not set(inspect(engine).get_table_names()) & set(metadata.tables)
    engine.dispose()


def test_four_processes_upgrading_at_once_run_the_migration_once(database_uri):
    environment = {**os.environ, "MYTHING_DATABASE_URI": database_uri}
    command = [sys.executable, "-m", "flask", "--app", "mything", "db", "upgrade"]
    upgrades = [
        subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    results = [
        (process.wait(timeout=120), *process.communicate()) for process in upgrades
    ]

    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    outputs = [out.decode() for _, out, _ in results]
    assert sum("Upgraded the database" in out for out in outputs) == 1, outputs
    assert sum("Nothing to do" in out for out in outputs) == 3, outputs
    engine = engine_for(database_uri)
    with engine.connect() as connection:
        versions = connection.exec_driver_sql(f"SELECT * FROM {VERSION_TABLE}").all()
        secrets = connection.exec_driver_sql(
            f"SELECT value FROM {PREFIX}settings WHERE name = 'cursor_secret'"
        ).all()
    engine.dispose()
    assert versions == [(head(),)]
    assert len(secrets) == 1


def wait_for(condition, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition was not met in time")
        time.sleep(0.05)


def kill_an_upgrade_blocked_by(engine: sqlalchemy.Engine, lock: str, waiting: str):
    """Start ``mything db upgrade``, wait until ``lock`` blocks it, and SIGKILL it.

    ``waiting`` is a query that counts the sessions waiting for a lock.
    """
    blocker = engine.connect()
    blocker.exec_driver_sql(lock)
    upgrade = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "mything", "db", "upgrade"],
        env={**os.environ, "MYTHING_DATABASE_URI": str(engine.url)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def blocked() -> bool:
        with engine.connect() as connection:
            return bool(connection.exec_driver_sql(waiting).scalar())

    try:
        wait_for(blocked)
    finally:
        upgrade.send_signal(signal.SIGKILL)
        upgrade.wait(timeout=30)
        blocker.rollback()
        blocker.close()
    assert upgrade.returncode == -signal.SIGKILL


@pytest.mark.databases("postgresql")
def test_a_postgresql_upgrade_killed_half_way_finishes_when_run_again(database_uri):
    facts = load_legacy(database_uri)
    engine = engine_for(database_uri)
    # The upgrade creates the new tables, then waits for this lock to copy
    # the old rows, and is killed there.
    kill_an_upgrade_blocked_by(
        engine,
        "LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )

    result = mything_command("db", "upgrade", database_uri=database_uri)
    assert result.returncode == 0, result.stderr
    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        check_legacy_data_survived(thing, facts)
    finally:
        get_database(thing.flask_app).dispose()
        engine.dispose()


@pytest.mark.databases("mysql")
def test_a_mysql_upgrade_left_half_way_finishes_when_run_again(database_uri):
    # MySQL commits each CREATE TABLE, so a run killed half-way leaves some
    # tables made, no revision and no cursor secret. Here an earlier run got
    # as far as the tokens table.
    engine = engine_for(database_uri)
    with engine.begin() as connection:
        first = mything_migrations.scripts().get_revision("0001").module
        users, tokens, *_ = first.tables(connection)
        users.create(connection)
        tokens.create(connection)

    result = mything_command("db", "upgrade", database_uri=database_uri)

    assert result.returncode == 0, result.stderr
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True}
        )
        assert compare_metadata(context, metadata) == []
        secrets = connection.exec_driver_sql(
            f"SELECT count(*) FROM {PREFIX}settings WHERE name = 'cursor_secret'"
        ).scalar()
    engine.dispose()
    assert secrets == 1


def test_db_current_and_history_say_where_the_database_stands(database_uri):
    empty = mything_command("db", "current", database_uri=database_uri)
    assert empty.returncode == 0, empty.stderr
    assert "The database is empty" in empty.stdout

    mything_command("db", "upgrade", database_uri=database_uri)
    current = mything_command("db", "current", database_uri=database_uri)
    history = mything_command("db", "history", database_uri=database_uri)

    assert current.stdout.strip() == f"{head()} (head)"
    assert history.stdout.splitlines()[-1].startswith(head())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("db", "upgrade", "nonsense"), "nonsense"),
        (("db", "downgrade", "-5"), "-5"),
        (("db", "downgrade"), "REVISION"),
    ],
)
def test_bad_revisions_are_one_line_and_change_nothing(database_uri, args, expected):
    mything_command("db", "upgrade", database_uri=database_uri)

    result = mything_command(*args, database_uri=database_uri)

    assert result.returncode != 0
    [line] = error_lines(result)
    assert expected in line
    current = mything_command("db", "current", database_uri=database_uri)
    assert current.stdout.strip() == f"{head()} (head)"


@pytest.mark.parametrize("revision", ["nosuchrevision", "abc@head"])
def test_a_bad_revision_on_an_empty_database_leaves_nothing_behind(
    database_uri, revision
):
    result = mything_command("db", "upgrade", revision, database_uri=database_uri)

    assert result.returncode != 0
    assert revision in error_lines(result)[0]
    engine = engine_for(database_uri)
    try:
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == []
    finally:
        engine.dispose()


def test_a_revision_from_a_newer_release_is_refused_at_first_use(database_uri):
    mything_command("db", "upgrade", database_uri=database_uri)
    engine = engine_for(database_uri)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")

    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        with pytest.raises(ApiException) as refused:
            thing.create_user("carol")
    finally:
        get_database(thing.flask_app).dispose()
    upgrade = mything_command("db", "upgrade", database_uri=database_uri)

    assert refused.value.status == 503
    reason = str(refused.value.__cause__)
    assert "9999" in reason and "newer release" in reason
    assert upgrade.returncode != 0
    [line] = error_lines(upgrade)
    assert "9999" in line
    with engine.connect() as connection:
        assert connection.exec_driver_sql(
            f"SELECT version_num FROM {VERSION_TABLE}"
        ).all() == [("9999",)]
    engine.dispose()


@pytest.mark.slow
@pytest.mark.databases("postgresql")
def test_gunicorn_on_a_database_that_is_behind_is_not_ready(database_uri, tmp_path):
    load_legacy(database_uri)
    output = tmp_path / "gunicorn.log"

    env = {"MYTHING_DATABASE_URI": database_uri}
    config = Path(__file__).parent.parent / "examples" / "gunicorn.conf.py"
    args = ("--config", str(config))
    with gunicorn("mything:MyThing()", env=env, args=args, output=output) as url:
        ready = requests.get(url + "/readyz", timeout=30)

    assert ready.status_code == 503
    assert "mything db upgrade" in output.read_text()


@pytest.fixture
def two_schemas():
    """Two schema names in the test PostgreSQL database, dropped afterwards."""
    names = [f"mything_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sqlalchemy.create_engine(POSTGRESQL_URI)
    try:
        with admin.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {POSTGRESQL_URI}: {exc.orig}")
    yield names
    with admin.begin() as connection:
        for name in names:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    admin.dispose()


def test_two_things_in_two_schemas_share_a_database_and_nothing_else(two_schemas):
    things = [
        MyThing(
            {
                "DATABASE_URI": POSTGRESQL_URI,
                "DATABASE_SCHEMA": schema,
                "AUTO_UPGRADE": True,
            }
        )
        for schema in two_schemas
    ]
    try:
        for index, thing in enumerate(things):
            thing.create_user("alice")
            alice = thing.as_user("alice")
            alice.create_organization("acme", name=f"Acme {index}")
            alice.create_note("acme", title=f"only in {index}")
        titles = [
            [note["title"] for note in thing.as_user("alice").notes("acme")["items"]]
            for thing in things
        ]
    finally:
        for thing in things:
            get_database(thing.flask_app).dispose()

    assert titles == [["only in 0"], ["only in 1"]]
    engine = sqlalchemy.create_engine(POSTGRESQL_URI)
    inspector = inspect(engine)
    for schema in two_schemas:
        assert set(inspector.get_table_names(schema=schema)) == {
            *metadata.tables,
            VERSION_TABLE,
        }
    assert not set(inspector.get_table_names(schema="public")) & set(metadata.tables)
    with engine.connect() as connection:
        versions = connection.execute(
            select(text("version_num")).select_from(
                text(f'"{two_schemas[0]}".{VERSION_TABLE}')
            )
        ).all()
    engine.dispose()
    assert versions == [(head(),)]

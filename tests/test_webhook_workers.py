"""Delivery workers as operators run them: ``mything deliver`` processes.

The workers share a SQLite database with the test, and deliver to a receiver
on 127.0.0.1 that notices two attempts of one delivery answered at once.
Settings are short (a 1 s timeout, 3 s leases, retries a fraction of a
second apart), so that what takes a day in production takes seconds here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.databases import postgresql_schema
from helpers.receiver import Receiver, slowly, status
from sqlalchemy import NullPool, create_engine, func, select

from mything import MyThing
from mything.db import get_database
from mything.tables import webhook_deliveries

pytestmark = pytest.mark.slow

SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE": "1",
    "WEBHOOK_ALLOW_HTTP": "1",
    "WEBHOOK_TIMEOUT": "1",
    "WEBHOOK_LEASE_SECONDS": "3",
    # Twenty attempts over about 12 seconds.
    "WEBHOOK_RETRY_SCHEDULE": ",".join(["0", "0.2", "0.2", "0.5"] + ["0.7"] * 16),
}


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mything.db'}"


@pytest.fixture
def thing(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MyThing]:
    """The test's own MyThing, configured as the workers are: from the environment."""
    for key, value in SETTINGS.items():
        monkeypatch.setenv(f"MYTHING_{key}", value)
    made = MyThing({"DATABASE_URI": database})
    made.init_db()
    made.create_user("alice")
    made.as_user("alice").create_organization("acme", name="Acme")
    yield made
    get_database(made.flask_app).dispose()


@contextmanager
def workers(
    database: str,
    count: int,
    *,
    concurrency: int = 1,
    logs: Path | None = None,
    environment: dict[str, str] | None = None,
    **settings: str,
) -> Iterator[list[subprocess.Popen]]:
    """Run ``count`` ``mything deliver`` processes; stop them when the block ends.

    What they write to standard error goes to ``workers.log`` in ``logs``
    (by default, beside the SQLite database). ``environment`` adds variables.
    """
    env = {
        **os.environ,
        **(environment or {}),
        "MYTHING_DATABASE_URI": database,
        **{f"MYTHING_{key}": value for key, value in {**SETTINGS, **settings}.items()},
    }
    command = [sys.executable, "-m", "mything", "deliver"]
    if logs is None:
        logs = Path(database.removeprefix("sqlite:///")).parent
    log = open(logs / "workers.log", "a")
    started = [
        subprocess.Popen(
            [*command, "--concurrency", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        log.close()
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def owe(thing: MyThing, url: str, count: int) -> int:
    """Create a webhook at ``url``, and ``count`` events owed to it (new notes)."""
    alice = thing.as_user("alice")
    webhook = alice.create_webhook("acme", url=url, events=["note.*"])
    for number in range(count):
        alice.create_note("acme", title=f"Note {number}")
    return int(webhook["id"])


def statuses(thing: MyThing) -> dict[str, int]:
    """How many deliveries are in each status."""
    deliveries = webhook_deliveries
    query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    with get_database(thing.flask_app).engine.connect() as connection:
        return dict(connection.execute(query).all())


def wait_until_succeeded(thing: MyThing, count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while statuses(thing).get("succeeded", 0) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"not all delivered in {timeout} s: {statuses(thing)}")
        time.sleep(0.1)


def test_four_workers_deliver_everything_without_overlapping_attempts(thing, database):
    with Receiver(answer=slowly(0.002)) as receiver:
        owe(thing, receiver.url, 2000)
        with workers(database, 4) as running:
            wait_until_succeeded(thing, 2000, timeout=180)
        assert all(process.returncode == 0 for process in running)

    assert len(receiver.ids()) == 2000
    assert receiver.overlaps == []
    assert statuses(thing) == {"succeeded": 2000}


def test_a_worker_killed_mid_attempt_loses_nothing(thing, database):
    first = True

    def hang_the_first_then_answer(handler):
        nonlocal first
        if first:
            first = False
            slowly(0.8)(handler)
        else:
            status(200)(handler)

    with Receiver(answer=hang_the_first_then_answer) as receiver:
        owe(thing, receiver.url, 1)
        with workers(database, 1) as (doomed,):
            receiver.wait_for(1)
            os.killpg(doomed.pid, signal.SIGKILL)
        # The killed worker's lease (3 s) must run out first.
        with workers(database, 1):
            receiver.wait_for(2, timeout=20)
            wait_until_succeeded(thing, 1, timeout=20)

    assert receiver.overlaps == []
    assert len(receiver.ids()) == 1


def test_everything_arrives_once_a_receiver_that_was_down_is_up(thing, database):
    receiver = Receiver()
    receiver.start()
    receiver.stop()  # Its port is known; nothing listens there yet.
    owe(thing, receiver.url, 50)
    with workers(database, 2, concurrency=2):
        deadline = time.monotonic() + 20
        while statuses(thing).get("retrying", 0) < 50:
            assert time.monotonic() < deadline, statuses(thing)
            time.sleep(0.1)
        with receiver:
            wait_until_succeeded(thing, 50, timeout=30)

    assert len(receiver.ids()) == 50


def test_deliver_once_makes_one_pass_and_exits(thing, database):
    with Receiver() as receiver:
        owe(thing, receiver.url, 3)
        env = {
            **os.environ,
            "MYTHING_DATABASE_URI": database,
            **{f"MYTHING_{key}": value for key, value in SETTINGS.items()},
        }
        done = subprocess.run(
            [sys.executable, "-m", "mything", "deliver", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 0, done.stderr
    assert "Made 3 delivery attempts." in done.stdout
    assert statuses(thing) == {"succeeded": 3}


def test_postgresql_restarted_during_delivery_loses_nothing(tmp_path, monkeypatch):
    """Every session of the workers ends mid-delivery, three times, as in a restart."""
    for key, value in SETTINGS.items():
        monkeypatch.setenv(f"MYTHING_{key}", value)
    with postgresql_schema() as database:
        made = MyThing({"DATABASE_URI": database})
        made.init_db()
        made.create_user("alice")
        made.as_user("alice").create_organization("acme", name="Acme")
        admin = create_engine(
            database, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with Receiver(answer=slowly(0.02)) as receiver:
                owe(made, receiver.url, 300)
                # libpq names the workers' sessions, so that only theirs end.
                named = {"PGAPPNAME": "mything-test-worker"}
                with workers(
                    database, 2, concurrency=2, logs=tmp_path, environment=named
                ):
                    for restart in range(3):
                        receiver.wait_for(50 * (restart + 1), timeout=60)
                        with admin.connect() as connection:
                            ended = connection.exec_driver_sql(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE application_name = 'mything-test-worker'"
                            ).all()
                        assert ended, "no session of the workers was ended"
                    wait_until_succeeded(made, 300, timeout=90)
        finally:
            admin.dispose()
            get_database(made.flask_app).dispose()

    assert len(receiver.ids()) == 300
    assert receiver.overlaps == []

"""Faults while serving: the database, a worker or Redis goes away under load.

Each test runs real processes on loopback (gunicorn, and a private PostgreSQL
cluster or redis-server when the fault needs one of its own), keeps clients
writing through them, brings the fault about, and then holds what the
clients were told against what the database keeps:

- a note whose creation was answered ``201`` is stored, exactly once;
- a request that meets the fault is answered ``503`` in the error shape, with
  ``Retry-After``, promptly: never a ``500``, never a hang;
- the service recovers on its own once the fault is gone.

Timeouts here are safety nets against hangs, not measurements.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import redis
import requests
import sqlalchemy
from helpers.databases import ALL_DATABASES
from helpers.pg_cluster import postgresql_cluster
from helpers.processes import free_port, gunicorn
from helpers.redis_server import redis_server, redis_server_available
from helpers.services import unavailable
from requests.structures import CaseInsensitiveDict

from mything import MyThing
from mything.db import get_database
from mything.tables import notes

pytestmark = pytest.mark.slow

T = TypeVar("T")

APP = "mything:MyThing()"
NOTES = "/orgs/acme/notes"
ADD = "/add?a=1&b=2"
# Large enough never to be reached: these tests are about faults, not limits,
# but the limit stays on so that every request takes its usual path.
RATELIMIT = "100000/minute"
#: Seconds after which a request counts as hung.
TIMEOUT = 15
#: Seconds to wait for a state the test expects (a server back, a worker
#: replaced, enough notes written) before giving up.
PATIENCE = 60
#: How often a client sends one note before giving up on it.
ATTEMPTS = 10
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


# What the clients see


@dataclass(frozen=True)
class Answer:
    """What a client got for one request; ``status`` is None if no answer came.

    ``sent`` and ``received`` are ``time.monotonic()`` readings that order the
    request against the faults; no test measures durations with them.
    """

    status: int | None
    headers: CaseInsensitiveDict
    text: str
    sent: float
    received: float


def send(session: requests.Session, method: str, url: str, **kwargs) -> Answer:
    """Send a request; a lost connection or a timeout becomes a status of None."""
    sent = time.monotonic()
    try:
        with session.request(method, url, timeout=TIMEOUT, **kwargs) as response:
            return Answer(
                response.status_code,
                response.headers,
                response.text,
                sent,
                time.monotonic(),
            )
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as exc:
        return Answer(None, CaseInsensitiveDict(), repr(exc), sent, time.monotonic())


def check_unavailable(answer: Answer) -> None:
    """Assert that ``answer`` is a 503 in the error shape, with Retry-After."""
    assert answer.status == 503, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    assert int(answer.headers["Retry-After"]) >= 1
    body = json.loads(answer.text)
    assert body == {
        "message": body["message"],
        "status": 503,
        "code": "unavailable",
        "request_id": answer.headers["X-Request-ID"],
    }
    for internals in ("Traceback", "OperationalError", "psycopg", "sqlite"):
        assert internals not in answer.text


def check_outage_answers(session: requests.Session, url: str, title: str) -> None:
    """Assert that data and readiness answer 503 while liveness still answers 200."""
    check_unavailable(send(session, "GET", url + NOTES))
    check_unavailable(send(session, "POST", url + NOTES, json={"title": title}))
    check_unavailable(send(session, "GET", url + "/readyz"))
    healthz = send(session, "GET", url + "/healthz")
    assert healthz.status == 200, healthz.text


class Log:
    """Every answer the clients got, with the title of the note it was about."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._entries: list[tuple[str, Answer]] = []

    def add(self, title: str, answer: Answer) -> None:
        with self._changed:
            self._entries.append((title, answer))
            self._changed.notify_all()

    def entries(self) -> list[tuple[str, Answer]]:
        """Return the answers so far, oldest first."""
        with self._changed:
            return list(self._entries)

    def answers(self) -> list[Answer]:
        return [answer for _, answer in self.entries()]

    def created(self) -> set[str]:
        """Return the titles of the notes whose creation was answered 201."""
        return {title for title, answer in self.entries() if answer.status == 201}

    def wait_until(self, predicate: Callable[[list[Answer]], bool]) -> bool:
        """Wait until ``predicate(answers)`` holds; return False after PATIENCE."""
        with self._changed:
            return self._changed.wait_for(
                lambda: predicate([answer for _, answer in self._entries]),
                timeout=PATIENCE,
            )


def created_count(answers: list[Answer]) -> int:
    return sum(answer.status == 201 for answer in answers)


# The clients


def write_notes(
    url: str,
    headers: dict[str, str],
    titles: Iterable[str],
    log: Log,
    stop: threading.Event,
    *,
    pause: float = 0.0,
) -> None:
    """Create a note per title, once each, until done or stopped."""
    with requests.Session() as session:
        session.headers.update(headers)
        for title in titles:
            if stop.is_set():
                return
            log.add(title, send(session, "POST", url + NOTES, json={"title": title}))
            time.sleep(pause)


def write_notes_safely(
    url: str,
    headers: dict[str, str],
    titles: Iterable[str],
    log: Log,
    stop: threading.Event,
    *,
    retry: Callable[[Answer], bool],
) -> None:
    """Create a note per title with a key of its own; resend it while ``retry``."""
    with requests.Session() as session:
        session.headers.update(headers)
        for title in titles:
            key = {"Idempotency-Key": f"key-{title}"}
            for _ in range(ATTEMPTS):
                if stop.is_set():
                    return
                answer = send(
                    session, "POST", url + NOTES, json={"title": title}, headers=key
                )
                log.add(title, answer)
                if not retry(answer):
                    break
                # Shorter than Retry-After, to keep the test short.
                time.sleep(0.2)


def no_answer_or_server_error(answer: Answer) -> bool:
    return answer.status is None or answer.status >= 500


def retryable_unavailable(answer: Answer) -> bool:
    return answer.status == 503 and "Retry-After" in answer.headers


class Clients:
    """Client threads, each running ``client(titles, log, stop)`` on its share.

    Leaving the block tells them to stop and waits for them.
    """

    def __init__(self, client: Callable, shares: list[Iterable[str]]) -> None:
        self.log = Log()
        self.stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=len(shares))
        self._futures = [
            self._executor.submit(client, titles, self.log, self.stop)
            for titles in shares
        ]

    def done(self) -> bool:
        """Return whether every client has finished."""
        return all(future.done() for future in self._futures)

    def join(self) -> None:
        """Wait until every client is done; raise what any of them raised."""
        for future in self._futures:
            future.result(timeout=PATIENCE * 5)

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self._executor.shutdown(wait=True)
        for future in self._futures:
            future.result()


def shares(prefix: str, *, clients: int, each: int) -> list[list[str]]:
    """Split unique titles between ``clients``, ``each`` titles per client."""
    return [
        [f"{prefix}-{client}-{n}" for n in range(each)] for client in range(clients)
    ]


def check_all_created(log: Log, titles: set[str]) -> None:
    """Assert that the last answer about each title was a 201."""
    last = dict(log.entries())
    assert last.keys() == titles
    assert {title for title, answer in last.items() if answer.status != 201} == set()


# The servers


@dataclass(frozen=True)
class Server:
    """A gunicorn serving mything: its URL, alice's headers, the master's pid."""

    url: str
    headers: dict[str, str]
    master: int
    database_uri: str


def prepare(database_uri: str) -> dict[str, str]:
    """Create alice, her token and her organization acme; return her headers."""
    thing = MyThing({"DATABASE_URI": database_uri})
    try:
        thing.create_user("alice")
        token = thing.create_token("alice")
        thing.as_user("alice").create_organization("acme", name="Acme")
    finally:
        get_database(thing.flask_app).dispose()
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def serve(
    database_uri: str,
    directory: Path,
    *,
    workers: int,
    env: dict[str, str] | None = None,
    preload: bool = False,
) -> Iterator[Server]:
    """Prepare the database, then serve it with gunicorn until the block ends."""
    headers = prepare(database_uri)
    pidfile = directory / "gunicorn.pid"
    # The log goes to a file: a pipe nobody reads would fill up with the
    # warnings of an outage and block the workers.
    args = ("--pid", str(pidfile), "--error-logfile", str(directory / "gunicorn.log"))
    if preload:
        args += ("--preload",)
    env = {
        "MYTHING_DATABASE_URI": database_uri,
        "MYTHING_RATELIMIT": RATELIMIT,
        **(env or {}),
    }
    with gunicorn(APP, env=env, workers=workers, args=args, cwd=directory) as url:
        yield Server(url, headers, int(pidfile.read_text()), database_uri)


@pytest.fixture
def server(database_uri: str, tmp_path: Path) -> Iterator[Server]:
    """Four gunicorn workers on the test's database."""
    with serve(database_uri, tmp_path, workers=4) as server:
        yield server


def worker_pids(master: int) -> set[int]:
    """Return the pids of the live child processes of gunicorn's ``master``."""
    return {pid for pid, (_, parent) in processes().items() if parent == master}


def processes() -> dict[int, tuple[str, int]]:
    """Return the state and parent pid of every live process."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # After the ")" that ends the command name: state, parent pid, ...
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if state != "Z":
                found[int(stat.parent.name)] = (state, int(parent))
    return found


def busy_worker(url: str, workers: set[int]) -> int | None:
    """Return one of ``workers`` that holds a client's connection to ``url``.

    Without ``ss`` (iproute2), any worker will do. Reading /proc/net/tcp
    instead would work too, but slowly on a host with many closed sockets.
    """
    if shutil.which("ss") is None:
        return min(workers)
    # The server's ends of established connections, with the processes that
    # hold them.
    port = urlsplit(url).port
    command = ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"]
    listing = subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT, check=True
    ).stdout
    busy = {int(pid) for pid in re.findall(r"pid=(\d+)", listing)} & workers
    return min(busy, default=None)


def kill_a_busy_worker(server: Server, clients: Clients) -> tuple[set[int], int]:
    """SIGKILL a worker in the middle of a request; return the workers and it."""
    workers = worker_pids(server.master)
    while not clients.done():
        busy = busy_worker(server.url, workers)
        if busy is not None:
            os.kill(busy, signal.SIGKILL)
            return workers, busy
    pytest.fail("the clients were done before a worker could be killed")


def wait_for(condition: Callable[[], T]) -> T:
    """Poll ``condition`` until it is true; return its last value."""
    deadline = time.monotonic() + PATIENCE
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def replaced(master: int, before: set[int], *, killed: set[int]) -> set[int]:
    """Wait until ``master`` has as many workers as ``before``, none ``killed``."""

    def workers() -> set[int]:
        now = processes()
        assert master in now, "gunicorn's master has exited"
        pids = {pid for pid, (_, parent) in now.items() if parent == master}
        return pids if len(pids) == len(before) and not pids & killed else set()

    return wait_for(workers)


# The database's side


def stored_titles(database_uri: str) -> Counter[str]:
    """Return how often each title is stored among the notes."""
    engine = sqlalchemy.create_engine(database_uri)
    try:
        with engine.connect() as connection:
            return Counter(
                connection.execute(sqlalchemy.select(notes.c.title)).scalars()
            )
    finally:
        engine.dispose()


def check_stored(database_uri: str, log: Log, sent: set[str]) -> Counter[str]:
    """Assert that every note answered 201 is stored once, and nothing unsent is."""
    stored = stored_titles(database_uri)
    assert {title for title, count in stored.items() if count > 1} == set()
    assert log.created() - stored.keys() == set()
    assert stored.keys() - sent == set()
    return stored


# PostgreSQL stops, and starts again, while gunicorn serves


def test_while_postgresql_is_down_answers_are_503_and_it_serves_again_after(
    tmp_path,
):
    with (
        postgresql_cluster() as cluster,
        serve(cluster.uri, tmp_path, workers=2) as server,
        requests.Session() as session,
    ):
        session.headers.update(server.headers)
        titles = (f"note-{n}" for n in range(2000))
        writer = functools.partial(write_notes, server.url, server.headers, pause=0.02)
        down = [f"while-down-{n}" for n in range(3)]
        with Clients(writer, [titles]) as clients:
            log = clients.log
            assert log.wait_until(lambda answers: created_count(answers) >= 20)

            cluster.stop()
            stopped = time.monotonic()
            for title in down:
                check_outage_answers(session, server.url, title)
            assert log.wait_until(
                lambda answers: sum(a.sent > stopped for a in answers) >= 5
            )

            restarting = time.monotonic()
            cluster.start()
            # gunicorn and its workers keep running: mything reconnects.
            assert wait_for(
                lambda: send(session, "GET", server.url + "/readyz").status == 200
            )
            ready = time.monotonic()
            assert log.wait_until(
                lambda answers: sum(a.sent > ready for a in answers) >= 20
            )

        answers = log.answers()
        outage = [a for a in answers if stopped < a.sent and a.received < restarting]
        assert len(outage) >= 5
        assert {answer.status for answer in outage} == {503}
        for answer in answers:
            if answer.status != 201:
                check_unavailable(answer)
        assert {answer.status for answer in answers if answer.sent > ready} == {201}
        sent = {title for title, _ in log.entries()} | set(down)
        check_stored(cluster.uri, log, sent)


# A database server that takes connections but never answers


@contextlib.contextmanager
def silent_database() -> Iterator[str]:
    """Yield the URI of a server that takes connections and never says a word.

    It stands for a database host that hangs: connecting to it only ends
    when the client's connect timeout does.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/mything"


def ask_readiness(url: str) -> Answer:
    with requests.Session() as session:
        return send(session, "GET", url + "/readyz")


def test_a_database_that_never_answers_gets_503s_not_500s(tmp_path):
    args = ("--error-logfile", str(tmp_path / "gunicorn.log"))
    with silent_database() as database_uri:
        env = {"MYTHING_DATABASE_URI": database_uri}
        with (
            gunicorn(APP, env=env, args=args, cwd=tmp_path) as url,
            requests.Session() as session,
        ):
            # Any token: it cannot be checked without the database.
            session.headers["Authorization"] = f"Bearer mt_{'x' * 43}"
            check_outage_answers(session, url, "hello")


def test_threads_waiting_for_a_silent_database_do_not_wait_in_turn(tmp_path):
    threads = 6
    args = ("--threads", str(threads), "--error-logfile", str(tmp_path / "log"))
    with silent_database() as database_uri:
        env = {"MYTHING_DATABASE_URI": database_uri}
        with (
            gunicorn(APP, env=env, args=args, cwd=tmp_path) as url,
            ThreadPoolExecutor(max_workers=threads) as executor,
        ):
            answers = list(executor.map(ask_readiness, [url] * threads))

    # Each request waits for its own connect timeout, not for those before it.
    for answer in answers:
        check_unavailable(answer)


# A worker is killed during a write load


@pytest.mark.databases(*ALL_DATABASES)
def test_a_killed_worker_loses_no_acknowledged_note_and_is_replaced(server):
    sent = shares("note", clients=8, each=40)
    writer = functools.partial(write_notes, server.url, server.headers)
    with Clients(writer, sent) as clients:
        assert clients.log.wait_until(lambda answers: created_count(answers) >= 40)
        before, killed = kill_a_busy_worker(server, clients)
        clients.join()

    assert len(before) == 4
    after = replaced(server.master, before, killed={killed})
    assert len(after) == 4
    assert after != before
    statuses = Counter(answer.status for answer in clients.log.answers())
    # Only the request that the killed worker was serving can go unanswered.
    assert statuses[None] <= 1
    assert set(statuses) <= {201, None}
    later = [f"after-{n}" for n in range(8)]
    with requests.Session() as session:
        session.headers.update(server.headers)
        for title in later:
            answer = send(session, "POST", server.url + NOTES, json={"title": title})
            assert answer.status == 201, answer.text
    sent = {title for share in sent for title in share} | set(later)
    check_stored(server.database_uri, clients.log, sent)


@pytest.mark.databases(*ALL_DATABASES)
def test_retries_with_idempotency_keys_create_each_note_once_despite_a_kill(
    server,
):
    sent = shares("note", clients=8, each=40)
    writer = functools.partial(
        write_notes_safely,
        server.url,
        server.headers,
        retry=no_answer_or_server_error,
    )
    with Clients(writer, sent) as clients:
        assert clients.log.wait_until(lambda answers: created_count(answers) >= 40)
        before, killed = kill_a_busy_worker(server, clients)
        clients.join()

    assert replaced(server.master, before, killed={killed})
    titles = {title for share in sent for title in share}
    check_all_created(clients.log, titles)
    statuses = Counter(answer.status for answer in clients.log.answers())
    assert set(statuses) <= {201, 503, None}
    stored = check_stored(server.database_uri, clients.log, titles)
    assert stored == Counter(titles)


# Redis stops, and starts again, during a load


def read_load(
    url: str,
    headers: dict[str, str],
    paths: list[str],
    log: Log,
    stop: threading.Event,
) -> None:
    """Read ``paths`` in turn until stopped (a bounded number of times)."""
    with requests.Session() as session:
        session.headers.update(headers)
        for path in itertools.islice(itertools.cycle(paths), 2000):
            if stop.is_set():
                return
            log.add(path, send(session, "GET", url + path))
            time.sleep(0.02)


def has_limit_headers(answer: Answer) -> bool:
    return all(name in answer.headers for name in LIMIT_HEADERS)


def check_limit_headers(session: requests.Session, url: str, *, present: bool):
    """Assert that reads are served, with or without rate limit headers."""
    for path in (ADD, NOTES) * 5:
        answer = send(session, "GET", url + path)
        assert answer.status == 200, answer.text
        assert has_limit_headers(answer) is present, answer.headers
        assert ("RateLimit" in answer.headers) is present, answer.headers


def wait_until_connected(uri: str, *, workers: int) -> None:
    """Wait until every worker has made its app, and so has connected to Redis."""
    with redis.Redis.from_url(uri, socket_timeout=TIMEOUT) as client:
        # The workers' connections, and this one.
        assert wait_for(lambda: client.info("clients")["connected_clients"] > workers)


def test_while_redis_is_down_requests_are_served_without_limit_headers(tmp_path):
    if not redis_server_available():
        unavailable("redis-server is not on the PATH")
    port = free_port()
    database_uri = f"sqlite:///{tmp_path / 'mything.db'}"
    with contextlib.ExitStack() as redis_running:
        uri = redis_running.enter_context(redis_server(port))
        env = {"MYTHING_RATELIMIT_STORAGE_URI": uri}
        with (
            serve(database_uri, tmp_path, workers=2, env=env) as server,
            requests.Session() as session,
        ):
            session.headers.update(server.headers)
            wait_until_connected(uri, workers=2)
            reader = functools.partial(read_load, server.url, server.headers)
            with Clients(reader, [[ADD], [NOTES]]) as load:
                check_limit_headers(session, server.url, present=True)

                stopping = time.monotonic()
                redis_running.close()
                stopped = time.monotonic()
                check_limit_headers(session, server.url, present=False)
                assert load.log.wait_until(
                    lambda answers: sum(a.sent > stopped for a in answers) >= 10
                )

                restarting = time.monotonic()
                with redis_server(port):
                    restarted = time.monotonic()
                    check_limit_headers(session, server.url, present=True)
                    assert load.log.wait_until(
                        lambda answers: sum(a.sent > restarted for a in answers) >= 10
                    )
                    # The load ends while Redis still runs.
                    load.stop.set()
                    load.join()

    answers = load.log.answers()
    assert {answer.status for answer in answers} == {200}
    for answer in answers:
        if answer.received < stopping or answer.sent > restarted:
            assert has_limit_headers(answer), answer.headers
        elif stopped < answer.sent and answer.received < restarting:
            assert not has_limit_headers(answer), answer.headers


def test_a_worker_restarted_while_redis_is_down_serves_without_limits(tmp_path):
    # With the app preloaded, as docs/deployment.md says to run it, the
    # configuration (Redis included) is checked once, when gunicorn starts;
    # a worker that replaces another later is forked from that app.
    if not redis_server_available():
        unavailable("redis-server is not on the PATH")
    port = free_port()
    database_uri = f"sqlite:///{tmp_path / 'mything.db'}"
    with contextlib.ExitStack() as redis_running:
        uri = redis_running.enter_context(redis_server(port))
        env = {"MYTHING_RATELIMIT_STORAGE_URI": uri}
        with (
            serve(database_uri, tmp_path, workers=2, env=env, preload=True) as server,
            requests.Session() as session,
        ):
            session.headers.update(server.headers)
            # The master made the app, and its Redis connection, before forking.
            assert wait_for(lambda: len(worker_pids(server.master)) == 2)
            redis_running.close()

            # gunicorn replaces a worker that died (or hung past --timeout,
            # or reached --max-requests) with a new one, which makes its app.
            # Every worker goes, so that only new ones can answer.
            before = worker_pids(server.master)
            for pid in before:
                os.kill(pid, signal.SIGKILL)
            assert len(replaced(server.master, before, killed=before)) == 2
            check_limit_headers(session, server.url, present=False)

            with redis_server(port):
                check_limit_headers(session, server.url, present=True)


# SQLite under several workers and many writers


def test_sqlite_under_many_writers_answers_no_500_and_keeps_every_note(tmp_path):
    database_uri = f"sqlite:///{tmp_path / 'mything.db'}"
    sent = shares("note", clients=16, each=25)
    with serve(database_uri, tmp_path, workers=4) as server:
        writer = functools.partial(
            write_notes_safely,
            server.url,
            server.headers,
            retry=retryable_unavailable,
        )
        with Clients(writer, sent) as clients:
            clients.join()

    answers = clients.log.answers()
    for answer in answers:
        assert answer.status in (201, 503), answer.text
        assert "database is locked" not in answer.text
        if answer.status == 503:
            check_unavailable(answer)
    titles = {title for share in sent for title in share}
    check_all_created(clients.log, titles)
    assert check_stored(database_uri, clients.log, titles) == Counter(titles)

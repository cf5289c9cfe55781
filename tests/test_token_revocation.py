"""Revocation is immediate everywhere: two real gunicorn workers, no cache between.

gunicorn's access log names the process that served each request, so the
test can show that *both* workers accepted the token before it was revoked
and *both* refused it right after.
"""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers.databases import ALL_DATABASES
from helpers.processes import gunicorn

from mything import MyThing
from mything.db import get_database

pytestmark = [pytest.mark.slow, pytest.mark.databases(*ALL_DATABASES)]

# Rounds of requests to send at most while waiting for both workers to serve one.
MAX_TRIES = 100
# Requests sent at once in a round: while one worker serves a request, the
# other accepts the next. One at a time, a fast worker that is back in
# accept() first may win every connection.
AT_ONCE = 4


class Workers:
    """Requests to one server, and which worker (pid) answered each."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.numbers = itertools.count(1)

    def get_me(self, headers: dict[str, str]) -> tuple[str, str]:
        """GET /me on a new connection; return the pid that served it and the status."""
        tag = f"request={next(self.numbers)}"
        # A new connection each time, so that either worker may accept it.
        requests.get(f"{self.url}/me?{tag}", headers=headers, timeout=10).close()
        # gunicorn writes the line once the response is sent: wait for it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                pid, status, query = line.split(" ", 2)
                if query == tag:
                    return pid, status
            time.sleep(0.02)
        pytest.fail(f"no access log line for {tag}")

    def until_both_answer(self, headers: dict[str, str]) -> dict[str, set[str]]:
        """GET /me until each of the two workers has answered; return the statuses."""
        answers: dict[str, set[str]] = {}
        with ThreadPoolExecutor(AT_ONCE) as pool:
            for _ in range(MAX_TRIES):
                for pid, status in pool.map(
                    lambda _: self.get_me(headers), range(AT_ONCE)
                ):
                    answers.setdefault(pid, set()).add(status)
                if len(answers) == 2:
                    return answers
        pytest.fail(f"one worker answered all of {MAX_TRIES * AT_ONCE} requests")


def test_a_revoked_token_is_refused_by_every_worker_at_once(database_uri, tmp_path):
    thing = MyThing({"DATABASE_URI": database_uri})
    thing.create_user("alice")
    leaked = thing.create_token("alice", label="leaked")
    admin = {"Authorization": f"Bearer {thing.create_token('alice', label='admin')}"}
    get_database(thing.flask_app).dispose()
    log = tmp_path / "access.log"
    env = {"MYTHING_DATABASE_URI": database_uri, "MYTHING_RATELIMIT_ENABLED": "off"}
    args = ("--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s %(q)s")
    headers = {"Authorization": f"Bearer {leaked}"}

    with gunicorn(
        "mything:MyThing()", env=env, workers=2, args=args, cwd=tmp_path
    ) as url:
        workers = Workers(url, log)
        before = workers.until_both_answer(headers)
        listed = requests.get(f"{url}/me/tokens", headers=admin, timeout=10).json()
        (token_id,) = [t["id"] for t in listed["items"] if t["name"] == "leaked"]
        deleted = requests.delete(
            f"{url}/me/tokens/{token_id}", headers=admin, timeout=10
        )
        after = workers.until_both_answer(headers)

    assert deleted.status_code == 204
    assert list(before.values()) == [{"200"}, {"200"}]
    assert list(after.values()) == [{"401"}, {"401"}]

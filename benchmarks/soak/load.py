"""The soak's load: client threads sending a mix of requests, and their tally."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from mything import MyThing

from ..harness.tenant import release

REQUEST_TIMEOUT = 30.0
#: The mix of operations, as weights out of 100.
MIX = {"list_notes": 35, "get_note": 35, "create_note": 20, "update_note": 10}


class Client:
    """One HTTP/1.1 connection of a client thread, opened again when closed."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
        )

    def send(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        try:
            self.connection.request(method, path, body=data, headers=self.headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            # Sync workers close each connection after answering; a failure
            # here must not poison the next request.
            self.connection.close()
            self.connection = self._connect()
            raise


@dataclass
class Tally:
    """What the client threads saw; each thread adds to it under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    served: int = 0
    started: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)

    def claim(self, limit: int) -> bool:
        """Reserve one request of the ``limit``; ``False`` when it is used up."""
        with self.lock:
            if self.started >= limit:
                return False
            self.started += 1
            return True

    def record(self, operation: str, seconds: float, outcome: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(operation, []).append(seconds)
            if outcome is None:
                self.served += 1
            else:
                self.errors[outcome] += 1


@dataclass
class Account:
    """A user of the soak: its token, its organization and its notes."""

    name: str
    token: str
    slug: str
    note_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_accounts(database_uri: str, port: int, users: int) -> list[Account]:
    """Create users and tokens (an admin operation), then orgs and notes by HTTP."""
    thing = MyThing({"DATABASE_URI": database_uri, "RATELIMIT_ENABLED": False})
    accounts = []
    try:
        for number in range(users):
            name = f"soak{number}"
            thing.create_user(name)
            accounts.append(Account(name, thing.create_token(name), f"soak-{number}"))
    finally:
        release(thing)
    for account in accounts:
        client = Client(port, account.token)
        org = {"slug": account.slug, "name": f"Soak {account.slug}"}
        status, body = client.send("POST", "/orgs", org)
        if status != 201:
            raise RuntimeError(f"could not create {account.slug}: {status} {body!r}")
        for number in range(20):
            note = {"title": f"seed {number}", "body": "x" * 200, "tags": ["seed"]}
            status, body = client.send("POST", f"/orgs/{account.slug}/notes", note)
            if status != 201:
                raise RuntimeError(f"could not seed a note: {status} {body!r}")
            account.note_ids.append(json.loads(body)["id"])
    return accounts


def run_client(
    port: int, account: Account, tally: Tally, stop: threading.Event, limit: int
) -> None:
    """Send the mix of requests as ``account`` until ``stop`` or the limit."""
    client = Client(port, account.token)
    rng = random.Random()
    operations = list(MIX)
    weights = list(MIX.values())
    notes = f"/orgs/{account.slug}/notes"
    while not stop.is_set() and tally.claim(limit):
        operation = rng.choices(operations, weights)[0]
        with account.lock:
            note_id = rng.choice(account.note_ids)
        method, path, body, expected = {
            "list_notes": ("GET", f"{notes}?limit=20", None, 200),
            "get_note": ("GET", f"{notes}/{note_id}", None, 200),
            "create_note": ("POST", notes, {"title": "soak", "tags": ["a"]}, 201),
            "update_note": ("PATCH", f"{notes}/{note_id}", {"body": "edited"}, 200),
        }[operation]
        started = time.perf_counter()
        try:
            status, data = client.send(method, path, body)
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"{type(exc).__name__}"
            tally.record(operation, time.perf_counter() - started, outcome)
            tally.error_samples.setdefault(outcome, str(exc))
            continue
        elapsed = time.perf_counter() - started
        if status != expected:
            outcome = str(status)
            tally.error_samples.setdefault(outcome, data[:300].decode(errors="replace"))
            tally.record(operation, elapsed, outcome)
            continue
        tally.record(operation, elapsed, None)
        if operation == "create_note":
            with account.lock:
                account.note_ids.append(json.loads(data)["id"])

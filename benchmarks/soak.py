"""A soak test: mything under steady mixed load for minutes, watched for leaks.

It serves mything as in production -- gunicorn with four sync workers,
PostgreSQL, rate limits counted in Redis -- and keeps it busy from client
threads on loopback: 70% reads (a page of notes, one note), 20% new notes,
10% edits. It then reports how many requests were served, every error by
status, latency percentiles, and the resident memory (``VmRSS``) of each
worker at the start, every 30 seconds and at the end, so that a worker
whose memory keeps growing shows up.

Run it from the top of the checkout, where mything is installed::

    python -m benchmarks.soak --report soak.md               # 300 s
    python -m benchmarks.soak --seconds 60 --threads 4 --report soak.md
    python -m benchmarks.soak --database-uri postgresql+psycopg://db/soak \\
        --redis redis://cache:6379 --report soak.md

Without ``--database-uri`` it makes a fresh schema in the ``test``
database of the local PostgreSQL and drops it afterwards; with one, it uses
that database as it is (and leaves its data). Rate limit counters go to
Redis under a key prefix of their own, deleted afterwards. The run stops
after ``--seconds`` or ``--max-requests``, whichever comes first, or on
Ctrl-C; gunicorn is stopped by its process group in every case. The exit
status is 0 when every request succeeded and 1 otherwise.

This is not part of the test suite (``tests/test_soak_smoke.py`` only runs
it for a few seconds to keep it working). The client shares the machine
with the server, so its figures are for comparing runs on one machine, not
for capacity planning.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis

from .depth import postgresql_schema

ROOT = Path(__file__).resolve().parent.parent
POSTGRESQL_URI = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URI = "redis://127.0.0.1:6379"
#: High enough that no request of the soak is refused, yet counted in Redis.
RATELIMIT = "100000000/minute"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0
#: The mix of operations, as weights out of 100.
MIX = {"list_notes": 35, "get_note": 35, "create_note": 20, "update_note": 10}


# Where the server runs ------------------------------------------------------


@contextlib.contextmanager
def redis_prefix(uri: str) -> Iterator[str]:
    """Yield a key prefix of its own in Redis; delete its keys afterwards."""
    client = redis.Redis.from_url(uri, socket_timeout=5)
    client.ping()  # Fail now, with Redis's own error, if it is not there.
    prefix = f"mything-soak-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's children: its workers."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                # The fields after the command name, which may hold spaces.
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)


@contextlib.contextmanager
def gunicorn(
    database_uri: str, redis_uri: str, prefix: str, *, workers: int, log: Path
) -> Iterator[Server]:
    """Serve mything with gunicorn in a process group of its own."""
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("MYTHING")
    }
    env.update(
        MYTHING_DATABASE_URI=database_uri,
        MYTHING_RATELIMIT=RATELIMIT,
        MYTHING_RATELIMIT_STORAGE_URI=redis_uri,
        MYTHING_RATELIMIT_KEY_PREFIX=prefix,
    )
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "mything:MyThing()"]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        wait_until_serving(server, workers=workers)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop a process group: SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_serving(server: Server, *, workers: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")
            )
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                if len(server.worker_pids()) >= workers:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not serve within {START_TIMEOUT:.0f} s")


# The load -------------------------------------------------------------------


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
    from mything import MyThing
    from mything.db import get_database

    thing = MyThing({"DATABASE_URI": database_uri, "RATELIMIT_ENABLED": False})
    accounts = []
    try:
        for number in range(users):
            name = f"soak{number}"
            thing.create_user(name)
            accounts.append(Account(name, thing.create_token(name), f"soak-{number}"))
    finally:
        get_database(thing.flask_app).dispose()
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


# Memory ---------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    """Return the resident set size of ``pid`` in KiB, or ``None`` if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Sample:
    seconds: float
    served: int
    rss: dict[int, int | None]


def sample(server: Server, tally: Tally, started: float) -> Sample:
    rss = {pid: rss_kib(pid) for pid in server.worker_pids()}
    return Sample(time.monotonic() - started, tally.served, rss)


# The report -----------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def mib(kib: int | None) -> str:
    return "gone" if kib is None else f"{kib / 1024:.1f}"


def report(
    args: argparse.Namespace,
    tally: Tally,
    samples: list[Sample],
    elapsed: float,
    interrupted: bool,
) -> str:
    everything = [value for values in tally.latencies.values() for value in values]
    errors = sum(tally.errors.values())
    lines = [
        "# mything soak test",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. gunicorn "
        f"with {args.workers} sync workers, PostgreSQL, rate limits in Redis; "
        f"{args.threads} client threads as {args.users} users on loopback, on "
        "the same machine (whatever else ran there shares the CPUs).",
        "",
        f"- Duration: {elapsed:.1f} s"
        + (" (interrupted)" if interrupted else "")
        + f" of {args.seconds} s planned, at most {args.max_requests} requests",
        f"- Requests served: {tally.served} ({tally.served / elapsed:.1f} per second)",
        f"- Errors: {errors}",
        f"- Latency: p50 {percentile(everything, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(everything, 0.99) * 1000:.1f} ms, "
        f"max {max(everything, default=float('nan')) * 1000:.1f} ms",
        "",
        "## Errors by status",
        "",
    ]
    if errors:
        lines += ["| status | count | first body |", "|---|---:|---|"]
        for outcome, count in tally.errors.most_common():
            sample_body = tally.error_samples.get(outcome, "").replace("|", "\\|")
            lines.append(f"| {outcome} | {count} | `{sample_body[:120]}` |")
    else:
        lines.append("None.")
    lines += [
        "",
        "## Latency by operation",
        "",
        "| operation | share of mix | requests | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for operation, weight in MIX.items():
        values = tally.latencies.get(operation, [])
        lines.append(
            f"| {operation} | {weight}% | {len(values)} "
            f"| {percentile(values, 0.5) * 1000:.1f} "
            f"| {percentile(values, 0.99) * 1000:.1f} "
            f"| {max(values, default=float('nan')) * 1000:.1f} |"
        )
    lines += ["", "## Worker memory (VmRSS, MiB)", ""]
    pids = sorted({pid for entry in samples for pid in entry.rss})
    lines.append("| at s | served | " + " | ".join(f"pid {pid}" for pid in pids) + " |")
    lines.append("|---:|---:|" + "---:|" * len(pids))
    for entry in samples:
        cells = " | ".join(
            mib(entry.rss[pid]) if pid in entry.rss else "-" for pid in pids
        )
        lines.append(f"| {entry.seconds:.0f} | {entry.served} | {cells} |")
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        growth = [
            (last.rss[pid] or 0) - (first.rss[pid] or 0)
            for pid in first.rss
            if pid in last.rss
        ]
        restarted = set(first.rss) != set(last.rss)
        lines += [
            "",
            "Growth from start to end: "
            + ", ".join(f"{kib / 1024:+.1f} MiB" for kib in growth)
            + (". Workers were replaced during the run." if restarted else "."),
        ]
    return "\n".join(lines) + "\n"


# Running it -----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve mything with gunicorn and keep it busy for a while."
    )
    parser.add_argument("--seconds", type=float, default=300, help="default: 300")
    parser.add_argument(
        "--max-requests", type=int, default=5_000_000, help="stop after this many"
    )
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--users", type=int, default=4, help="users (and orgs)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--sample-every", type=float, default=30, help="seconds between RSS samples"
    )
    parser.add_argument(
        "--database-uri",
        help="use this database as it is (default: a fresh schema in "
        f"{POSTGRESQL_URI}, dropped afterwards)",
    )
    parser.add_argument("--redis", default=REDIS_URI, help=f"default: {REDIS_URI}")
    parser.add_argument("--report", type=Path, required=True, help="Markdown file")
    return parser.parse_args(argv)


class Interrupted(Exception):
    """SIGTERM (or SIGINT) arrived: stop the load and clean up."""


def interrupt(signum: int, frame: object) -> None:
    # A second signal must not cut the cleanup short; SIGKILL still can.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def soak(args: argparse.Namespace, database_uri: str, prefix: str, log: Path) -> int:
    with gunicorn(
        database_uri, args.redis, prefix, workers=args.workers, log=log
    ) as server:
        accounts = create_accounts(database_uri, server.port, args.users)
        tally = Tally()
        stop_load = threading.Event()
        threads = [
            threading.Thread(
                target=run_client,
                args=(
                    server.port,
                    accounts[number % len(accounts)],
                    tally,
                    stop_load,
                    args.max_requests,
                ),
                daemon=True,
            )
            for number in range(args.threads)
        ]
        started = time.monotonic()
        samples = [sample(server, tally, started)]
        interrupted = False
        for thread in threads:
            thread.start()
        try:
            next_sample = started + args.sample_every
            deadline = started + args.seconds
            while any(thread.is_alive() for thread in threads):
                now = time.monotonic()
                if now >= deadline:
                    break
                if now >= next_sample:
                    samples.append(sample(server, tally, started))
                    print(f"{now - started:.0f} s: {tally.served} served", flush=True)
                    next_sample += args.sample_every
                time.sleep(min(0.5, max(0.0, min(deadline, next_sample) - now)))
        except Interrupted:
            interrupted = True
        finally:
            stop_load.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT + 5)
        elapsed = time.monotonic() - started
        samples.append(sample(server, tally, started))
    text = report(args, tally, samples, elapsed, interrupted)
    if tally.errors:
        text += "\n## Server log (end)\n\n```\n"
        text += log.read_text(errors="replace")[-3000:] + "\n```\n"
    args.report.write_text(text)
    print(text)
    return 1 if tally.errors or interrupted else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C or SIGTERM end the load early; the report is still written, and
    # gunicorn, the schema and the Redis keys are cleaned up.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    with tempfile.TemporaryDirectory(prefix="mything-soak-") as directory:
        log = Path(directory) / "gunicorn.log"
        with contextlib.ExitStack() as stack:
            database_uri = args.database_uri or stack.enter_context(
                postgresql_schema(POSTGRESQL_URI)
            )
            prefix = stack.enter_context(redis_prefix(args.redis))
            return soak(args, database_uri, prefix, log)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks.soak``: serve mything, load it for a while, report."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..harness.databases import postgresql_schema
from .load import REQUEST_TIMEOUT, Tally, create_accounts, run_client
from .memory import sample
from .report import report
from .server import gunicorn, redis_prefix

POSTGRESQL_URI = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URI = "redis://127.0.0.1:6379"


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

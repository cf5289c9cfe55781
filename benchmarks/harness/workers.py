"""``mything deliver`` worker processes, as a deployment runs them.

Each worker is ``python -m mything deliver --concurrency 1``, configured
only through ``MYTHING_*`` variables (:func:`worker_env`), in a process
group of its own, with its output in a log file. :func:`delivering` stops
every group when it exits, whether the section finishes, fails or is
interrupted, exactly as :func:`.servers.serving` stops gunicorn.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .servers import server_env, start_in_group, stop_group

#: One worker: one process making one attempt at a time.
COMMAND = (sys.executable, "-m", "mything", "deliver", "--concurrency", "1")
#: Seconds an attempt may take, and the lease that must outlast it.
TIMEOUT_SECONDS = 5
LEASE_SECONDS = 30


@dataclass
class DeliveryWorker:
    """One ``mything deliver`` process."""

    process: subprocess.Popen
    log_file: Path

    @property
    def pid(self) -> int:
        """The worker's pid, which is also its process group id."""
        return self.process.pid

    def check_running(self) -> None:
        """Raise with the worker's log if it has exited."""
        if self.process.poll() is not None:
            log = self.log_file.read_text(errors="replace")
            raise RuntimeError(
                f"mything deliver exited with {self.process.returncode}:\n{log}"
            )


def worker_env(scratch: Path, database_uri: str) -> dict[str, str]:
    """Return the workers' environment: mything on ``database_uri``, webhooks local."""
    env = server_env(scratch)
    env.update(
        MYTHING_DATABASE_URI=database_uri,
        MYTHING_WEBHOOK_ALLOW_PRIVATE="1",
        MYTHING_WEBHOOK_ALLOW_HTTP="1",
        MYTHING_WEBHOOK_TIMEOUT=str(TIMEOUT_SECONDS),
        MYTHING_WEBHOOK_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    return env


def start_worker(env: dict[str, str], log_file: Path) -> DeliveryWorker:
    """Start one worker in a new process group, logging to ``log_file``."""
    return DeliveryWorker(start_in_group(COMMAND, env, log_file), log_file)


@contextlib.contextmanager
def delivering(
    count: int,
    env: dict[str, str],
    *,
    logs: Path,
    log: Callable[[str], None],
) -> Iterator[list[DeliveryWorker]]:
    """Run ``count`` workers; stop every one by process group on the way out."""
    workers: list[DeliveryWorker] = []
    try:
        for number in range(count):
            worker = start_worker(env, logs / f"deliver-{number}.log")
            workers.append(worker)
        pgids = ", ".join(str(worker.pid) for worker in workers)
        log(f"started {count} mything deliver workers (pgids {pgids})")
        yield workers
    finally:
        for worker in workers:
            stop_group(worker.process)
        log(f"stopped {len(workers)} mything deliver process groups")

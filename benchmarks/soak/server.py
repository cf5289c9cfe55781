"""Where the soak's server runs: gunicorn serving mything, rate limits in Redis."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
#: High enough that no request of the soak is refused, yet counted in Redis.
RATELIMIT = "100000000/minute"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


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

"""Start a private, throwaway ``redis-server`` for tests that stop and restart it.

::

    port = free_port()
    with redis_server(port) as uri:
        ...  # uri == "redis://127.0.0.1:<port>"

The server keeps nothing on disk, listens on loopback only, and is stopped
when the block ends. Starting it again on the same port is a Redis restart.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import redis


def redis_server_available() -> bool:
    """Return whether a ``redis-server`` binary is on the ``PATH``."""
    return shutil.which("redis-server") is not None


@contextlib.contextmanager
def redis_server(port: int, *, timeout: float = 10) -> Iterator[str]:
    """Run ``redis-server`` on ``port`` and yield its URI until the block ends."""
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    uri = f"redis://127.0.0.1:{port}"
    try:
        wait_until_answering(uri, process, timeout)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(uri: str, process: subprocess.Popen, timeout: float) -> None:
    """Wait until the server at ``uri`` answers PING, or raise."""
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(uri, socket_timeout=1) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer at {uri} within {timeout} s")

"""Start real gunicorn processes on loopback for the tests that are about serving.

::

    with gunicorn("mything:MyThing()", env={"MYTHING_DATABASE_URI": uri}) as url:
        requests.get(url + "/healthz")

The server gets a free port on 127.0.0.1, is waited for until it answers,
and is stopped (its whole process group) when the block ends, even on error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(
    url: str, process: subprocess.Popen, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stdout.read() if process.stdout else "(see its output file)"
            raise RuntimeError(f"server exited with {process.returncode}:\n{said}")
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):
            # Refused, or accepted by the master before a worker is ready.
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout} s")


@contextlib.contextmanager
def serving(
    command: list[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    ready_path: str = "/healthz",
    output: Path | None = None,
) -> Iterator[str]:
    """Run a server ``command`` listening on ``port``; yield its base URL.

    The server runs in a process group of its own, stopped when the block
    ends: SIGTERM, then SIGKILL if it has not exited within 15 seconds. Its
    standard output and error go to the file ``output`` when one is given.
    """
    sink = open(output, "w") if output else subprocess.PIPE
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=sink,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url + ready_path, process)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout:
            process.stdout.close()
        if output:
            sink.close()


@contextlib.contextmanager
def gunicorn(
    app: str,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    args: tuple[str, ...] = (),
    cwd: Path | str | None = None,
    ready_path: str = "/healthz",
    output: Path | None = None,
) -> Iterator[str]:
    """Serve the WSGI ``app`` spec with gunicorn and yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), *args, app]
    with serving(
        command, port=port, env=env, cwd=cwd, ready_path=ready_path, output=output
    ) as url:
        yield url

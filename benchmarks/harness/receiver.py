"""A webhook receiver on loopback that answers ``204`` at once and counts.

::

    python -m benchmarks.harness.receiver PORT   # 0: any free port

The receiver is a threading HTTP server (a thread per connection, as
mything's workers open one per attempt) in a process of its own, so that
neither its work nor its interpreter lock is the benchmark's. It prints
``listening on <url>`` once it accepts connections, answers every ``POST``
with ``204 No Content`` after reading the body, and ``GET /count`` with the
number of ``POST`` requests so far. :func:`receiving` starts it in a
process group of its own and stops the group when it exits, whatever
happens, as :mod:`.servers` does for gunicorn.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .servers import ROOT, START_TIMEOUT, stop_group

#: Connections waiting to be accepted: every worker may connect at once.
BACKLOG = 128


class CountingServer(ThreadingHTTPServer):
    """A threading HTTP server that counts the ``POST`` requests it answers."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, Handler)
        self.received = 0
        self.lock = threading.Lock()

    def count_one(self) -> None:
        """Count one ``POST``."""
        with self.lock:
            self.received += 1


class Handler(BaseHTTPRequestHandler):
    """Answers ``POST`` with 204 and ``GET /count`` with the count so far."""

    server: CountingServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.count_one()
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:
        body = json.dumps({"received": self.server.received}).encode()
        self.send_response(200 if self.path == "/count" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: a line per request would cost more than the answer."""


@dataclass
class Receiver:
    """A receiver process, and the URL it listens at."""

    process: subprocess.Popen
    url: str

    @property
    def pid(self) -> int:
        """The receiver's pid, which is also its process group id."""
        return self.process.pid

    def received(self) -> int:
        """Return how many ``POST`` requests the receiver has answered."""
        with urllib.request.urlopen(self.url + "/count", timeout=5) as response:
            return int(json.load(response)["received"])


def read_url(process: subprocess.Popen) -> str:
    """Wait for the receiver's ``listening on <url>`` line and return the URL."""
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline().decode() if ready else ""  # type: ignore[union-attr]
    if not line.startswith("listening on "):
        raise RuntimeError(f"the webhook receiver did not start: {line!r}")
    return line.removeprefix("listening on ").strip()


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """Run a receiver on a free port; stop its process group on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.harness.receiver", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield Receiver(process, read_url(process))
    finally:
        stop_group(process)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str]) -> None:
    """Serve on 127.0.0.1 at the port given (0 for any) until stopped."""
    with CountingServer(("127.0.0.1", int(argv[0]))) as server:
        print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])

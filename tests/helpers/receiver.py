"""A webhook receiver for tests: an HTTP server on 127.0.0.1, in a thread.

It records every request it gets, and notices when two requests carrying
the same ``webhook-id`` are being answered at the same time (two attempts
of one delivery that overlap). What it answers is up to the test::

    with Receiver() as receiver:                    # 200 "ok" to everything
        ...
        receiver.wait_for(10)                       # ten requests, or fail
    Receiver(answer=slowly(2.0))                    # 200 after two seconds
    Receiver(answer=status(500))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    started: float
    ended: float | None = None


def status(code: int, body: bytes = b"ok", headers: dict | None = None) -> Answer:
    """Answer ``code`` with ``body``."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def slowly(seconds: float, then: Answer | None = None) -> Answer:
    """Wait ``seconds``, then answer as ``then`` does (200 by default)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        (then or status(200))(handler)

    return answer


def endless(handler: BaseHTTPRequestHandler) -> None:
    """Answer 200 with a body that never ends (until the client hangs up)."""
    handler.send_response(200)
    handler.end_headers()
    chunk = b"x" * 4096
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            handler.wfile.write(chunk)
    except OSError:
        pass


@dataclass
class Receiver:
    """An HTTP server that records webhooks; a context manager that runs it."""

    answer: Answer = field(default_factory=lambda: status(200))
    port: int = 0
    received: list[Received] = field(default_factory=list)
    #: The webhook-ids of requests that came while another one was answered.
    overlaps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._answering: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again, on the same port after a :meth:`stop`)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        record = Received(
            {name.lower(): value for name, value in handler.headers.items()},
            handler.rfile.read(length),
            time.monotonic(),
        )
        message = record.headers.get("webhook-id", "")
        with self._lock:
            self.received.append(record)
            if self._answering.get(message):
                self.overlaps.append(message)
            self._answering[message] = self._answering.get(message, 0) + 1
        try:
            self.answer(handler)
        finally:
            with self._lock:
                self._answering[message] -= 1
                record.ended = time.monotonic()

    def ids(self) -> set[str]:
        """The webhook-ids received."""
        with self._lock:
            return {record.headers.get("webhook-id", "") for record in self.received}

    def wait_for(self, count: int, *, timeout: float = 30) -> list[Received]:
        """Wait until ``count`` requests came (or fail after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.received)} requests came, not {count}, "
                    f"in {timeout} seconds"
                )
            time.sleep(0.02)
        return list(self.received)

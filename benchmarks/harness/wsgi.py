"""Calling a WSGI app directly, the way a server would, and timing it.

A :class:`Request` holds a ready-made WSGI environ; :func:`time_requests`
sends it ``count`` times and returns the seconds per request. Each call
copies the environ and gives it a fresh body stream, runs the app, reads
the whole body and closes it, exactly as gunicorn does, so what is
measured is the app and nothing of a network.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class UnexpectedStatus(RuntimeError):
    """An app answered a benchmark request with the wrong status."""


@dataclass(frozen=True)
class Request:
    """One HTTP request as a WSGI environ, and the status it must get."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: str = "200"

    def environ(self) -> dict[str, Any]:
        """Return the WSGI environ of this request (without ``wsgi.input``)."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if self.body:
            environ["CONTENT_TYPE"] = "application/json"
            environ["CONTENT_LENGTH"] = str(len(self.body))
        for name, value in self.headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ


def call(app: WSGIApp, request: Request) -> tuple[str, bytes]:
    """Send ``request`` once and return the status line and the body."""
    environ = request.environ()
    environ["wsgi.input"] = io.BytesIO(request.body)
    statuses: list[str] = []
    result = app(
        environ, lambda status, headers, exc_info=None: statuses.append(status)
    )
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return statuses[0], body


@dataclass(frozen=True)
class Timing:
    """Seconds per request: of the process's CPU (all its threads), and of the clock."""

    cpu: float
    wall: float


def time_requests(app: WSGIApp, request: Request, count: int) -> Timing:
    """Send ``request`` ``count`` times; return the seconds per request.

    The CPU time counts every thread of this process (a rate limiter's
    background thread too) and no other process, so it stays steady while
    other work shares the machine; the wall time is what a client waits.

    Raises :class:`UnexpectedStatus` if any answer has another status than
    the request expects: a benchmark of error pages measures nothing.
    """
    template = request.environ()
    body = request.body
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        environ = template.copy()
        environ["wsgi.input"] = io.BytesIO(body)
        result = app(environ, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    wrong = [status for status in statuses if not status.startswith(request.expect)]
    if wrong:
        raise UnexpectedStatus(
            f"{request.method} {request.path}: {len(wrong)} of {count} answers "
            f"were {wrong[0]!r}, not {request.expect}"
        )
    return Timing(cpu=cpu / count, wall=wall / count)

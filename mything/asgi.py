"""mything in an ASGI host (FastAPI, Starlette), through a2wsgi.

mything is a WSGI application; an ASGI server such as uvicorn runs it
through an adapter that calls it in a thread pool. :func:`asgi_app` (or
:meth:`MyThing.asgi <mything.MyThing.asgi>`) returns that adapter, ready to
mount::

    from fastapi import FastAPI
    from mything import MyThing

    app = FastAPI()
    app.mount("/api", MyThing().asgi())

It needs a2wsgi (``pip install 'mything[asgi]'``), the adapter Starlette
itself now points to, and adds the one thing a2wsgi does not say: that the
body ends where the ASGI server says it ends.

A WSGI server that reads HTTP/1.1 chunks itself (gunicorn) sets
``wsgi.input_terminated`` to tell the application that reading the input
until it is empty is safe. ASGI has no such flag, so a2wsgi does not set it,
and Werkzeug then treats a body without ``Content-Length`` as no body at
all: a chunked ``POST`` would arrive empty (a 400 "empty document"), and
``MAX_CONTENT_LENGTH`` could not bound it. Yet the ASGI server has always
ended the body (its last message says ``more_body: False``), and a2wsgi
streams the messages as they come, so the flag is true here:
:class:`BodiesEnded` sets it. A chunked body then arrives whole, and one
over ``MAX_CONTENT_LENGTH`` is refused (413) once that many bytes have
come, without reading the rest.

Starlette's own ``starlette.middleware.wsgi.WSGIMiddleware`` (deprecated)
reads every body whole into memory before the application sees it, so no
limit can refuse it early: do not use it for mything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Threads that run requests, per adapter: a2wsgi's own default.
WORKERS = 10


class BodiesEnded:
    """WSGI middleware: tell the app that the server ends every request body.

    Only for servers that do, as every ASGI server does; under a WSGI
    server that does not, reading to the end could wait forever.
    """

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        environ["wsgi.input_terminated"] = True
        return self.wsgi_app(environ, start_response)


def asgi_app(wsgi_app: WSGIApplication, *, workers: int = WORKERS) -> Any:
    """Return ``wsgi_app`` (a :class:`~mything.MyThing`) as an ASGI application.

    Requests run in a pool of ``workers`` threads, each holding at most one
    database connection: more concurrent requests wait for a thread. Keep
    ``workers`` at or below the database pool (15 connections by default)
    on PostgreSQL and MySQL.
    """
    try:
        from a2wsgi import WSGIMiddleware
    except ImportError:
        raise ConfigError(
            "serving mything over ASGI needs a2wsgi: install mything[asgi]"
        ) from None
    # a2wsgi types the environ as a TypedDict of its own; a WSGI app takes a dict.
    return WSGIMiddleware(BodiesEnded(wsgi_app), workers=workers)  # type: ignore[arg-type]

"""Access records: one log record per request, on the logger ``mything.access``.

Every request that reaches mything, whatever its answer (errors, 404s, 429s
and 304s too), leaves one record at INFO. Its message is a readable line::

    GET /orgs/<slug>/notes 200 1532B 4.1ms user=alice instance=/api request_id=4f2a9c...

and the record carries each part as an attribute, for a structured
formatter (such as :class:`mything.logs.JSONFormatter`) or a filter:

=================  ==========================================================
``method``         the HTTP method, or ``_OTHER`` for one outside the
                   standard set (:data:`STANDARD_METHODS`)
``route``          the URL rule that matched, ``/orgs/<slug>/notes``, or
                   ``<unmatched>``: never the raw path, which may be anything
``status``         the response status, an int
``duration_ms``    from the request's arrival until its response was ready
``request_id``     the same value as the ``X-Request-ID`` response header
``user``           the caller's name, or ``None`` (anonymous, or not asked)
``response_bytes`` the body's ``Content-Length`` (``None`` if streamed)
``instance``       which mything answered: ``INSTANCE_NAME``, or else the
                   prefix the host mounted it under (``/api``), or ``/``
=================  ==========================================================

Headers, tokens, query strings and bodies are never part of it.

:class:`AccessLog` is a WSGI middleware around the Flask app's
``wsgi_app``, so it times everything Flask does, including the rate limit
that may refuse a request before any view runs. It reads what mything
learned about the request from the request object (``request.url_rule``,
``request.caller``), which Werkzeug keeps in the environ: building
the record never queries the database. Other parts of mything (the metrics)
listen to the same measurement instead of timing requests again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .config import settings_of
from .requestid import request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

logger = logging.getLogger("mything.access")

#: The ``route`` of a request that matched no URL rule (404, 405).
UNMATCHED = "<unmatched>"
#: The ``method`` of a request whose method is not one of
#: :data:`STANDARD_METHODS`; the name comes from OpenTelemetry's HTTP conventions.
OTHER_METHOD = "_OTHER"

#: The methods recorded by name (RFC 9110, section 9, and PATCH). Any other
#: is recorded as :data:`OTHER_METHOD`: a server accepts invented methods,
#: and each one kept as a label would be a new metrics series that anyone
#: could create, until a scrape no longer fits in memory.
STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response, as an operator sees them."""

    method: str
    route: str
    status: int
    #: Seconds from the request's arrival until its response was ready.
    duration: float
    request_id: str
    user: str | None
    response_bytes: int | None
    #: ``INSTANCE_NAME``, or the mount prefix: tells instances apart.
    instance: str = "/"


class Listener(Protocol):
    """Something told about every request, such as :class:`mything.metrics.Metrics`."""

    def request_started(self, environ: WSGIEnvironment, method: str) -> None:
        """Called when a request arrives, before Flask sees it."""

    def request_finished(self, environ: WSGIEnvironment, exchange: Exchange) -> None:
        """Called once its response is ready, with what it was."""


class AccessLog:
    """WSGI middleware that times each request and logs its access record."""

    def __init__(self, wsgi_app: WSGIApplication, *, instance_name: str = "") -> None:
        self.wsgi_app = wsgi_app
        #: The ``instance`` of every record, if set; else each request's mount.
        self.instance_name = instance_name
        #: Told about every request, in this order.
        self.listeners: list[Listener] = []

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if not self.listeners and not logger.isEnabledFor(logging.INFO):
            # Nobody would see the measurement: describing an exchange costs
            # more than the rest of this, so it is not measured at all.
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        # Chosen now, so that every record logged while answering can carry it.
        request_id(environ)
        method = environ.get("REQUEST_METHOD", "")
        if method not in STANDARD_METHODS:
            method = OTHER_METHOD
        for listener in self.listeners:
            listener.request_started(environ, method)
        sent: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            sent["status"], sent["headers"] = status, headers
            # Werkzeug's request keeps itself in the environ, and Flask takes
            # it out when the request ends, after starting the response.
            sent["request"] = environ.get("werkzeug.request")
            return start_response(status, headers, *exc_info)

        try:
            return self.wsgi_app(environ, capture)
        finally:
            duration = time.perf_counter() - started
            instance = self.instance_name or mount_prefix(environ)
            exchange = describe(environ, method, sent, duration, instance=instance)
            log(exchange)
            for listener in self.listeners:
                listener.request_finished(environ, exchange)


def describe(
    environ: WSGIEnvironment,
    method: str,
    sent: dict[str, Any],
    duration: float,
    *,
    instance: str = "/",
) -> Exchange:
    """Return the :class:`Exchange` of a request whose response was ``sent``.

    ``sent`` holds what the app passed to ``start_response``, and the
    request object as it was then. An app that raised instead of answering
    (a worker being stopped) is recorded as the 500 that the server answers
    for it.
    """
    request = sent.get("request")
    rule = getattr(request, "url_rule", None)
    caller = getattr(request, "caller", None)
    status = int(sent["status"][:3]) if sent else 500
    length = next(
        (
            value
            for key, value in sent.get("headers", ())
            if key.lower() == "content-length"
        ),
        None,
    )
    if length is None and (status in (204, 304) or method == "HEAD"):
        length = 0
    return Exchange(
        method=method,
        route=rule.rule if rule is not None else UNMATCHED,
        status=status,
        duration=duration,
        request_id=request_id(environ),
        user=caller.name if caller is not None else None,
        response_bytes=int(length) if length is not None else None,
        instance=instance,
    )


def mount_prefix(environ: WSGIEnvironment) -> str:
    """Return the prefix a host mounted mything under (``/api``), or ``/``.

    That is the ``SCRIPT_NAME`` the host's server or middleware set, before
    a trusted proxy's ``X-Forwarded-Prefix`` changed it (mything.app).
    """
    original = environ.get("werkzeug.proxy_fix.orig", environ)
    prefix: str = original.get("SCRIPT_NAME") or "/"
    return prefix


def log(exchange: Exchange) -> None:
    """Log the access record of ``exchange`` on ``mything.access``, at INFO."""
    if not logger.isEnabledFor(logging.INFO):
        return
    duration_ms = round(exchange.duration * 1000, 3)
    logger.info(
        "%s %s %s %sB %.1fms user=%s instance=%s request_id=%s",
        exchange.method,
        exchange.route,
        exchange.status,
        "-" if exchange.response_bytes is None else exchange.response_bytes,
        duration_ms,
        exchange.user or "-",
        exchange.instance,
        exchange.request_id,
        extra={
            "method": exchange.method,
            "route": exchange.route,
            "status": exchange.status,
            "duration_ms": duration_ms,
            "request_id": exchange.request_id,
            "user": exchange.user,
            "response_bytes": exchange.response_bytes,
            "instance": exchange.instance,
        },
    )


def init_app(app: Flask) -> AccessLog:
    """Log an access record for every request of ``app``; return the middleware.

    The middleware is kept as ``app.extensions["mything.access"]``, where
    other parts of mything add their listeners.
    """
    access_log = AccessLog(app.wsgi_app, instance_name=settings_of(app).instance_name)
    app.wsgi_app = access_log  # type: ignore[method-assign]
    app.extensions["mything.access"] = access_log
    return access_log

"""Cross-origin requests: browser apps on other origins may call mything.

A host's single-page app at ``https://app.example.com`` that calls mything at
``https://api.example.com`` is a cross-origin caller, and the browser lets
its script see the answers only if mything says so (the Fetch standard's
CORS protocol). The host lists the origins it trusts::

    MyThing({"CORS_ORIGINS": ["https://app.example.com"]})   # or ["*"]
    MYTHING_CORS_ORIGINS=https://app.example.com,https://admin.example.com

For a request whose ``Origin`` is listed (any origin, with ``*``):

- A **preflight** (``OPTIONS`` with ``Access-Control-Request-Method``) is
  answered by the edge (:mod:`mything.edge`), before authentication and
  the rate limit, with 204 and the
  methods the URL routes, the request headers mything reads
  (:data:`ALLOWED_HEADERS`, named one by one: a ``*`` would not cover
  ``Authorization``) and how long the browser may cache the answer. A path
  that does not exist is the usual 404, a method that the path does not
  route a 405, and an origin that is not listed a 403 ``origin_not_allowed``.
- **Every other response**, errors included, carries
  ``Access-Control-Allow-Origin`` and ``Access-Control-Expose-Headers``
  (:data:`EXPOSED_HEADERS`): without the latter a script could read only
  the CORS-safelisted headers, and never the ``Link`` to the next page, the
  ``ETag``, ``Location`` or the rate limit.

Requests from origins that are not listed are served as usual, without
those headers, so the browser keeps their answers from the script (a
host's own same-origin pages, whose requests may carry ``Origin`` too, are
not affected). Every response varies by ``Origin``, which ``Vary`` tells
caches. ``Access-Control-Allow-Credentials`` is never sent: mything's
credential is a bearer token, which a script sets itself, not a cookie.

With ``CORS_ORIGINS`` empty (the default) nothing here is registered.

Why not flask-cors: it replaces the app's ``handle_exception`` and
``handle_user_exception`` methods with wrappers to reach error responses,
while an ``after_request`` function already sees every response mything
answers, errors included; and mything wants fixed lists of headers rather
than options to configure them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flask import current_app, request
from werkzeug.exceptions import MethodNotAllowed

from .config import settings_of
from .errors import OriginNotAllowed
from .results import ApiResult

if TYPE_CHECKING:
    from flask import Flask, Request, Response

#: The request headers a cross-origin script may send.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
)

#: The response headers a cross-origin script may read.
EXPOSED_HEADERS = (
    "ETag",
    "Link",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "WWW-Authenticate",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-ID",
)

#: Seconds a browser may reuse a preflight answer: two hours, the most
#: Chromium accepts (it caps larger values).
MAX_AGE = 7200


def is_preflight(request: Request) -> bool:
    """Return whether ``request`` is a CORS preflight, sent by a browser."""
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


class CorsPolicy:
    """The allowed origins of one app, and the hooks that apply them."""

    def __init__(self, origins: Sequence[str]) -> None:
        self.any_origin = list(origins) == ["*"]
        self.origins = frozenset(origins)
        self._exposed = ", ".join(EXPOSED_HEADERS)
        self._allowed_headers = ", ".join(ALLOWED_HEADERS)

    def allowed_origin(self) -> str | None:
        """Return the ``Access-Control-Allow-Origin`` for this request, if any."""
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        if self.any_origin:
            return "*"
        return origin if origin in self.origins else None

    def answer_preflight(self) -> ApiResult | None:
        """Answer the CORS preflight being made (see :func:`is_preflight`).

        Called by the edge (:mod:`mything.edge`). Returning ``None`` goes on
        to the view: for a path that does not exist, to its 404.
        """
        if self.allowed_origin() is None:
            raise OriginNotAllowed()
        if request.routing_exception is not None:
            return None
        adapter = current_app.create_url_adapter(request)
        assert adapter is not None  # Always, within a request.
        routed = sorted(adapter.allowed_methods())
        if request.headers["Access-Control-Request-Method"] not in routed:
            raise MethodNotAllowed(valid_methods=routed)
        return ApiResult(
            None,
            204,
            headers={
                "Access-Control-Allow-Methods": ", ".join(routed),
                "Access-Control-Allow-Headers": self._allowed_headers,
                "Access-Control-Max-Age": str(MAX_AGE),
            },
        )

    def add_headers(self, response: Response) -> Response:
        """Add the CORS headers to any response (``after_request``)."""
        # Whether these headers are sent depends on Origin: a cache must not
        # hand one origin's answer to another.
        response.vary.add("Origin")
        origin = self.allowed_origin()
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = self._exposed
        return response


def init_app(app: Flask) -> None:
    """Apply ``CORS_ORIGINS`` to ``app``; nothing if it is empty."""
    origins = settings_of(app).cors_origins
    if not origins:
        return
    policy = CorsPolicy(origins)
    app.extensions["mything.cors"] = policy
    app.after_request(policy.add_headers)

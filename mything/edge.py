"""The edge: what runs before every view, in the order it runs.

mything registers one ``before_request`` function, :func:`check_request`,
and it reads top to bottom::

    a Host outside TRUSTED_HOSTS?      -> 400, before anything else
    public view (probes, docs, spec)?  -> straight to the view
    a request that only reads?         -> its connection only reads
    a CORS preflight?                  -> answered here (mything.cors), or,
                                          with CORS off, counted by address
    credentials that failed here?      -> 429, before any lookup
    over the limit, as presented?      -> 429, before any lookup
    who is calling?                    -> asked once: at most one query
    over the limit, as that user?      -> 429 (mything.ratelimit)
    failing credentials, or scope?     -> 401 / 403 (mything.auth)

The limit comes before the lookup (see :mod:`mything.ratelimit`): a caller
over its limit, or an address that keeps sending bad tokens, costs no query.

What the edge learns is kept on the request (:class:`~mything.wrappers.ApiRequest`):
``request.caller``, ``request.credential_error`` and
``request.rate_limit_headers``. Views that need a caller are decorated with
:func:`~mything.auth.authenticated`, which reads ``request.caller``;
:meth:`~mything.app.ApiFlask.make_response` reads the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, request
from werkzeug.exceptions import SecurityError

from . import auth, db
from .cors import is_preflight
from .endpoints import endpoint_of
from .results import ApiResult

if TYPE_CHECKING:
    from flask import Flask

    from .cors import CorsPolicy
    from .ratelimit import RateLimiter
    from .wrappers import ApiRequest

#: The methods that change nothing (RFC 9110, section 9.2.1): a ``read``
#: token may use them, and their requests get a connection that only reads.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_public(app: Flask, endpoint: str | None) -> bool:
    """Return whether the view of ``endpoint`` is :func:`~mything.endpoints.public`.

    Public views answer everyone alike: no credentials are looked at, no
    limit is charged. A liveness probe must not need the database to check
    a token.
    """
    view = app.view_functions.get(endpoint or "")
    return view is not None and endpoint_of(view).public


def check_request() -> ApiResult | None:
    """Run the edge for the current request; registered by :func:`init_app`.

    Returning ``None`` goes on to the view (for a path that does not exist,
    to its 404); returning a result answers without the view; raising an
    :class:`~mything.errors.ApiException` answers with that error.
    """
    # PERF: the request and the app are looked up once and handed on
    # (benchmarks/findings.md#proxies-looked-up-once).
    req: ApiRequest = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if isinstance(req.routing_exception, SecurityError):
        # Flask found the Host untrusted (TRUSTED_HOSTS) before routing:
        # refuse it before a token is looked up or a count charged.
        raise req.routing_exception
    read_only = req.method in SAFE_METHODS
    if read_only:
        db.read_only()
    if is_public(app, req.endpoint):
        return None
    cors: CorsPolicy | None = app.extensions.get("mything.cors")
    limiter: RateLimiter | None = app.extensions.get("mything.ratelimit")
    if is_preflight(req):
        if cors is not None:
            return cors.answer_preflight()
        # No CORS: an OPTIONS like any other, whose credentials (a browser
        # sends none on a preflight) are not worth a query.
        if limiter is not None:
            limiter.charge(req)
        return None
    if limiter is not None:
        limiter.refuse_failing_address(req)
        # Charged to what it presents, before anyone looks that up.
        limiter.charge(req)
    auth.identify(req)
    if limiter is not None:
        limiter.charge_caller(req)
    auth.refuse_bad_credentials(req, read_only=read_only)
    return None


def init_app(app: Flask) -> None:
    """Run the edge before every view of ``app``."""
    # Flask types a hook as returning its own response values; the edge
    # returns an ApiResult, which ApiFlask.make_response converts.
    app.before_request(check_request)  # type: ignore[type-var]

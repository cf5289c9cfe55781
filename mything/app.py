"""The application factory: the only place a Flask app for mything is built.

:func:`create_app` reads the configuration, gives the app its database,
registers the error handlers and every blueprint under
:mod:`mything.blueprints`, and returns it. Tests, examples and
:class:`~mything.thing.MyThing` all build their apps here, each one separate.

:class:`ApiFlask` is the one place where responses are built: a view returns
an :class:`~mything.results.ApiResult`, and :meth:`ApiFlask.make_response`
turns it into JSON and adds the headers every response carries.

mything changes Flask only where Flask documents it may be changed: class
attributes (``request_class``, ``response_class``, ``json_provider_class``,
``session_interface``), :meth:`~flask.Flask.make_response`, hooks
(``before_request``, ``teardown_appcontext``), error handlers, URL
converters, and middleware around ``wsgi_app``. Everything else of Flask's
request cycle runs as Flask wrote it, so the hooks and signals a host adds
behave as in any Flask app, and a new Flask release changes nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter
from werkzeug.utils import find_modules, import_string

from . import access, cli, cors, db, edge, logs, metrics, ratelimit
from .config import PROXY_HEADERS, CheckedConfig, settings_of
from .encoding import SafeJSONProvider
from .errors import (
    answer_every_error,
    handle_database_error,
    register_error_handlers,
)
from .requestid import request_id
from .results import ApiResult
from .wrappers import ApiRequest, ApiResponse


class IdConverter(BaseConverter):
    """Match a database id in a URL: a positive integer of at most 19 digits.

    It does not check the range: Werkzeug answers 405 instead of 404 when a
    converter refuses a value on a path that other methods match. The
    services answer 404 for ids that cannot exist.
    """

    regex = r"[1-9][0-9]{0,18}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class NoSessions(SessionInterface):
    """mything keeps no sessions: every request gets the same empty one.

    Flask's default makes a new (null) session object for every request.
    """

    def __init__(self) -> None:
        self.session = self.null_session_class()

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        return self.session

    def save_session(
        self, app: Flask, session: SessionMixin, response: Response
    ) -> None:
        pass


class ApiFlask(Flask):
    """A Flask app whose views return :class:`ApiResult` objects."""

    config_class = CheckedConfig
    json_provider_class = SafeJSONProvider
    request_class = ApiRequest
    response_class = ApiResponse
    session_interface = NoSessions()

    #: The :class:`~mything.thing.MyThing` that owns this app, if any.
    my_thing: Any = None

    config: CheckedConfig

    def make_response(self, rv: Any) -> ApiResponse:
        """Build the response for a view's or error handler's return value.

        A successful result commits the request's database work first, so
        that a failed commit becomes an error response instead of a success
        the database never kept. An error result is never committed: what
        its request did is rolled back when the app context ends.
        """
        if isinstance(rv, ApiResult) and rv.status < 400:
            try:
                db.commit_db()
            except (DBAPIError, PoolTimeoutError) as error:
                rv = handle_database_error(error)
        response: Response
        if isinstance(rv, ApiResult):
            response = rv.to_response(self.response_class)
        else:
            response = super().make_response(rv)
        # Flask turns anything a view returns into its response_class.
        assert isinstance(response, ApiResponse)
        # PERF: benchmarks/findings.md#proxies-looked-up-once
        req: ApiRequest = request._get_current_object()  # type: ignore[attr-defined]
        headers = response.headers
        headers.add("X-Content-Type-Options", "nosniff")
        headers.add("X-Request-ID", request_id(req.environ))
        headers.extend(req.rate_limit_headers)
        if req.caller is not None:
            # A caller's own data must not be kept by shared caches.
            headers["Cache-Control"] = "no-store"
        return response


def create_app(config: Mapping[str, Any] | None = None) -> ApiFlask:
    """Create a mything Flask app; ``config`` overrides every other source."""
    # First, so that nothing mything logs while starting reaches Python's
    # last-resort handler (or Flask's) instead of the host's configuration.
    logs.prepare_loggers()
    # No static folder: Flask would serve mything/static at /static, outside
    # the docs blueprint (which serves those files, and can be switched off).
    app = ApiFlask("mything", static_folder=None)
    # "/orgs//notes" is a 404 in JSON, not Werkzeug's HTML redirect to a
    # merged path.
    app.url_map.merge_slashes = False
    app.config.load(config)
    # A JSON API answers errors as JSON even in debug or testing mode; letting
    # them propagate would hand them to the server's HTML error page.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.url_map.converters["id"] = IdConverter
    db.init_app(app)
    register_error_handlers(app)
    register_blueprints(app)
    ratelimit.init_app(app)
    cors.init_app(app)
    # The one before-request function: see mything.edge for what it runs.
    edge.init_app(app)
    cli.register_commands(app)
    # Inside the access log, which then records the 500 it answers.
    answer_every_error(app)
    access.init_app(app)
    metrics.init_app(app)
    trust_proxies(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Read the ``X-Forwarded-*`` headers that ``app``'s proxies set, and only those.

    ``TRUSTED_PROXIES`` says how many proxies stand in front of mything, and
    ``TRUSTED_PROXY_HEADERS`` which headers they set (``for`` by default).
    A header a proxy passes on without setting it is the client's to choose:
    trusting ``X-Forwarded-Host`` from nginx's usual setup, which sets only
    ``X-Forwarded-For``, would let any client choose the host of every URL
    mything writes (``Location``, ``Link``, the ``servers`` of
    ``/openapi.json``).
    """
    checked = settings_of(app)
    hops = checked.trusted_proxies
    if not hops:
        return
    trusted = checked.trusted_proxy_headers
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        _keep_mount_prefix(app.wsgi_app),
        **{f"x_{name}": hops if name in trusted else 0 for name in PROXY_HEADERS},
    )


def _keep_mount_prefix(wsgi_app: Any) -> Any:
    """Put a host's mount prefix back below the prefix a proxy forwarded.

    ``ProxyFix`` replaces ``SCRIPT_NAME`` with ``X-Forwarded-Prefix``; when a
    host mounted mything under ``/api`` and a proxy serves the host under
    ``/site``, mything's URLs must start with ``/site/api``.
    """

    def app(environ: dict, start_response: Any) -> Any:
        mount = environ["werkzeug.proxy_fix.orig"]["SCRIPT_NAME"] or ""
        if mount and environ.get("SCRIPT_NAME") != mount:
            environ["SCRIPT_NAME"] = environ["SCRIPT_NAME"].rstrip("/") + mount
        return wsgi_app(environ, start_response)

    return app


def register_blueprints(app: Flask) -> None:
    """Register every module of :mod:`mything.blueprints` that has a ``blueprint``.

    A module whose ``ENABLED_BY`` names a setting is registered only when
    that setting is true.
    """
    for name in find_modules("mything.blueprints"):
        module = import_string(name)
        switch = getattr(module, "ENABLED_BY", None)
        enabled = switch is None or getattr(settings_of(app), switch.lower())
        if hasattr(module, "blueprint") and enabled:
            app.register_blueprint(module.blueprint)

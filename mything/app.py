"""The application factory: the only place a Flask app for mything is built.

:func:`create_app` reads the configuration, gives the app its database,
registers the error handlers and every blueprint under
:mod:`mything.blueprints`, and returns it. Tests, examples and
:class:`~mything.thing.MyThing` all build their apps here, each one separate.

:class:`ApiFlask` is the one place where responses are built: a view returns
an :class:`~mything.results.ApiResult`, and :meth:`ApiFlask.make_response`
turns it into JSON and adds the headers every response carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Flask, Request, Response, request
from flask.globals import request_ctx
from flask.sessions import SessionInterface, SessionMixin
from flask.signals import request_tearing_down
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, MapAdapter
from werkzeug.utils import find_modules, import_string
from werkzeug.wsgi import get_host

from . import access, auth, cli, cors, credentials, db, logs, metrics, ratelimit
from .auth import NOT_CHECKED
from .config import load_config
from .encoding import SafeJSONProvider
from .errors import Unauthorized, register_error_handlers
from .requestid import request_id
from .results import ApiResult
from .services import User

if TYPE_CHECKING:
    from .ratelimit import RateLimiter
    from .thing import MyThing


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


class ApiRequest(Request):
    """Flask's request, carrying what mything learns about it while answering.

    The rate limiter and the views find out who is calling, and the limiter
    counts the call; both are kept here, on the one object that lives
    exactly as long as the request, so that building the response reads
    them without another lookup.

    It also reads any query string without failing. Werkzeug keeps
    percent-escapes that are not UTF-8 (``%ff``) as they are, but cannot
    decode raw bytes that are not UTF-8, which servers other than gunicorn
    pass on; those stay percent-encoded here too, and validation then
    refuses them like any other wrong value.
    """

    #: Who is calling, once :mod:`mything.auth` has checked: the user, the
    #: 401 that the credentials earned, or ``None`` without credentials.
    authentication: User | Unauthorized | None = NOT_CHECKED
    #: The rate limit headers of the answer, once the request is counted.
    rate_limit_headers: Sequence[tuple[str, str]] = ()

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        query = self.query_string.decode("utf-8", "werkzeug.url_quote")
        pairs = parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
        return ImmutableMultiDict(pairs)


class ApiResponse(Response):
    """Flask's response, sending the headers that every mything answer carries.

    :meth:`ApiFlask.make_response` puts those (``X-Request-ID``, the rate
    limit, ``nosniff``) in :attr:`common_headers`, and they are sent after
    :attr:`headers`, as they are. They are mything's own values, made of
    safe characters; through ``headers`` each would be checked for newlines
    twice, when added and when the response starts, which costs more than
    counting the rate limit.
    """

    #: Headers sent after ``headers``, unchanged.
    common_headers: Sequence[tuple[str, str]] = ()

    def get_wsgi_response(
        self, environ: dict[str, Any]
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        app_iter, status, headers = super().get_wsgi_response(environ)
        headers.extend(self.common_headers)
        return app_iter, status, headers


class ApiFlask(Flask):
    """A Flask app whose views return :class:`ApiResult` objects."""

    json_provider_class = SafeJSONProvider
    request_class = ApiRequest
    response_class: type[ApiResponse] = ApiResponse

    #: The :class:`~mything.thing.MyThing` that owns this app, if any.
    my_thing: MyThing | None = None
    #: The rate limiter every request is charged to (``None``: no limits).
    rate_limiter: RateLimiter | None = None

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to ``request``, from what the request has already read.

        Flask's binding reads the Host header twice, decodes the path and the
        query string again, and works out a subdomain. For an app that sets
        no ``SERVER_NAME`` or ``TRUSTED_HOSTS`` and matches no hosts or
        subdomains (mything's own config), it comes to this; otherwise, and
        outside a request, Flask's binding is used. (One difference: Flask
        would match a WebSocket upgrade request only against WebSocket
        routes, and mything has none.)
        """
        if (
            request is None
            or self.config["SERVER_NAME"]
            or self.config["TRUSTED_HOSTS"] is not None
            or self.subdomain_matching
            or self.url_map.host_matching
        ):
            return super().create_url_adapter(request)
        # As in Flask: the host, read and checked by Werkzeug, kept on the request.
        request.host = get_host(request.environ)
        return self.url_map.bind(
            request.host,
            script_name=request.root_path,
            subdomain=self.url_map.default_subdomain or "",
            url_scheme=request.scheme,
            default_method=request.method,
            path_info=request.path,
            query_args=request.query_string.decode("utf-8", "replace"),
        )

    def preprocess_request(self) -> Any:
        """Charge the request to its caller's rate limit, before the view runs.

        Then run Flask's before-request functions, if any were registered;
        mything registers none, and Flask's search for them (for the app and
        each blueprint) is skipped.
        """
        if self.rate_limiter is not None:
            self.rate_limiter.check(request._get_current_object())  # type: ignore[attr-defined]
        if self.url_value_preprocessors or self.before_request_funcs:
            return super().preprocess_request()
        return None

    def process_response(self, response: Response) -> Response:
        """Run Flask's after-request functions, if any were registered.

        mything registers none and keeps no session to save, so Flask's
        search for them (for this request, the app and each blueprint) is
        skipped.
        """
        if self.after_request_funcs or request_ctx._after_request_functions:
            return super().process_response(response)
        return response

    def do_teardown_request(self, *args: Any) -> None:
        """Run Flask's teardown-request functions and signal, if anything uses them.

        mything closes its database connection with the app context, so the
        search for them is skipped unless something was registered.
        """
        if self.teardown_request_funcs or request_tearing_down.receivers:
            super().do_teardown_request(*args)

    def make_response(self, rv: Any) -> ApiResponse:
        """Build the response for a view's or error handler's return value."""
        response: Response
        if isinstance(rv, ApiResult):
            response = rv.to_response(self.response_class)
        else:
            response = super().make_response(rv)
        # Flask turns anything a view returns into its response_class.
        assert isinstance(response, ApiResponse)
        current: ApiRequest = request._get_current_object()  # type: ignore[attr-defined]
        response.common_headers = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-ID", request_id(current.environ)),
            *current.rate_limit_headers,
        ]
        if isinstance(current.authentication, User):
            # A caller's own data must not be kept by shared caches. (Only a
            # caller already known: building a response never queries.)
            response.headers["Cache-Control"] = "no-store"
        return response

    def ensure_sync(self, func: Callable) -> Callable:
        """Return ``func`` as it is: mything's views and hooks are not async.

        Flask checks every view and hook for a coroutine on every request.
        """
        return func

    def make_default_options_response(self) -> Response:
        """Answer ``OPTIONS`` with ``Allow`` and an empty body, labelled as nothing."""
        response = super().make_default_options_response()
        # Flask labels the empty body text/html; mything never answers HTML.
        del response.headers["Content-Type"]
        return response

    def dispatch_request(self) -> Any:
        """Run the view, then commit its database work before answering.

        Committing here, and not at teardown, means a failed commit becomes
        an error response instead of a success the database never kept.
        """
        rv = super().dispatch_request()
        db.commit_db()
        return rv


def create_app(config: Mapping[str, Any] | None = None) -> ApiFlask:
    """Create a mything Flask app; ``config`` overrides every other source."""
    # No static folder: Flask would serve mything/static at /static, outside
    # the docs blueprint (which serves those files, and can be switched off).
    # First, so that nothing mything logs while starting reaches Python's
    # last-resort handler (or Flask's) instead of the host's configuration.
    logs.prepare_loggers()
    app = ApiFlask("mything", static_folder=None)
    # "/orgs//notes" is a 404 in JSON, not Werkzeug's HTML redirect to a
    # merged path.
    app.url_map.merge_slashes = False
    app.config.update(load_config(config))
    # A JSON API answers errors as JSON even in debug or testing mode; letting
    # them propagate would hand them to the server's HTML error page.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.url_map.converters["id"] = IdConverter
    app.session_interface = NoSessions()
    db.init_app(app)
    register_error_handlers(app)
    register_blueprints(app)
    ratelimit.init_app(app)
    cors.init_app(app)
    auth.init_app(app)
    credentials.init_app(app)
    cli.register_commands(app)
    access.init_app(app)
    metrics.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            _keep_mount_prefix(app.wsgi_app),
            x_for=hops,
            x_proto=hops,
            x_host=hops,
            x_prefix=hops,
        )
    return app


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
        if hasattr(module, "blueprint") and (switch is None or app.config[switch]):
            app.register_blueprint(module.blueprint)

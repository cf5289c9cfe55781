"""Who is calling: a bearer token, or a user the host application vouches for.

Views that need a caller are decorated with :func:`authenticated`, which
passes the :class:`~mything.credentials.User` as the ``caller`` argument::

    @blueprint.get("/me")
    @authenticated
    def me(caller):
        return ApiResult(services.describe_user(caller))

Clients send ``Authorization: Bearer <token>``. A host that authenticates
users itself (single sign-on in front of its own app) turns on
``TRUST_REMOTE_USER`` and sets the WSGI ``REMOTE_USER`` variable; mything
then trusts that name and creates the user on first sight. Leave it off
when mything serves the internet directly: gunicorn itself sets
``REMOTE_USER`` from any HTTP Basic header a client sends.

Credentials that fail are refused on every endpoint, before its view runs
(:func:`refuse_bad_credentials`), as RFC 6750 section 3 says:

- no bearer token: anonymous, and a 401 ``Bearer realm="mything"`` only
  where a caller is required;
- a malformed, unknown, revoked or expired token: 401 ``invalid_token``,
  even on ``/add``, which needs no token: it never counts as anonymous
  (health probes and documentation alone never look at credentials);
- a ``read`` token on a method other than ``GET``, ``HEAD`` or ``OPTIONS``:
  403 ``insufficient_scope``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import flask
from flask import current_app

from . import credentials, services
from .credentials import User
from .endpoints import endpoint_of
from .errors import ApiException, InsufficientScope, Unauthorized
from .schemas import USER_NAME
from .validators import is_valid
from .wrappers import NOT_CHECKED, ApiRequest, current_request

if TYPE_CHECKING:
    from flask import Flask

F = TypeVar("F", bound=Callable[..., Any])

#: The methods a ``read`` token may use: those that change nothing.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate(request: ApiRequest) -> User:
    """Return the user making ``request``, or raise a 401."""
    outcome = _authentication(request)
    if isinstance(outcome, User):
        return outcome
    raise outcome or Unauthorized()


def current_user(request: ApiRequest) -> User | None:
    """Return the user making ``request``, or ``None`` if unknown."""
    outcome = _authentication(request)
    return outcome if isinstance(outcome, User) else None


def _authentication(request: ApiRequest) -> User | Unauthorized | None:
    # Checked once per request, by whichever asks first (the rate limiter,
    # refuse_bad_credentials or the view); a failure is kept too, so that it
    # is not looked up again. No credentials at all is None, not an
    # exception: most anonymous requests never need a 401.
    outcome = request.authentication
    if outcome is NOT_CHECKED:
        environ = request.environ
        try:
            outcome = _remote_user(environ) or _bearer_user(environ)
        except Unauthorized as exc:
            outcome = exc
        request.authentication = outcome
    return outcome


def _remote_user(environ: dict[str, Any]) -> User | None:
    name = environ.get("REMOTE_USER")
    if not name or not current_app.config["TRUST_REMOTE_USER"]:
        return None
    if not is_valid(USER_NAME, name):
        raise Unauthorized("REMOTE_USER is not a valid user name.")
    return services.ensure_user(name)


def _bearer_user(environ: dict[str, Any]) -> User | None:
    header = environ.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        # Another scheme (the Basic credentials of a proxy in front of the
        # host, say) is no credential of mything's; RFC 6750 treats it as
        # none at all.
        return None
    return credentials.authenticate_token(token)


def refuse_bad_credentials() -> None:
    """Refuse a request whose credentials fail, whatever its endpoint.

    Registered by :func:`init_app` to run before every view. A request
    without credentials passes: its view decides whether it needs a caller.
    Views marked :func:`~mything.ratelimit.unlimited` (health probes and
    documentation) answer everyone alike and never look at credentials: a
    liveness probe must not need the database to check a token.
    """
    environ = flask.request.environ
    if "HTTP_AUTHORIZATION" not in environ and "REMOTE_USER" not in environ:
        return  # No credentials at all: nothing to refuse.
    request = current_request()
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and not endpoint_of(view).rate_limited:
        return
    outcome = _authentication(request)
    if isinstance(outcome, ApiException):
        raise outcome
    if (
        isinstance(outcome, credentials.TokenUser)
        and outcome.scope == "read"
        and request.method not in READ_METHODS
    ):
        raise InsufficientScope()


def authenticated(view: F) -> F:
    """Require a caller and pass it to ``view`` as the ``caller`` argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = authenticate(current_request())
        return view(*args, caller=caller, **kwargs)

    endpoint_of(wrapper).requires_auth = True
    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Make ``app`` refuse bad credentials on every request."""
    app.before_request(refuse_bad_credentials)

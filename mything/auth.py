"""Who is calling: a bearer token, or a user the host application vouches for.

Views that need a caller are decorated with :func:`authenticated`, which
passes the :class:`~mything.services.User` as the ``caller`` argument::

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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import current_app
from flask import request as current_request

from . import services
from .errors import Unauthorized
from .schemas import USER_NAME
from .validation import is_valid

if TYPE_CHECKING:
    from .app import ApiRequest

F = TypeVar("F", bound=Callable[..., Any])

#: What :attr:`ApiRequest.authentication <mything.app.ApiRequest>` holds
#: until the request's credentials have been checked.
NOT_CHECKED: Any = object()


def authenticate(request: ApiRequest) -> services.User:
    """Return the user making ``request``, or raise a 401."""
    outcome = _authentication(request)
    if isinstance(outcome, services.User):
        return outcome
    raise outcome or Unauthorized()


def current_user(request: ApiRequest) -> services.User | None:
    """Return the user making ``request``, or ``None`` if unknown."""
    outcome = _authentication(request)
    return outcome if isinstance(outcome, services.User) else None


def _authentication(request: ApiRequest) -> services.User | Unauthorized | None:
    # Checked once per request, by the rate limiter or the view, whichever
    # asks first; a failure is kept too, so that it is not looked up again.
    # No credentials at all is None, not an exception: most anonymous
    # requests never need a 401.
    outcome = request.authentication
    if outcome is NOT_CHECKED:
        environ = request.environ
        try:
            outcome = _remote_user(environ) or _bearer_user(environ)
        except Unauthorized as exc:
            outcome = exc
        request.authentication = outcome
    return outcome


def _remote_user(environ: dict[str, Any]) -> services.User | None:
    name = environ.get("REMOTE_USER")
    if not name or not current_app.config["TRUST_REMOTE_USER"]:
        return None
    if not is_valid(USER_NAME, name):
        raise Unauthorized("REMOTE_USER is not a valid user name.")
    return services.ensure_user(name)


def _bearer_user(environ: dict[str, Any]) -> services.User | None:
    header = environ.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use Authorization: Bearer <token>.")
    user = services.user_for_token(token)
    if user is None:
        raise Unauthorized("The token is not valid.")
    return user


def authenticated(view: F) -> F:
    """Require a caller and pass it to ``view`` as the ``caller`` argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = authenticate(cast("ApiRequest", current_request))
        return view(*args, caller=caller, **kwargs)

    wrapper.requires_auth = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]

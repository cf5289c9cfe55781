"""Who is calling: a bearer token, or a user the host application vouches for.

The edge (:mod:`mything.edge`) asks once per request, with :func:`identify`,
and keeps the answer on the request. Views that need a caller are decorated
with :func:`authenticated`, which passes it as the ``caller`` argument::

    @blueprint.get("/me")
    @authenticated
    def me(caller):
        return ApiResult(users.describe_user(caller))

Clients send ``Authorization: Bearer <token>``. A host that authenticates
users itself (single sign-on in front of its own app, or its own login)
turns on ``TRUST_REMOTE_USER`` and sets the WSGI ``REMOTE_USER`` variable;
mything then trusts that name and creates the user on first sight. Leave it
off when clients can reach mything without passing the host's
authentication.

The host's names are its own (``Carol``, ``dave@example.com``): up to 254
characters, compared exactly, case included; one that is empty, longer, or
holds a control character or a slash is refused (401), never cut or
changed into another user's name. A bearer token, when one is sent,
decides who calls, whatever ``REMOTE_USER`` says: a client holding a token
meant it, and a ``read`` token must stay read-only.

Credentials that fail are refused on every endpoint, before its view runs
(:func:`refuse_bad_credentials`), as RFC 6750 section 3 says:

- no bearer token (and no trusted ``REMOTE_USER``): anonymous, and a 401
  ``Bearer realm="mything"`` only where a caller is required;
- a malformed, unknown, revoked or expired token: 401 ``invalid_token``,
  even on ``/add``, which needs no token: it never counts as anonymous
  (public views, health probes and documentation, never look at
  credentials), and a trusted ``REMOTE_USER`` does not make it pass;
- a trusted ``REMOTE_USER`` that is not a name mything can keep: 401;
- a ``read`` token on a method other than ``GET``, ``HEAD`` or ``OPTIONS``:
  403 ``insufficient_scope``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import request

from .config import settings
from .endpoints import endpoint_of
from .errors import InsufficientScope, Unauthorized
from .operations import tokens, users
from .operations.users import User
from .schemas import HOST_USER_NAME
from .validators import is_valid

if TYPE_CHECKING:
    from .wrappers import ApiRequest

F = TypeVar("F", bound=Callable[..., Any])


def identify(req: ApiRequest) -> None:
    """Find out who makes the request ``req``; keep it as ``req.caller``.

    At most one query. Credentials that fail leave ``req.caller`` ``None``
    and keep the 401 they earned as ``req.credential_error``, for
    :func:`refuse_bad_credentials`; no credentials at all are neither.
    """
    environ = req.environ
    try:
        req.caller = _bearer_user(environ) or _remote_user(environ)
    except Unauthorized as refusal:
        req.credential_error = refusal


def _remote_user(environ: dict[str, Any]) -> User | None:
    name = environ.get("REMOTE_USER")
    if name is None or not settings().trust_remote_user:
        return None
    if not is_valid(HOST_USER_NAME, name):
        # An empty name too: a host that set the variable meant someone.
        raise Unauthorized("REMOTE_USER is not a valid user name.")
    return users.ensure_user(name)


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
    return tokens.authenticate_token(token)


def refuse_bad_credentials(req: ApiRequest, *, read_only: bool) -> None:
    """Refuse a request whose credentials failed, or whose token may not do this.

    A request without credentials passes: its view decides whether it
    needs a caller. ``read_only`` says whether the request's method changes
    nothing, all that a ``read`` token may do.
    """
    if req.credential_error is not None:
        raise req.credential_error
    caller = req.caller
    if isinstance(caller, tokens.TokenUser) and caller.scope == "read":
        if not read_only:
            raise InsufficientScope()


def authenticated(view: F) -> F:
    """Require a caller and pass it to ``view`` as the ``caller`` argument."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = cast("ApiRequest", request).caller
        if caller is None:
            raise Unauthorized()
        return view(*args, caller=caller, **kwargs)

    endpoint_of(wrapper).requires_auth = True
    return wrapper  # type: ignore[return-value]

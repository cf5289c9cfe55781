"""Errors that leave mything as JSON, and the handlers that make sure they do.

Every error response has the same body, built by :meth:`ApiException.to_dict`::

    {"message": "Note not found.", "status": 404, "code": "not_found",
     "request_id": "0f6c..."}

``code`` is a stable, machine-readable name that clients can switch on;
``message`` is for people and may improve between releases. Validation
failures add ``errors``, a list of ``{"path": "tags.0", "message": ...}``.

The hierarchy is small; each subclass only sets defaults::

    ApiException                 400 bad_request (or any status you pass)
     +-- ValidationError         400 validation_error, with .errors
     +-- Unauthorized            401 unauthorized, WWW-Authenticate: Bearer
     |    +-- InvalidToken       401 invalid_token (RFC 6750 error="invalid_token")
     +-- Forbidden               403 forbidden
     |    +-- InsufficientScope  403 insufficient_scope (a read token that writes)
     +-- NotFound                404 not_found
     +-- Conflict                409 conflict
     +-- PreconditionFailed      412 precondition_failed
     +-- PreconditionRequired    428 precondition_required
     +-- Unavailable             503 unavailable, Retry-After

Werkzeug's HTTP errors (404, 405, 413, ...), database outages and unhandled
exceptions are translated into the same shape by :func:`register_error_handlers`,
so no response of mything is ever an HTML error page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import click
from flask import current_app, got_request_exception, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from .requestid import request_id
from .results import ApiResult

if TYPE_CHECKING:
    from flask import Flask

#: Stable codes for the statuses mything answers with. Any other status gets
#: its HTTP reason phrase in snake case (422 -> "unprocessable_content").
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "unprocessable_content",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def code_for_status(status: int) -> str:
    """Return the stable error code for an HTTP status."""
    try:
        return CODES[status]
    except KeyError:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


class ConfigError(click.ClickException, ValueError):
    """A configuration value is missing or wrong; raised when an app is created.

    The message is one line that names the key and says what was expected.
    It is a :class:`click.ClickException` too, so that the command line
    (``mything ...`` or ``flask --app mything ...``) prints that line, not a
    traceback, and exits with status 1.
    """


class ApiException(Exception):
    """An error that becomes a JSON error response (or is raised to Python callers).

    ``message`` and ``status`` may be passed positionally; everything else is
    keyword-only. Subclasses set the class attributes to change the defaults.
    """

    status: int = 400
    message: str = "Bad request."
    code: str | None = None
    #: Headers every response of this error carries (``headers`` adds more).
    default_headers: Mapping[str, str] = {}

    def __init__(
        self,
        message: str | None = None,
        status: int | None = None,
        *,
        code: str | None = None,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.code or code_for_status(self.status)
        self.errors = [dict(error) for error in errors] if errors else None
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status} {self.code}: {self.message!r}>"

    def to_dict(self) -> dict[str, Any]:
        """Return the error body, without the request id (which HTTP adds)."""
        body: dict[str, Any] = {
            "message": self.message,
            "status": self.status,
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def to_result(self) -> ApiResult:
        """Return this error as an :class:`~mything.results.ApiResult`."""
        body = self.to_dict()
        body["request_id"] = request_id(request.environ)
        return ApiResult(body, self.status, headers=self.headers)


class ValidationError(ApiException):
    """Input did not match its schema; ``errors`` lists every failure by path.

    Without a message, the message sums up the errors for people.
    """

    message = "The request is not valid."
    code = "validation_error"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        errors = kwargs.get("errors") or []
        if message is None and errors:
            message = (
                "Invalid input: "
                + "; ".join(
                    f"{error['path']}: {error['message']}"
                    if error["path"]
                    else error["message"]
                    for error in errors
                )
                + "."
            )
        super().__init__(message, **kwargs)


#: The protection space of every mything challenge (RFC 6750, section 3).
REALM = "mything"


class Unauthorized(ApiException):
    """No credentials, or credentials mything does not accept.

    Without an RFC 6750 error: a client that sent no token is told only
    which scheme to use.
    """

    status = 401
    message = "A valid bearer token is required."
    default_headers = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


class InvalidToken(Unauthorized):
    """The bearer token is malformed, unknown, revoked or expired.

    The message is also the challenge's ``error_description``, so it must
    not contain double quotes or backslashes.
    """

    code = "invalid_token"
    message = "The token is not valid."

    def __init__(self, message: str | None = None) -> None:
        description = message or self.message
        challenge = (
            f'Bearer realm="{REALM}", error="invalid_token", '
            f'error_description="{description}"'
        )
        super().__init__(description, headers={"WWW-Authenticate": challenge})


class Forbidden(ApiException):
    """The caller is known but may not do this."""

    status = 403
    message = "You are not allowed to do this."


class InsufficientScope(Forbidden):
    """A ``read`` token was used for a request that may change something."""

    code = "insufficient_scope"
    message = "This token may only read: use a token with the write scope."
    default_headers = {
        "WWW-Authenticate": (
            f'Bearer realm="{REALM}", error="insufficient_scope", scope="write"'
        )
    }


class NotFound(ApiException):
    """The resource does not exist, or the caller may not know that it does."""

    status = 404
    message = "Not found."


class Conflict(ApiException):
    """The request conflicts with the current state (a taken slug, ...)."""

    status = 409
    message = "The request conflicts with the current state."


class PreconditionFailed(ApiException):
    """An ``If-Match`` names a version that is no longer the current one."""

    status = 412
    message = "The note has changed since you read it; read it again and retry."


class PreconditionRequired(ApiException):
    """A write came without ``If-Match`` where the server requires one."""

    status = 428
    message = "Send If-Match with the ETag of the note you read."


class Unavailable(ApiException):
    """A backing service (the database) does not answer; retry later."""

    status = 503
    message = "The service is temporarily unavailable."
    default_headers = {"Retry-After": "5"}


def handle_api_exception(error: ApiException) -> ApiResult:
    return error.to_result()


def handle_http_exception(error: HTTPException) -> ApiResult:
    """Turn Werkzeug's errors (404, 405, 413, ...) into the JSON error shape."""
    status = error.code or 500
    # Keep the headers that carry meaning, such as Allow on a 405, but not
    # Werkzeug's HTML content type.
    headers = {
        key: value
        for key, value in error.get_headers()
        if key.lower() != "content-type"
    }
    message = error.description or HTTPStatus(status).phrase
    if status >= 500:
        message = HTTPStatus(status).phrase
    return ApiException(message, status, headers=headers).to_result()


def handle_database_error(error: DBAPIError | PoolTimeoutError) -> ApiResult:
    """Answer 503 when the database is gone or busy, 500 for any other fault.

    Operational errors can be retried as they are: a lost or refused
    connection, a connect timeout, SQLite's "database is locked", a
    serialization failure or deadlock, a server shutting down — and a pool
    with no free connection. Anything else is a bug, logged as such.
    """
    invalidated = getattr(error, "connection_invalidated", False)
    if invalidated or isinstance(error, OperationalError | PoolTimeoutError):
        current_app.logger.warning(
            "database unavailable (request %s): %s",
            request_id(request.environ),
            error,
        )
        return Unavailable("The database is not available; retry later.").to_result()
    return handle_unexpected_exception(error)


def handle_unexpected_exception(error: Exception) -> ApiResult:
    """Log an unhandled exception with its request id and answer a bare 500."""
    current_app.logger.error(
        "unhandled exception (request %s)",
        request_id(request.environ),
        exc_info=error,
    )
    return ApiException("Internal Server Error", 500).to_result()


def register_error_handlers(app: Flask) -> None:
    """Make every error of ``app`` leave in the JSON error shape."""
    app.register_error_handler(ApiException, handle_api_exception)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_database_error)

    def handle_unexpected(error: Exception) -> ApiResult:
        # Flask tells error trackers (Sentry, say) about exceptions that no
        # handler answers; this handler answers every one, so it tells them.
        got_request_exception.send(app, exception=error)
        return handle_unexpected_exception(error)

    app.register_error_handler(Exception, handle_unexpected)

"""Errors that leave mything as JSON, and the handlers that make sure they do.

Every error response has the same body, built by :meth:`ApiException.to_dict`::

    {"message": "Note not found.", "status": 404, "code": "not_found",
     "request_id": "0f6c..."}

``code`` is a stable, machine-readable name that clients can switch on;
``message`` is for people and may improve between releases. Validation
failures add ``errors``, a list of ``{"path": "tags.0", "message": ...}``.

Every error mything answers with is a class here, and each class declares
its ``code`` (a test checks that every code is in ``docs/api.md``). Each
subclass only sets defaults::

    ApiException                     400 bad_request (or any status you pass)
     +-- ValidationError             400 validation_error, with .errors
     +-- InvalidJSON                 400 invalid_json
     +-- MalformedBody               400 malformed_body (broken framing)
     +-- InvalidContentType          400 invalid_content_type
     +-- InvalidPrecondition         400 invalid_precondition
     +-- InvalidIdempotencyKey       400 invalid_idempotency_key
     +-- Unauthorized                401 unauthorized, WWW-Authenticate: Bearer
     |    +-- InvalidToken           401 invalid_token (RFC 6750 error="invalid_token")
     +-- Forbidden                   403 forbidden
     |    +-- InsufficientScope      403 insufficient_scope (a read token that writes)
     |    +-- OriginNotAllowed       403 origin_not_allowed (a CORS preflight)
     +-- NotFound                    404 not_found
     +-- MethodNotAllowed            405 method_not_allowed, with Allow
     +-- Conflict                    409 conflict
     |    +-- QuotaExceeded          409 quota_exceeded
     +-- PreconditionFailed          412 precondition_failed
     +-- PayloadTooLarge             413 payload_too_large
     +-- KeyReused                   422 idempotency_key_reused
     +-- PreconditionRequired        428 precondition_required
     +-- RateLimited                 429 rate_limited, Retry-After
     +-- InternalError               500 internal_error
     +-- Unavailable                 503 unavailable, Retry-After

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


def _code_of_status(status: int) -> str:
    """Return a code for a status no class here answers with: its phrase."""
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


class ConfigError(click.ClickException, ValueError):
    """A configuration value is missing or wrong; raised when an app is created.

    The message is one line that names the key and says what was expected.
    It is a :class:`click.ClickException` too, so that the command line
    (``mything ...`` or ``flask --app mything ...``) prints that line, not a
    traceback, and exits with status 1.
    """


class WebhookVerificationError(ValueError):
    """A webhook that :func:`mything.verify_webhook` does not accept.

    Its headers are missing or malformed, its timestamp is outside the
    tolerance, or no signature in it was made with the secret. It is not an
    :class:`ApiException`: receivers raise it, in their own applications.
    """


class ApiException(Exception):
    """An error that becomes a JSON error response (or is raised to Python callers).

    ``message`` and ``status`` may be passed positionally; everything else is
    keyword-only. Subclasses set the class attributes to change the defaults.
    """

    status: int = 400
    message: str = "Bad request."
    code: str = "bad_request"
    #: Headers every response of this error carries (``headers`` adds more).
    default_headers: Mapping[str, str] = {}
    #: On an error that :class:`~mything.client.Client` raises, the answer's
    #: ``X-Request-ID``: what to quote to the server's operators.
    request_id: str | None = None

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
        if code is not None:
            self.code = code
        elif status is not None and status != type(self).status:
            self.code = _code_of_status(status)
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


class InvalidJSON(ApiException):
    """The body is not JSON, or not a JSON object."""

    code = "invalid_json"
    message = "The request body must be a JSON object."


class MalformedBody(ApiException):
    """A body whose framing is broken: cut short before its ``Content-Length``,
    or in a chunked encoding that does not parse."""

    code = "malformed_body"
    message = (
        "The request body ended early or its chunked encoding is broken; send it again."
    )


class InvalidContentType(ApiException):
    """A body sent without ``Content-Type: application/json``."""

    code = "invalid_content_type"
    message = "The request body must be JSON, sent with Content-Type: application/json."


class InvalidPrecondition(ApiException):
    """A conditional header that mything cannot read, or that does not apply."""

    code = "invalid_precondition"


class InvalidIdempotencyKey(ApiException):
    """An ``Idempotency-Key`` that is not 1 to 255 visible ASCII characters."""

    code = "invalid_idempotency_key"
    message = "Idempotency-Key must be 1 to 255 visible ASCII characters."


#: The protection space of every mything challenge (RFC 6750, section 3).
REALM = "mything"


class Unauthorized(ApiException):
    """No credentials, or credentials mything does not accept.

    Without an RFC 6750 error: a client that sent no token is told only
    which scheme to use.
    """

    status = 401
    code = "unauthorized"
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
    code = "forbidden"
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


class OriginNotAllowed(Forbidden):
    """A CORS preflight from an origin that ``CORS_ORIGINS`` does not list."""

    code = "origin_not_allowed"
    message = "This origin may not call this API from a browser."


class NotFound(ApiException):
    """The resource does not exist, or the caller may not know that it does."""

    status = 404
    code = "not_found"
    message = "Not found."


class MethodNotAllowed(ApiException):
    """The URL exists, but not for this method; ``Allow`` lists those it has."""

    status = 405
    code = "method_not_allowed"
    message = "The method is not allowed for the requested URL."


class Conflict(ApiException):
    """The request conflicts with the current state (a taken slug, ...)."""

    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class QuotaExceeded(Conflict):
    """A user holds as many of something as one user may (tokens, organizations)."""

    code = "quota_exceeded"
    message = "You hold as many of these as one user may."


class PreconditionFailed(ApiException):
    """An ``If-Match`` names a version that is no longer the current one."""

    status = 412
    code = "precondition_failed"
    message = "The resource has changed since you read it; read it again and retry."


class PayloadTooLarge(ApiException):
    """A body over ``MAX_CONTENT_LENGTH``."""

    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class KeyReused(ApiException):
    """An ``Idempotency-Key`` already used for a different request."""

    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used for a different request."


class PreconditionRequired(ApiException):
    """A write came without ``If-Match`` where the server requires one."""

    status = 428
    code = "precondition_required"
    message = "Send If-Match with the ETag of the resource you read."


class RateLimited(ApiException):
    """The caller made too many requests; ``Retry-After`` says when to retry."""

    status = 429
    code = "rate_limited"
    message = "Too many requests; retry later."


class InternalError(ApiException):
    """A bug: the body says only that, the log has the traceback."""

    status = 500
    code = "internal_error"
    message = "Internal Server Error"


class Unavailable(ApiException):
    """A backing service (the database) does not answer; retry later."""

    status = 503
    code = "unavailable"
    message = "The service is temporarily unavailable."
    default_headers = {"Retry-After": "5"}


#: The class that answers each status Werkzeug raises for itself.
_BY_STATUS = {
    error.status: error
    for error in (NotFound, MethodNotAllowed, PayloadTooLarge, InternalError)
}


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
    known = _BY_STATUS.get(status)
    if known is not None:
        return known(message, headers=headers).to_result()
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
    return InternalError().to_result()


def register_error_handlers(app: Flask) -> None:
    """Make every error of ``app`` leave in the JSON error shape."""
    app.register_error_handler(ApiException, handle_api_exception)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_database_error)

    def handle_unexpected(error: Exception) -> ApiResult:
        # Flask tells error trackers (Sentry, say) about exceptions that no
        # handler answers; this handler answers every one, so it tells them.
        # A receiver that fails must not turn the answer into a traceback.
        try:
            got_request_exception.send(
                app, _async_wrapper=app.ensure_sync, exception=error
            )
        except Exception as failed:
            app.logger.error(
                "a got_request_exception receiver failed (request %s)",
                request_id(request.environ),
                exc_info=failed,
            )
        return handle_unexpected_exception(error)

    app.register_error_handler(Exception, handle_unexpected)


def answer_every_error(app: Flask) -> None:
    """Answer mything's JSON 500 for an exception that escapes Flask itself.

    Flask's handlers answer everything a view or a hook raises; what they
    cannot catch is an exception raised while Flask handles another one (a
    host's ``got_request_exception`` receiver that fails after an
    ``after_request`` hook did). This middleware around ``wsgi_app`` logs
    it with the request id and answers the same JSON 500, so that no
    traceback reaches the server and no answer is an HTML page.
    """
    wsgi_app = app.wsgi_app

    def last_resort(environ: Any, start_response: Any) -> Any:
        try:
            return wsgi_app(environ, start_response)
        except Exception as error:
            chosen = request_id(environ)
            app.logger.error("unhandled exception (request %s)", chosen, exc_info=error)
            body = app.json.dumps({**InternalError().to_dict(), "request_id": chosen})
            data = body.encode()
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Request-ID", chosen),
            ]
            # Flask raises before it starts a response, so none has started.
            start_response("500 INTERNAL SERVER ERROR", headers)
            return [data]

    app.wsgi_app = last_resort  # type: ignore[method-assign]

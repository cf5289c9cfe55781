"""The OpenAPI 3.1 document, generated from the route table and the schemas.

Nothing here describes a particular endpoint. The generator walks the app's
URL map and reads what the decorators left on each view:

==========================  ==============================================
``body_schema``             :func:`~mything.validation.dataschema`
``args_schema``             :func:`~mything.validation.argsschema`
``requires_auth``           :func:`~mything.auth.authenticated`
``response_schema/status``  :func:`returns`
``response_headers``        :func:`returns`
``preconditions``           :mod:`mything.conditional`'s decorators
``rate_limited``            :func:`~mything.ratelimit.unlimited`
docstring                   summary and description
==========================  ==============================================

so a new endpoint module appears in the document as soon as it is
registered. :func:`render_document` is the same document as text, for
``mything openapi``. voluptuous schemas become JSON Schema through
`voluptuous-openapi <https://github.com/home-assistant-libs/voluptuous-openapi>`_;
mything's own validators describe themselves with a ``json_schema``
attribute (see :mod:`mything.validation`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import voluptuous
from flask import current_app, request
from voluptuous_openapi import UNSUPPORTED, OpenApiVersion, convert

from . import __version__, conditional, idempotency
from .schemas import ERROR

if TYPE_CHECKING:
    from werkzeug.routing import Rule

    from .app import ApiFlask

F = TypeVar("F", bound=Callable[..., Any])

_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "default": {"type": "string"},
    "path": {"type": "string"},
}
_PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^>]*\))?:)?(?P<name>\w+)>")


def returns(
    schema: Any, status: int = 200, *, headers: Sequence[str] = ()
) -> Callable[[F], F]:
    """Declare what a view answers on success, for the OpenAPI document.

    ``headers`` names response headers described in the document's
    components (``"ETag"``), beyond those every answer carries.
    """

    def decorator(view: F) -> F:
        view.response_schema = schema  # type: ignore[attr-defined]
        view.response_status = status  # type: ignore[attr-defined]
        view.response_headers = tuple(headers)  # type: ignore[attr-defined]
        return view

    return decorator


def undocumented(view: F) -> F:
    """Leave ``view`` out of the OpenAPI document (answers that are not JSON)."""
    view.documented = False  # type: ignore[attr-defined]
    return view


def json_schema(schema: Any) -> dict[str, Any]:
    """Convert a voluptuous schema (or mything validator) to JSON Schema."""
    converted: dict[str, Any] = convert(
        schema,
        custom_serializer=_describe_validator,
        openapi_version=OpenApiVersion.V3_1,
    )
    if (
        isinstance(schema, voluptuous.Schema)
        and schema.extra == voluptuous.PREVENT_EXTRA
    ):
        # voluptuous-openapi leaves this out; clients need to know that an
        # unknown field is refused, not ignored.
        converted["additionalProperties"] = False
    return converted


def _describe_validator(schema: Any) -> Any:
    described = getattr(schema, "json_schema", None)
    if described is None:
        return UNSUPPORTED
    if callable(described):
        described = described()
    if "items" in described and not isinstance(described["items"], dict):
        # A list validator names its item validator; describe that too.
        described = {**described, "items": json_schema(described["items"])}
    return dict(described)


def build_document(server_url: str | None = None) -> dict[str, Any]:
    """Return the OpenAPI document of the current app.

    Its server URL is ``server_url``, or else the URL that this request
    reached mything under, mount prefix included. Everything but the
    server URL is built on the first call and kept.
    """
    document = current_app.extensions.get("mything.openapi")
    if document is None:
        document = current_app.extensions["mything.openapi"] = {
            "openapi": "3.1.0",
            "info": {
                "title": "mything",
                "version": __version__,
                "description": "An embeddable JSON API: organizations and their notes.",
            },
            "paths": _paths(current_app),  # type: ignore[arg-type]
            "components": _components(),
        }
    if server_url is None:
        server_url = request.url_root
    return {**document, "servers": [{"url": server_url.rstrip("/") or "/"}]}


def render_document(server_url: str) -> bytes:
    """Return the OpenAPI document as indented JSON, the same bytes every time.

    Keys are sorted and everything else is generated in a fixed order, so
    the output of two runs (or two versions, in a code review) differs only
    where the API does.
    """
    document = build_document(server_url)
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def _paths(app: ApiFlask) -> dict[str, Any]:
    limited = app.rate_limiter is not None
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "documented", True):
            continue
        path, parameters = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(rule, view, parameters, limited=limited)
            paths.setdefault(path, {})[method.lower()] = operation
    return paths


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for match in _PARAMETER.finditer(rule.rule):
        converter = match["converter"] or "default"
        parameters.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": dict(_CONVERTER_SCHEMAS.get(converter, {"type": "string"})),
            }
        )
    return _PARAMETER.sub(r"{\g<name>}", rule.rule), parameters


def _operation(
    rule: Rule, view: Callable, parameters: list[dict], *, limited: bool
) -> dict[str, Any]:
    summary, _, description = (inspect.getdoc(view) or "").partition("\n")
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": summary,
        "tags": [rule.endpoint.partition(".")[0]],
        "parameters": parameters
        + _query_parameters(view)
        + _header_parameters(view)
        + _condition_parameters(view),
    }
    if description.strip():
        operation["description"] = description.strip()
    body_schema = getattr(view, "body_schema", None)
    if body_schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": json_schema(body_schema)}},
        }
    requires_auth = getattr(view, "requires_auth", False)
    operation["security"] = [{"bearerAuth": []}] if requires_auth else []
    limited = limited and getattr(view, "rate_limited", True)
    operation["responses"] = _responses(view, limited=limited)
    return operation


def _query_parameters(view: Callable) -> list[dict[str, Any]]:
    schema = getattr(view, "args_schema", None)
    if schema is None:
        return []
    return [
        {
            "name": str(key.schema),
            "in": "query",
            "required": isinstance(key, voluptuous.Required),
            "schema": json_schema(validator),
        }
        for key, validator in schema.schema.items()
    ]


def _header_parameters(view: Callable) -> list[dict[str, Any]]:
    if not getattr(view, "idempotent", False):
        return []
    return [
        {
            "name": idempotency.HEADER,
            "in": "header",
            "required": False,
            "description": "Retry safely: a repeat with this key and the same "
            "body gets the first answer again; another body is a 422.",
            "schema": {"type": "string", "pattern": f"^{idempotency.KEY_PATTERN}$"},
        }
    ]


def _condition_parameters(view: Callable) -> list[dict[str, Any]]:
    kind = getattr(view, "preconditions", None)
    if kind is None:
        return []
    headers = ["If-Match", "If-None-Match"] if kind == "read" else ["If-Match"]
    return [
        {
            "name": header,
            "in": "header",
            "required": header == "If-Match" and _requires_if_match(view),
            "description": _CONDITION_DESCRIPTIONS[header],
            "schema": {"type": "string", "maxLength": conditional.MAX_HEADER_LENGTH},
        }
        for header in headers
    ]


def _requires_if_match(view: Callable) -> bool:
    # Writes without If-Match are a 428 where the app requires it.
    return bool(
        getattr(view, "preconditions", None) == "write"
        and current_app.config["REQUIRE_IF_MATCH"]
    )


_CONDITION_DESCRIPTIONS = {
    "If-Match": "Only if the note's current ETag is listed (strong comparison; "
    '"*" matches any existing note); otherwise 412 and nothing changes.',
    "If-None-Match": "Unless the note's current ETag is listed (weak comparison); "
    "if it is, 304 with no body.",
}


def _responses(view: Callable, *, limited: bool) -> dict[str, Any]:
    status = getattr(view, "response_status", 200)
    schema = getattr(view, "response_schema", None)
    headers: dict[str, Any] = {
        "X-Request-ID": {"$ref": "#/components/headers/RequestId"}
    }
    for name in getattr(view, "response_headers", ()):
        headers[name] = {"$ref": f"#/components/headers/{name.replace('-', '')}"}
    if limited:
        headers.update(_RATE_LIMIT_HEADERS)
    success: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, "OK")}
    if schema is not None:
        body = json_schema(schema)
        success["content"] = {"application/json": {"schema": body}}
        if "next_cursor" in body.get("properties", {}):
            headers["Link"] = {"$ref": "#/components/headers/Link"}
    if status == 201:
        headers["Location"] = {"$ref": "#/components/headers/Location"}
    success["headers"] = headers
    responses: dict[str, Any] = {str(status): success}
    kind = getattr(view, "preconditions", None)
    if kind == "read":
        responses["304"] = {"$ref": "#/components/responses/NotModified"}
    if kind is not None:
        responses["412"] = {"$ref": "#/components/responses/PreconditionFailed"}
    if _requires_if_match(view):
        responses["428"] = {"$ref": "#/components/responses/PreconditionRequired"}
    if limited:
        responses["429"] = {"$ref": "#/components/responses/RateLimited"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    return responses


_DESCRIPTIONS = {200: "OK", 201: "Created", 204: "No Content"}

_RATE_LIMIT_HEADERS = {
    name: {"$ref": f"#/components/headers/{name.replace('-', '')}"}
    for name in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "RateLimit-Policy",
        "RateLimit",
    )
}


def _header(description: str, type_: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": type_}}


def _components() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    request_id = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `POST /me/tokens` or `mything "
                "create-token NAME`. A `read` token may only use GET, HEAD "
                "and OPTIONS (403 `insufficient_scope`); a malformed, unknown, "
                "revoked or expired one is a 401 `invalid_token` on every "
                "endpoint.",
            }
        },
        "schemas": {"Error": json_schema(ERROR)},
        "headers": {
            "RequestId": _header("The id of this request, for logs and support."),
            "Link": _header('RFC 8288 link to the next page: `<url>; rel="next"`.'),
            "Location": _header("The URL of the created resource."),
            "XRateLimitLimit": _header("Requests allowed per window.", "integer"),
            "XRateLimitRemaining": _header("Requests left in the window.", "integer"),
            "XRateLimitReset": _header("When the window resets (epoch s).", "integer"),
            "RateLimitPolicy": _header('IETF policy, e.g. `"default";q=600;w=60`.'),
            "RateLimit": _header('IETF usage, e.g. `"default";r=599;t=60`.'),
            "RetryAfter": _header("Seconds to wait before retrying.", "integer"),
            "ETag": _header(
                'The strong entity tag of the note (`"<id>-<version>"`): send '
                "it back in If-Match to change only this version, or in "
                "If-None-Match to skip downloading it again."
            ),
        },
        "responses": {
            "Error": {
                "description": "An error, in mything's one error shape.",
                "headers": request_id,
                "content": error,
            },
            "NotModified": {
                "description": "Not Modified: the note still has the ETag in "
                "If-None-Match. No body.",
                "headers": {
                    **request_id,
                    "ETag": {"$ref": "#/components/headers/ETag"},
                },
            },
            "PreconditionFailed": {
                "description": "The note has changed since the ETag in If-Match "
                "(code `precondition_failed`); nothing was changed.",
                "headers": request_id,
                "content": error,
            },
            "PreconditionRequired": {
                "description": "This server requires If-Match on writes (code "
                "`precondition_required`); nothing was changed.",
                "headers": request_id,
                "content": error,
            },
            "RateLimited": {
                "description": "Too many requests: retry after `Retry-After` seconds.",
                "headers": {
                    **request_id,
                    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                },
                "content": error,
            },
        },
    }

"""The OpenAPI 3.1 document, generated from the route table and the schemas.

Nothing here describes a particular endpoint. The generator walks the app's
URL map and reads each view's :class:`~mything.endpoints.Endpoint` — what its
decorators declared: body and query schemas, authentication, the response
and its status, rate limits, idempotency, preconditions — and its docstring
(summary and description). So a new endpoint module appears in the document
as soon as it is registered. :func:`render_document` is the same document
as text, for ``mything openapi``. voluptuous schemas become JSON Schema
through `voluptuous-openapi
<https://github.com/home-assistant-libs/voluptuous-openapi>`_; mything's own
validators describe themselves (:class:`~mything.validators.Validator`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import orjson
import voluptuous
from flask import current_app, request
from voluptuous_openapi import UNSUPPORTED, OpenApiVersion, convert

from . import conditional, idempotency
from .config import settings
from .endpoints import Endpoint, endpoint_of
from .schemas import ERROR
from .validators import Validator

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.routing import Rule

_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "default": {"type": "string"},
    "path": {"type": "string"},
}
_PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^>]*\))?:)?(?P<name>\w+)>")


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
    if isinstance(schema, Validator):
        return schema.json_schema()
    return UNSUPPORTED


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
                "version": version("mything"),
                "description": "An embeddable JSON API: organizations and their notes.",
            },
            "paths": _paths(current_app),
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


def _paths(app: Flask) -> dict[str, Any]:
    limited = "mything.ratelimit" in app.extensions
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        if not endpoint_of(view).documented:
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
    endpoint = endpoint_of(view)
    summary, _, description = (inspect.getdoc(view) or "").partition("\n")
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": summary,
        "tags": [rule.endpoint.partition(".")[0]],
        "parameters": parameters
        + _query_parameters(endpoint)
        + _header_parameters(endpoint)
        + _condition_parameters(endpoint),
    }
    if description.strip():
        operation["description"] = description.strip()
    if endpoint.body_schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema(endpoint.body_schema)}
            },
        }
    operation["security"] = [{"bearerAuth": []}] if endpoint.requires_auth else []
    limited = limited and not endpoint.public
    operation["responses"] = _responses(endpoint, limited=limited)
    return operation


def _query_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    schema = endpoint.query_schema
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


def _header_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    if not endpoint.idempotent:
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


def _condition_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    kind = endpoint.preconditions
    if kind is None:
        return []
    headers = ["If-Match", "If-None-Match"] if kind == "read" else ["If-Match"]
    return [
        {
            "name": header,
            "in": "header",
            "required": header == "If-Match" and _requires_if_match(endpoint),
            "description": _CONDITION_DESCRIPTIONS[header],
            "schema": {
                "type": "string",
                "maxLength": conditional.MAX_HEADER_LENGTH,
                "pattern": conditional.HEADER_PATTERN,
            },
        }
        for header in headers
    ]


def _requires_if_match(endpoint: Endpoint) -> bool:
    # Writes without If-Match are a 428 where the app requires it.
    return bool(endpoint.preconditions == "write" and settings().require_if_match)


_CONDITION_DESCRIPTIONS = {
    "If-Match": "Only if the note's current ETag is listed (strong comparison; "
    '"*" matches any existing note); otherwise 412 and nothing changes.',
    "If-None-Match": "Unless the note's current ETag is listed (weak comparison); "
    "if it is, 304 with no body.",
}


def _responses(endpoint: Endpoint, *, limited: bool) -> dict[str, Any]:
    successes = {endpoint.response_status: endpoint.response_schema}
    successes.update(endpoint.other_responses)
    responses: dict[str, Any] = {
        str(status): _success(endpoint, status, schema, limited=limited)
        for status, schema in sorted(successes.items())
    }
    kind = endpoint.preconditions
    if kind == "read":
        responses["304"] = {"$ref": "#/components/responses/NotModified"}
    if kind is not None:
        responses["412"] = {"$ref": "#/components/responses/PreconditionFailed"}
    if _requires_if_match(endpoint):
        responses["428"] = {"$ref": "#/components/responses/PreconditionRequired"}
    if limited:
        responses["429"] = {"$ref": "#/components/responses/RateLimited"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    return responses


def _success(
    endpoint: Endpoint, status: int, schema: Any, *, limited: bool
) -> dict[str, Any]:
    headers: dict[str, Any] = {
        "X-Request-ID": {"$ref": "#/components/headers/RequestId"}
    }
    for name in endpoint.response_headers:
        headers[name] = {"$ref": f"#/components/headers/{name.replace('-', '')}"}
    if limited:
        headers.update(_RATE_LIMIT_HEADERS)
    success: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, "OK")}
    if schema is not None:
        body = json_schema(schema)
        success["content"] = {"application/json": {"schema": body}}
        if "next_cursor" in body.get("properties", {}):
            headers["Link"] = {"$ref": "#/components/headers/Link"}
    if status in (201, 202):
        headers["Location"] = {"$ref": "#/components/headers/Location"}
    success["headers"] = headers
    return success


_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}

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
